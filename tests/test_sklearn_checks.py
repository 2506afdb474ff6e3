"""scikit-learn's own estimator checks, run on the default estimators and on their Phased GRU
variants. No check is excluded."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor


@parametrize_with_checks(
    [
        PhasedLSTMClassifier(random_state=0),
        PhasedLSTMRegressor(random_state=0),
        PhasedLSTMClassifier(cell="gru", random_state=0),
        PhasedLSTMRegressor(cell="gru", random_state=0),
    ]
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

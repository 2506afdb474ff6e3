"""scikit-learn's own estimator checks: on small networks in the fast tier, on the default
estimators and their Phased GRU variants in the heavy tier.

One check is expected to fail, for the reason scikit-learn gives for its own stochastic
estimators (SGD, MLP): a fit on mini-batches drawn at random is not the same fit when a
series of weight 2 is replaced by two copies (other batches, other statistics), so
``check_sample_weight_equivalence_on_dense_data``'s exact comparison cannot hold. What
the weights do is tested in ``tests/test_base.py``.
"""

import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor

EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "training on random mini-batches: weights are not equivalent to repeated series"
    ),
}


#: the fast tier: the checks on small networks trained briefly
SMALL = {"hidden_size": 8, "max_epochs": 15}


@parametrize_with_checks(
    [
        PhasedLSTMClassifier(random_state=0, **SMALL),
        PhasedLSTMRegressor(random_state=0, **SMALL),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_sklearn_checks_on_small_networks(estimator, check):
    check(estimator)


@pytest.mark.heavy
@parametrize_with_checks(
    [
        PhasedLSTMClassifier(random_state=0),
        PhasedLSTMRegressor(random_state=0),
        PhasedLSTMClassifier(cell="gru", random_state=0),
        PhasedLSTMRegressor(cell="gru", random_state=0),
    ],
    expected_failed_checks=lambda estimator: EXPECTED_FAILURES,
)
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)

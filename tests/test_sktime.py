"""The sktime-native estimators: sktime's conformance checks (none excluded), time indexes
through sktime's input checks, discovery, tuning and benchmarking."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score
from sklearn.model_selection import KFold
from sktime.classification.base import BaseClassifier
from sktime.classification.model_selection import TSCGridSearchCV
from sktime.datasets import load_basic_motions, load_unit_test
from sktime.datatypes import convert_to
from sktime.regression.base import BaseRegressor
from sktime.utils.estimator_checks import check_estimator, parametrize_with_checks

from sk_plstm.datasets import make_irregular
from sk_plstm.sktime import PhasedLSTMClassifier, PhasedLSTMRegressor


@pytest.mark.heavy
@parametrize_with_checks([PhasedLSTMClassifier, PhasedLSTMRegressor])
def test_sktime_conformance(obj, test_name):
    check_estimator(obj, tests_to_run=test_name, raise_exceptions=True)


def test_discoverable_with_skbase_lookup():
    from skbase.lookup import all_objects

    found = dict(all_objects(package_name="sk_plstm", object_types=[BaseClassifier, BaseRegressor]))
    assert found == {
        "PhasedLSTMClassifier": PhasedLSTMClassifier,
        "PhasedLSTMRegressor": PhasedLSTMRegressor,
    }


def test_tags_are_honest():
    tags = PhasedLSTMClassifier.get_class_tags()
    assert tags["capability:multivariate"] and tags["capability:unequal_length"]
    assert tags["capability:predict_proba"] and tags["capability:missing_values"]
    assert "numpy3D" != tags["X_inner_mtype"][0]  # the time index reaches the model
    assert PhasedLSTMRegressor.get_class_tags()["capability:multioutput"]


def test_float_times_in_nested_univ_reach_the_model():
    X, y = load_basic_motions(split="train", return_type="numpy3D")
    Xi = make_irregular(X[:, :2, :40], keep=0.5, random_state=0, return_type="nested_univ")
    for cell in Xi.to_numpy().ravel():  # seconds at 10 Hz: float times
        cell.index = cell.index / 10.0
    clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=2, random_state=0).fit(Xi, y)
    assert clf.estimator_.tau_range_[0] == pytest.approx(0.1)
    assert clf.predict_proba(Xi).shape == (40, 4)


def test_datetime_pd_multiindex_and_time_unit():
    X, y = load_unit_test(split="train", return_type="numpy3D")
    frames = []
    for i, series in enumerate(X):
        times = pd.date_range("2026-01-01", periods=series.shape[1], freq="h") + pd.Timedelta(
            days=i
        )
        frames.append(pd.DataFrame(series.T, index=pd.MultiIndex.from_product([[i], times])))
    Xd = pd.concat(frames)
    hours = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, time_unit="h").fit(Xd, y)
    assert hours.estimator_.tau_range_ == pytest.approx((1.0, 23.0))
    assert hours.predict(Xd).shape == (len(y),)


def test_tuning_with_sktime_grid_search_on_pd_multiindex():
    X, y = load_unit_test(split="train", return_type="pd-multiindex")
    search = TSCGridSearchCV(
        PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0),
        param_grid={"tau_range": [(1, 5), (1, 50)]},
        cv=KFold(2, shuffle=True, random_state=0),
    ).fit(X, y)
    assert search.best_params_["tau_range"] in [(1, 5), (1, 50)]
    assert search.predict(X).shape == (len(y),)


def test_sktime_benchmarking_runs(tmp_path):
    from sktime.benchmarking.classification import ClassificationBenchmark

    X, y = load_unit_test(split="train", return_type="pd-multiindex")
    bench = ClassificationBenchmark()
    bench.add_estimator(PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0))
    bench.add_task((X, y), KFold(2, shuffle=True, random_state=0), [accuracy_score])
    results = bench.run(str(tmp_path / "results.csv"))
    scores = results.filter(like="accuracy_score_fold").to_numpy(dtype=float)
    assert scores.size == 2 and np.all((scores >= 0) & (scores <= 1))


def test_unequal_length_unequal_spacing_in_every_container():
    X, y = load_basic_motions(split="train", return_type="numpy3D")
    Xi = make_irregular(X[:, :, :30], keep=0.6, random_state=1, return_type="df-list")
    lengths = {len(f) for f in Xi}
    assert len(lengths) == 1  # same fraction kept: make some series shorter
    Xi = [f.iloc[: 10 + i % 8] for i, f in enumerate(Xi)]
    preds = []
    for mtype in ("df-list", "pd-multiindex", "nested_univ"):
        Xc = Xi if mtype == "df-list" else convert_to(Xi, to_type=mtype)
        clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(Xc, y)
        preds.append(clf.predict_proba(Xc))
    np.testing.assert_allclose(preds[0], preds[1], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(preds[0], preds[2], rtol=1e-5, atol=1e-6)


def test_sktime_estimators_describe_what_they_learned():
    from sktime.datasets import load_japanese_vowels

    X, y = load_japanese_vowels(split="train", return_X_y=True)
    X, y = X.iloc[:60], y[:60]
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    inner = clf.estimator_
    assert str(clf.describe(X)) == str(inner.describe(X))
    assert clf.time_gates(initial=True).equals(inner.time_gates(initial=True))
    openness, times = clf.gate_openness(X.iloc[:3])
    assert openness.shape[:2] == times.shape and openness.shape[2:] == (1, 4)
    with pytest.raises(Exception, match="not been fitted|not fitted"):
        PhasedLSTMClassifier().describe()


def test_evaluate_splits_float_times_and_own_channel_times_unconverted():
    from sklearn.model_selection import StratifiedKFold

    from sk_plstm import from_events
    from sk_plstm.datasets import make_building_occupancy
    from sk_plstm.sktime import evaluate

    events, y = make_building_occupancy(24, random_state=0)
    nested = from_events(events, return_type="nested_univ")  # channels at their own times
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
    cv = StratifiedKFold(2)
    results = evaluate(clf, cv=cv, X=nested, y=y, error_score="raise", return_data=True)
    assert list(results.columns[:4]) == [
        "test_accuracy_score",
        "fit_time",
        "pred_time",
        "len_y_train",
    ]
    # each fold is the fit on those series as they are: the same as fitting by hand
    for (train, test), (_, row) in zip(cv.split(np.zeros((24, 1)), y), results.iterrows()):
        by_hand = clf.clone().fit(nested.iloc[train], y[train]).predict(nested.iloc[test])
        np.testing.assert_array_equal(row["y_pred"], by_hand)
    # the multi-index frame gives the same folds: no channel lost in either
    flat = evaluate(clf, cv=cv, X=from_events(events), y=y, error_score="raise")
    np.testing.assert_allclose(flat["test_accuracy_score"], results["test_accuracy_score"])


def test_evaluate_takes_float_times_in_nested_univ_which_sktime_refuses():
    from sk_plstm.sktime import evaluate

    rng = np.random.default_rng(0)
    X = pd.DataFrame(
        {
            "a": [
                pd.Series(rng.normal(size=8), index=np.sort(rng.uniform(0, 5, 8)))
                for _ in range(12)
            ]
        }
    )
    y = np.arange(12) % 2
    results = evaluate(PhasedLSTMRegressor(hidden_size=4, max_epochs=1), cv=3, X=X, y=y * 1.0)
    assert results["test_mean_squared_error"].notna().all() and len(results) == 3
    from sklearn.exceptions import FitFailedWarning

    with pytest.warns(FitFailedWarning, match="hidden_size"):
        failed = evaluate(PhasedLSTMClassifier(hidden_size=0), cv=2, X=X, y=y, error_score=-1.0)
    assert (failed["test_accuracy_score"] == -1.0).all()


def test_sktime_classifier_takes_class_weight():
    X, y = load_unit_test(split="train", return_type="pd-multiindex")
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, class_weight="balanced").fit(X, y)
    assert clf.estimator_.class_weight == "balanced"
    with pytest.raises(TypeError, match="did you mean 'class_weight'"):
        PhasedLSTMClassifier(class_weights="balanced")


def test_sktime_classes_leave_the_embedding_to_the_fitted_estimator():
    # sktime's checks call a method named transform without arguments on these classes
    # (a transformer's scenario), so the embedding stays on estimator_
    X, y = load_unit_test(split="train", return_type="nested_univ")
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, y)
    assert not hasattr(clf, "transform")
    assert clf.estimator_.transform(X).shape == (20, 4 + 6)
    assert clf.estimator_.predict_steps(X).index.names == ["instance", "time"]

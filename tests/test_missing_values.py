"""Asynchronous channels end to end: NaN as "not observed" through fit, predict, the
event-driven path, streaming, saving and sktime; strict mode; property tests over masks."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, from_events, load, to_events

FAST = {"hidden_size": 8, "max_epochs": 3, "random_state": 0}


def _async_dataset(n=24, seed=0):
    """Two sensors at their own rates; the class is which sensor oscillates faster."""
    rng = np.random.default_rng(seed)
    frames, labels = [], []
    for i in range(n):
        label = i % 2
        ta = np.sort(rng.uniform(0, 20, 30))  # sensor a: about 1.5 per second
        tb = np.sort(rng.uniform(0, 20, 12))  # sensor b: slower
        fa, fb = (0.5, 0.1) if label else (0.1, 0.5)
        a = pd.Series(np.sin(2 * np.pi * fa * ta), index=ta)
        b = pd.Series(np.cos(2 * np.pi * fb * tb) + 3.0, index=tb)
        frames.append(pd.concat({"a": a, "b": b}, axis=1).sort_index())
        labels.append(label)
    return frames, np.array(labels)


@pytest.fixture(scope="module")
def fitted():
    X, y = _async_dataset()
    return PhasedLSTMClassifier(**FAST).fit(X, y), X, y


def test_fit_on_asynchronous_channels_records_names_and_masks(fitted):
    clf, X, y = fitted
    assert clf.mask_inputs_ and clf.channel_names_ == ("a", "b") and clf.n_channels_ == 2
    # the final state, and 6 statistics of each channel
    assert clf.module_.head.in_features == 8 + 6 * 2
    # values and masks, the time gap, each channel's time since it was seen, the levels
    assert clf.module_.plstm.cells[0].input_size == 2 + 2 + 1 + 2 + 2
    proba = clf.predict_proba(X)
    assert proba.shape == (24, 2) and np.isfinite(proba).all()
    # standardisation statistics from the observed values only
    observed_a = np.concatenate([f["a"].dropna().to_numpy() for f in X])
    np.testing.assert_allclose(clf.channel_mean_[0], observed_a.mean())
    np.testing.assert_allclose(clf.channel_std_[0], observed_a.std())


def test_every_container_gives_the_same_predictions(fitted):
    clf, X, _ = fitted
    reference = clf.predict_proba(X)
    events = to_events(X)
    nested = pd.DataFrame({c: [f[c].dropna() for f in X] for c in ("a", "b")})
    containers = [
        pd.concat(X, keys=range(len(X))),
        nested,
        [{"a": f["a"].dropna(), "b": f["b"].dropna()} for f in X],
        from_events(events),
        from_events(events, return_type="nested_univ"),
        [f[["b", "a"]] for f in X],  # channels matched by name, not position
    ]
    for container in containers:
        np.testing.assert_allclose(clf.predict_proba(container), reference, atol=1e-6)


def test_channel_names_that_differ_from_fit_raise(fitted):
    clf, X, _ = fitted
    renamed = [f.rename(columns={"b": "c"}) for f in X[:2]]
    with pytest.raises(ValueError, match=r"fitted on channels \['a', 'b'\].*unexpected: \['c'\]"):
        clf.predict(renamed)


def test_event_driven_inference_matches_the_dense_path(fitted):
    clf, X, _ = fitted
    layer = clf.module_.plstm
    before = layer.implementation
    try:
        results = {}
        for implementation in ("sparse", "torch", "autograd"):
            layer.implementation = implementation
            results[implementation] = clf.predict_proba(X)
    finally:
        layer.implementation = before
    np.testing.assert_allclose(results["sparse"], results["autograd"], atol=1e-5)
    np.testing.assert_allclose(results["torch"], results["autograd"], atol=1e-5)


def test_stream_accepts_events_with_some_channels(fitted):
    clf, X, _ = fitted
    frame = X[0]
    stream = clf.stream()
    outputs = []
    for time, row in frame.iterrows():
        observed = row.dropna()
        if len(observed) == 1:  # a dict with only the observed channel
            outputs.append(stream.update({observed.index[0]: observed.iloc[0]}, times=[time]))
        else:
            outputs.append(stream.update(row.to_frame().T))
    outputs = np.concatenate(outputs)
    assert len(outputs) == len(frame)
    np.testing.assert_allclose(outputs[-1], clf.predict_proba([frame])[0], atol=1e-5)
    half = len(frame) // 2
    np.testing.assert_allclose(outputs[half - 1], clf.predict_proba([frame[:half]])[0], atol=1e-5)
    stream.reset()
    nan_rows = stream.update(frame.to_numpy(), times=frame.index)  # NaN where unobserved
    np.testing.assert_allclose(nan_rows, outputs, atol=1e-6)
    with pytest.raises(ValueError, match=r"channels \['z'\] that the model was not fitted on"):
        stream.update({"z": 1.0}, times=[100.0])


def test_saved_model_keeps_names_and_masks(fitted, tmp_path):
    clf, X, _ = fitted
    clf.save(tmp_path / "m.plstm")
    same = load(tmp_path / "m.plstm")
    assert same.channel_names_ == ("a", "b") and same.mask_inputs_ is True
    np.testing.assert_array_equal(same.predict_proba(X), clf.predict_proba(X))


def test_missing_values_on_a_model_fitted_on_complete_data_warn():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(12, 2, 10))
    clf = PhasedLSTMClassifier(**FAST).fit(X, np.arange(12) % 2)
    # values, the time gap and the levels: no masks
    assert not clf.mask_inputs_ and clf.module_.plstm.cells[0].input_size == 2 + 1 + 2
    Xm = X.copy()
    Xm[0, 0, 3] = np.nan
    with pytest.warns(UserWarning, match="fitted on fully observed data"):
        proba = clf.predict_proba(Xm)
    assert np.isfinite(proba).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf.predict_proba(X)  # complete data: no warning


def test_strict_mode_refuses_nan_and_tags_follow_it():
    X = np.random.default_rng(0).normal(size=(8, 2, 6))
    X[2, 1, 4] = np.nan
    strict = PhasedLSTMClassifier(missing="error", **FAST)
    assert not strict.__sklearn_tags__().input_tags.allow_nan
    assert PhasedLSTMClassifier().__sklearn_tags__().input_tags.allow_nan
    with pytest.raises(ValueError, match="series 2 contains NaN"):
        strict.fit(X, np.arange(8) % 2)
    with pytest.raises(ValueError, match="missing"):
        PhasedLSTMClassifier(missing="impute").fit(X, np.arange(8) % 2)


def test_fit_errors_name_the_series_and_channel():
    X = np.random.default_rng(0).normal(size=(6, 2, 5))
    y = np.arange(6) % 2
    empty = X.copy()
    empty[3] = np.nan
    with pytest.raises(ValueError, match="series 3 has no observed value"):
        PhasedLSTMClassifier(**FAST).fit(empty, y)
    never = X.copy()
    never[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"never observed .*: \[1\]"):
        PhasedLSTMClassifier(**FAST).fit(never, y)
    assert not np.isnan(X).any()  # nothing the user gave is mutated


def test_regressor_with_missing_values():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 3, 12))
    y = X[:, 0].mean(axis=1)
    X[rng.random(X.shape) < 0.4] = np.nan
    X[:, :, 0] = 0.5  # every series keeps an observation
    reg = PhasedLSTMRegressor(**FAST).fit(X, y)
    assert reg.mask_inputs_ and np.isfinite(reg.predict(X)).all()


def test_sktime_estimators_take_missing_values():
    from sktime.datasets import load_unit_test

    from sk_plstm.sktime import PhasedLSTMClassifier as SktimeClassifier

    X, y = load_unit_test(split="train", return_type="pd-multiindex")
    X = X.copy()
    X.iloc[::3, 0] = np.nan
    clf = SktimeClassifier(**FAST)
    assert clf.get_tag("capability:missing_values")
    assert clf.fit(X, y).predict(X).shape == (20,)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_any_pattern_of_missing_values_gives_finite_and_consistent_outputs(fitted, data):
    clf, X, _ = fitted
    n_series = data.draw(st.integers(1, 3))
    frames = []
    for i in range(n_series):
        frame = X[i].copy()
        holes = data.draw(
            st.lists(st.booleans(), min_size=frame.size, max_size=frame.size), label="holes"
        )
        values = frame.to_numpy().copy()
        values[np.array(holes).reshape(values.shape)] = np.nan
        if np.isnan(values).all():
            values[0, 0] = 0.0
        frames.append(pd.DataFrame(values, index=frame.index, columns=frame.columns))
    proba = clf.predict_proba(frames)
    assert np.isfinite(proba).all() and np.allclose(proba.sum(axis=1), 1)
    multi = pd.concat(frames, keys=range(n_series))
    np.testing.assert_allclose(clf.predict_proba(multi), proba, atol=1e-6)
    np.testing.assert_allclose(clf.predict_proba(from_events(to_events(frames))), proba, atol=1e-6)
    for i, frame in enumerate(frames):  # each series alone as in the batch
        np.testing.assert_allclose(clf.predict_proba([frame])[0], proba[i], atol=1e-5)

"""Asynchronous data: make_sensor_fusion (each sensor at its own rate and times, the label
needing every sensor) and make_missing (each channel loses its own observations).

The containers are checked against each other (the same observations in every
return_type), the labels against the sensors' frequencies, and one short fit (which needs
the estimators to accept NaN as "not observed") against chance.
"""

import numpy as np
import pandas as pd
import pytest
from scipy.signal import lombscargle

from sk_plstm import PhasedLSTMClassifier, to_events
from sk_plstm.datasets import make_missing, make_sensor_fusion

RETURN_TYPES = ["pd-multiindex", "df-list", "nested_univ", "events"]


def _events(X):
    """Observations of any container as a DataFrame (instance, time, channel, value)."""
    if isinstance(X, pd.DataFrame) and list(X.columns) == ["instance", "time", "channel", "value"]:
        return X
    if isinstance(X, list):
        X = pd.concat(X, keys=range(len(X)))
    if isinstance(X.index, pd.MultiIndex):
        long = X.stack(future_stack=True).dropna()
        frame = long.rename_axis(["instance", "time", "channel"]).rename("value").reset_index()
    else:  # nested_univ
        frame = pd.DataFrame(
            [
                (i, t, channel, v)
                for channel in X.columns
                for i, cell in enumerate(X[channel])
                for t, v in cell.items()
            ],
            columns=["instance", "time", "channel", "value"],
        )
    return frame.sort_values(["instance", "time", "channel"], ignore_index=True)


def _sorted(events):
    return events.sort_values(["instance", "time", "channel"], ignore_index=True)


def _peak_frequency(times, values):
    freqs = np.geomspace(0.05, 10.0, 600)
    power = lombscargle(times, values - values.mean(), 2 * np.pi * freqs)
    return freqs[np.argmax(power)]


# -- make_sensor_fusion ------------------------------------------------------------------


def test_shapes_union_rows_and_balanced_classes():
    X, y = make_sensor_fusion(30, random_state=0)
    assert list(X.columns) == ["sensor_0", "sensor_1"]
    assert X.index.nlevels == 2 and X.index.get_level_values(0).unique().tolist() == list(range(30))
    assert y.shape == (30,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [8, 8, 7, 7]  # 30 samples, 4 classes
    for i in range(30):
        frame = X.loc[i]
        times = frame.index.to_numpy()
        assert times.dtype.kind == "f" and np.all(np.diff(times) > 0)
        assert 0 <= times[0] and times[-1] <= 10.0
        observed = frame.notna()
        assert observed.any(axis=1).all()  # every row has an observation
        assert not observed.all(axis=1).any()  # the sensors never share a time
        assert (observed.sum() >= 2).all()
    _, y3 = make_sensor_fusion(20, n_sensors=3, random_state=0)
    assert np.bincount(y3).tolist() == [3, 3, 3, 3, 2, 2, 2, 2]
    X3, yp = make_sensor_fusion(21, n_sensors=3, labels="parity", random_state=0)
    assert list(X3.columns) == ["sensor_0", "sensor_1", "sensor_2"]
    assert abs(np.bincount(yp)[0] - np.bincount(yp)[1]) <= 1


def test_each_sensor_has_its_own_rate_and_times():
    X, _ = make_sensor_fusion(
        60, n_observations=(60, 20), random_state=1, return_type="nested_univ"
    )
    counts = np.array([[len(cell) for cell in X[c]] for c in X.columns])  # (sensors, samples)
    spread = np.sqrt(1.5)
    assert np.all(counts[0] >= 60 / spread - 1) and np.all(counts[0] <= 60 * spread + 1)
    assert np.all(counts[1] >= 20 / spread - 1) and np.all(counts[1] <= 20 * spread + 1)
    assert len(set(counts[0])) > 3  # the rate varies from sample to sample
    ratios, durations = [], []
    for fast, slow in zip(X["sensor_0"], X["sensor_1"]):
        for cell in (fast, slow):
            spacing = np.diff(cell.index.to_numpy())
            assert np.all(spacing > 0)
            # a jittered grid: one point per slot of duration / count, not a regular one
            assert spacing.std() > 0.05 * spacing.mean()
        assert not fast.index.equals(slow.index)
        ratios.append(np.median(np.diff(slow.index)) / np.median(np.diff(fast.index)))
        durations.append(max(fast.index[-1], slow.index[-1]))
    assert 2.5 < np.median(ratios) < 3.5  # sensor 0 is sampled three times as fast
    assert 2.0 <= min(durations) and max(durations) <= 10.0 and np.ptp(durations) > 4.0
    regular, _ = make_sensor_fusion(4, jitter=0.0, rate_spread=1.0, duration=4.0, random_state=0)
    times = regular["sensor_1"].loc[0].dropna().index.to_numpy()
    np.testing.assert_allclose(times, (np.arange(32) + 0.5) * 4.0 / 32)


def test_every_sensor_decides_part_of_the_label():
    # the class is the sensors' bits: bit k is 1 when sensor k oscillates fast, so the
    # frequency of each sensor (read with the times) predicts its bit of the label, and
    # flipping one sensor's frequency band changes the class
    X, y = make_sensor_fusion(
        160, n_observations=(64, 32), noise=0.1, random_state=0, return_type="nested_univ"
    )
    typical = np.sqrt(2.0 * 10.0)
    for k, threshold in enumerate([64 / (10 * typical), 32 / (10 * typical)]):
        bit = (y >> k) & 1
        freqs = np.array([_peak_frequency(s.index.to_numpy(), s.to_numpy()) for s in X.iloc[:, k]])
        assert np.mean((freqs > threshold) == bit) > 0.95, k
        # the other sensor's bit is balanced within each value of this one: one sensor
        # alone tells at most one of the two bits
        other = (y >> (1 - k)) & 1
        for value in (0, 1):
            assert 0.35 < other[bit == value].mean() < 0.65
    # same draws with labels="parity": the class is the parity of the fast sensors
    Xp, yp = make_sensor_fusion(
        160, n_observations=(64, 32), noise=0.1, random_state=0, return_type="nested_univ"
    )
    Xq, yq = make_sensor_fusion(
        160,
        n_observations=(64, 32),
        noise=0.1,
        labels="parity",
        random_state=0,
        return_type="nested_univ",
    )
    pd.testing.assert_series_equal(Xp.iloc[3, 1], Xq.iloc[3, 1])
    np.testing.assert_array_equal(yq, ((yp & 1) ^ (yp >> 1)) & 1)


def test_fusion_is_deterministic_and_seed_dependent():
    a, ya = make_sensor_fusion(12, random_state=5)
    b, yb = make_sensor_fusion(12, random_state=5)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    c, _ = make_sensor_fusion(12, random_state=6)
    assert not a.index.equals(c.index)
    rng = np.random.RandomState(5)
    pd.testing.assert_frame_equal(make_sensor_fusion(12, random_state=rng)[0], a)


def test_fusion_containers_hold_the_same_observations():
    reference, y = make_sensor_fusion(10, n_sensors=3, random_state=2, return_type="events")
    assert list(reference.columns) == ["instance", "time", "channel", "value"]
    pd.testing.assert_frame_equal(_sorted(reference), reference)  # sorted by instance, time
    assert reference["instance"].dtype == np.int64 and reference["time"].dtype == np.float64
    for return_type in ["pd-multiindex", "df-list", "nested_univ"]:
        X, y2 = make_sensor_fusion(10, n_sensors=3, random_state=2, return_type=return_type)
        np.testing.assert_array_equal(y, y2)
        pd.testing.assert_frame_equal(_events(X), _sorted(reference), check_dtype=False)
    # the package's own event table of the pd-multiindex container is the same
    multi, _ = make_sensor_fusion(10, n_sensors=3, random_state=2)
    pd.testing.assert_frame_equal(to_events(multi), reference)
    nested, _ = make_sensor_fusion(10, n_sensors=3, random_state=2, return_type="nested_univ")
    assert nested.shape == (10, 3)
    assert all(cell.notna().all() for cell in nested["sensor_2"])  # only own observations
    listed, _ = make_sensor_fusion(10, n_sensors=3, random_state=2, return_type="df-list")
    assert len(listed) == 10 and all(f.isna().any(axis=None) for f in listed)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_samples": 3}, "n_samples"),
        ({"n_samples": 7, "n_sensors": 3}, "number of classes"),
        ({"n_samples": 2.5}, "n_samples"),
        ({"n_sensors": 1}, "n_sensors"),
        ({"n_sensors": True}, "n_sensors"),
        ({"n_observations": (10,)}, "one per sensor"),
        ({"n_observations": (10, 3)}, ">= 4"),
        ({"n_observations": (10, 5.5)}, ">= 4"),
        ({"duration": 0.0}, "duration"),
        ({"duration": (5.0, 2.0)}, "low <= high"),
        ({"duration": (1.0, 2.0, 3.0)}, "pair"),
        ({"duration": "long"}, "duration"),
        ({"rate_spread": 0.5}, "rate_spread"),
        ({"jitter": 1.5}, "jitter"),
        ({"noise": -1.0}, "noise"),
        ({"labels": "xor"}, "labels"),
        ({"return_type": "numpy3D"}, "return_type"),
    ],
)
def test_fusion_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_sensor_fusion(**{"n_samples": 16, **kwargs})


# -- make_missing ------------------------------------------------------------------------


def _complete(n=12, channels=3, length=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, channels, length))


@pytest.mark.parametrize("missing, length", [(0.6, 40), (0.3, 37), (0.0, 10)])
def test_removes_the_fraction_per_channel_and_keeps_true_values(missing, length):
    X = _complete(length=length)
    out = make_missing(X, missing, random_state=0)
    assert list(out.columns) == ["dim_0", "dim_1", "dim_2"]
    kept = length - int(round(missing * length))
    assert out.notna().groupby(level=0).sum().to_numpy().tolist() == [[kept] * 3] * 12
    assert abs(1 - kept / length - missing) <= 0.5 / length
    assert out.notna().any(axis=1).all()  # time points where nothing is left are dropped
    for i in range(len(X)):
        frame = out.loc[i]
        steps = frame.index.to_numpy()
        assert steps.dtype.kind == "i" and np.all(np.diff(steps) > 0)  # integer times
        for c, column in enumerate(out.columns):
            observed = frame[column].dropna()
            np.testing.assert_array_equal(observed.to_numpy(), X[i, c, observed.index])
    if missing > 0:  # each channel loses its own observations
        masks = out.loc[0].notna().to_numpy()
        assert not (masks[:, 0] == masks[:, 1]).all()
        assert len(out.loc[0]) < length or missing < 0.4


def test_fraction_removed_is_close_to_missing_overall():
    X = _complete(n=30, channels=2, length=25)
    out = make_missing(X, 0.45, random_state=3, return_type="df-list")
    removed = 1 - np.array([f.notna().sum().to_numpy() for f in out]) / 25
    assert np.all(np.abs(removed - 0.45) <= 0.5 / 25 + 1e-12)


def test_keeps_at_least_one_observation_per_channel_and_series():
    X = _complete(n=8, channels=2, length=10)
    out = make_missing(X, 0.99, random_state=0, return_type="nested_univ")
    assert all(len(cell) == 1 for column in out.columns for cell in out[column])
    short = make_missing([np.arange(1.0)[:, None].repeat(2, axis=1)], 0.9, random_state=0)
    assert short.notna().sum().tolist() == [1, 1]


@pytest.mark.parametrize("return_type", RETURN_TYPES)
def test_missing_containers_agree(return_type):
    X = _complete(n=5, channels=2, length=20)
    reference = _events(make_missing(X, 0.5, random_state=1))
    out = make_missing(X, 0.5, random_state=1, return_type=return_type)
    pd.testing.assert_frame_equal(_events(out), reference, check_dtype=False)
    if return_type == "nested_univ":
        assert not out.iloc[0, 0].index.equals(out.iloc[0, 1].index)
        assert out.iloc[0, 0].index.dtype.kind == "i"


def test_missing_is_deterministic_and_keeps_float_and_datetime_times():
    X = _complete()
    a = make_missing(X, random_state=2)
    pd.testing.assert_frame_equal(a, make_missing(X, random_state=2))
    assert not a.notna().equals(make_missing(X, random_state=3).notna())
    times = np.cumsum(np.random.default_rng(0).uniform(0.1, 1.0, 30))
    frames = [pd.DataFrame({"a": np.sin(times), "b": np.cos(times)}, index=times)]
    out = make_missing(frames, 0.5, random_state=0, return_type="df-list")[0]
    assert out.index.dtype.kind == "f" and set(out.index) <= set(times)
    np.testing.assert_array_equal(out["dim_0"].dropna(), np.sin(out["dim_0"].dropna().index))
    dates = pd.date_range("2026-05-01", periods=20, freq="250ms")
    frame = pd.DataFrame({"a": np.arange(20.0)}, index=dates)
    out = make_missing([frame], 0.5, random_state=0, return_type="df-list")[0]
    assert isinstance(out.index, pd.DatetimeIndex) and len(out) == 10
    np.testing.assert_array_equal(out["dim_0"], frame.loc[out.index, "a"])
    multi = make_missing(a.fillna(0.0), 0.5, random_state=0)  # a pd-multiindex input
    assert multi.index.get_level_values(0).nunique() == len(X)


def test_missing_does_not_mutate_its_input():
    X = _complete()
    copy = X.copy()
    make_missing(X, 0.5, random_state=0)
    np.testing.assert_array_equal(X, copy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"missing": 1.0}, "missing"),
        ({"missing": -0.1}, "missing"),
        ({"missing": True}, "missing"),
        ({"missing": "half"}, "missing"),
        ({"return_type": "numpy3D"}, "return_type"),
    ],
)
def test_missing_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_missing(_complete(n=2), **kwargs)


# -- a short fit -------------------------------------------------------------------------


@pytest.mark.heavy
def test_short_fit_on_sensor_fusion_beats_chance():
    # NaN in a channel means "not observed then". A short, easy version of the task
    # (noise-free, fixed duration and counts): 15 epochs learn about one of the two bits,
    # so the bar is above chance (0.25), not near 0.5
    kwargs = {"n_observations": (20, 16), "duration": 4.0, "noise": 0.0, "rate_spread": 1.0}
    X, y = make_sensor_fusion(2000, random_state=0, **kwargs)
    X_test, y_test = make_sensor_fusion(300, random_state=1, **kwargs)
    clf = PhasedLSTMClassifier(hidden_size=16, max_epochs=15, random_state=0)
    clf.fit(X, y)
    accuracy = clf.score(X_test, y_test)
    assert accuracy > 0.33, accuracy  # 4 balanced classes: chance is 0.25 (sd 0.025)

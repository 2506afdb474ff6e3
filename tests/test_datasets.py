import numpy as np
import pandas as pd
import pytest
from sktime.datatypes import check_is_mtype

from sk_plstm.datasets import make_irregular


def _regular(n=5, channels=2, length=40, seed=0):
    return np.random.default_rng(seed).normal(size=(n, channels, length))


def test_keeps_a_fraction_of_points_with_their_true_times_and_values():
    X = _regular()
    Xi = make_irregular(X, keep=0.25, random_state=0)
    assert list(Xi.columns) == ["dim_0", "dim_1"]
    for i in range(len(X)):
        series = Xi.loc[i]
        assert len(series) == 10
        steps = series.index.to_numpy()
        assert steps.dtype.kind == "i" and np.all(np.diff(steps) > 0)
        np.testing.assert_array_equal(series.to_numpy(), X[i][:, steps].T)  # exact values
    spacings = {tuple(np.diff(Xi.loc[i].index)) for i in range(len(X))}
    assert len(spacings) > 1  # each series sampled differently


def test_deterministic_with_random_state():
    X = _regular()
    a = make_irregular(X, random_state=3)
    pd.testing.assert_frame_equal(a, make_irregular(X, random_state=3))
    assert not a.index.equals(make_irregular(X, random_state=4).index)


@pytest.mark.parametrize("return_type", ["pd-multiindex", "nested_univ", "df-list"])
def test_sktime_accepts_every_return_type(return_type):
    Xi = make_irregular(_regular(), keep=0.5, random_state=0, return_type=return_type)
    assert check_is_mtype(Xi, return_type)


def test_min_points_and_short_series():
    X = [np.arange(3.0), np.arange(50.0)]
    Xi = make_irregular(X, keep=0.1, min_points=4, random_state=0, return_type="df-list")
    assert [len(f) for f in Xi] == [3, 5]


def test_datetime_and_float_times_are_restored():
    idx = pd.date_range("2026-05-01 12:00", periods=30, freq="250ms", tz="UTC")
    frames = [pd.DataFrame({"a": np.arange(30.0)}, index=idx)]
    out = make_irregular(frames, keep=0.5, random_state=0, return_type="df-list")[0]
    assert isinstance(out.index, pd.DatetimeIndex)
    assert str(out.index.tz) == "UTC" and set(out.index) <= set(idx)  # the zone is kept
    floats = [pd.Series(np.arange(10.0), index=np.linspace(0.05, 2.3, 10))]
    out = make_irregular(floats, keep=0.5, random_state=0, return_type="df-list")[0]
    assert out.index.dtype.kind == "f"
    np.testing.assert_allclose(out["dim_0"], np.interp(out.index, floats[0].index, floats[0]))


def test_input_is_not_mutated():
    X = _regular()
    copy = X.copy()
    make_irregular(X, random_state=0)
    np.testing.assert_array_equal(X, copy)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"keep": 0.0}, "keep"),
        ({"keep": 1.5}, "keep"),
        ({"min_points": 0}, "min_points"),
        ({"min_points": 2.5}, "min_points"),
        ({"return_type": "numpy3D"}, "return_type"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_irregular(_regular(), **kwargs)

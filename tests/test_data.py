"""Tests of sk_plstm._data: every input format, timestamps, errors and Panel helpers."""

import copy

import numpy as np
import pandas as pd
import pytest

from sk_plstm import PhasedLSTMClassifier
from sk_plstm._data import (
    Panel,
    TimeOrigin,
    check_time_unit,
    from_events,
    from_panel,
    to_events,
    to_panel,
)


def convert(X, reset=True, estimator=None, **kw):
    est = PhasedLSTMClassifier() if estimator is None else estimator
    return to_panel(X, estimator=est, reset=reset, **kw)


def make_values(lengths, n_channels, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, n_channels)) for n in lengths]


def default_indexes(vals):
    return [pd.RangeIndex(len(v)) for v in vals]


# Builders: list of (L_i, C) arrays (+ time indexes) -> one input format.
def as_multiindex(vals, idxs):
    rows = [(i, t) for i, idx in enumerate(idxs) for t in idx]
    index = pd.MultiIndex.from_tuples(rows, names=["inst", "t"])
    cols = [f"c{j}" for j in range(vals[0].shape[1])]
    return pd.DataFrame(np.concatenate(vals), index=index, columns=cols)


def as_nested(vals, idxs):
    cols = {}
    for j in range(vals[0].shape[1]):
        cells = np.empty(len(vals), dtype=object)
        cells[:] = [pd.Series(v[:, j], index=idx) for v, idx in zip(vals, idxs, strict=True)]
        cols[f"c{j}"] = pd.Series(list(cells), dtype=object)
    return pd.DataFrame(cols)


def as_dflist(vals, idxs, cls=pd.DataFrame, col=slice(None)):
    return [cls(v[:, col], index=idx) for v, idx in zip(vals, idxs, strict=True)]


def expected(vals, times):
    """Padded arrays built by hand; ``times`` are already relative."""
    n, max_len, c = len(vals), max(len(v) for v in vals), vals[0].shape[1]
    values = np.zeros((n, max_len, c), dtype=np.float32)
    tt = np.zeros((n, max_len))
    for i, (v, t) in enumerate(zip(vals, times, strict=True)):
        values[i, : len(v)] = v
        tt[i, : len(t)] = t
        tt[i, len(t) :] = t[-1]
    return values, tt, np.array([len(v) for v in vals], dtype=np.int64)


def assert_panel(panel, values, times, lengths):
    assert (panel.values.dtype, panel.times.dtype, panel.lengths.dtype) == (
        np.float32,
        np.float64,
        np.int64,
    )
    np.testing.assert_array_equal(panel.values, values)
    np.testing.assert_allclose(panel.times, times, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(panel.lengths, lengths)


# 1. All formats agree.

MULTI_FORMATS = {
    "numpy3D": lambda v, i: np.stack([x.T for x in v]),
    "pd-multiindex": as_multiindex,
    "nested_univ": as_nested,
    "df-list": as_dflist,
    "np-list": lambda v, i: list(v),
}
UNI_FORMATS = {
    **MULTI_FORMATS,
    "2-D": lambda v, i: np.stack([x[:, 0] for x in v]),
    "series-list": lambda v, i: as_dflist(v, i, pd.Series, 0),
    "np-list-1d": lambda v, i: [x[:, 0] for x in v],
}


@pytest.mark.parametrize(
    "fmt, n_channels", [(f, 2) for f in MULTI_FORMATS] + [(f, 1) for f in UNI_FORMATS]
)
def test_equal_length_formats_agree(fmt, n_channels):
    vals = make_values([6, 6, 6], n_channels, seed=n_channels)
    panel, origin = convert(UNI_FORMATS[fmt](vals, default_indexes(vals)))
    assert_panel(panel, *expected(vals, [np.arange(6.0)] * 3))
    assert origin == TimeOrigin("numeric", 0.0)
    assert len(panel) == 3 and panel.n_channels == n_channels


@pytest.mark.parametrize("fmt", ["pd-multiindex", "nested_univ", "df-list", "np-list"])
def test_unequal_length_multivariate_padding(fmt):
    vals = make_values([4, 2, 5], 3, seed=2)
    panel, _ = convert(MULTI_FORMATS[fmt](vals, default_indexes(vals)))
    assert_panel(panel, *expected(vals, [np.arange(float(len(v))) for v in vals]))
    np.testing.assert_array_equal(panel.lengths, [4, 2, 5])
    assert (panel.values[1, 2:] == 0).all() and (panel.values[0, 4:] == 0).all()
    np.testing.assert_array_equal(panel.times[1], [0, 1, 1, 1, 1])
    np.testing.assert_array_equal(panel.valid_mask()[1], [1, 1, 0, 0, 0])


@pytest.mark.parametrize("fmt", ["pd-multiindex", "nested_univ", "df-list", "series-list"])
def test_unequal_irregular_float_times_all_formats(fmt):
    vals = make_values([3, 1, 4], 1, seed=3)
    raw = [np.array([2.5, 3.0, 7.25]), np.array([4.0]), np.array([1.5, 1.75, 9.0, 100.0])]
    idxs = [pd.Index(t) for t in raw]
    panel, origin = convert(UNI_FORMATS[fmt](vals, idxs))
    assert origin == TimeOrigin("numeric", 1.5)
    assert_panel(panel, *expected(vals, [t - 1.5 for t in raw]))
    np.testing.assert_array_equal(panel.times[1], [2.5, 2.5, 2.5, 2.5])


def test_multiindex_unsorted_instances_and_three_levels():
    vals = make_values([30, 20], 1, seed=4)
    X = as_multiindex(vals, default_indexes(vals))
    ref, _ = convert(X)
    # Interleaved rows: grouped by first appearance, time order within instance kept.
    shuffled = X.iloc[np.ravel(np.column_stack([np.arange(20), np.arange(30, 50)]))]
    shuffled = pd.concat([shuffled, X.iloc[20:30]])
    assert_panel(convert(shuffled)[0], ref.values, ref.times, ref.lengths)
    three = X.copy()
    three.index = pd.MultiIndex.from_arrays(
        [["a"] * 50, X.index.get_level_values(0), X.index.get_level_values(1)]
    )
    assert_panel(convert(three)[0], ref.values, ref.times, ref.lengths)


@pytest.mark.parametrize("mtype", ["pd-multiindex", "nested_univ", "df-list"])
@pytest.mark.parametrize("source", ["numpy3D", "unequal df-list"])
def test_sktime_converted_containers_agree(mtype, source):
    from sktime.datatypes import convert_to

    X = np.random.default_rng(5).normal(size=(4, 2, 7))
    if source != "numpy3D":
        X = as_dflist(make_values([3, 5], 2, seed=6), [pd.RangeIndex(3), pd.RangeIndex(5)])
    ref, ref_origin = convert(X)
    panel, origin = convert(convert_to(X, to_type=mtype))
    assert_panel(panel, ref.values, ref.times, ref.lengths)
    assert origin == ref_origin == TimeOrigin("numeric", 0.0)


# 2. Timestamps.


def test_integer_index_relative_to_earliest_time():
    X = [pd.Series([1.0, 2.0, 3.0], index=[10, 12, 15]), pd.Series([4.0, 5.0], index=[7, 20])]
    panel, origin = convert(X)
    assert origin.kind == "numeric" and origin.value == 7
    np.testing.assert_array_equal(panel.times, [[3, 5, 8], [0, 13, 13]])


@pytest.mark.parametrize(
    "unit, scale",
    [("s", 1.0), ("ms", 1e3), ("h", 1 / 3600), (pd.Timedelta("2s"), 0.5)],
)
def test_datetime_index_time_unit(unit, scale):
    idx = pd.DatetimeIndex(["2026-01-01 00:00:00", "2026-01-01 00:00:01.5", "2026-01-01 01:00"])
    panel, origin = convert([pd.Series([1.0, 2.0, 3.0], index=idx)], time_unit=unit)
    assert origin.kind == "datetime"
    assert origin.value == pd.Timestamp("2026-01-01").value
    assert origin.unit_ns == check_time_unit(unit)
    np.testing.assert_allclose(panel.times[0], np.array([0.0, 1.5, 3600.0]) * scale, rtol=1e-12)


_NAIVE = pd.date_range("2026-06-01 12:00", periods=3, freq="37s")


@pytest.mark.parametrize(
    "idx, unit, origin, times",
    [
        pytest.param(
            _NAIVE.tz_localize("UTC").tz_convert("America/New_York"),
            "s",
            TimeOrigin("datetime", _NAIVE[0].value, tz="America/New_York"),
            [0, 37, 74],
            id="tz-aware",
        ),
        pytest.param(
            pd.to_timedelta([5, 6.5, 10], unit="min"),
            "min",
            TimeOrigin("timedelta", 300 * 10**9, 60 * 10**9),
            [0, 1.5, 5],
            id="timedelta",
        ),
        pytest.param(
            pd.period_range("2026-01-01", periods=3, freq="D"),
            "D",
            TimeOrigin("datetime", pd.Timestamp("2026-01-01").value, 86400 * 10**9),
            [0, 1, 2],
            id="period",
        ),
    ],
)
def test_other_time_index_kinds(idx, unit, origin, times):
    for fmt in ("pd-multiindex", "df-list", "nested_univ"):
        panel, got = convert(UNI_FORMATS[fmt]([np.ones((3, 1))], [idx]), time_unit=unit)
        assert got == origin
        np.testing.assert_allclose(panel.times[0], times, rtol=1e-12)


def test_origin_reused_at_predict():
    start = pd.Timestamp("2026-01-01")
    fit_idx = pd.date_range(start, periods=3, freq="10s")
    _, origin = convert([pd.Series([1.0, 2.0, 3.0], index=fit_idx)], time_unit="ms")
    later = pd.date_range(start + pd.Timedelta("1h"), periods=2, freq="1s")
    panel, origin2 = convert(
        [pd.Series([1.0, 2.0], index=later)], reset=False, origin=origin, time_unit="s"
    )
    assert origin2 is origin  # the given origin (and its unit) wins
    np.testing.assert_allclose(panel.times[0], [3_600_000.0, 3_601_000.0])
    # Numeric origin reused by a 3-D array at predict.
    _, num_origin = convert([pd.Series([1.0, 2.0], index=[2.0, 3.0])])
    p3, _ = convert(np.zeros((1, 1, 3)), reset=False, origin=num_origin)
    np.testing.assert_array_equal(p3.times[0], [-2.0, -1.0, 0.0])


def test_kind_mismatch_between_fit_and_predict():
    _, origin = convert(np.zeros((2, 1, 3)))
    X = [pd.Series([1.0], index=pd.DatetimeIndex(["2026-01-01"]))]
    with pytest.raises(ValueError, match="datetime time index.*fitted on a numeric"):
        convert(X, reset=False, origin=origin)
    _, dt_origin = convert(X)
    with pytest.raises(ValueError, match="numeric time index.*fitted on a datetime"):
        convert(np.zeros((1, 1, 3)), reset=False, origin=dt_origin)


def test_large_absolute_times_keep_spacing():
    t = 1.7e9 + 1e-3 * np.arange(1000)
    panel, origin = convert([pd.Series(np.ones(1000), index=t)])
    assert origin.value == t[0]
    np.testing.assert_allclose(panel.times[0], t - t[0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(np.diff(panel.times[0]), 1e-3, rtol=1e-3)
    np.testing.assert_allclose(panel.times[0, -1], 0.999, rtol=1e-6)
    # A DatetimeIndex with ms spacing in 2026 (int64 ns ~1.8e18).
    idx = pd.date_range("2026-03-01 08:00", periods=1000, freq="ms")
    panel, _ = convert([pd.Series(np.ones(1000), index=idx)])
    np.testing.assert_allclose(panel.times[0], 1e-3 * np.arange(1000), rtol=1e-6, atol=1e-12)


def test_large_int64_epoch_nanoseconds_keep_spacing():
    t = 1_700_000_000_000_000_000 + 1000 * np.arange(5, dtype=np.int64)
    panel, _ = convert([pd.Series(np.ones(5), index=t)])
    np.testing.assert_allclose(panel.times[0], 1000.0 * np.arange(5), rtol=1e-6)


# 3. Errors: each case is its own test (id), checking the type and the message.


def _mi(arr, idx=None):
    arr = np.asarray(arr)
    return as_multiindex([arr], [pd.RangeIndex(len(arr)) if idx is None else pd.Index(idx)])


def _s(values, index):
    return [pd.Series(values, index=index)]


_DT2 = pd.DatetimeIndex(["2026-01-02", "2026-01-01"])
_MIXED = [pd.Series([1.0], index=[0]), pd.Series([1.0], index=pd.DatetimeIndex(["2026-01-01"]))]
_STRICT = {"missing": "error"}
E = ValueError
T = TypeError
ERROR_CASES = [
    ("nan-3d", np.array([[[0.0, 1.0]], [[np.nan, 1.0]]]), _STRICT, E, "series 1 contains NaN"),
    ("nan-dflist", [pd.DataFrame({"a": [1.0, np.nan]})], _STRICT, E, "series 0 contains NaN"),
    ("nan-2d", np.array([[1.0, np.nan]]), _STRICT, E, "contains NaN .*missing='mask'"),
    ("all-nan-3d", np.array([[[0.0, 1.0]], [[np.nan] * 2]]), {}, E, "series 1 has no observed"),
    (
        "never-observed-channel",
        np.array([[[0.0, 1.0], [np.nan] * 2]] * 2),
        {},
        E,
        r"channels that are never observed .*: \[1\]",
    ),
    (
        "never-observed-named",
        [pd.DataFrame({"a": [1.0], "b": [np.nan]})],
        {},
        E,
        r"never observed .*\['b'\]",
    ),
    ("bad-missing", np.zeros((1, 1, 2)), {"missing": "drop"}, E, "missing must be one of"),
    (
        "names-differ-in-list",
        [pd.DataFrame({"a": [1.0], "b": [2.0]}), pd.DataFrame({"a": [1.0], "c": [2.0]})],
        {},
        E,
        r"series 1 has channels \['a', 'c'\], but series 0 has .*missing: \['b'\]",
    ),
    (
        "names-differ-from-fit",
        [pd.DataFrame({"a": [1.0], "c": [2.0]})],
        {"channel_names": ("a", "b"), "reset": False},
        E,
        r"but the estimator was fitted on channels \['a', 'b'\].*unexpected: \['c'\]",
    ),
    (
        "repeated-names",
        [pd.DataFrame([[1.0, 2.0]], columns=["a", "a"])],
        {},
        E,
        r"series 0 has repeated channel names \['a'\]",
    ),
    (
        "nested-unsorted-channel",
        pd.DataFrame({"a": [pd.Series([1.0, 2.0], index=[1, 0])], "b": [pd.Series([1.0])]}),
        {},
        E,
        "series 0, channel 'a' has times that are not strictly increasing",
    ),
    ("dict-not-series", [{"a": [1.0, 2.0]}], {}, T, "series 0 is a dict: it must map"),
    ("dict-empty", [{}], {}, E, "series 0 is an empty dict"),
    ("inf-2d", np.array([[1.0, np.inf]]), {}, E, "infinity"),
    (
        "inf-3d",
        np.array([[[1.0, 2.0]], [[3.0, -np.inf]]]),
        {},
        E,
        "series 1 contains infinity",
    ),
    ("inf-multiindex", _mi([[1.0], [np.inf]]), {}, E, "series 0 contains infinity"),
    (
        "dup-time-multiindex",
        _mi(np.ones((3, 1)), [0, 1, 1]),
        {},
        E,
        r"series 0 has times that are not strictly increasing \(time point 2",
    ),
    ("dup-time-dflist", _s([1.0, 2.0, 3.0], [0, 1, 1]), {}, E, "not strictly increasing"),
    ("decreasing-multiindex", _mi(np.ones((3, 1)), [0, 2, 1]), {}, E, "not strictly increasing"),
    ("decreasing-datetime", _s([1.0, 2.0], _DT2), {}, E, "not strictly increasing"),
    ("nan-timestamp", _s([1.0, 2.0], [0.0, np.nan]), {}, E, "NaN or infinite timestamps"),
    ("nat-timestamp", _s([1.0, 2.0], pd.DatetimeIndex(["2026-01-01", None])), {}, E, "NaT"),
    ("string-time-index", _s([1.0, 2.0], ["a", "b"]), {}, T, "time index of dtype"),
    (
        "empty-series-dflist",
        [pd.DataFrame({"a": [1.0]}), pd.DataFrame({"a": np.array([])})],
        {},
        E,
        "series 1 is empty",
    ),
    ("empty-3d", np.zeros((0, 2, 3)), {}, E, r"shape \(0, 2, 3\) is empty"),
    ("empty-2d", np.zeros((0, 3)), {}, E, "0 sample"),
    (
        "channels-3d",
        np.zeros((2, 2, 3)),
        {"n_channels": 3},
        E,
        "X has 2 channels, but the estimator was fitted on 3 channels",
    ),
    ("channels-2d", np.zeros((2, 3)), {"n_channels": 2}, E, "X has 1 channels, .* fitted on 2"),
    (
        "channels-dflist",
        [pd.DataFrame(np.zeros((3, 2)))],
        {"n_channels": 1},
        E,
        "X has 2 channels, .* fitted on 1",
    ),
    (
        "channels-differ-in-list",
        [np.zeros((3, 2)), np.zeros((3, 1))],
        {},
        E,
        r"different numbers of channels: \[1, 2\]",
    ),
    (
        "strings-dflist",
        [pd.DataFrame({"a": ["x", "y"]})],
        {},
        T,
        "series 0 contains strings",
    ),
    ("strings-3d", np.array([[["a", "b"]]]), {}, T, "contains strings"),
    ("numeric-strings-3d", np.array([[["1.5", "2"]]]), {}, T, "contains strings"),
    ("strings-multiindex", _mi([["x"], ["y"]]), {}, T, "contains strings"),
    ("strings-2d", np.array([["a", "b"]]), {}, T, "contains strings"),
    ("datetimes-3d", np.zeros((1, 1, 2), dtype="datetime64[s]"), {}, T, "datetimes"),
    ("dict-3d", np.array([[[{"a": 1}, 2.0]]], dtype=object), {}, T, "not numbers"),
    ("complex-3d", np.ones((1, 1, 2), dtype=complex), {}, E, "contains complex values"),
    ("complex-series", [pd.Series([1 + 1j, 2.0])], {}, E, "series 0 contains complex"),
    ("complex-2d", np.ones((1, 2), dtype=complex), {}, E, "[Cc]omplex data not supported"),
    ("mixed-time-kinds", _MIXED, {}, E, r"mixes kinds of time index \(\['datetime', 'numeric'\]"),
    ("1d-array", np.arange(5.0), {}, E, "got a 1-D input"),
    ("series", pd.Series(np.arange(5.0)), {}, E, "got a 1-D input"),
    ("4d-array", np.zeros((2, 1, 3, 4)), {}, E, "got a 4-D input"),
    ("bad-time-unit", np.zeros((1, 1, 2)), {"time_unit": "parsecs"}, E, "time_unit must be"),
    (
        "list-with-3d-array",
        [np.zeros(3), np.zeros((2, 2, 2))],
        {},
        T,
        "series 1 is a ndarray; a list of series must hold only",
    ),
    ("too-large-2d", np.full((1, 3), 1e300), {}, E, "too large to represent in float32"),
    ("too-large-3d", np.full((1, 1, 3), 1e300), {}, E, "too large to represent in float32"),
    ("too-large-nplist", [np.full((3, 1), -1e300)], {}, E, "too large to represent in float32"),
]


@pytest.mark.parametrize("X, kw, err, msg", [pytest.param(*c[1:], id=c[0]) for c in ERROR_CASES])
def test_invalid_input_raises(X, kw, err, msg):
    with pytest.raises(err, match=msg):
        convert(X, **kw)


def test_empty_list_names_the_problem():
    with pytest.raises(ValueError, match="empty list"):
        convert([])


@pytest.mark.parametrize("X", [[{"a": 1.0}], [pd.Series([1.0, 2.0]), {"a": 1.0}]])
def test_list_with_dict_of_non_series_names_the_problem(X):
    with pytest.raises(TypeError, match="is a dict: it must map each channel name to a pandas"):
        convert(X)


_UNIT_MSG = "time_unit must be .steps., a pandas unit string"


@pytest.mark.parametrize(
    "unit, msg",
    [
        ("parsecs", _UNIT_MSG),
        (5, _UNIT_MSG),
        (None, _UNIT_MSG),
        (np.timedelta64(1, "s"), _UNIT_MSG),
        (pd.Timedelta(0), "time_unit must be positive"),
        (pd.Timedelta("-1s"), "time_unit must be positive"),
    ],
)
def test_invalid_time_unit(unit, msg):
    with pytest.raises(ValueError, match=msg):
        check_time_unit(unit)


def test_valid_time_units():
    assert check_time_unit("ms") == 10**6
    assert check_time_unit("h") == 3600 * 10**9
    assert check_time_unit(pd.Timedelta("2s")) == 2 * 10**9


# 4. Inputs are never mutated (and the panel shares no memory with them).


@pytest.mark.parametrize("fmt", [*UNI_FORMATS, "float32-3D", "int-3D"])
def test_inputs_not_mutated(fmt):
    vals = make_values([4, 4], 1, seed=7)
    idxs = [pd.Index([1.5, 2.0, 4.0, 8.0])] * 2
    if fmt in ("float32-3D", "int-3D"):
        X = np.arange(24).reshape(2, 3, 4).astype(np.float32 if fmt == "float32-3D" else int)
    else:
        X = UNI_FORMATS[fmt](vals, idxs)
    X_copy = copy.deepcopy(X)
    panel, _ = convert(X)
    panel.values[:] = 99.0
    panel.times[:] = -1.0
    panel.standardized(*panel.channel_stats())
    if fmt == "nested_univ":  # compare the Series in the cells one by one
        X, X_copy = list(X.to_numpy().ravel()), list(X_copy.to_numpy().ravel())
    for item, ref in zip(*(x if isinstance(x, list) else [x] for x in (X, X_copy)), strict=True):
        if isinstance(item, (pd.DataFrame, pd.Series)):
            assert item.equals(ref) and item.index.equals(ref.index)
            assert np.all(item.dtypes == ref.dtypes) and item.index.dtype == ref.index.dtype
        else:
            np.testing.assert_array_equal(item, ref)
            assert item.dtype == ref.dtype


# 5. Panel helpers.


def _unequal_panel():
    vals = make_values([5, 2, 3], 2, seed=8)
    vals[1] += 100.0  # padding zeros would visibly shift the stats
    return convert(as_dflist(vals, default_indexes(vals)))[0], vals


def test_channel_stats_ignore_padding():
    panel, vals = _unequal_panel()
    valid = np.concatenate(vals).astype(np.float32).astype(np.float64)
    mean, std = panel.channel_stats()
    np.testing.assert_allclose(mean, valid.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(std, valid.std(axis=0), rtol=1e-10)
    np.testing.assert_array_equal(panel.valid_mask().sum(axis=1), [5, 2, 3])
    d = panel.network_inputs(with_mask=False)
    assert set(d) == {"values", "times", "lengths"} and d["values"].dtype == np.float32
    np.testing.assert_array_equal(d["values"], panel.values)
    with_mask = panel.network_inputs(with_mask=True)["values"]
    assert with_mask.shape == (3, 5, 2 * panel.n_channels)
    np.testing.assert_array_equal(with_mask[..., panel.n_channels :], panel.mask)


def test_standardized_keeps_padding_zero():
    panel, vals = _unequal_panel()
    before = panel.values.copy()
    mean, std = panel.channel_stats()
    out = panel.standardized(mean, std)
    assert isinstance(out, Panel) and out.values.dtype == np.float64
    mask = panel.valid_mask()
    assert (out.values[~mask] == 0).all()
    np.testing.assert_allclose(out.values[mask], (before[mask] - mean) / std, rtol=1e-5)
    valid = out.values[mask].astype(np.float64)
    np.testing.assert_allclose(valid.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(valid.std(axis=0), 1, rtol=1e-5)
    np.testing.assert_array_equal(panel.values, before)
    np.testing.assert_array_equal(out.times, panel.times)
    np.testing.assert_array_equal(out.lengths, panel.lengths)


def test_time_scale_irregular_example():
    X = [
        pd.Series([1.0, 2.0, 3.0], index=[0.0, 1.0, 3.0]),  # steps 1, 2; duration 3
        pd.Series([1.0, 2.0, 3.0, 4.0], index=[10.0, 10.5, 14.0, 14.25]),  # .5 3.5 .25; 4.25
        pd.Series([1.0], index=[2.0]),  # single point; duration 0
    ]
    panel, _ = convert(X)
    interval, duration = panel.time_scale()
    assert interval == pytest.approx(1.0)  # median of [1, 2, .5, 3.5, .25]
    assert duration == pytest.approx(3.0)  # median of [3, 4.25, 0]
    single, _ = convert([pd.Series([1.0], index=[5.0])] * 2)
    assert single.time_scale() == (1.0, 0.0)


def test_constant_channel_gets_unit_std():
    vals = [np.column_stack([np.full(4, 7.0), np.arange(4.0)]), np.array([[7.0, 1.0]])]
    panel, _ = convert(vals)
    mean, std = panel.channel_stats()
    np.testing.assert_allclose(mean, [7.0, 7.0 / 5.0])
    assert std[0] == 1.0 and std[1] != 1.0
    out = panel.standardized(mean, std)
    assert (out.values[..., 0] == 0).all()


# 6. 2-D input goes through scikit-learn validation.


def test_2d_sets_n_features_in():
    est = PhasedLSTMClassifier()
    X = np.random.default_rng(9).normal(size=(5, 7))
    panel, _ = convert(X, estimator=est)
    assert est.n_features_in_ == 7
    assert panel.values.shape == (5, 7, 1)
    np.testing.assert_allclose(panel.values[..., 0], X, rtol=1e-6)
    np.testing.assert_array_equal(panel.lengths, [7] * 5)
    with pytest.raises(ValueError, match="features"):
        convert(np.zeros((2, 6)), reset=False, estimator=est)
    convert(np.zeros((2, 7)), reset=False, estimator=est)  # same width is fine


def test_2d_dataframe_sets_feature_names():
    est = PhasedLSTMClassifier()
    X = pd.DataFrame(np.arange(12.0).reshape(3, 4), columns=["t0", "t1", "t2", "t3"])
    panel, _ = convert(X, estimator=est)
    np.testing.assert_array_equal(est.feature_names_in_, ["t0", "t1", "t2", "t3"])
    np.testing.assert_array_equal(panel.values[..., 0], X.to_numpy())
    renamed = X.rename(columns={"t0": "u0"})
    with pytest.raises(ValueError, match="feature names"):
        convert(renamed, reset=False, estimator=est)


def test_steps_ignores_time_indexes_and_is_kept_at_predict():
    est = PhasedLSTMClassifier()
    idx = pd.date_range("2026-01-01", periods=4, freq="7min")
    frames = [pd.DataFrame({"a": [1.0, 2, 3, 4]}, index=idx), pd.DataFrame({"a": [5.0, 6]})]
    panel, origin = to_panel(frames, estimator=est, reset=True, time_unit="steps")
    assert origin.kind == "steps"
    np.testing.assert_array_equal(panel.times, [[0, 1, 2, 3], [0, 1, 1, 1]])
    irregular = [pd.Series([1.0, 2.0, 3.0], index=[0.5, 10.0, 10.1])]
    later, _ = to_panel(irregular, estimator=est, reset=False, origin=origin)
    np.testing.assert_array_equal(later.times, [[0, 1, 2]])
    numpy_panel, numpy_origin = to_panel(
        np.zeros((2, 1, 3)), estimator=est, reset=True, time_unit="steps"
    )
    assert numpy_origin.kind == "steps"
    np.testing.assert_array_equal(numpy_panel.times, [[0, 1, 2]] * 2)


@pytest.mark.parametrize("return_type", ["pd-multiindex", "nested_univ", "df-list"])
def test_from_panel_round_trip(return_type):
    from sk_plstm._data import from_panel

    rng = np.random.default_rng(0)
    series = [
        pd.Series(rng.normal(size=n), index=np.cumsum(rng.uniform(0.1, 1.0, n)) + 1e9)
        for n in (5, 9, 2)
    ]
    panel, origin = convert(series, dtype=np.float64)
    container = from_panel(panel, origin, return_type)
    again, origin2 = convert(container, dtype=np.float64)
    assert origin2 == origin
    np.testing.assert_array_equal(again.values, panel.values)
    np.testing.assert_allclose(again.times, panel.times, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(again.lengths, panel.lengths)


# ---------------------------------------------------------------------------- missing values


def _async_example():
    """Two series, two channels observed at their own times (NaN on the union grid)."""
    a0 = pd.Series([1.0, 2.0, 3.0], index=[0.0, 1.5, 3.0])
    b0 = pd.Series([10.0, 20.0], index=[0.5, 1.5])
    a1 = pd.Series([4.0], index=[2.0])
    b1 = pd.Series([30.0, 40.0, 50.0], index=[0.0, 1.0, 2.0])
    return [(a0, b0), (a1, b1)]


def _async_containers():
    pairs = _async_example()
    frames = [pd.concat({"a": a, "b": b}, axis=1).sort_index() for a, b in pairs]  # union
    multi = pd.concat(frames, keys=[0, 1])
    nested_cells = pd.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs]})
    nested_union = pd.DataFrame({c: [f[c] for f in frames] for c in ["a", "b"]})
    dicts = [{"a": a, "b": b} for a, b in pairs]
    events = pd.DataFrame(
        [
            (i, t, c, v)
            for i, (a, b) in enumerate(pairs)
            for c, s in (("a", a), ("b", b))
            for t, v in s.items()
        ],
        columns=["instance", "time", "channel", "value"],
    )
    return {
        "df-list": frames,
        "pd-multiindex": multi,
        "nested-per-channel": nested_cells,
        "nested-union": nested_union,
        "dicts": dicts,
        "from-events": from_events(events),
        "from-events-nested": from_events(events, return_type="nested_univ"),
        "from-events-dflist": from_events(events, return_type="df-list"),
    }


@pytest.mark.parametrize("name", list(_async_containers()))
def test_asynchronous_channels_give_the_union_of_their_times(name):
    X = _async_containers()[name]
    panel, origin = convert(X, dtype=np.float64)
    assert origin.value == 0.0 and panel.channels == ("a", "b")
    np.testing.assert_array_equal(panel.lengths, [4, 3])
    np.testing.assert_array_equal(panel.times[0], [0.0, 0.5, 1.5, 3.0])
    np.testing.assert_array_equal(panel.times[1], [0.0, 1.0, 2.0, 2.0])
    expected_mask = np.array(
        [[[1, 0], [0, 1], [1, 1], [1, 0]], [[0, 1], [0, 1], [1, 1], [0, 0]]], dtype=bool
    )
    np.testing.assert_array_equal(panel.mask, expected_mask)
    np.testing.assert_array_equal(panel.values[panel.mask], [1, 10, 2, 20, 3, 30, 40, 4, 50])
    assert np.isnan(panel.values[~panel.mask & panel.valid_mask()[..., None]]).all()
    assert panel.has_missing


def test_time_points_with_no_observation_are_dropped_in_every_layout():
    X = np.array([[[1.0, np.nan, 3.0, np.nan], [2.0, np.nan, np.nan, 5.0]]])
    panel, _ = convert(X, dtype=np.float64)
    np.testing.assert_array_equal(panel.times[0], [0, 2, 3])  # true positions kept
    frame = pd.DataFrame(X[0].T, index=[0.0, 0.5, 1.0, 2.5])
    panel, _ = convert([frame])
    np.testing.assert_array_equal(panel.times[0], [0.0, 1.0, 2.5])
    panel, _ = convert(X, time_unit="steps")
    np.testing.assert_array_equal(panel.times[0], [0, 2, 3])


def test_channel_stats_use_observed_values_only():
    X = np.array([[[1.0, np.nan, 3.0], [100.0, 200.0, np.nan]], [[np.nan, 5.0, 7.0], [0.0] * 3]])
    panel, _ = convert(X, dtype=np.float64)
    mean, std = panel.channel_stats()
    np.testing.assert_allclose(mean, [np.mean([1, 3, 5, 7]), np.mean([100, 200, 0, 0, 0])])
    np.testing.assert_allclose(std, [np.std([1, 3, 5, 7]), np.std([100, 200, 0, 0, 0])])
    inputs = panel.standardized(mean, std).network_inputs(with_mask=True)
    assert np.isfinite(inputs["values"]).all()
    values, masks = inputs["values"][..., :2], inputs["values"][..., 2:]
    assert (values[masks == 0] == 0).all()  # unobserved: the neutral value (the mean)
    np.testing.assert_array_equal(masks.astype(bool), panel.mask)


def test_missing_error_is_strict_and_mask_is_the_default():
    X = np.array([[[1.0, np.nan], [1.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]]])
    assert convert(X)[0].has_missing
    for container in (X, from_panel(convert(X, dtype=np.float64)[0], TimeOrigin("numeric", 0))):
        with pytest.raises(ValueError, match="series 0 contains NaN"):
            convert(container, missing="error")
    assert not convert(np.ones((2, 1, 3)), missing="error")[0].has_missing


def test_named_channels_are_matched_by_name():
    frames = _async_containers()["df-list"]
    reference, _ = convert(frames, dtype=np.float64)
    swapped = [f[["b", "a"]] for f in frames]
    mixed = [frames[0], swapped[1]]  # two orders within one fit
    for X, kw in ((swapped, {"channel_names": ("a", "b")}), (mixed, {})):
        panel, _ = convert(X, dtype=np.float64, **kw)
        assert panel.channels == ("a", "b")
        np.testing.assert_array_equal(panel.values, reference.values)
    panel, _ = convert(swapped, dtype=np.float64)  # nothing to match: their own order
    assert panel.channels == ("b", "a")
    unnamed = [np.array([[1.0, 2.0]])]  # arrays: by position
    assert convert(unnamed, channel_names=("a", "b"), reset=False)[0].channels is None


def test_channel_never_observed_is_only_an_error_at_fit():
    X = np.array([[[1.0, 2.0], [np.nan, np.nan]]])
    panel, _ = convert(X, reset=False)
    assert not panel.mask[..., 1].any()


def test_missing_values_do_not_mutate_the_input():
    containers = _async_containers()
    snapshot = copy.deepcopy(containers)
    for X in containers.values():
        convert(X)
    for name, X in containers.items():
        if isinstance(X, list):
            for a, b in zip(X, snapshot[name]):
                if isinstance(a, dict):
                    for key in a:
                        pd.testing.assert_series_equal(a[key], b[key])
                else:
                    pd.testing.assert_frame_equal(a, b)
        else:
            pd.testing.assert_frame_equal(X, snapshot[name])


# ---------------------------------------------------------------------------- event tables


def test_events_round_trip_and_layouts():
    events = to_events(_async_containers()["df-list"])
    assert list(events.columns) == ["instance", "time", "channel", "value"]
    assert len(events) == 9 and events["instance"].tolist().count(0) == 5
    back = from_events(events)
    assert back.index.names == ["instance", "time"] and list(back.columns) == ["a", "b"]
    np.testing.assert_array_equal(to_events(back).to_numpy(), events.to_numpy())
    nested = from_events(events, return_type="nested_univ")
    assert nested.loc[1, "a"].index.tolist() == [2.0]
    frames = from_events(events, return_type="df-list")
    assert [f.attrs["instance"] for f in frames] == [0, 1]
    renamed = events.rename(columns={"instance": "id", "value": "x"}).assign(extra="ignored")
    same = from_events(renamed, instance="id", value="x")
    np.testing.assert_array_equal(same.to_numpy(), back.to_numpy())


def test_events_keep_given_channels_and_datetimes():
    times = pd.to_datetime(["2026-01-01 00:00", "2026-01-01 00:05", "2026-01-01 00:07"])
    events = pd.DataFrame(
        {
            "instance": ["p1", "p1", "p2"],
            "time": times,
            "channel": ["hr", "hr", "hr"],
            "value": [70.0, 72.0, np.nan],
        }
    )
    X = from_events(events, channels=["hr", "temp"])
    assert list(X.columns) == ["hr", "temp"] and X["temp"].isna().all()
    assert X.index.get_level_values(0).unique().tolist() == ["p1"]  # the NaN event dropped
    panel, origin = convert(X, reset=False)
    assert origin.kind == "datetime"
    np.testing.assert_array_equal(panel.times[0], [0.0, 300.0])
    assert to_events(X)["time"].tolist() == list(times[:2])


EVENT_ERRORS = [
    ({"drop": "value"}, ValueError, r"no column for value='value'; its columns are"),
    ({"value": ["a", "b"]}, TypeError, "events column 'value' contains strings"),
    ({"value": [1.0, np.inf]}, ValueError, "contains infinity"),
    ({"time": [0.0, None]}, ValueError, r"events row 1 has a missing time \('time'\)"),
    ({"channel": [None, "a"]}, ValueError, "events row 0 has a missing channel"),
    ({"time": [0.0, 0.0], "channel": ["a", "a"]}, ValueError, "two values of channel 'a' at"),
    ({"value": [np.nan, np.nan]}, ValueError, "events has no observation"),
]


@pytest.mark.parametrize("change, err, msg", EVENT_ERRORS)
def test_event_table_errors(change, err, msg):
    events = pd.DataFrame(
        {"instance": [0, 0], "time": [0.0, 1.0], "channel": ["a", "b"], "value": [1.0, 2.0]}
    )
    before = events.copy()
    bad = events.drop(columns=change.pop("drop")) if "drop" in change else events.copy()
    for column, values in change.items():
        bad[column] = values
    with pytest.raises(err, match=msg):
        from_events(bad)
    pd.testing.assert_frame_equal(events, before)


def test_from_events_argument_errors():
    with pytest.raises(TypeError, match="events must be a pandas.DataFrame"):
        from_events([(0, 0.0, "a", 1.0)])
    with pytest.raises(ValueError, match="return_type must be one of"):
        from_events(pd.DataFrame(columns=["instance", "time", "channel", "value"]), return_type="x")


# ---------------------------------------------------------------- times in the user's terms
_BERLIN = pd.date_range("2026-05-23 00:00", periods=4, freq="h", tz="Europe/Berlin", unit="ns")


@pytest.mark.parametrize(
    "index, shown",
    [
        (pd.Index([0.5, 2.0, 1.5]), "time point 2: 1.5 after 2.0"),
        (pd.Index([1, 7, 7]), "time point 2: 7 after 7"),
        (
            pd.DatetimeIndex(["2024-05-23 00:00", "2024-05-23 00:20", "2024-05-23 00:10"]),
            "time point 2: 2024-05-23 00:10:00 after 2024-05-23 00:20:00",
        ),
        (
            _BERLIN[[0, 2, 1]],
            "time point 2: 2026-05-23 01:00:00+02:00 after 2026-05-23 02:00:00+02:00",
        ),
        (pd.to_timedelta([0, 90, 30], unit="s"), "time point 2: 0 days 00:00:30 after 0 days"),
    ],
)
def test_unsorted_times_are_shown_as_given(index, shown):
    frame = pd.DataFrame({"a": np.arange(3.0)}, index=index)
    with pytest.raises(ValueError, match="not strictly increasing") as info:
        convert([frame])
    assert shown in str(info.value) and "np." not in str(info.value)


def test_time_origin_shows_times_as_given():
    assert TimeOrigin("numeric", 10.0).show(2.5) == "12.5"
    assert TimeOrigin("numeric", 10).show(2.0) == "12"
    berlin = TimeOrigin("datetime", _BERLIN[0].value, 3600 * 10**9, "Europe/Berlin")
    assert berlin.show(1.5) == "2026-05-23 01:30:00+02:00"
    assert TimeOrigin("timedelta", 0, 60 * 10**9).show(2) == "0 days 00:02:00"


def test_time_zone_is_kept_from_fit_to_output():
    frames = [pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=_BERLIN)]
    panel, origin = convert(frames)
    assert origin.tz == "Europe/Berlin"
    back = from_panel(panel, origin, "df-list")[0]
    pd.testing.assert_index_equal(back.index, _BERLIN, check_names=False)
    events = to_events(frames)
    assert str(events["time"].dt.tz) == "Europe/Berlin"
    pd.testing.assert_series_equal(
        events["time"], pd.Series(_BERLIN, name="time"), check_index=False
    )


def test_naive_and_aware_datetimes_are_not_mixed():
    naive = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=_BERLIN.tz_localize(None))
    aware = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0]}, index=_BERLIN)
    with pytest.raises(ValueError, match="mixes time-zone-aware and naive"):
        convert([naive, aware])
    nested = pd.DataFrame({"a": [naive["a"]], "b": [aware["a"].iloc[:2]]})
    with pytest.raises(ValueError, match="series 0 mixes time-zone-aware and naive"):
        convert(nested)
    _, origin = convert([naive])
    with pytest.raises(ValueError, match=r"X has time-zone-aware \(Europe/Berlin\) datetimes"):
        convert([aware], reset=False, origin=origin)
    _, origin = convert([aware])
    with pytest.raises(ValueError, match="X has naive datetimes, but .* time-zone-aware"):
        convert([naive], reset=False, origin=origin)
    # two aware zones are the same instants: accepted, measured in UTC
    tokyo = aware.tz_convert("Asia/Tokyo")
    p1, _ = convert([tokyo], reset=False, origin=origin)
    p2, _ = convert([aware], reset=False, origin=origin)
    np.testing.assert_array_equal(p1.times, p2.times)


def test_estimator_refuses_naive_times_after_aware_fit():
    aware = [pd.DataFrame({"a": np.sin(np.arange(4.0) + k)}, index=_BERLIN) for k in range(4)]
    clf = PhasedLSTMClassifier(hidden_size=2, max_epochs=1, random_state=0).fit(aware, [0, 1] * 2)
    naive = [f.tz_localize(None) for f in aware]
    with pytest.raises(ValueError, match="naive datetimes"):
        clf.predict(naive)


@pytest.mark.parametrize(
    "time, shown",
    [
        (1.5, "at time 1.5 in instance 7"),
        (pd.Timestamp("2026-05-23"), "at time 2026-05-23 00:00:00"),
    ],
)
def test_duplicate_events_are_named_in_the_users_terms(time, shown):
    events = pd.DataFrame({"instance": [7, 7], "time": [time, time], "channel": "a", "value": 1.0})
    with pytest.raises(ValueError, match="two values of channel 'a'") as info:
        from_events(events)
    assert shown in str(info.value) and "np." not in str(info.value)


@pytest.mark.parametrize(
    "X, error, message",
    [
        (
            [pd.DataFrame({"a": np.arange(4.0)}, index=pd.array([0, 1, None, 3], dtype="Int64"))],
            ValueError,
            r"X series 0 has missing \(NA\) timestamps",
        ),
        (
            [
                pd.Series(
                    np.arange(2.0),
                    index=pd.Index(np.array(["2026-01-01", "2500-01-01"], dtype="datetime64[s]")),
                )
            ],
            ValueError,
            "outside the range pandas holds in nanoseconds",
        ),
        ({"a": np.zeros((2, 3))}, TypeError, "X is a dict"),
        (pd.DataFrame(), ValueError, r"X is an empty DataFrame \(shape \(0, 0\)\)"),
    ],
)
def test_inputs_numpy_or_pandas_would_reject_obscurely(X, error, message):
    with pytest.raises(error, match=message):
        convert(X)


def _assert_same_panel(fast, slow):
    """Two ``to_panel`` results (panel, origin) are the same, to the dtype and the bit."""
    assert fast[1] == slow[1]
    for name in ("values", "times", "lengths", "mask"):
        a, b = getattr(fast[0], name), getattr(slow[0], name)
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert fast[0].channels == slow[0].channels


def _recorded(monkeypatch, name):
    """What ``sk_plstm._data.<name>`` returns, call by call, from now on."""
    import sk_plstm._data as data

    results, whole = [], getattr(data, name)
    monkeypatch.setattr(data, name, lambda *a, **k: results.append(whole(*a, **k)) or results[-1])
    return results


def _shared_case(case, origin):
    """``to_panel``'s keywords for the cases the whole-array tests share."""
    return {
        "steps": {"time_unit": "steps"},
        "origin": {"origin": TimeOrigin("numeric", origin, 1)},
        "float32": {"dtype": np.float32},
    }.get(case, {})


def _general_path(monkeypatch):
    import sk_plstm._data as data

    monkeypatch.setattr(data, "_block_panel", lambda *args, **kwargs: None)
    monkeypatch.setattr(data, "_ragged_panel", lambda *args, **kwargs: None)


@pytest.mark.parametrize(
    "case",
    ["complete", "some-nan", "dropped-points", "2d", "steps", "origin", "float32"],
)
def test_numpy_input_whole_array_path_equals_the_per_series_path(case, monkeypatch):
    """Equal-length numpy input is converted in whole-array operations; the result (and
    the origin) is exactly what checking and padding every series on its own gives."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(6, 2, 9))
    if case == "some-nan":
        X[1, 0, 2] = X[4, 1, 5] = np.nan
    if case == "dropped-points":
        X[2, :, 3] = np.nan  # no channel observed at step 3 of series 2: dropped
    if case == "2d":
        X = X[:, 0, :]
    kw = _shared_case(case, origin=-4)
    results = _recorded(monkeypatch, "_block_panel")
    fast = to_panel(X.copy(), **kw)
    assert (results[0] is None) == (case == "dropped-points")  # the path under test ran
    _general_path(monkeypatch)
    _assert_same_panel(fast, to_panel(X.copy(), **kw))
    assert fast[0].channels is None
    if case == "dropped-points":
        assert fast[0].lengths[2] == 8


@pytest.mark.parametrize(
    "change, kw, msg",
    [
        (lambda X: X.__setitem__((3, 1, 4), np.inf), {}, "X series 3 contains infinity"),
        (lambda X: X.__setitem__((2, 0, 1), np.nan), {"missing": "error"}, "X series 2 contains"),
        (lambda X: X.__setitem__((5, slice(None), slice(None)), np.nan), {}, "X series 5 has no"),
        (lambda X: X.__setitem__((0, 0, 0), 1e300), {"dtype": np.float32}, "too large"),
    ],
)
def test_numpy_input_errors_name_the_series(change, kw, msg):
    X = np.random.default_rng(0).normal(size=(6, 2, 5))
    change(X)
    with pytest.raises(ValueError, match=msg):
        to_panel(X, **kw)


@pytest.mark.parametrize("fmt", ["pd-multiindex", "nested_univ", "df-list"])
@pytest.mark.parametrize(
    "index",
    [
        lambda n, i: pd.Index(np.cumsum(np.random.default_rng(i).random(n)) + 5.0),
        lambda n, i: pd.Index(np.arange(n, dtype=np.int64) * 7 + 3 * i),
        lambda n, i: pd.date_range("2026-01-01", periods=n, freq="37min") + pd.Timedelta(i, "h"),
    ],
)
def test_series_checked_together_as_they_are_one_by_one(fmt, index, monkeypatch):
    """Series of unequal lengths are checked and their times shifted in whole-array
    operations where every value is finite; the panel is what the series-by-series path
    makes."""
    import sk_plstm._data as data

    vals = make_values([5, 9, 3, 7], 2, seed=4)
    idxs = [index(len(v), i) for i, v in enumerate(vals)]
    X = MULTI_FORMATS[fmt](vals, idxs)
    fast, fast_origin = to_panel(X, time_unit="h")
    monkeypatch.setattr(
        data,
        "_clean_all",
        lambda series, missing: [data._clean_series(s, i, missing) for i, s in enumerate(series)],
    )
    monkeypatch.setattr(
        data,
        "_all_minus_origin",
        lambda raw, origin, scale: [data._minus_origin(r, origin) / scale for r in raw],
    )
    _general_path(monkeypatch)
    _assert_same_panel((fast, fast_origin), to_panel(X, time_unit="h"))


def _interleaved(vals, idxs, instances):
    """A multi-index frame whose series' rows are interleaved (and labels not sorted)."""
    rows = [(instances[i], t) for i, idx in enumerate(idxs) for t in idx]
    frame = pd.DataFrame(
        np.concatenate(vals),
        index=pd.MultiIndex.from_tuples(rows, names=["inst", "t"]),
        columns=[f"c{j}" for j in range(vals[0].shape[1])],
    )
    return frame.iloc[np.random.default_rng(5).permutation(len(frame))].sort_index(
        level=1, sort_remaining=False, kind="stable"
    )


@pytest.mark.parametrize(
    "case",
    ["float", "int", "datetime-aware", "steps", "origin", "float32", "nan", "renamed", "huge"],
)
def test_multiindex_input_read_at_once_equals_the_per_series_path(case, monkeypatch):
    """A multi-index frame's series are converted one after the other in whole-array
    operations; the panel (and the origin) is exactly what the per-series path makes,
    whatever the row order and where the fast path steps aside (NaN, renamed channels)."""
    lengths = [5, 9, 1, 3, 7]
    vals = make_values(lengths, 3, seed=6)
    rng = np.random.default_rng(7)
    idxs = [pd.Index(np.cumsum(rng.random(n)) + 5.0 * i) for i, n in enumerate(lengths)]
    kw = _shared_case(case, origin=-4.5)
    if case == "int":
        idxs = [pd.Index(np.arange(n, dtype=np.int64) * 7 - 3 * i) for i, n in enumerate(lengths)]
    if case == "datetime-aware":
        idxs = [
            pd.date_range("2026-01-01", periods=n, freq="37min", tz="Europe/Paris")
            + pd.Timedelta(i, "h")
            for i, n in enumerate(lengths)
        ]
        kw["time_unit"] = "h"
    if case == "nan":
        vals[1][2, 0] = np.nan
    if case == "huge":  # integer times whose shift is not exact in one operation
        idxs = [
            pd.Index(np.arange(n, dtype=np.int64) * 1000 + i * 2**60 - 1)
            for i, n in enumerate(lengths)
        ]
        kw["origin"] = TimeOrigin("numeric", 0, 1)
    X = _interleaved(vals, idxs, [3, 0, 9, 1, 4])
    if case == "renamed":  # channels matched to the fitted names by name
        kw["channel_names"] = ("c2", "c0", "c1")
    ran = _recorded(monkeypatch, "_ragged_panel")
    fast = to_panel(X.copy(), **kw)
    # the path under test ran, and stepped aside only where it should
    assert [r is None for r in ran] == {"renamed": [], "nan": [True], "huge": [True]}.get(
        case, [False]
    )
    _general_path(monkeypatch)
    _assert_same_panel(fast, to_panel(X.copy(), **kw))


@pytest.mark.parametrize(
    "change, msg",
    [
        (lambda X: X.iloc.__setitem__((4, 1), np.inf), "X series 1 contains infinity"),
        (lambda X: X.rename(index={2: 1}, level=1), "X series 0 has times that are not strictly"),
        (lambda X: X[["c0"]], "X has 1 channels, but the estimator was fitted on 2"),
    ],
)
def test_multiindex_errors_name_the_series(change, msg):
    vals = make_values([4, 5, 3], 2, seed=1)
    X = as_multiindex(vals, default_indexes(vals))
    changed = change(X)
    with pytest.raises(ValueError, match=msg):
        to_panel(X if changed is None else changed, n_channels=2)


def test_an_unsorted_series_is_named_among_finite_ones():
    vals = make_values([4, 4, 4], 1)
    idxs = [pd.RangeIndex(4), pd.Index([0, 2, 1, 3]), pd.RangeIndex(4)]
    with pytest.raises(ValueError, match="X series 1 has times that are not strictly increasing"):
        to_panel(as_multiindex(vals, idxs))


def test_an_event_table_given_as_series_is_recognised():
    from sk_plstm import from_events

    events = pd.DataFrame(
        {
            "instance": ["a", "a", "b"],
            "time": pd.to_datetime(["2026-03-02 08:00", "2026-03-02 08:10", "2026-03-02 09:00"]),
            "channel": ["temperature", "door", "door"],
            "value": [20.5, 1.0, 1.0],
        }
    )
    before = events.copy()
    with pytest.raises(
        ValueError,
        match=r"contains strings in the column\(s\) \['instance', "
        r"'time', 'channel'\].*looks like an event table.*from_events",
    ):
        to_panel(events)
    pd.testing.assert_frame_equal(events, before)
    # a table with a column per channel and a text id column gets the other advice
    wide = pd.DataFrame({"room": ["a", "b"], "temperature": [20.0, 21.0]})
    with pytest.raises(ValueError, match=r"\['room'\].*X.set_index\(\[instance, time\]\)"):
        to_panel(wide)
    assert len(from_events(events).index.get_level_values(0).unique()) == 2


def test_instance_ids_and_alignment_by_id():
    from sk_plstm._data import align_to_instances, instance_ids, select_series

    X = pd.DataFrame(
        {"v": [1.0, 2.0, 3.0, 4.0]},
        index=pd.MultiIndex.from_tuples([("b", 0), ("b", 1), ("a", 0), ("a", 1)]),
    )
    ids = instance_ids(X)
    assert ids.tolist() == ["b", "a"]  # the order in which the series are read
    y = pd.Series({"a": 0, "b": 1})
    assert align_to_instances(y, ids).tolist() == [1, 0]
    assert align_to_instances(y.to_numpy(), ids).tolist() == [0, 1]  # arrays: by position
    assert instance_ids(np.zeros((2, 3))) is None
    with pytest.raises(ValueError, match="repeat"):
        align_to_instances(pd.Series([0, 1], index=["a", "a"]), ids)
    with pytest.raises(ValueError, match="indexed by 2 level"):
        align_to_instances(
            pd.Series([0, 1], index=pd.MultiIndex.from_tuples([(1, 2), (3, 4)])), ids
        )
    assert select_series(X, [1]).index.get_level_values(0).unique().tolist() == ["a"]
    assert select_series([10, 20, 30], [2, 0]) == [10, 30]

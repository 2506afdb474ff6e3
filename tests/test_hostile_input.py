"""Property-based tests with hostile inputs for sk_plstm._data.to_panel and the estimators.

The contract: every input is either handled correctly or rejected with a ValueError or
TypeError (scikit-learn's NotFittedError and InvalidParameterError subclass ValueError)
naming the problem. Nothing may crash with another exception type, nothing may be silently
wrong, and the caller's input objects are never mutated.

Inputs where the package once broke this contract are kept at the end of the file as
minimal, deterministic regression tests (section 8); the strategies leave those regions to
them (each exclusion below names its test).
"""

from __future__ import annotations

import copy
import functools
import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from sklearn.exceptions import NotFittedError

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm._data import to_panel

#: the heavy tier (fuzzing of every input format): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

CONTRACT_ERRORS = (ValueError, TypeError)

# Reproducible in CI, no example database written into the repository.
_COMMON = dict(derandomize=True, database=None, deadline=None, print_blob=False)
_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]


def examples(n: int) -> settings:
    """Settings for ``n`` examples (per parametrized case)."""
    return settings(max_examples=n, suppress_health_check=_HEALTH, **_COMMON)


TINY = dict(hidden_size=2, max_epochs=1, batch_size=4, random_state=0)

# Regions the strategies leave to the deterministic regression tests of section 8:
# * time spans over 2**63 ns or int64 (offsets stay below ~80 steps):
#   test_times_more_than_2_63_apart_across_series, test_increasing_times_more_than_2_63_apart_*;
# * uint64 time indexes: test_uint64_index_beyond_int64_range;
# * float times whose span overflows float64: test_float_index_span_overflowing_float64;
# * Python ints beyond float range in object arrays (objects stay within +-1e15):
#   test_python_int_beyond_float_range;
# * strings that parse as numbers: test_numeric_strings_are_not_silently_converted;
# * datetime64 / timedelta64 values: test_datetime_values_are_rejected;
# * zero-row multiindex frames with object levels:
#   test_empty_multiindex_with_object_levels_raises_value_error;
# * NaN instance ids: test_multiindex_nan_instance_id_keeps_order_or_is_rejected;
# * time scales from 2**-60 to 2**300: test_predictions_invariant_to_time_scale (section 7),
#   test_tiny_time_scales_are_not_silently_ignored, test_times_beyond_float32_range_*;
# * regression targets beyond ~1e154: test_regressor_huge_targets.

# ---------------------------------------------------------------------------------------------
# Time indexes: each spec turns integer offsets (strictly increasing) into a time index and
# gives the true relative times, computed without the (possibly huge) absolute base.


@dataclass(frozen=True)
class TimeSpec:
    name: str
    kind: str  # origin kind expected: numeric, datetime, timedelta, steps
    base: Any
    step: Any  # int/float spacing, or nanoseconds for datetime/timedelta
    time_unit: Any = "s"
    tz: str | None = None

    def index(self, offsets: np.ndarray) -> pd.Index:
        off = np.asarray(offsets, dtype=np.int64)
        if self.name in ("int", "epoch-ns-int"):
            return pd.Index(np.int64(self.base) + off * np.int64(self.step), dtype=np.int64)
        if self.name in ("float", "epoch-s-float", "steps"):
            return pd.Index(float(self.base) + off.astype(np.float64) * float(self.step))
        ns = np.int64(self.base) + off * np.int64(self.step)
        if self.name == "timedelta":
            return pd.TimedeltaIndex(ns.astype("timedelta64[ns]"))
        if self.name == "period":
            return pd.PeriodIndex.from_ordinals(int(self.base) + off, freq="D")
        idx = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
        if self.tz is not None:
            idx = idx.tz_localize("UTC").tz_convert(self.tz)
        return idx

    def relative(self, offsets: np.ndarray, global_min: int) -> np.ndarray:
        """The true times relative to the earliest time of the panel."""
        off = np.asarray(offsets, dtype=np.int64) - global_min
        if self.kind == "steps":
            raise AssertionError("steps are positions, handled by the caller")
        if self.name == "period":
            return off.astype(np.float64)  # time_unit "D"
        if self.kind in ("datetime", "timedelta"):
            unit_ns = pd.Timedelta(1, unit=self.time_unit).value
            return (off * np.int64(self.step)).astype(np.float64) / unit_ns
        return off.astype(np.float64) * float(self.step)

    def atol(self, max_offset: int) -> float:
        """Tolerance: a few ulps of the largest absolute time (float indexes only)."""
        if self.name in ("float", "epoch-s-float"):
            return 4.0 * float(np.spacing(abs(float(self.base)) + max_offset * float(self.step)))
        return 0.0


_DT_BASE = pd.Timestamp("2024-03-31 00:59:58.123456789").value  # next to a European DST switch
_STEPS_NS = [1, 10**6, 10**9, 3600 * 10**9, 86400 * 10**9]


def _spec(name: str, kind: str, base, step, time_unit=None, tz=None) -> st.SearchStrategy:
    return st.builds(
        TimeSpec,
        st.just(name),
        st.just(kind),
        base,
        step,
        time_unit=st.just("s") if time_unit is None else time_unit,
        tz=st.just(None) if tz is None else tz,
    )


SPEC_FAMILIES = {
    "int": _spec("int", "numeric", st.sampled_from([0, -50, 10**6]), st.sampled_from([1, 3])),
    # Unix epoch nanoseconds as int64: must stay exact.
    "epoch-ns-int": _spec(
        "epoch-ns-int",
        "numeric",
        st.just(1_700_000_000_123_456_789),
        st.sampled_from([1, 997, 10**9]),
    ),
    # Irregular float times with huge (1e12) and tiny (1e-9) spacings.
    "float": _spec(
        "float",
        "numeric",
        st.sampled_from([0.0, -2.5, 1e3]),
        st.sampled_from([1.0, 0.37, 1e12, 1e-9]),
    ),
    # Unix epoch seconds as float: the spacing must survive the large base.
    "epoch-s-float": _spec(
        "epoch-s-float", "numeric", st.just(1.7e9 + 0.123), st.sampled_from([1e-3, 0.25, 3600.0])
    ),
    "datetime": _spec(
        "datetime",
        "datetime",
        st.just(_DT_BASE),
        st.sampled_from(_STEPS_NS),
        time_unit=st.sampled_from(["s", "ms", "h", "ns"]),
    ),
    "datetime-tz": _spec(
        "datetime",
        "datetime",
        st.just(_DT_BASE),
        st.sampled_from(_STEPS_NS),
        time_unit=st.sampled_from(["s", "min", "ns"]),
        tz=st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kathmandu"]),
    ),
    "timedelta": _spec(
        "timedelta",
        "timedelta",
        st.sampled_from([0, 300 * 10**9]),
        st.sampled_from(_STEPS_NS),
        time_unit=st.sampled_from(["s", "min", "us"]),
    ),
    "period": _spec(
        "period", "datetime", st.just(19_000), st.just(86400 * 10**9), time_unit=st.just("D")
    ),
    # time_unit="steps": any index is ignored, positions 0, 1, 2, ... are used.
    "steps": _spec("steps", "steps", st.just(10.0), st.just(0.5), time_unit=st.just("steps")),
}
INDEXED_FAMILIES = [name for name in SPEC_FAMILIES if name != "steps"]
indexed_specs = st.one_of(*(SPEC_FAMILIES[name] for name in INDEXED_FAMILIES))
time_specs = st.one_of(*SPEC_FAMILIES.values())

# ---------------------------------------------------------------------------------------------
# Values of every accepted dtype (finite, within float32 range).

F32_MAX_SAFE = 3e38


def _elements(dtype: Any) -> st.SearchStrategy:
    if dtype == "object":
        return st.one_of(
            st.integers(-(10**15), 10**15),
            st.floats(-1e30, 1e30, allow_nan=False, allow_infinity=False),
            st.integers(-100, 100).map(np.int16),
            st.floats(-1e3, 1e3, allow_nan=False).map(np.float32),
        )
    dt = np.dtype(dtype)
    if dt.kind == "f":  # bounds must be representable at the given width
        bound = float(np.finfo(dt).max) if dt.itemsize < 8 else F32_MAX_SAFE
        return st.floats(
            -bound, bound, allow_nan=False, allow_infinity=False, width=dt.itemsize * 8
        )
    return hnp.from_dtype(dt)


VALUE_DTYPES = [
    "int8",
    "int32",
    "int64",
    "uint8",
    "float16",
    "float32",
    "float64",
    "bool",
    "object",
]


def _values(draw, dtype, n_rows: int, n_channels: int) -> np.ndarray:
    return draw(
        hnp.arrays(
            np.dtype(object) if dtype == "object" else np.dtype(dtype),
            (n_rows, n_channels),
            elements=_elements(dtype),
        )
    )


# ---------------------------------------------------------------------------------------------
# Data sets and the formats they can be written in.

INDEXED_FORMATS = ["pd-multiindex", "nested_univ", "df-list", "series-list"]
NUMPY_FORMATS = ["numpy3D", "numpy2D", "np-list"]


@dataclass
class Dataset:
    values: list[np.ndarray]  # per series (L_i, C), of the drawn dtype
    offsets: list[np.ndarray]  # per series, strictly increasing ints
    spec: TimeSpec
    interleave: list[int] | None = None  # multiindex row order (instance id of each row)

    @property
    def n_channels(self) -> int:
        return self.values[0].shape[1]

    @property
    def lengths(self) -> list[int]:
        return [len(v) for v in self.values]

    def formats(self) -> list[str]:
        fmts = list(INDEXED_FORMATS)
        if self.n_channels > 1:
            fmts.remove("series-list")
        if len(set(self.lengths)) == 1:
            fmts += ["numpy3D", "np-list"] + (["numpy2D"] if self.n_channels == 1 else [])
        else:
            fmts += ["np-list"]
        return fmts


@st.composite
def datasets(draw, dtypes=VALUE_DTYPES, specs=time_specs, equal=None, max_n=5, channels=None):
    n = draw(st.integers(1, max_n))
    n_channels = draw(st.integers(1, 3)) if channels is None else channels
    same = draw(st.booleans()) if equal is None else equal
    if same:
        lengths = [draw(st.integers(1, 8))] * n
    else:
        lengths = draw(st.lists(st.integers(1, 8), min_size=n, max_size=n))
    dtype = draw(st.sampled_from(dtypes))
    values = [_values(draw, dtype, length, n_channels) for length in lengths]
    spec = draw(specs)
    offsets = []
    for length in lengths:
        if draw(st.booleans()):  # regular
            offsets.append(draw(st.integers(0, 20)) + np.arange(length))
        else:  # irregular
            picked = draw(st.sets(st.integers(0, 60), min_size=length, max_size=length))
            offsets.append(np.array(sorted(picked), dtype=np.int64))
    ds = Dataset(values, [np.asarray(o, dtype=np.int64) for o in offsets], spec)
    if draw(st.booleans()):  # interleave the rows of the multiindex frame
        rows = [i for i, length in enumerate(lengths) for _ in range(length)]
        ds.interleave = draw(st.permutations(rows))
    return ds


def _multiindex(ds: Dataset, ids: list[Any]) -> pd.DataFrame:
    idxs = [ds.spec.index(o) for o in ds.offsets]
    rows = ds.interleave or [i for i, length in enumerate(ds.lengths) for _ in range(length)]
    taken = [0] * len(ds.values)
    inst, positions = [], []
    for i in rows:
        inst.append(ids[i])
        positions.append((i, taken[i]))
        taken[i] += 1
    times = idxs[0][:0].append([idxs[i][[k]] for i, k in positions])
    vals = np.stack([ds.values[i][k] for i, k in positions])
    index = pd.MultiIndex.from_arrays([inst, times], names=["instance", "time"])
    cols = [f"c{j}" for j in range(ds.n_channels)]
    return pd.DataFrame(vals, index=index, columns=cols)


def build(ds: Dataset, fmt: str, ids: list[Any] | None = None) -> Any:
    """Write the data set in one input format."""
    idxs = [ds.spec.index(o) for o in ds.offsets]
    if fmt == "numpy3D":
        return np.stack([v.T for v in ds.values])
    if fmt == "numpy2D":
        return np.stack([v[:, 0] for v in ds.values])
    if fmt == "np-list":
        return [v[:, 0] if v.shape[1] == 1 and i % 2 else v for i, v in enumerate(ds.values)]
    if fmt == "pd-multiindex":
        return _multiindex(ds, ids if ids is not None else list(range(len(ds.values))))
    if fmt == "nested_univ":
        cols = {}
        for j in range(ds.n_channels):
            cells = [pd.Series(v[:, j], index=idx) for v, idx in zip(ds.values, idxs)]
            cols[f"c{j}"] = pd.Series(cells, dtype=object)
        return pd.DataFrame(cols)
    if fmt == "df-list":
        cols = [f"c{j}" for j in range(ds.n_channels)]  # named as in the other containers
        return [pd.DataFrame(v, index=idx, columns=cols) for v, idx in zip(ds.values, idxs)]
    if fmt == "series-list":
        return [pd.Series(v[:, 0], index=idx) for v, idx in zip(ds.values, idxs)]
    raise AssertionError(fmt)


def series_order(ds: Dataset, fmt: str) -> list[int]:
    """Order of the series in the panel (multiindex: first appearance of each instance)."""
    if fmt == "pd-multiindex" and ds.interleave is not None:
        return list(dict.fromkeys(ds.interleave))
    return list(range(len(ds.values)))


def expected_panel(ds: Dataset, fmt: str):
    """Values (n, L, C) float32, relative times (n, L) float64, lengths; and time tolerance."""
    order = series_order(ds, fmt)
    vals = [np.asarray(ds.values[i]).astype(np.float64).astype(np.float32) for i in order]
    if fmt in NUMPY_FORMATS or ds.spec.kind == "steps":
        times = [np.arange(len(v), dtype=np.float64) for v in vals]
        atol = 0.0
    else:
        gmin = min(int(o.min()) for o in ds.offsets)
        times = [ds.spec.relative(ds.offsets[i], gmin) for i in order]
        atol = ds.spec.atol(max(int(o.max()) for o in ds.offsets))
    n, max_len, c = len(vals), max(len(v) for v in vals), vals[0].shape[1]
    values = np.zeros((n, max_len, c), dtype=np.float32)
    tt = np.zeros((n, max_len))
    for i, (v, t) in enumerate(zip(vals, times)):
        values[i, : len(v)] = v
        tt[i, : len(t)] = t
        tt[i, len(t) :] = t[-1]
    return values, tt, np.array([len(v) for v in vals], dtype=np.int64), atol


def origin_kind(ds: Dataset, fmt: str) -> str:
    if ds.spec.kind == "steps":
        return "steps"
    return "numeric" if fmt in NUMPY_FORMATS else ds.spec.kind


# ---------------------------------------------------------------------------------------------
# Helpers: input unchanged, panel sanity.


def assert_same(a: Any, b: Any) -> None:
    """``a`` (after the call) equals ``b`` (a deep copy taken before), dtypes included."""
    assert type(a) is type(b)
    if isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        if a.dtype == object:
            assert all(x is y or x == y or (x != x and y != y) for x, y in zip(a.flat, b.flat))
        else:
            np.testing.assert_array_equal(a, b)
    elif isinstance(a, pd.DataFrame):
        assert a.index.equals(b.index) and a.index.dtype == b.index.dtype
        assert list(a.columns) == list(b.columns) and list(a.dtypes) == list(b.dtypes)
        if isinstance(a.index, pd.MultiIndex):
            assert list(a.index.dtypes) == list(b.index.dtypes)
        for col in a.columns:
            if any(isinstance(x, pd.Series) for x in a[col]):
                assert_same(list(a[col]), list(b[col]))
            else:
                assert_same(a[col].to_numpy(), b[col].to_numpy())
    elif isinstance(a, pd.Series):
        assert a.index.equals(b.index) and a.index.dtype == b.index.dtype
        assert a.dtype == b.dtype
        assert_same(a.to_numpy(), b.to_numpy())
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    else:
        assert a == b


def assert_sane_panel(panel, ds: Dataset, fmt: str) -> None:
    values, times, lengths, atol = expected_panel(ds, fmt)
    n, max_len, c = values.shape
    assert panel.values.dtype == np.float32 and panel.values.shape == (n, max_len, c)
    assert panel.times.dtype == np.float64 and panel.times.shape == (n, max_len)
    assert panel.lengths.dtype == np.int64
    assert np.isfinite(panel.values).all() and np.isfinite(panel.times).all()
    np.testing.assert_array_equal(panel.lengths, lengths)
    np.testing.assert_array_equal(panel.values, values)  # includes zero padding
    np.testing.assert_allclose(panel.times, times, rtol=1e-12, atol=atol)
    # padded steps repeat the last valid time, so intervals are zero there
    for i, length in enumerate(panel.lengths):
        assert (panel.times[i, length:] == panel.times[i, length - 1]).all()
        assert (np.diff(panel.times[i, :length]) > 0).all()


def convert(X: Any, ds: Dataset, fmt: str, **kw):
    est = PhasedLSTMClassifier() if fmt == "numpy2D" else None
    return to_panel(X, estimator=est, time_unit=ds.spec.time_unit, **kw)


# ---------------------------------------------------------------------------------------------
# 1. Valid inputs: correct panel, every format agrees, input untouched.

ALL_FORMATS = INDEXED_FORMATS + NUMPY_FORMATS


def datasets_for(fmt: str, **kw) -> st.SearchStrategy:
    """Data sets that can be written in ``fmt``."""
    if fmt in ("numpy3D", "numpy2D"):
        kw.setdefault("equal", True)
    if fmt in ("numpy2D", "series-list"):
        kw.setdefault("channels", 1)
    return datasets(**kw)


def _check_valid(X: Any, ds: Dataset, fmt: str) -> None:
    before = copy.deepcopy(X)
    panel, origin = convert(X, ds, fmt)
    assert_same(X, before)
    assert origin.kind == origin_kind(ds, fmt)
    assert_sane_panel(panel, ds, fmt)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@examples(30)
@given(data=st.data())
def test_valid_input_gives_correct_panel(fmt, data):
    ds = data.draw(datasets_for(fmt), label="dataset")
    event(f"time={ds.spec.name}")
    _check_valid(build(ds, fmt), ds, fmt)


@pytest.mark.parametrize("family", list(SPEC_FAMILIES))
@examples(25)
@given(data=st.data())
def test_every_kind_of_time_index_gives_true_relative_times(family, data):
    ds = data.draw(datasets(specs=SPEC_FAMILIES[family]), label="dataset")
    fmt = data.draw(st.sampled_from([f for f in ds.formats() if f in INDEXED_FORMATS]))
    event(f"format={fmt}")
    _check_valid(build(ds, fmt), ds, fmt)


@pytest.mark.parametrize("family", list(SPEC_FAMILIES))
@examples(10)
@given(data=st.data())
def test_all_indexed_formats_give_identical_panels(family, data):
    ds = data.draw(datasets(specs=SPEC_FAMILIES[family], dtypes=["float64", "int32"]))
    ds.interleave = None
    panels = {}
    for fmt in ds.formats():
        if fmt in INDEXED_FORMATS:
            panels[fmt], _ = convert(build(ds, fmt), ds, fmt)
    ref = next(iter(panels.values()))
    for fmt, panel in panels.items():
        np.testing.assert_array_equal(panel.values, ref.values, err_msg=fmt)
        np.testing.assert_array_equal(panel.times, ref.times, err_msg=fmt)
        np.testing.assert_array_equal(panel.lengths, ref.lengths, err_msg=fmt)


@pytest.mark.parametrize("ids", ["int", "str", "shuffled", "tuple"])
@examples(15)
@given(ds=datasets(dtypes=["float64"]))
def test_multiindex_instance_ids_and_row_order(ids, ds):
    n = len(ds.values)
    labels = {
        "int": list(range(n)),
        "str": [f"s{i}" for i in range(n)],
        "shuffled": [(7 * i + 3) % 11 for i in range(n)],  # distinct, not sorted
        "tuple": [("a", i) for i in range(n)],
    }[ids]
    if ids == "tuple":  # three levels: all but the last identify the instance
        X = _multiindex(ds, list(range(n)))
        lv0 = [labels[i][0] for i in X.index.get_level_values(0)]
        X.index = pd.MultiIndex.from_arrays(
            [lv0, X.index.get_level_values(0), X.index.get_level_values(1)]
        )
    else:
        X = _multiindex(ds, labels)
    _check_valid(X, ds, "pd-multiindex")


# ---------------------------------------------------------------------------------------------
# 2. Values that must be rejected.


def _draw_position(data, ds: Dataset) -> tuple[int, int, int]:
    i = data.draw(st.integers(0, len(ds.values) - 1), label="series")
    k = data.draw(st.integers(0, ds.lengths[i] - 1), label="step")
    j = data.draw(st.integers(0, ds.n_channels - 1), label="channel")
    return i, k, j


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("fmt", ALL_FORMATS)
@examples(15)
@given(bad=st.sampled_from([np.nan, np.inf, -np.inf]), data=st.data())
def test_nan_or_infinity_rejected(fmt, bad, data):
    """Infinity always, NaN with missing="error" (missing values: tests/test_missing_values.py)."""
    ds = data.draw(datasets_for(fmt, dtypes=["float16", "float32", "float64", "object"]))
    i, k, j = _draw_position(data, ds)
    ds.values[i] = ds.values[i].copy()
    ds.values[i][k, j] = bad
    X = build(ds, fmt)
    before = copy.deepcopy(X)
    with pytest.raises(ValueError, match=r"NaN|infinity"):
        convert(X, ds, fmt, missing="error")
    if np.isinf(bad):
        with pytest.raises(ValueError, match="infinity"):
            convert(X, ds, fmt)
    assert_same(X, before)


def _is_number(text: str) -> bool:
    for parse in (float, complex):  # float(" 1e5 "), float("nan"), complex("1j") ...
        try:
            parse(text)
            return True
        except (TypeError, ValueError):
            pass
    return False


# Any string, numeric-looking ones included (see test_numeric_strings_are_not_silently_converted).
bad_strings = st.text(min_size=0, max_size=5)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@examples(15)
@given(text=bad_strings, data=st.data())
def test_string_values_rejected(fmt, text, data):
    ds = data.draw(datasets_for(fmt, dtypes=["object"]))
    i, k, j = _draw_position(data, ds)
    ds.values[i] = ds.values[i].copy()
    ds.values[i][k, j] = text
    X = build(ds, fmt)
    before = copy.deepcopy(X)
    with pytest.raises(CONTRACT_ERRORS, match=r"contains strings"):
        convert(X, ds, fmt)
    assert_same(X, before)


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@examples(10)
@given(ctype=st.sampled_from(["complex64", "complex128", "object"]), data=st.data())
def test_complex_values_rejected(fmt, ctype, data):
    ds = data.draw(datasets_for(fmt, dtypes=["float64"]))
    i, k, j = _draw_position(data, ds)
    ds.values = [v.astype(ctype) for v in ds.values]
    ds.values[i][k, j] = 1 + 2j
    X = build(ds, fmt)
    with pytest.raises(CONTRACT_ERRORS, match=r"[Cc]omplex|not numbers"):
        convert(X, ds, fmt)


# ---------------------------------------------------------------------------------------------
# 3. Time indexes that must be rejected.


@pytest.mark.parametrize("family", INDEXED_FAMILIES)
@examples(15)
@given(how=st.sampled_from(["duplicate", "decreasing"]), data=st.data())
def test_unsorted_or_duplicate_times_rejected(family, how, data):
    ds = data.draw(datasets(specs=SPEC_FAMILIES[family], dtypes=["float64"]))
    long = [i for i, length in enumerate(ds.lengths) if length >= 2]
    if not long:
        ds.values[0] = np.concatenate([ds.values[0], ds.values[0][-1:]])
        ds.offsets[0] = np.append(ds.offsets[0], ds.offsets[0][-1] + 1)
        long = [0]
    i = data.draw(st.sampled_from(long), label="series")
    k = data.draw(st.integers(1, ds.lengths[i] - 1), label="step")
    off = ds.offsets[i].copy()
    if how == "duplicate":
        off[k] = off[k - 1]
    else:
        off[k - 1], off[k] = off[k], off[k - 1]
    ds.offsets[i] = off
    ds.interleave = None
    fmt = data.draw(st.sampled_from([f for f in ds.formats() if f in INDEXED_FORMATS]))
    X = build(ds, fmt)
    before = copy.deepcopy(X)
    with pytest.raises(ValueError, match=f"X series {i} has times that are not strictly") as e:
        convert(X, ds, fmt)
    assert_same(X, before)
    # the times in the message are the user's: timestamps or plain numbers, no numpy repr
    assert not re.search(r"np\.\w+\(|numpy\.", str(e.value)), str(e.value)


def _corrupt(ds: Dataset, how: str) -> Any:
    """An input with one structural problem; every one must give ValueError or TypeError."""
    ds.interleave = None
    if how == "mixed-kinds":  # numeric, datetime and the drawn kind in one X
        X = build(ds, "df-list")
        X.append(pd.DataFrame(ds.values[0], index=pd.RangeIndex(len(ds.values[0]))))
        X.append(
            pd.DataFrame(
                ds.values[0], index=pd.date_range("2024", periods=len(ds.values[0]), freq="s")
            )
        )
        return X
    if how == "mixed-channels":
        X = build(ds, "df-list")
        extra = np.zeros((2, ds.n_channels + 1))
        X.append(pd.DataFrame(extra, index=pd.RangeIndex(2)))
        return X
    if how == "channel-index-kinds":  # own indexes per channel are fine, of one kind only
        ds.values = [np.column_stack([v, v]) for v in ds.values]
        X = build(ds, "nested_univ")
        cell = X.iloc[0, 1]
        other = pd.date_range("2026-01-01", periods=len(cell), freq="s")
        if ds.spec.kind == "datetime":
            other = pd.Index(np.arange(len(cell), dtype=float))
        X.iat[0, 1] = pd.Series(cell.to_numpy(), index=other)
        return X
    if how == "non-series-cell":
        X = build(ds, "nested_univ")
        X.iat[len(X) - 1, 0] = 3.0 if len(X) > 1 else "x"
        return X
    if how in ("bool-index", "str-index", "object-index", "nan-index", "nat-index"):
        X = build(ds, "df-list")
        length = len(X[0])
        index = {
            "bool-index": pd.Index([bool(t % 2) for t in range(length)], dtype=bool),
            "str-index": pd.Index([f"t{t}" for t in range(length)]),
            "object-index": pd.Index(list(range(length)), dtype=object),
            "nan-index": pd.Index([np.nan] + list(range(1, length)), dtype=float),
            "nat-index": pd.DatetimeIndex(
                [pd.NaT] + [pd.Timestamp(2024, 1, t) for t in range(1, length)]
            ),
        }[how]
        X[0] = pd.DataFrame(X[0].to_numpy(), index=index)
        return X
    if how == "bad-list-item":
        return [build(ds, "df-list")[0], {"a": 1}]
    if how == "wrong-ndim":
        return np.zeros((1, 1, 1, 1)) if len(ds.values) % 2 else np.zeros(3)
    if how == "no-columns":
        return [pd.DataFrame(index=pd.RangeIndex(3))]
    raise AssertionError(how)


CORRUPTIONS = [
    "mixed-kinds",
    "mixed-channels",
    "channel-index-kinds",
    "non-series-cell",
    "bool-index",
    "str-index",
    "object-index",
    "nan-index",
    "nat-index",
    "bad-list-item",
    "wrong-ndim",
    "no-columns",
]


@pytest.mark.parametrize("how", CORRUPTIONS)
@examples(5)
@given(ds=datasets(dtypes=["float64"], specs=indexed_specs))
def test_structural_problems_rejected(how, ds):
    X = _corrupt(ds, how)
    before = copy.deepcopy(X)
    with pytest.raises(CONTRACT_ERRORS):
        to_panel(X, estimator=PhasedLSTMClassifier(), time_unit=ds.spec.time_unit)
    assert_same(X, before)


# ---------------------------------------------------------------------------------------------
# 4. Empty containers.

EMPTY_INPUTS = {
    "empty list": lambda: [],
    "empty tuple": lambda: (),
    "zero-row 2-D array": lambda: np.zeros((0, 4)),
    "zero-column 2-D array": lambda: np.zeros((3, 0)),
    "zero-sample 3-D array": lambda: np.zeros((0, 2, 4)),
    "zero-channel 3-D array": lambda: np.zeros((2, 0, 4)),
    "zero-length 3-D array": lambda: np.zeros((2, 2, 0)),
    "zero-row DataFrame": lambda: pd.DataFrame({"a": np.zeros(0)}),
    "zero-row nested DataFrame": lambda: pd.DataFrame({"a": pd.Series([], dtype=object)}),
    # Typed levels; with the default object levels the error is a TypeError, see
    # test_empty_multiindex_with_object_levels_raises_value_error.
    "zero-row multiindex DataFrame": lambda: pd.DataFrame(
        {"a": np.zeros(0)},
        index=pd.MultiIndex.from_arrays([np.zeros(0, dtype=int), np.zeros(0, dtype=float)]),
    ),
    "list with an empty Series": lambda: [pd.Series([1.0, 2.0]), pd.Series([], dtype=float)],
    "list with an empty DataFrame": lambda: [pd.DataFrame({"a": np.zeros(0)})],
    "list with an empty array": lambda: [np.zeros(3), np.zeros(0)],
    "nested with an empty cell": lambda: pd.DataFrame(
        {"a": pd.Series([pd.Series([1.0]), pd.Series([], dtype=float)], dtype=object)}
    ),
}


@pytest.mark.parametrize("name", list(EMPTY_INPUTS))
@pytest.mark.parametrize("with_estimator", [False, True])
def test_empty_inputs_rejected(name, with_estimator):
    X = EMPTY_INPUTS[name]()
    est = PhasedLSTMRegressor() if with_estimator else None
    with pytest.raises(ValueError, match=r"empty|0 sample|0 feature|at least one"):
        to_panel(X, estimator=est)


@pytest.mark.parametrize("cls", [PhasedLSTMClassifier, PhasedLSTMRegressor])
@pytest.mark.parametrize("name", ["empty list", "zero-row 2-D array", "list with an empty Series"])
def test_estimators_reject_empty_inputs(cls, name):
    X = EMPTY_INPUTS[name]()
    with pytest.raises(ValueError, match=r"empty|0 sample"):
        cls(**TINY).fit(X, np.array([0, 1]))
    est = cls(**TINY).fit(np.arange(8.0).reshape(2, 4), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"empty|0 sample"):
        est.predict(X)


@pytest.mark.parametrize("fmt", ["df-list", "series-list", "nested_univ", "np-list"])
@examples(15)
@given(data=st.data())
def test_a_zero_length_series_rejected(fmt, data):
    ds = data.draw(datasets_for(fmt, dtypes=["float64"]))
    i = data.draw(st.integers(0, len(ds.values) - 1))
    ds.values[i] = ds.values[i][:0]
    ds.offsets[i] = ds.offsets[i][:0]
    X = build(ds, fmt)
    with pytest.raises(ValueError, match=f"X series {i} is empty"):
        convert(X, ds, fmt)


# ---------------------------------------------------------------------------------------------
# 5. Estimators: fit and predict on hostile but valid inputs.


def _targets(kind: str, n: int, multi: bool) -> np.ndarray:
    if kind == "classifier":
        return np.array(["b", "a", "c"] * 2)[:n]
    y = np.linspace(-3.0, 5.0, n) ** 2
    return np.column_stack([y, -y]) if multi else y


@pytest.mark.parametrize("fmt", ALL_FORMATS)
@examples(6)
@given(kind=st.sampled_from(["classifier", "regressor"]), multi=st.booleans(), data=st.data())
def test_estimators_fit_predict_any_valid_input(fmt, kind, multi, data):
    ds = data.draw(datasets_for(fmt), label="dataset")
    event(f"time={ds.spec.name}")
    n = len(ds.values)
    X = build(ds, fmt)
    y = _targets(kind, n, multi)
    X_before, y_before = copy.deepcopy(X), y.copy()
    cls = PhasedLSTMClassifier if kind == "classifier" else PhasedLSTMRegressor
    est = cls(**TINY, time_unit=ds.spec.time_unit)
    if kind == "classifier" and n == 1:
        with pytest.raises(ValueError, match="at least 2 classes"):
            est.fit(X, y)
        assert_same(X, X_before)
        return
    est.fit(X, y)
    assert_same(X, X_before)
    np.testing.assert_array_equal(y, y_before)
    assert est.n_channels_ == ds.n_channels
    assert est.time_origin_.kind == origin_kind(ds, fmt)
    assert all(np.isfinite(est.tau_range_)) and 0 < est.tau_range_[0] <= est.tau_range_[1]
    pred = est.predict(X)
    assert_same(X, X_before)
    if kind == "classifier":
        assert pred.shape == (n,) and set(pred) <= set(y)
        proba = est.predict_proba(X)
        assert proba.shape == (n, len(set(y))) and np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        out = proba
    else:
        assert pred.shape == ((n, 2) if multi else (n,)) and np.isfinite(pred).all()
        out = pred
    assert_same(X, X_before)
    # Padding must not leak: each series alone gives the same output as in the batch.
    i = data.draw(st.integers(0, n - 1), label="single")
    single = Dataset([ds.values[i]], [ds.offsets[i]], ds.spec)
    X1 = build(single, fmt)
    alone = est.predict_proba(X1) if kind == "classifier" else est.predict(X1)
    row = series_order(ds, fmt).index(i)
    np.testing.assert_allclose(alone[0], out[row], rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("family", INDEXED_FAMILIES)
@examples(4)
@given(data=st.data())
def test_predictions_agree_across_formats(family, data):
    ds = data.draw(datasets(specs=SPEC_FAMILIES[family], dtypes=["float64", "int64", "bool"]))
    ds.interleave = None
    fmts = [f for f in ds.formats() if f in INDEXED_FORMATS]
    y = np.linspace(0.0, 1.0, len(ds.values))
    est = PhasedLSTMRegressor(**TINY, time_unit=ds.spec.time_unit).fit(build(ds, fmts[0]), y)
    ref = est.predict(build(ds, fmts[0]))
    for fmt in fmts[1:]:
        np.testing.assert_allclose(est.predict(build(ds, fmt)), ref, rtol=1e-6, err_msg=fmt)


# ---------------------------------------------------------------------------------------------
# 6. Mismatched predict input.

MISMATCHES = ["more-channels", "fewer-channels", "other-index-kind", "array-after-datetime"]


@pytest.mark.parametrize("how", MISMATCHES)
@examples(6)
@given(
    ds=datasets(dtypes=["float64"], specs=indexed_specs, channels=2),
    kind=st.sampled_from(["classifier", "regressor"]),
    data=st.data(),
)
def test_mismatched_predict_input_rejected(how, ds, kind, data):
    n = max(len(ds.values), 2)
    ds = Dataset((ds.values * 2)[:n], (ds.offsets * 2)[:n], ds.spec)
    fit_formats = ds.formats()
    if how == "array-after-datetime":  # fitted on a datetime index, given arrays at predict
        ds.spec = TimeSpec("datetime", "datetime", _DT_BASE, 10**9)
        fit_formats = [f for f in fit_formats if f in INDEXED_FORMATS]
    fit_fmt = data.draw(st.sampled_from(fit_formats), label="fit format")
    fit_kind = "numeric" if fit_fmt in NUMPY_FORMATS else ds.spec.kind
    cls = PhasedLSTMClassifier if kind == "classifier" else PhasedLSTMRegressor
    est = cls(**TINY, time_unit=ds.spec.time_unit)
    est.fit(build(ds, fit_fmt), _targets(kind, n, False))
    if how == "array-after-datetime":
        X = data.draw(st.sampled_from([np.zeros((2, 2, 4)), [np.zeros((3, 2))]]))
        match = "X has a numeric time index, but the estimator was fitted on a datetime"
    else:
        if how == "more-channels":
            bad = Dataset([np.column_stack([v, v[:, :1]]) for v in ds.values], ds.offsets, ds.spec)
        elif how == "fewer-channels":
            bad = Dataset([v[:, :1] for v in ds.values], ds.offsets, ds.spec)
        else:  # a kind of time index other than the one seen at fit
            other = TimeSpec("int", "numeric", 0, 1)
            if fit_kind == "numeric":
                other = TimeSpec("datetime", "datetime", _DT_BASE, 10**9)
            bad = Dataset(ds.values, ds.offsets, other)
        fmt = data.draw(st.sampled_from(bad.formats()), label="predict format")
        X = build(bad, fmt)
        # named channels on both sides are matched by name, so the names are the message
        if how == "more-channels":
            match = r"X has 3 channels, but the estimator was fitted on 2|unexpected: \['c2'\]"
        elif how == "fewer-channels":
            match = r"X has 1 channels, but the estimator was fitted on 2|missing: \['c1'\]"
        else:
            pred_kind = "numeric" if fmt in NUMPY_FORMATS else bad.spec.kind
            if pred_kind == fit_kind:  # arrays carry no time index: numeric, accepted
                assert len(est.predict(X)) == n
                return
            match = f"X has a {pred_kind} time index, but the estimator was fitted on a {fit_kind}"
    before = copy.deepcopy(X)
    with pytest.raises(ValueError, match=match):
        est.predict(X)
    assert_same(X, before)


@pytest.mark.parametrize("kind", ["classifier", "regressor"])
@pytest.mark.parametrize("n_columns", [1, 4, 6, 9])
def test_predict_with_other_column_count_after_2d_fit(kind, n_columns):
    rng = np.random.default_rng(0)
    cls = PhasedLSTMClassifier if kind == "classifier" else PhasedLSTMRegressor
    est = cls(**TINY).fit(rng.normal(size=(4, 5)), _targets(kind, 4, False))
    X = rng.normal(size=(3, n_columns))
    before = X.copy()
    with pytest.raises(ValueError, match=f"X has {n_columns} features, but .* expecting 5"):
        est.predict(X)
    np.testing.assert_array_equal(X, before)


@pytest.mark.parametrize(
    "time_unit",
    ["fortnight", "", "steps ", "1s", 5, None, pd.Timedelta(0), pd.Timedelta(-1, unit="s")],
)
def test_bad_time_unit_rejected(time_unit):
    X = [pd.Series([1.0, 2.0], index=pd.date_range("2024", periods=2, freq="h"))] * 2
    with pytest.raises(ValueError, match="time_unit"):  # InvalidParameterError for bad types
        PhasedLSTMRegressor(**TINY, time_unit=time_unit).fit(X, [0.0, 1.0])
    with pytest.raises(ValueError, match="time_unit"):
        to_panel(X, time_unit=time_unit)


@pytest.mark.parametrize("cls", [PhasedLSTMClassifier, PhasedLSTMRegressor])
def test_predict_before_fit_raises_not_fitted(cls):
    with pytest.raises(NotFittedError):
        cls().predict(np.zeros((2, 3)))


# ---------------------------------------------------------------------------------------------
# 7. Time-scale equivariance: with tau_range="auto" and a frozen time gate, multiplying every
# time by a power of two must not change the predictions.

_RNG = np.random.default_rng(1)
_SCALE_T = np.cumsum(_RNG.uniform(0.5, 1.5, size=(6, 6)), axis=1)
_SCALE_V = _RNG.normal(size=(6, 6))
_SCALE_Y = _RNG.normal(size=6)


@functools.cache
def _fit_scaled(exponent: int) -> np.ndarray:
    X = [pd.Series(v, index=t * 2.0**exponent) for v, t in zip(_SCALE_V, _SCALE_T)]
    est = PhasedLSTMRegressor(
        hidden_size=4,
        max_epochs=2,
        batch_size=4,
        random_state=0,
        r_on=0.5,
        learn_tau=False,
        learn_shift=False,
    )
    return est.fit(X, _SCALE_Y).predict(X)


@examples(8)
@given(exponent=st.integers(-60, 300))  # nanoseconds to far beyond float32's range
def test_predictions_invariant_to_time_scale(exponent):
    np.testing.assert_allclose(_fit_scaled(exponent), _fit_scaled(0), rtol=0, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# 8. Regression tests for the bugs the properties above found (minimal reproducers).


@pytest.mark.parametrize(
    "index_a, index_b, true_gap",
    [
        pytest.param(
            pd.DatetimeIndex(["1800-01-01"]),
            pd.DatetimeIndex(["2200-01-01"]),
            (pd.Timestamp("2200-01-01") - pd.Timestamp("1800-01-01")).total_seconds(),
            id="datetime",
        ),
        pytest.param(pd.Index([-(3 * 2**61)]), pd.Index([3 * 2**61]), float(3 * 2**62), id="int64"),
    ],
)
def test_times_more_than_2_63_apart_across_series(index_a, index_b, true_gap):
    X = [pd.Series([1.0], index=index_a), pd.Series([2.0], index=index_b)]
    try:
        panel, _ = to_panel(X)
    except ValueError:
        return  # a clear rejection would be fine
    np.testing.assert_allclose(panel.times[:, 0], [0.0, true_gap], rtol=1e-12)


def test_increasing_times_more_than_2_63_apart_in_one_series():
    X = [pd.Series([1.0, 2.0], index=pd.DatetimeIndex(["1800-01-01", "2200-01-01"]))]
    try:
        panel, _ = to_panel(X)
    except ValueError as err:
        assert "not strictly increasing" not in str(err), str(err)
        return
    assert panel.times[0, 1] > 0


def test_uint64_index_beyond_int64_range():
    index = pd.Index(np.array([2**63 - 1, 2**63 + 5], dtype=np.uint64))
    try:
        panel, _ = to_panel([pd.Series([1.0, 2.0], index=index)])
    except CONTRACT_ERRORS:
        return
    np.testing.assert_array_equal(panel.times, [[0.0, 6.0]])


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_float_index_span_overflowing_float64():
    try:
        panel, _ = to_panel([pd.Series([1.0, 2.0], index=[-1e308, 1e308])])
    except ValueError:
        return
    assert np.isfinite(panel.times).all(), panel.times


@pytest.mark.parametrize("fmt", ["series-list", "numpy2D"])
def test_python_int_beyond_float_range(fmt):
    if fmt == "series-list":
        X, est = [pd.Series([10**400, 1], dtype=object)], None
    else:
        X, est = np.array([[10**400, 1]], dtype=object), PhasedLSTMClassifier()
    with pytest.raises(CONTRACT_ERRORS):
        to_panel(X, estimator=est)


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda: np.array([[["1.5", "2"]]], dtype=object), id="object-3D"),
        pytest.param(lambda: np.array([[["1.5", "2"]]]), id="unicode-3D"),
        pytest.param(lambda: np.array([[[b"1.5", b"2"]]]), id="bytes-3D"),
        pytest.param(lambda: [pd.Series(["1.5", "2"])], id="str-Series"),
    ],
)
def test_numeric_strings_are_not_silently_converted(make):
    with pytest.raises(CONTRACT_ERRORS):
        to_panel(make())


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(
            lambda: np.array([[["2020-01-01", "2020-01-02"]]], dtype="datetime64[s]"),
            id="datetime64-3D",
        ),
        pytest.param(lambda: [pd.Series(pd.to_timedelta([1, 2], unit="s"))], id="timedelta-Series"),
    ],
)
def test_datetime_values_are_rejected(make):
    with pytest.raises(CONTRACT_ERRORS):
        to_panel(make())


def test_empty_multiindex_with_object_levels_raises_value_error():
    X = pd.DataFrame({"a": []}, index=pd.MultiIndex.from_arrays([[], []]))
    with pytest.raises(ValueError, match="empty"):
        to_panel(X)


def test_multiindex_nan_instance_id_keeps_order_or_is_rejected():
    index = pd.MultiIndex.from_arrays([["x", None, None], [0, 0, 1]])
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]}, index=index)
    try:
        panel, _ = to_panel(X)
    except CONTRACT_ERRORS:
        return
    np.testing.assert_array_equal(panel.lengths, [1, 2])  # "x" first, as it appears first


def test_tiny_time_scales_are_not_silently_ignored():
    np.testing.assert_allclose(_fit_scaled(-30), _fit_scaled(0), rtol=0, atol=1e-5)


def test_times_beyond_float32_range_raise_a_clear_error():
    X = [pd.Series(v, index=t * 1e39) for v, t in zip(_SCALE_V, _SCALE_T)]
    est = PhasedLSTMRegressor(**TINY)
    try:
        est.fit(X, _SCALE_Y)
    except CONTRACT_ERRORS:
        return
    assert np.isfinite(est.predict(X)).all()


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_regressor_huge_targets():
    X = np.arange(9.0).reshape(3, 1, 3)
    y = np.array([1e200, 0.0, -1e200])
    est = PhasedLSTMRegressor(**TINY)
    try:
        est.fit(X, y)
    except ValueError:
        return
    assert np.isfinite(est.predict(X)).all()

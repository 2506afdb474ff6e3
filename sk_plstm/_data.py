"""Every accepted input format, converted in one place into padded arrays.

This module owns input parsing and every input error of the package. The
estimators call :func:`to_panel`; nothing else parses ``X``.

Accepted formats (``n`` series, ``C`` channels, ``L`` time points):

* 2-D array-like ``(n, L)``: univariate series sampled at ``0, 1, ..., L - 1``
  (validated by scikit-learn, so feature-count and feature-name checks apply);
* 3-D ``numpy.ndarray`` ``(n, C, L)`` (sktime's ``numpy3D``), sampled at ``0, 1, ...``;
* ``pd-multiindex``: a ``pandas.DataFrame`` with a row MultiIndex
  ``(instance, time)`` (more levels: all but the last identify the instance),
  one column per channel;
* ``nested_univ``: a ``pandas.DataFrame`` with one row per instance and one
  column per channel, each cell a ``pandas.Series`` indexed by time;
* ``df-list``: a list of ``pandas.DataFrame``, each indexed by time, one column per channel;
* a list of ``pandas.Series`` (univariate, indexed by time);
* ``np-list``: a list of ``numpy.ndarray`` of shape ``(L_i, C)`` or ``(L_i,)``,
  sampled at ``0, 1, ...``.

Time indexes may be integer, float, datetime (naive or time-zone aware),
timedelta or period; unequal lengths and unequal spacing are allowed. Numeric
times are used as they are; datetime and timedelta times are converted to
``time_unit``; ``time_unit="steps"`` ignores every time index and samples each series
at ``0, 1, 2, ...``. All times are expressed relative to an origin (the earliest
training time, fixed at fit and reused at predict) in float64, so large
absolute times (for example Unix epoch seconds) keep their precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_array, validate_data

__all__ = ["Panel", "TimeOrigin", "check_time_unit", "from_panel", "to_panel"]

#: Container types that :func:`from_panel` can write.
RETURN_TYPES = ("pd-multiindex", "nested_univ", "df-list")

_FORMATS = (
    "a 2-D array (n_samples, n_timepoints), a 3-D array (n_samples, n_channels, "
    "n_timepoints), a pd-multiindex or nested_univ DataFrame, or a list of DataFrames, "
    "Series or arrays"
)


@dataclass(frozen=True)
class TimeOrigin:
    """The reference time that all timestamps are measured from.

    Parameters
    ----------
    kind : {"numeric", "datetime", "timedelta", "steps"}
        The kind of time index seen at fit; ``"steps"`` when time indexes are
        ignored and each series is sampled at ``0, 1, 2, ...``.
    value : float or int
        The origin: a float for numeric times, nanoseconds (int) otherwise.
    unit_ns : int
        Nanoseconds per time unit (datetime and timedelta times only).
    """

    kind: str
    value: float | int
    unit_ns: int = 1_000_000_000


@dataclass
class Panel:
    """A batch of right-padded series.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_series, max_length, n_channels)
        Values, zero at padded steps (float32 for the estimators).
    times : numpy.ndarray of shape (n_series, max_length), float64
        Timestamps relative to the origin; padded steps repeat the last valid time.
    lengths : numpy.ndarray of shape (n_series,), int64
        Number of valid steps of each series.
    """

    values: np.ndarray
    times: np.ndarray
    lengths: np.ndarray

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.values.shape[2]

    def __len__(self) -> int:
        return self.values.shape[0]

    def valid_mask(self) -> np.ndarray:
        """Boolean mask of shape (n_series, max_length), True at valid steps."""
        return np.arange(self.values.shape[1]) < self.lengths[:, None]

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays as keyword arguments of :class:`sk_plstm.nn.PhasedLSTMNet`."""
        return {"values": self.values, "times": self.times, "lengths": self.lengths}

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of every channel over all valid steps.

        Returns
        -------
        mean, std : numpy.ndarray of shape (n_channels,)
            The standard deviation is 1 where a channel is constant.
        """
        valid = self.values[self.valid_mask()].astype(np.float64)
        mean = valid.mean(axis=0)
        std = valid.std(axis=0)
        std[~(std > 1e-12)] = 1.0
        return mean, std

    def standardized(self, mean: np.ndarray, std: np.ndarray) -> Panel:
        """A copy with every channel standardised; padded steps stay zero.

        Parameters
        ----------
        mean, std : numpy.ndarray of shape (n_channels,)

        Returns
        -------
        Panel
        """
        scaled = ((self.values - mean) / std).astype(np.float32)
        scaled[~self.valid_mask()] = 0.0
        if not np.isfinite(scaled).all():
            raise ValueError(
                "X has values too large to represent in float32 after standardisation."
            )
        return Panel(scaled, self.times, self.lengths)

    def time_scale(self) -> tuple[float, float]:
        """Typical sampling interval and typical duration of the series.

        Returns
        -------
        interval : float
            Median of all positive intervals between consecutive time points
            (1.0 when every series has a single point).
        duration : float
            Median over series of last time minus first time.
        """
        mask = self.valid_mask()
        diffs = np.diff(self.times, axis=1)[mask[:, 1:]]
        diffs = diffs[diffs > 0]
        interval = float(np.median(diffs)) if diffs.size else 1.0
        last = self.times[np.arange(len(self)), self.lengths - 1]
        duration = float(np.median(last - self.times[:, 0]))
        return interval, duration


def check_time_unit(time_unit: Any) -> int:
    """Nanoseconds per ``time_unit``.

    Parameters
    ----------
    time_unit : str or pandas.Timedelta
        A pandas unit string (``"ns"``, ``"us"``, ``"ms"``, ``"s"``, ``"min"``,
        ``"h"``, ``"D"``), a positive ``pandas.Timedelta``, or ``"steps"``
        (time indexes are ignored: each series is sampled at ``0, 1, 2, ...``).

    Returns
    -------
    int
        Nanoseconds per unit (1 for ``"steps"``).
    """
    if isinstance(time_unit, str) and time_unit == "steps":
        return 1
    try:
        step = pd.Timedelta(time_unit) if isinstance(time_unit, pd.Timedelta) else None
        if step is None:
            if not isinstance(time_unit, str):
                raise TypeError
            step = pd.Timedelta(1, unit=time_unit)
    except (TypeError, ValueError):
        raise ValueError(
            "time_unit must be 'steps', a pandas unit string such as 's', 'ms', 'min', 'h' "
            f"or 'D', or a positive pandas.Timedelta; got {time_unit!r}."
        ) from None
    if step.value <= 0:
        raise ValueError(f"time_unit must be positive, got {time_unit!r}.")
    return int(step.value)


# ---------------------------------------------------------------------------
# Series-level parsing: every format becomes a list of (raw_times, values (L, C)).


def _not_numbers(where: str, what: str) -> TypeError:
    return TypeError(f"{where} contains {what}; every value must be a real number.")


def _reject_strings_and_datetimes(arr: np.ndarray, where: str) -> None:
    kind = arr.dtype.kind
    if kind in "USV" or (kind == "O" and any(isinstance(v, (str, bytes)) for v in arr.flat)):
        raise _not_numbers(where, "strings (convert them to numbers first)")
    if kind in "mM":
        raise _not_numbers(where, "datetimes or timedeltas (convert them to numbers first)")


def _as_float_values(values: Any, where: str) -> np.ndarray:
    arr = np.asarray(values)
    kind = arr.dtype.kind
    if kind == "c" or (kind == "O" and any(isinstance(v, complex) for v in arr.flat)):
        raise ValueError(f"{where} contains complex values; complex data is not supported.")
    _reject_strings_and_datetimes(arr, where)
    if kind not in "biuf":
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise _not_numbers(where, f"values that are not numbers (dtype {arr.dtype})") from None
        except OverflowError:
            raise ValueError(f"{where} has values too large to represent as numbers.") from None
    return arr.astype(np.float64, copy=False)


def _index_times(index: pd.Index, where: str) -> tuple[str, np.ndarray]:
    """Kind and raw values of a time index (float64, or int64 nanoseconds)."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex):
        if index.tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        if index.hasnans:
            raise ValueError(f"{where} has missing (NaT) timestamps.")
        return "datetime", index.as_unit("ns").asi8.copy()
    if isinstance(index, pd.TimedeltaIndex):
        if index.hasnans:
            raise ValueError(f"{where} has missing (NaT) timestamps.")
        return "timedelta", index.as_unit("ns").asi8.copy()
    if pd.api.types.is_bool_dtype(index.dtype) or not pd.api.types.is_numeric_dtype(index.dtype):
        raise TypeError(
            f"{where} has a time index of dtype {index.dtype}; time indexes must be "
            "numeric, datetime, timedelta or period."
        )
    if pd.api.types.is_integer_dtype(index.dtype):  # kept exact until the origin is subtracted
        if index.dtype.kind == "u" and len(index) and index.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"{where} has integer times beyond the int64 range; subtract an offset first."
            )
        return "numeric", index.to_numpy(dtype=np.int64)
    return "numeric", index.to_numpy(dtype=np.float64)


def _from_multiindex(X: pd.DataFrame) -> list[tuple[tuple[str, np.ndarray], np.ndarray]]:
    if X.shape[1] == 0:
        raise ValueError("X is a DataFrame with no columns (channels).")
    if X.shape[0] == 0:
        raise ValueError("X is an empty DataFrame; it needs at least one series.")
    instance = X.index.droplevel(-1)
    codes, _ = pd.factorize(instance, use_na_sentinel=False)  # order of first appearance
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    values = _as_float_values(X.to_numpy(), "X")
    time_level = X.index.get_level_values(-1)
    series = []
    for i, rows in enumerate(np.split(order, bounds)):
        where = f"X series {i}"
        series.append((_index_times(time_level[rows], where), values[rows]))
    return series


def _from_nested(X: pd.DataFrame) -> list[tuple[tuple[str, np.ndarray], np.ndarray]]:
    series = []
    for i in range(X.shape[0]):
        cells = list(X.iloc[i])
        where = f"X series {i}"
        if not all(isinstance(cell, pd.Series) for cell in cells):
            raise TypeError(
                f"{where}: a nested_univ DataFrame must hold a pandas.Series in every cell."
            )
        index = cells[0].index
        if any(not cell.index.equals(index) for cell in cells[1:]):
            raise ValueError(
                f"{where}: all channels of a series must share one time index; "
                "resample or align the channels first."
            )
        values = np.column_stack([_as_float_values(cell.to_numpy(), where) for cell in cells])
        series.append((_index_times(index, where), values))
    return series


def _from_list(X: list) -> list[tuple[tuple[str, np.ndarray], np.ndarray]]:
    series = []
    for i, item in enumerate(X):
        where = f"X series {i}"
        if isinstance(item, pd.DataFrame):
            if item.shape[1] == 0:
                raise ValueError(f"{where} is a DataFrame with no columns (channels).")
            series.append((_index_times(item.index, where), _as_float_values(item, where)))
        elif isinstance(item, pd.Series):
            values = _as_float_values(item.to_numpy(), where)[:, None]
            series.append((_index_times(item.index, where), values))
        elif isinstance(item, np.ndarray) and item.ndim in (1, 2):
            values = _as_float_values(item, where)
            values = values[:, None] if values.ndim == 1 else values
            steps = np.arange(values.shape[0], dtype=np.float64)
            series.append((("numeric", steps), values))
        else:
            raise TypeError(
                f"{where} is a {type(item).__name__}; a list of series must hold only "
                "DataFrames, Series, or numpy arrays of shape (n_timepoints,) or "
                "(n_timepoints, n_channels)."
            )
    return series


def _is_nested(X: pd.DataFrame) -> bool:
    return (
        X.shape[0] > 0
        and X.shape[1] > 0
        and all(dtype.kind == "O" for dtype in X.dtypes)
        and all(isinstance(cell, pd.Series) for cell in X.iloc[0])
    )


# ---------------------------------------------------------------------------
# Checks and padding.


def _check_series(times: np.ndarray, values: np.ndarray, i: int) -> None:
    where = f"X series {i}"
    if values.shape[0] == 0:
        raise ValueError(f"{where} is empty; every series needs at least one time point.")
    if not np.isfinite(values).all():
        raise ValueError(f"{where} contains NaN or infinity; impute or drop missing values first.")
    if times.dtype.kind == "f" and not np.isfinite(times).all():
        raise ValueError(f"{where} has NaN or infinite timestamps.")
    not_after = times[1:] <= times[:-1]  # a comparison, not a difference: cannot overflow
    if not_after.any():
        at = int(np.flatnonzero(not_after)[0]) + 1
        raise ValueError(
            f"{where} has times that are not strictly increasing "
            f"(time point {at}: {times[at]!r} after {times[at - 1]!r}); sort the series "
            "and remove duplicate timestamps."
        )


def _pad(series: list[tuple[np.ndarray, np.ndarray]], n_channels: int, dtype: type) -> Panel:
    lengths = np.array([v.shape[0] for _, v in series], dtype=np.int64)
    max_len = int(lengths.max())
    values = np.zeros((len(series), max_len, n_channels), dtype=dtype)
    times = np.empty((len(series), max_len), dtype=np.float64)
    for i, (t, v) in enumerate(series):
        values[i, : len(t)] = v
        times[i, : len(t)] = t
        times[i, len(t) :] = t[-1]
    return Panel(values, times, lengths)


def _check_range(values: np.ndarray, dtype: type) -> None:
    if np.abs(values).max(initial=0.0) > np.finfo(dtype).max:
        raise ValueError(f"X has values too large to represent in {np.dtype(dtype).name}.")


def _relative_times(
    kind: str, raw: list[np.ndarray], origin: TimeOrigin | None, unit_ns: int
) -> tuple[list[np.ndarray], TimeOrigin]:
    if origin is None:
        if any(r.dtype.kind == "f" for r in raw):
            raw = [r.astype(np.float64) for r in raw]
        start = min(r.min() for r in raw)
        origin = TimeOrigin(kind, start.item(), unit_ns)
    elif origin.kind != kind:
        raise ValueError(
            f"X has a {kind} time index, but the estimator was fitted on a {origin.kind} "
            "time index; use the same kind of time index at fit and predict."
        )
    scale = 1.0 if kind in ("numeric", "steps") else float(origin.unit_ns)
    relative = [_minus_origin(r, origin.value) / scale for r in raw]
    if not all(np.isfinite(r).all() for r in relative):
        raise ValueError(
            "X has timestamps too far apart to represent (their span overflows float64)."
        )
    return relative, origin


def _minus_origin(raw: np.ndarray, origin: float | int) -> np.ndarray:
    """``raw - origin`` in float64: exact in int64 where the difference fits, never wrapping."""
    approx = raw.astype(np.float64) - float(origin)
    if raw.dtype.kind == "i" and isinstance(origin, int) and np.abs(approx).max() < 2.0**62:
        return (raw - np.int64(origin)).astype(np.float64)
    return approx


def to_panel(
    X: Any,
    *,
    estimator: Any = None,
    reset: bool = True,
    time_unit: Any = "s",
    origin: TimeOrigin | None = None,
    n_channels: int | None = None,
    dtype: type = np.float32,
) -> tuple[Panel, TimeOrigin]:
    """Convert any accepted input into a padded :class:`Panel`, validating it.

    Parameters
    ----------
    X : array-like, pandas.DataFrame or list
        Series in one of the formats listed in the module docstring.
    estimator : sklearn estimator or None
        Used for scikit-learn's validation of 2-D array-like input (feature
        counts and names are recorded when ``reset`` and checked otherwise);
        None validates 2-D input without recording anything.
    reset : bool
        True at fit, False at predict.
    time_unit : str or pandas.Timedelta, default="s"
        Unit of datetime and timedelta times (numeric times are used as they
        are); ``"steps"`` ignores time indexes and uses positions ``0, 1, 2, ...``.
    origin : TimeOrigin, optional
        Origin fixed at fit; computed from ``X`` (the earliest time) when omitted.
    n_channels : int, optional
        Channel count seen at fit; a different count raises.
    dtype : numpy float type, default=numpy.float32
        Floating type of the values.

    Returns
    -------
    panel : Panel
        Values ``(n, L, C)`` of ``dtype``, times ``(n, L)`` float64, lengths ``(n,)``.
    origin : TimeOrigin
        The origin used (the given one, or the one computed from ``X``).

    Raises
    ------
    ValueError, TypeError
        With a message naming the problem (and the series) for any input
        that cannot be used.
    """
    unit_ns = check_time_unit(time_unit) if origin is None else origin.unit_ns
    in_steps = origin.kind == "steps" if origin is not None else time_unit == "steps"
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        series = _from_multiindex(X)
    elif isinstance(X, pd.DataFrame) and _is_nested(X):
        series = _from_nested(X)
    elif isinstance(X, (list, tuple)) and not X:
        raise ValueError("X is an empty list; it needs at least one series.")
    elif isinstance(X, (list, tuple)) and any(
        isinstance(item, (pd.DataFrame, pd.Series, np.ndarray, dict)) for item in X
    ):
        series = _from_list(list(X))
    elif isinstance(X, np.ndarray) and X.ndim == 3:
        return _from_numpy3d(X, origin, unit_ns, n_channels, in_steps, dtype)
    elif isinstance(X, pd.Series) or (isinstance(X, np.ndarray) and X.ndim not in (2, 3)):
        raise ValueError(
            f"X must be {_FORMATS}; got a {getattr(X, 'ndim', 1)}-D input. Reshape your data: "
            "X.reshape(1, -1) for a single series, X.reshape(-1, 1) for single-value series."
        )
    else:
        dtypes = [np.float64, np.float32]
        if isinstance(X, np.ndarray):
            _reject_strings_and_datetimes(X, "X")
        try:
            if estimator is None:
                X2 = check_array(X, dtype=dtypes)
            else:
                X2 = validate_data(estimator, X, reset=reset, dtype=dtypes)
        except OverflowError:
            raise ValueError("X has values too large to represent as numbers.") from None
        return _from_numpy3d(X2[:, None, :], origin, unit_ns, n_channels, in_steps, dtype)

    if in_steps:  # time indexes ignored: positions 0, 1, 2, ...
        series = [(("steps", np.arange(len(v), dtype=np.int64)), v) for _, v in series]
    kinds = {kind for (kind, _), _ in series}
    if len(kinds) > 1:
        raise ValueError(f"X mixes kinds of time index ({sorted(kinds)}); use one kind.")
    channels = {values.shape[1] for _, values in series}
    if len(channels) > 1:
        raise ValueError(f"X has series with different numbers of channels: {sorted(channels)}.")
    _check_channels(channels.pop(), n_channels)
    for i, ((_, raw), values) in enumerate(series):
        _check_series(raw, values, i)
    rel, origin = _relative_times(kinds.pop(), [raw for (_, raw), _ in series], origin, unit_ns)
    for values in (v for _, v in series):
        _check_range(values, dtype)
    panel = _pad(list(zip(rel, (v for _, v in series))), series[0][1].shape[1], dtype)
    return panel, origin


def _check_channels(found: int, expected: int | None) -> None:
    if expected is not None and found != expected:
        raise ValueError(
            f"X has {found} channels, but the estimator was fitted on {expected} channels."
        )


def _from_numpy3d(
    X: np.ndarray,
    origin: TimeOrigin | None,
    unit_ns: int,
    n_channels: int | None,
    in_steps: bool,
    dtype: type,
) -> tuple[Panel, TimeOrigin]:
    n, channels, length = X.shape
    if n == 0 or length == 0 or channels == 0:
        raise ValueError(
            f"X of shape {X.shape} is empty; it needs at least one sample, channel and time point."
        )
    _check_channels(channels, n_channels)
    values = _as_float_values(X, "X")
    if not np.isfinite(values).all():
        bad = int(np.flatnonzero(~np.isfinite(values).reshape(n, -1).all(axis=1))[0])
        raise ValueError(
            f"X series {bad} contains NaN or infinity; impute or drop missing values first."
        )
    _check_range(values, dtype)
    steps = np.arange(length, dtype=np.int64)
    rel, origin = _relative_times("steps" if in_steps else "numeric", [steps], origin, unit_ns)
    panel = Panel(
        np.ascontiguousarray(values.transpose(0, 2, 1), dtype=dtype),
        np.broadcast_to(rel[0], (n, length)).copy(),
        np.full(n, length, dtype=np.int64),
    )
    return panel, origin


def _absolute_index(times: np.ndarray, origin: TimeOrigin) -> pd.Index:
    """Time index of one series from times relative to ``origin``, in the original kind."""
    if origin.kind in ("datetime", "timedelta"):
        ns = np.int64(origin.value) + np.round(times * origin.unit_ns).astype(np.int64)
        if origin.kind == "datetime":
            return pd.DatetimeIndex(ns.astype("datetime64[ns]"))
        return pd.TimedeltaIndex(ns.astype("timedelta64[ns]"))
    absolute = times + origin.value
    if np.all(absolute == np.round(absolute)) and np.abs(absolute).max(initial=0) < 2**53:
        return pd.Index(absolute.astype(np.int64))  # integer times stay integers
    return pd.Index(absolute)


def from_panel(panel: Panel, origin: TimeOrigin, return_type: str = "pd-multiindex") -> Any:
    """Write a panel back into an sktime container, restoring the original times.

    Parameters
    ----------
    panel : Panel
        Values ``(n, L, C)``, times relative to ``origin`` ``(n, L)``, lengths ``(n,)``.
    origin : TimeOrigin
        The origin the times are relative to; the container gets times of the same
        kind (integer or float, datetime, timedelta) as the data it came from.
    return_type : {"pd-multiindex", "nested_univ", "df-list"}, default="pd-multiindex"
        The container to write. Channels are named ``dim_0, dim_1, ...``.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
    """
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}.")
    columns = [f"dim_{c}" for c in range(panel.n_channels)]
    frames = []
    for i, n in enumerate(panel.lengths):
        index = _absolute_index(panel.times[i, :n], origin)
        frames.append(pd.DataFrame(panel.values[i, :n].astype(np.float64), index, columns))
    if return_type == "df-list":
        return frames
    if return_type == "nested_univ":
        return pd.DataFrame({c: [f[c] for f in frames] for c in columns})
    return pd.concat(frames, keys=range(len(frames)))

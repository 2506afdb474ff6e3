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

Missing values: a NaN in a channel at a time point means "not observed then"
(``missing="mask"``, the default). Channels may carry their own time indexes (the cells
of a ``nested_univ`` row, or a ``dict`` of Series in a list): a series is then the
union of its channels' times, NaN where a channel was not observed. A time point at
which no channel is observed is dropped. :class:`Panel` keeps NaN at unobserved entries
and an observation mask beside the values; code downstream reads the mask.
``missing="error"`` refuses every NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.utils.validation import check_array, validate_data

__all__ = [
    "Panel",
    "absolute_index",
    "TimeOrigin",
    "check_missing",
    "check_time_unit",
    "from_events",
    "align_to_instances",
    "from_panel",
    "instance_ids",
    "select_series",
    "to_events",
    "to_panel",
]

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
    #: the time zone of a time-zone-aware datetime index (times are held in UTC), else None
    tz: str | None = None

    def show(self, time: float) -> str:
        """A time measured from this origin (in its unit), written as the user gave times.

        Parameters
        ----------
        time : float
            Time since the origin, in ``unit_ns`` units for datetime and timedelta
            times, in the time index's units otherwise.

        Returns
        -------
        str
            A timestamp (in its time zone) for a datetime index, a duration for a
            timedelta index, a plain number otherwise.
        """
        if self.kind in ("datetime", "timedelta"):
            ns = int(self.value) + int(round(float(time) * self.unit_ns))
            return show_time(ns, self.kind, self.tz)
        shown = float(time) + self.value
        if isinstance(self.value, int) and shown.is_integer() and abs(shown) < 2**53:
            return show_time(int(shown), self.kind)  # an integer time index stays integer
        return show_time(shown, self.kind)


class TimeRange(tuple):
    """A ``(low, high)`` pair of times, printed with 6 significant digits.

    The values keep their full precision (the model is initialised from them, and
    rounding would make it depend on the data's unit); only the printed form is
    rounded, so that ``tau_range_`` in hours reads ``(0.211667, 23.4419)`` rather
    than ``(0.21166666666675837, 23.441944444444367)``.
    """

    def __repr__(self) -> str:
        return "(" + ", ".join(f"{float(v):.6g}" for v in self) + ")"


@dataclass
class Panel:
    """A batch of right-padded series.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_series, max_length, n_channels)
        Values: NaN where a channel was not observed, zero at padded steps.
    times : numpy.ndarray of shape (n_series, max_length), float64
        Timestamps relative to the origin; padded steps repeat the last valid time.
    lengths : numpy.ndarray of shape (n_series,), int64
        Number of valid steps of each series.
    channels : tuple of str, optional
        The channel names, where the container had them.

    Attributes
    ----------
    mask : numpy.ndarray of shape (n_series, max_length, n_channels), bool
        True where a channel was observed at a valid step (False at unobserved
        entries and at padded steps).
    """

    values: np.ndarray
    times: np.ndarray
    lengths: np.ndarray
    channels: tuple[str, ...] | None = None
    mask: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.mask = ~np.isnan(self.values) & self.valid_mask()[:, :, None]

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.values.shape[2]

    @property
    def has_missing(self) -> bool:
        """Whether any channel is unobserved at a valid step."""
        return bool((self.mask != self.valid_mask()[:, :, None]).any())

    def __len__(self) -> int:
        return self.values.shape[0]

    def valid_mask(self) -> np.ndarray:
        """Boolean mask of shape (n_series, max_length), True at valid steps."""
        return np.arange(self.values.shape[1]) < self.lengths[:, None]

    def channel_stats(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean and standard deviation of every channel over its observed values (float64).

        Returns
        -------
        mean, std : numpy.ndarray of shape (n_channels,)
            The standard deviation is 1 where a channel is constant (its spread is zero
            or at float64 rounding of its mean) or never observed.
        """
        count = np.maximum(self.mask.sum(axis=(0, 1)), 1)
        observed = np.where(self.mask, self.values, 0.0).astype(np.float64)
        mean = observed.sum(axis=(0, 1)) / count
        spread = np.where(self.mask, observed - mean, 0.0)
        std = np.sqrt((spread**2).sum(axis=(0, 1)) / count)
        std[~(std > 1e-12 * np.abs(mean))] = 1.0
        return mean, std

    def standardized(self, mean: np.ndarray, std: np.ndarray) -> Panel:
        """A copy with every channel standardised in float64 (NaN stays NaN).

        Parameters
        ----------
        mean, std : numpy.ndarray of shape (n_channels,)

        Returns
        -------
        Panel
        """
        scaled = (self.values.astype(np.float64) - mean) / std
        scaled[~self.valid_mask()] = 0.0
        return Panel(scaled, self.times, self.lengths, self.channels)

    def network_inputs(self, with_mask: bool) -> dict[str, np.ndarray]:
        """The arrays as keyword arguments of :class:`sk_plstm.nn.PhasedLSTMNet`.

        Parameters
        ----------
        with_mask : bool
            Append the observation mask (1 observed, 0 not) as ``n_channels`` more
            input channels.

        Returns
        -------
        dict
            ``values`` float32 of shape (n_series, max_length, n_channels) (or
            ``2 * n_channels`` with the mask), zero where unobserved and at padded
            steps; ``times`` float64 (n_series, max_length); ``lengths`` (n_series,).
        """
        values = np.where(self.mask, self.values, 0.0).astype(np.float32)
        if not np.isfinite(values).all():
            raise ValueError(
                "X has values too large to represent in float32 after standardisation."
            )
        if with_mask:
            values = np.concatenate([values, self.mask.astype(np.float32)], axis=2)
        return {"values": values, "times": self.times, "lengths": self.lengths}

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


def show_time(value: Any, kind: str, tz: str | None = None) -> str:
    """One raw time value as the user wrote it: a timestamp, a duration or a number.

    Parameters
    ----------
    value : int or float
        Nanoseconds (UTC for an aware datetime) for ``kind`` "datetime" and
        "timedelta", the time itself otherwise.
    kind : {"numeric", "datetime", "timedelta", "steps"}
        The kind of time index.
    tz : str, optional
        Time zone of an aware datetime index.

    Returns
    -------
    str
    """
    if kind == "datetime":
        stamp = pd.Timestamp(int(value), unit="ns")
        return str(stamp.tz_localize("UTC").tz_convert(tz) if tz else stamp)
    if kind == "timedelta":
        return str(pd.Timedelta(int(value), unit="ns"))
    return _plain(value)


def _plain(value: Any) -> str:
    """A value from the user's data for a message: timestamps as text, numbers plain."""
    if isinstance(value, (pd.Timestamp, pd.Timedelta)):
        return str(value)
    return repr(value.item() if isinstance(value, np.generic) else value)


def _nanoseconds(index: pd.Index, where: str) -> np.ndarray:
    try:
        return index.as_unit("ns").asi8.copy()
    except (pd.errors.OutOfBoundsDatetime, pd.errors.OutOfBoundsTimedelta, OverflowError):
        raise ValueError(
            f"{where} has times outside the range pandas holds in nanoseconds (about "
            "1677-09-21 to 2262-04-11, or +-292 years for durations); shift them, or "
            "use numbers."
        ) from None


def _tz_name(index: pd.DatetimeIndex) -> str | None:
    return None if index.tz is None else str(index.tz)


def _index_times(index: pd.Index, where: str) -> tuple[str, np.ndarray, str | None]:
    """Kind, raw values (float64, or int64 nanoseconds, UTC if aware) and time zone."""
    if isinstance(index, pd.PeriodIndex):
        index = index.to_timestamp()
    if isinstance(index, pd.DatetimeIndex):
        tz = _tz_name(index)
        if tz is not None:
            index = index.tz_convert("UTC").tz_localize(None)
        if index.hasnans:
            raise ValueError(f"{where} has missing (NaT) timestamps.")
        return "datetime", _nanoseconds(index, where), tz
    if isinstance(index, pd.TimedeltaIndex):
        if index.hasnans:
            raise ValueError(f"{where} has missing (NaT) timestamps.")
        return "timedelta", _nanoseconds(index, where), None
    if pd.api.types.is_bool_dtype(index.dtype) or not pd.api.types.is_numeric_dtype(index.dtype):
        raise TypeError(
            f"{where} has a time index of dtype {index.dtype}; time indexes must be "
            "numeric, datetime, timedelta or period."
        )
    if index.hasnans and pd.api.types.is_extension_array_dtype(index.dtype):
        raise ValueError(f"{where} has missing (NA) timestamps.")
    if pd.api.types.is_integer_dtype(index.dtype):  # kept exact until the origin is subtracted
        if index.dtype.kind == "u" and len(index) and index.max() > np.iinfo(np.int64).max:
            raise ValueError(
                f"{where} has integer times beyond the int64 range; subtract an offset first."
            )
        return "numeric", index.to_numpy(dtype=np.int64), None
    return "numeric", index.to_numpy(dtype=np.float64), None


@dataclass
class _Series:
    """One parsed series: its time kind, raw times, values (NaN = unobserved), names."""

    kind: str
    times: np.ndarray  # float64, or int64 (integer times, datetime nanoseconds)
    values: np.ndarray  # (L, C) float64
    names: tuple[str, ...] | None = None
    tz: str | None = None  # time zone of an aware datetime index (times held in UTC)


def _channel_names(columns: Any, where: str) -> tuple[str, ...]:
    names = tuple(str(c) for c in columns)
    if len(set(names)) != len(names):
        repeated = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"{where} has repeated channel names {repeated}; name each channel once.")
    return names


def _from_multiindex(X: pd.DataFrame) -> list[_Series] | _Ragged:
    if X.shape[1] == 0:
        raise ValueError("X is a DataFrame with no columns (channels).")
    if X.shape[0] == 0:
        raise ValueError("X is an empty DataFrame; it needs at least one series.")
    names = _channel_names(X.columns, "X")
    instance = X.index.droplevel(-1)
    codes, _ = pd.factorize(instance, use_na_sentinel=False)  # order of first appearance
    order = np.argsort(codes, kind="stable")
    bounds = np.flatnonzero(np.diff(codes[order])) + 1
    values = _as_float_values(X.to_numpy(), "X")
    time_level = X.index.get_level_values(-1)
    try:  # the time index read once; where it cannot be, per series, to name the one
        kind, times, tz = _index_times(time_level, "X")
    except (TypeError, ValueError):
        series = []
        for i, rows in enumerate(np.split(order, bounds)):
            kind, times, tz = _index_times(time_level[rows], f"X series {i}")
            series.append(_Series(kind, times, values[rows], names, tz))
        return series
    return _Ragged(
        kind, times[order], values[order], np.diff(bounds, prepend=0, append=len(order)), names, tz
    )


def _union_of_channels(cells: list[pd.Series], names: tuple[str, ...], where: str) -> _Series:
    """One series from channels that each carry their own time index (NaN where unobserved)."""
    index = cells[0].index
    if all(cell.index.equals(index) for cell in cells[1:]):
        kind, times, tz = _index_times(index, where)
        values = np.column_stack([_as_float_values(cell.to_numpy(), where) for cell in cells])
        return _Series(kind, times, values.reshape(len(times), len(cells)), names, tz)
    parsed = []
    for name, cell in zip(names, cells):
        at = f"{where}, channel {name!r}"
        kind, times, tz = _index_times(cell.index, at)
        _check_times(times, at, kind, tz)
        parsed.append((kind, times, _as_float_values(cell.to_numpy(), at), tz))
    kinds = {kind for kind, _, _, _ in parsed}
    if len(kinds) > 1:
        raise ValueError(
            f"{where}: its channels have different kinds of time index ({sorted(kinds)}); "
            "use one kind."
        )
    zones = [tz for _, _, _, tz in parsed]
    _check_awareness(zones, where)
    raws = [times for _, times, _, _ in parsed]
    if any(r.dtype.kind == "f" for r in raws):
        raws = [r.astype(np.float64) for r in raws]
    union = np.unique(np.concatenate(raws))
    values = np.full((len(union), len(cells)), np.nan)
    for j, (raw, (_, _, v, _)) in enumerate(zip(raws, parsed)):
        values[np.searchsorted(union, raw), j] = v
    return _Series(kinds.pop(), union, values, names, zones[0])


def _from_nested(X: pd.DataFrame) -> list[_Series]:
    names = _channel_names(X.columns, "X")
    series = []
    for i in range(X.shape[0]):
        cells = list(X.iloc[i])
        where = f"X series {i}"
        if not all(isinstance(cell, pd.Series) for cell in cells):
            raise TypeError(
                f"{where}: a nested_univ DataFrame must hold a pandas.Series in every cell."
            )
        series.append(_union_of_channels(cells, names, where))
    return series


def _from_dict(item: dict, where: str) -> _Series:
    if not item:
        raise ValueError(f"{where} is an empty dict; it needs at least one channel.")
    cells = list(item.values())
    if not all(isinstance(cell, pd.Series) for cell in cells):
        raise TypeError(
            f"{where} is a dict: it must map each channel name to a pandas.Series indexed "
            "by that channel's observation times."
        )
    return _union_of_channels(cells, _channel_names(item.keys(), where), where)


def _from_list(X: list) -> list[_Series]:
    series = []
    for i, item in enumerate(X):
        where = f"X series {i}"
        if isinstance(item, pd.DataFrame):
            if item.shape[1] == 0:
                raise ValueError(f"{where} is a DataFrame with no columns (channels).")
            kind, times, tz = _index_times(item.index, where)
            names = _channel_names(item.columns, where)
            series.append(_Series(kind, times, _as_float_values(item, where), names, tz))
        elif isinstance(item, pd.Series):
            kind, times, tz = _index_times(item.index, where)
            values = _as_float_values(item.to_numpy(), where)[:, None]
            series.append(_Series(kind, times, values, None, tz))
        elif isinstance(item, dict):
            series.append(_from_dict(item, where))
        elif isinstance(item, np.ndarray) and item.ndim in (1, 2):
            values = _as_float_values(item, where)
            values = values[:, None] if values.ndim == 1 else values
            steps = np.arange(values.shape[0], dtype=np.int64)
            series.append(_Series("numeric", steps, values))
        else:
            raise TypeError(
                f"{where} is a {type(item).__name__}; a list of series must hold only "
                "DataFrames, Series, dicts of Series (one per channel), or numpy arrays of "
                "shape (n_timepoints,) or (n_timepoints, n_channels)."
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

#: What ``missing`` may be: NaN read as "not observed", or refused.
MISSING = ("mask", "error")


def check_missing(missing: Any) -> str:
    """Validate the ``missing`` option.

    Parameters
    ----------
    missing : {"mask", "error"}
        ``"mask"``: NaN means "not observed"; ``"error"``: NaN is refused.

    Returns
    -------
    str
    """
    if not (isinstance(missing, str) and missing in MISSING):
        raise ValueError(f"missing must be one of {MISSING}, got {missing!r}.")
    return missing


def _check_times(
    times: np.ndarray, where: str, kind: str = "numeric", tz: str | None = None
) -> None:
    if times.dtype.kind == "f" and not np.isfinite(times).all():
        raise ValueError(f"{where} has NaN or infinite timestamps.")
    not_after = times[1:] <= times[:-1]  # a comparison, not a difference: cannot overflow
    if not_after.any():
        at = int(np.flatnonzero(not_after)[0]) + 1
        now, before = show_time(times[at], kind, tz), show_time(times[at - 1], kind, tz)
        raise ValueError(
            f"{where} has times that are not strictly increasing "
            f"(time point {at}: {now} after {before}); sort the series "
            "and remove duplicate timestamps."
        )


def _check_awareness(zones: list[str | None], where: str) -> None:
    """Refuse naive datetimes mixed with time-zone-aware ones (no rule can place them)."""
    if len({tz is None for tz in zones}) > 1:
        raise ValueError(
            f"{where} mixes time-zone-aware and naive datetimes; localise the naive ones "
            "(tz_localize) or make all of them naive."
        )


def _nan_error(where: str) -> ValueError:
    return ValueError(
        f"{where} contains NaN (missing values), which missing='error' refuses; impute "
        "them, or use missing='mask' to read NaN as 'not observed'."
    )


def _clean_series(s: _Series, i: int, missing: str) -> _Series:
    """Check one series; drop the time points at which no channel was observed."""
    where = f"X series {i}"
    if s.values.shape[0] == 0:
        raise ValueError(f"{where} is empty; every series needs at least one time point.")
    if np.isinf(s.values).any():
        raise ValueError(f"{where} contains infinity; every value must be finite (or NaN).")
    _check_times(s.times, where, s.kind, s.tz)
    observed = ~np.isnan(s.values)
    if observed.all():
        return s
    if missing == "error":
        raise _nan_error(where)
    rows = observed.any(axis=1)
    if not rows.any():
        raise ValueError(
            f"{where} has no observed value (all its values are NaN); every series needs "
            "at least one observation."
        )
    return _Series(s.kind, s.times[rows], s.values[rows], s.names, s.tz)


def _clean_all(series: list[_Series], missing: str) -> list[_Series]:
    """:func:`_clean_series` of every series, in whole-array operations where it can be.

    Where every value is finite and every series' times increase, nothing changes and
    the checks run on all series at once; else series by series, which names the first
    series with a problem.
    """
    if len(series) > 1 and all(len(s.times) for s in series):
        values = np.concatenate([s.values for s in series])
        times = np.concatenate([s.times for s in series])
        starts = np.cumsum([len(s.times) for s in series])[:-1]
        if _times_increase(times, starts) and np.isfinite(values).all():
            return series
    return [_clean_series(s, i, missing) for i, s in enumerate(series)]


def _times_increase(times: np.ndarray, starts: np.ndarray) -> bool:
    """Whether the series laid one after the other in ``times`` have finite, increasing times.

    ``starts``: where each series but the first begins (strictly increasing within each).
    """
    later = times[1:] > times[:-1]
    later[starts - 1] = True  # a series' first time need not follow the one before
    return bool(later.all()) and (times.dtype.kind != "f" or bool(np.isfinite(times).all()))


def _align_names(series: list[_Series], expected: tuple[str, ...] | None) -> tuple | None:
    """Match every series' channels to one order by name; return the names, if known.

    The reference is ``expected`` (the names seen at fit) or else the first named series.
    """
    named = [s for s in series if s.names is not None]
    if not named:
        return None
    reference = expected if expected is not None else named[0].names
    for i, s in enumerate(series):
        if s.names is None or s.names == reference:
            continue
        if set(s.names) != set(reference) or len(s.names) != len(reference):
            what = "the estimator was fitted on" if expected is not None else "series 0 has"
            missing = [n for n in reference if n not in s.names]
            extra = [n for n in s.names if n not in reference]
            raise ValueError(
                f"X series {i} has channels {list(s.names)}, but {what} channels "
                f"{list(reference)} (missing: {missing}, unexpected: {extra}); channels are "
                "matched by name."
            )
        order = [s.names.index(n) for n in reference]
        s.values, s.names = s.values[:, order], reference
    return reference


def _pad(series: list[_Series], n_channels: int, dtype: type, names: Any) -> Panel:
    lengths = np.array([len(s.times) for s in series], dtype=np.int64)
    max_len = int(lengths.max())
    values = np.zeros((len(series), max_len, n_channels), dtype=dtype)
    times = np.empty((len(series), max_len), dtype=np.float64)
    for i, s in enumerate(series):
        values[i, : len(s.times)] = s.values
        times[i, : len(s.times)] = s.times
        times[i, len(s.times) :] = s.times[-1]
    return Panel(values, times, lengths, names)


def _check_range(values: np.ndarray, dtype: type) -> None:
    if np.nanmax(np.abs(values), initial=0.0) > np.finfo(dtype).max:
        raise ValueError(f"X has values too large to represent in {np.dtype(dtype).name}.")


def _check_every_channel_observed(panel: Panel) -> None:
    never = np.flatnonzero(~panel.mask.any(axis=(0, 1)))
    if never.size:
        labels = [panel.channels[c] for c in never] if panel.channels else never.tolist()
        raise ValueError(
            f"X has channels that are never observed (all NaN in every series): {labels}; "
            "drop them, or give training data in which each channel is observed at least once."
        )


def _relative_times(
    kind: str,
    raw: list[np.ndarray],
    origin: TimeOrigin | None,
    unit_ns: int,
    tz: str | None = None,
) -> tuple[list[np.ndarray], TimeOrigin]:
    if origin is None:
        if any(r.dtype.kind == "f" for r in raw):
            raw = [r.astype(np.float64) for r in raw]
        start = np.concatenate(raw).min() if len(raw) > 1 else raw[0].min()
        origin = TimeOrigin(kind, start.item(), unit_ns, tz)
    elif origin.kind != kind:
        raise ValueError(
            f"X has a {kind} time index, but the estimator was fitted on a {origin.kind} "
            "time index; use the same kind of time index at fit and predict."
        )
    elif kind == "datetime" and (origin.tz is None) != (tz is None):
        fitted = f"time-zone-aware ({origin.tz})" if origin.tz else "naive"
        given = f"time-zone-aware ({tz})" if tz else "naive"
        raise ValueError(
            f"X has {given} datetimes, but the estimator was fitted on {fitted} ones; "
            "localise or strip the time zone so that both are aware or both naive."
        )
    scale = 1.0 if kind in ("numeric", "steps") else float(origin.unit_ns)
    relative = _all_minus_origin(raw, origin.value, scale)
    if not all(np.isfinite(r).all() for r in relative):
        raise ValueError(
            "X has timestamps too far apart to represent (their span overflows float64)."
        )
    return relative, origin


def _all_minus_origin(raw: list[np.ndarray], origin: float | int, scale: float) -> list:
    """``_minus_origin(r, origin) / scale`` of every series.

    In one operation where that gives the same (float times, or integer ones all exact
    in int64).
    """
    if len(raw) > 1:
        flat = np.concatenate(raw)
        integer = flat.dtype.kind == "i" and isinstance(origin, int)
        # integer times: the same where every series is exact, i.e. all of them together
        if flat.dtype.kind in "if" and (
            not integer or np.abs(flat.astype(np.float64) - float(origin)).max() < 2.0**62
        ):
            whole = _minus_origin(flat, origin) / scale
            return np.split(whole, np.cumsum([len(r) for r in raw])[:-1])
    return [_minus_origin(r, origin) / scale for r in raw]


def _minus_origin(raw: np.ndarray, origin: float | int) -> np.ndarray:
    """``raw - origin`` in float64: exact in int64 where the difference fits, never wrapping."""
    approx = raw.astype(np.float64) - float(origin)
    if raw.dtype.kind == "i" and isinstance(origin, int) and np.abs(approx).max() < 2.0**62:
        return (raw - np.int64(origin)).astype(np.float64)
    return approx


def _parse(
    X: Any, estimator: Any, reset: bool, missing: str, n_channels: int | None
) -> list[_Series] | _Block | _Ragged:
    """Every accepted container as a list of series with their raw times.

    Numpy input comes as a block of equal-length series, and a multi-index frame as its
    series one after the other, converted whole where they can be.
    """
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        return _from_multiindex(X)
    if isinstance(X, pd.DataFrame) and _is_nested(X):
        return _from_nested(X)
    if isinstance(X, dict) and not sparse.issparse(X):  # scipy's dok_matrix is a dict
        raise TypeError(
            f"X is a dict; X must be {_FORMATS}. (A dict of one Series per channel is one "
            "series: put it in a list.)"
        )
    if isinstance(X, pd.DataFrame) and X.empty:
        raise ValueError(
            f"X is an empty DataFrame (shape {X.shape}); it needs at least one series."
        )
    if isinstance(X, (list, tuple)) and not X:
        raise ValueError("X is an empty list; it needs at least one series.")
    if isinstance(X, (list, tuple)) and any(
        isinstance(item, (pd.DataFrame, pd.Series, np.ndarray, dict)) for item in X
    ):
        return _from_list(list(X))
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return _from_numpy3d(X, n_channels)
    if isinstance(X, pd.Series) or (isinstance(X, np.ndarray) and X.ndim not in (2, 3)):
        raise ValueError(
            f"X must be {_FORMATS}; got a {getattr(X, 'ndim', 1)}-D input. Reshape your data: "
            "X.reshape(1, -1) for a single series, X.reshape(-1, 1) for single-value series."
        )
    if isinstance(X, pd.DataFrame):
        _refuse_tables(X)
    return _from_2d(X, estimator, reset, missing)


#: the columns that say a 2-D DataFrame is an event table
_EVENT_HINTS = {"instance", "id", "time", "timestamp", "channel", "sensor", "value", "variable"}


def _refuse_tables(X: pd.DataFrame) -> None:
    """A 2-D DataFrame with columns that are not numbers is a table, not series: say which.

    A 2-D DataFrame is one univariate series per row; an event table (a row per
    observation) or a wide table (a row per time point) must be converted first.
    """
    not_numbers = [
        str(name)
        for name, column in X.items()
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column))
        and pd.api.types.infer_dtype(column, skipna=True)
        not in ("integer", "floating", "mixed-integer-float", "boolean", "empty", "decimal")
    ]
    if not not_numbers:
        return
    columns = [str(c).lower() for c in X.columns]
    looks_like_events = len(_EVENT_HINTS.intersection(columns)) >= 2
    advice = (
        "It looks like an event table (one row per observation): convert it with "
        "sk_plstm.from_events(X, instance=..., time=..., channel=..., value=...), which "
        "returns the series indexed by (instance, time); events whose channels are integer "
        "indices (an event camera's pixels, neurons) go by index with "
        "sk_plstm.EventStreams.from_table."
        if looks_like_events
        else "For a table with one row per observation (instance, time, channel, value) "
        "use sk_plstm.from_events; for a table with one row per time point and a column "
        "per channel, index it by (instance, time): X.set_index([instance, time])."
    )
    strings = any(
        pd.api.types.infer_dtype(X[c], skipna=True) in ("string", "bytes", "mixed")
        for c in X.columns
        if str(c) in not_numbers
    )
    what = "contains strings in" if strings else "has values that are not numbers in"
    raise ValueError(
        f"X {what} the column(s) {not_numbers[:5]}; a plain DataFrame is read as one "
        f"univariate series per row, of numbers only. {advice}"
    )


def to_panel(
    X: Any,
    *,
    estimator: Any = None,
    reset: bool = True,
    time_unit: Any = "s",
    origin: TimeOrigin | None = None,
    n_channels: int | None = None,
    channel_names: tuple[str, ...] | None = None,
    missing: str = "mask",
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
        True at fit (every channel must then be observed somewhere), False at predict.
    time_unit : str or pandas.Timedelta, default="s"
        Unit of datetime and timedelta times (numeric times are used as they
        are); ``"steps"`` ignores time indexes and uses positions ``0, 1, 2, ...``.
    origin : TimeOrigin, optional
        Origin fixed at fit; computed from ``X`` (the earliest time) when omitted.
    n_channels : int, optional
        Channel count seen at fit; a different count raises.
    channel_names : tuple of str, optional
        Channel names seen at fit: named channels of ``X`` are matched to them by
        name (reordered where needed); other names raise.
    missing : {"mask", "error"}, default="mask"
        ``"mask"``: NaN means "not observed" (time points with no observed channel are
        dropped); ``"error"``: any NaN raises.
    dtype : numpy float type, default=numpy.float32
        Floating type of the values.

    Returns
    -------
    panel : Panel
        Values ``(n, L, C)`` of ``dtype`` (NaN where unobserved), times ``(n, L)``
        float64, lengths ``(n,)``, the channel names where ``X`` has them.
    origin : TimeOrigin
        The origin used (the given one, or the one computed from ``X``).

    Raises
    ------
    ValueError, TypeError
        With a message naming the problem (and the series) for any input
        that cannot be used.
    """
    check_missing(missing)
    unit_ns = check_time_unit(time_unit) if origin is None else origin.unit_ns
    in_steps = origin.kind == "steps" if origin is not None else time_unit == "steps"
    series = _parse(X, estimator, reset, missing, n_channels)
    fast = None  # the panel made in whole-array operations, where it can be
    if isinstance(series, _Block):
        _check_channels(series.values.shape[1], n_channels)
        kind = "steps" if in_steps else "numeric"
        fast = _block_panel(series, kind, missing, origin, unit_ns, dtype)
    elif isinstance(series, _Ragged) and channel_names in (None, series.names):
        _check_channels(series.values.shape[1], n_channels)
        fast = _ragged_panel(series, in_steps, origin, unit_ns, dtype)
    if fast is not None:
        if reset:
            _check_every_channel_observed(fast[0])
        return fast
    if isinstance(series, (_Block, _Ragged)):  # a series to name, channels to match by name
        series = series.series()
    if in_steps:  # time indexes ignored: positions 0, 1, 2, ...
        for s in series:
            s.kind, s.times, s.tz = "steps", np.arange(len(s.times), dtype=np.int64), None
    kinds = {s.kind for s in series}
    if len(kinds) > 1:
        raise ValueError(f"X mixes kinds of time index ({sorted(kinds)}); use one kind.")
    _check_awareness([s.tz for s in series], "X")
    names = _align_names(series, channel_names)
    channels = {s.values.shape[1] for s in series}
    if len(channels) > 1:
        raise ValueError(f"X has series with different numbers of channels: {sorted(channels)}.")
    _check_channels(channels.pop(), n_channels)
    series = _clean_all(series, missing)
    rel, origin = _relative_times(
        kinds.pop(), [s.times for s in series], origin, unit_ns, series[0].tz
    )
    _check_range(np.concatenate([s.values for s in series]), dtype)
    for s, t in zip(series, rel):
        s.times = t
    panel = _pad(series, series[0].values.shape[1], dtype, names)
    if reset:
        _check_every_channel_observed(panel)
    return panel, origin


def instance_ids(X: Any) -> pd.Index | None:
    """The ids of ``X``'s series, in the order the series are read, where ``X`` has them.

    Parameters
    ----------
    X : any accepted container
        The instance level of a ``pd-multiindex`` frame (in order of first appearance,
        the order in which its series are read), the row index of a ``nested_univ``
        frame or of a 2-D DataFrame (one series per row), the ``attrs["instance"]`` of
        every frame of a ``df-list`` (as :func:`from_events` writes them).

    Returns
    -------
    pandas.Index of length n_series, or None
        None for containers without ids (numpy arrays, lists without ``attrs``).
    """
    if isinstance(X, pd.DataFrame):
        if isinstance(X.index, pd.MultiIndex):
            return X.index.droplevel(-1).unique()
        return X.index
    if (
        isinstance(X, (list, tuple))
        and X
        and all(isinstance(item, pd.DataFrame) and "instance" in item.attrs for item in X)
    ):
        return pd.Index([item.attrs["instance"] for item in X])
    return None


def select_series(X: Any, positions: Any) -> Any:
    """The series of ``X`` at ``positions``, in the same container, nothing converted.

    Parameters
    ----------
    X : any accepted container
    positions : array-like of int
        Positions of series in ``X`` (in the order :func:`to_panel` reads them); taken
        in increasing order.

    Returns
    -------
    The same kind of container with those series: rows of a numpy array or of a
    ``nested_univ`` / 2-D frame, the instances of a ``pd-multiindex`` frame (their
    rows, every channel's times kept), items of a list.
    """
    positions = np.sort(np.asarray(positions, dtype=np.int64))
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        ids = X.index.droplevel(-1)
        return X[ids.isin(ids.unique()[positions])]
    if isinstance(X, pd.DataFrame):
        return X.iloc[positions]
    if isinstance(X, (list, tuple)):
        return [X[i] for i in positions]
    return np.asarray(X)[positions]


def _ids_shown(ids: Any) -> str:
    ids = list(ids)
    more = f" ... ({len(ids)} in all)" if len(ids) > 5 else ""
    return ", ".join(_plain(i) for i in ids[:5]) + more


def align_to_instances(target: Any, ids: pd.Index | None, name: str = "y") -> Any:
    """``target`` in the order of ``X``'s series: matched by id where both have ids.

    A pandas Series or DataFrame ``target`` whose index holds ``X``'s instance ids is
    reordered to ``X``'s order; one whose index is already ``X``'s ids, in order, is
    returned as it is. Arrays and lists, and any ``target`` for an ``X`` without ids,
    are matched by position.

    Parameters
    ----------
    target : array-like, pandas.Series or pandas.DataFrame of length n_series
        Labels, targets or weights.
    ids : pandas.Index or None
        :func:`instance_ids` of ``X``.
    name : str, default="y"
        What ``target`` is called in messages.

    Returns
    -------
    The same kind of object as ``target``, in ``X``'s order.

    Raises
    ------
    ValueError
        When the ids differ (naming some of each side's extra ids), or repeat on a side
        so that they cannot be matched.
    """
    if ids is None or not isinstance(target, (pd.Series, pd.DataFrame)):
        return target
    index = target.index
    if index.nlevels != ids.nlevels:
        raise ValueError(
            f"{name} is indexed by {index.nlevels} level(s) but X's series by "
            f"{ids.nlevels}: {name}'s index must hold X's instance ids (or pass "
            f"{name}.to_numpy() to match by position)."
        )
    if index.equals(ids):
        return target
    if not index.is_unique or not ids.is_unique:
        side = "X's instance ids" if not ids.is_unique else f"the index of {name}"
        raise ValueError(
            f"{side} repeat, so {name} cannot be matched to X's series by id; give unique "
            f"ids, or pass {name}.to_numpy() to match by position."
        )
    missing, extra = ids.difference(index, sort=False), index.difference(ids, sort=False)
    if len(missing) or len(extra):
        parts = []
        if len(missing):
            verb = "has" if len(missing) == 1 else "have"
            parts.append(
                f"{len(missing)} series of X {verb} no entry in {name} ({_ids_shown(missing)})"
            )
        if len(extra):
            verb = "is" if len(extra) == 1 else "are"
            parts.append(
                f"{len(extra)} id(s) of {name} {verb} not among X's series ({_ids_shown(extra)})"
            )
        raise ValueError(
            f"{name} is a pandas {type(target).__name__} indexed by ids that differ from X's "
            f"instance ids: {'; '.join(parts)}. {name} is matched to X's series by its "
            f"index; select the same instances on both sides, or pass {name}.to_numpy() "
            "to match by position."
        )
    return target.loc[ids]


def _check_channels(found: int, expected: int | None) -> None:
    if expected is not None and found != expected:
        raise ValueError(
            f"X has {found} channels, but the estimator was fitted on {expected} channels."
        )


def _from_2d(X: Any, estimator: Any, reset: bool, missing: str) -> _Block:
    """2-D array-like (n, L): univariate series, validated by scikit-learn."""
    dtypes = [np.float64, np.float32]
    if isinstance(X, np.ndarray):
        _reject_strings_and_datetimes(X, "X")
    finite = "allow-nan" if missing == "mask" else True
    try:
        if estimator is None:
            X2 = check_array(X, dtype=dtypes, ensure_all_finite=finite)
        else:
            X2 = validate_data(estimator, X, reset=reset, dtype=dtypes, ensure_all_finite=finite)
    except OverflowError:
        raise ValueError("X has values too large to represent as numbers.") from None
    except ValueError as exc:
        if missing == "error" and "NaN" in str(exc):
            raise _nan_error("X") from None
        raise
    return _from_numpy3d(X2[:, None, :], None)


@dataclass
class _Block:
    """Equal-length series on the steps 0, 1, 2, ... (numpy input), not yet cut apart."""

    values: np.ndarray  # (n, C, L) float64

    def series(self) -> list[_Series]:
        """The series one by one, for the general path."""
        steps = np.arange(self.values.shape[2], dtype=np.int64)
        return [_Series("numeric", steps, v.T) for v in self.values]


@dataclass
class _Ragged:
    """Series of any lengths read at once (a multi-index frame), one after the other."""

    kind: str
    times: np.ndarray  # (total,) raw times of every series, series after series
    values: np.ndarray  # (total, C) float64
    lengths: np.ndarray  # (n,) int64, each at least 1
    names: tuple[str, ...] | None = None
    tz: str | None = None

    def series(self) -> list[_Series]:
        """The series one by one, for the general path."""
        cuts = np.cumsum(self.lengths)[:-1]
        return [
            _Series(self.kind, t, v, self.names, self.tz)
            for t, v in zip(np.split(self.times, cuts), np.split(self.values, cuts))
        ]


def _ragged_panel(
    ragged: _Ragged,
    in_steps: bool,
    origin: TimeOrigin | None,
    unit_ns: int,
    dtype: type,
) -> tuple[Panel, TimeOrigin] | None:
    """The panel of series of any lengths in whole-array operations, as the general path.

    None where a series needs the general path: a value that is not finite (an error to
    name, or time points to drop), times that are not finite or do not increase within a
    series (an error to name), integer times too far from the origin to subtract exactly
    in one operation.
    """
    values, lengths = ragged.values, ragged.lengths
    n, total = len(lengths), len(values)
    starts = np.cumsum(lengths) - lengths
    which = np.repeat(np.arange(n), lengths)  # the series of every row
    position = np.arange(total) - starts[which]  # its position in the series
    if in_steps:
        kind, times, tz = "steps", position, None
    else:
        kind, times, tz = ragged.kind, ragged.times, ragged.tz
        if not _times_increase(times, starts[1:]):
            return None
    if not np.isfinite(values).all():
        return None
    (rel,), origin = _relative_times(kind, [times], origin, unit_ns, tz)
    if times.dtype.kind == "i" and np.abs(rel).max() >= 2.0**62:
        return None  # the general path subtracts exactly series by series where it can
    _check_range(values, dtype)
    length = int(lengths.max())
    padded = np.zeros((n, length, values.shape[1]), dtype=dtype)
    padded[which, position] = values
    padded_times = np.repeat(rel[starts + lengths - 1][:, None], length, axis=1)
    padded_times[which, position] = rel
    return Panel(padded, padded_times, lengths.astype(np.int64), ragged.names), origin


def _from_numpy3d(X: np.ndarray, n_channels: int | None) -> _Block:
    n, channels, length = X.shape
    if n == 0 or length == 0 or channels == 0:
        raise ValueError(
            f"X of shape {X.shape} is empty; it needs at least one sample, channel and time point."
        )
    _check_channels(channels, n_channels)
    return _Block(_as_float_values(X, "X"))


def _block_panel(
    block: _Block,
    kind: str,
    missing: str,
    origin: TimeOrigin | None,
    unit_ns: int,
    dtype: type,
) -> tuple[Panel, TimeOrigin] | None:
    """The panel of equal-length series in whole-array operations, as the general path makes it.

    None where a series needs the general path (an error to name, or time points at which
    no channel was observed, to drop).
    """
    values = block.values
    n, _, length = values.shape
    if np.isinf(values).any():
        return None
    unobserved = np.isnan(values)
    if unobserved.any() and (missing == "error" or unobserved.all(axis=1).any()):
        return None
    (rel,), origin = _relative_times(kind, [np.arange(length, dtype=np.int64)], origin, unit_ns)
    _check_range(values, dtype)
    panel = Panel(
        np.ascontiguousarray(values.transpose(0, 2, 1), dtype=dtype),
        np.repeat(rel[None, :], n, axis=0),
        np.full(n, length, dtype=np.int64),
    )
    return panel, origin


def absolute_index(times: np.ndarray, origin: TimeOrigin) -> pd.Index:
    """Time index of one series from times relative to ``origin``, in the original kind."""
    if origin.kind in ("datetime", "timedelta"):
        ns = np.int64(origin.value) + np.round(times * origin.unit_ns).astype(np.int64)
        if origin.kind == "datetime":
            index = pd.DatetimeIndex(ns.astype("datetime64[ns]"))
            return index.tz_localize("UTC").tz_convert(origin.tz) if origin.tz else index
        return pd.TimedeltaIndex(ns.astype("timedelta64[ns]"))
    absolute = times + origin.value
    if np.all(absolute == np.round(absolute)) and np.abs(absolute).max(initial=0) < 2**53:
        return pd.Index(absolute.astype(np.int64))  # integer times stay integers
    return pd.Index(absolute)


def absolute_times(panel: Panel, origin: TimeOrigin) -> np.ndarray:
    """The panel's times as the user gave them, one row per series, padded.

    Parameters
    ----------
    panel : Panel
        Times relative to ``origin``, shape (n, L).
    origin : TimeOrigin
        The origin they are measured from.

    Returns
    -------
    numpy.ndarray of shape (n, L)
        float64 times for a numeric index (NaN padding); datetime64[ns] for a naive
        datetime index and timedelta64[ns] for a timedelta index (NaT padding); an
        object array of time-zone-aware ``pandas.Timestamp`` (``pandas.NaT`` padding)
        for an aware datetime index; the positions 0, 1, 2, ... for ``"steps"``.
    """
    n, length = panel.times.shape
    if origin.kind == "datetime" and origin.tz is not None:
        out = np.full((n, length), pd.NaT, dtype=object)
    elif origin.kind == "datetime":
        out = np.full((n, length), np.datetime64("NaT"), dtype="datetime64[ns]")
    elif origin.kind == "timedelta":
        out = np.full((n, length), np.timedelta64("NaT"), dtype="timedelta64[ns]")
    else:
        out = np.full((n, length), np.nan)
    for i, stop in enumerate(panel.lengths):
        index = absolute_index(panel.times[i, :stop], origin)
        out[i, :stop] = index.to_numpy(dtype=object if out.dtype == object else out.dtype)
    return out


def from_panel(panel: Panel, origin: TimeOrigin, return_type: str = "pd-multiindex") -> Any:
    """Write a panel back into an sktime container, restoring the original times.

    Parameters
    ----------
    panel : Panel
        Values ``(n, L, C)`` (NaN where unobserved), times relative to ``origin``
        ``(n, L)``, lengths ``(n,)``.
    origin : TimeOrigin
        The origin the times are relative to; the container gets times of the same
        kind (integer or float, datetime, timedelta) as the data it came from.
    return_type : {"pd-multiindex", "nested_univ", "df-list"}, default="pd-multiindex"
        The container to write. Channels keep the panel's names (``dim_0, dim_1, ...``
        when it has none). Unobserved values are NaN in ``pd-multiindex`` and
        ``df-list``; a ``nested_univ`` cell holds its channel's observations only, on
        that channel's own time index.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
    """
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}.")
    columns = list(panel.channels or [f"dim_{c}" for c in range(panel.n_channels)])
    frames = []
    for i, n in enumerate(panel.lengths):
        index = absolute_index(panel.times[i, :n], origin)
        frames.append(pd.DataFrame(panel.values[i, :n].astype(np.float64), index, columns))
    if return_type == "df-list":
        return frames
    if return_type == "nested_univ":
        cells = {
            c: [f[c][panel.mask[i, : len(f), j]] for i, f in enumerate(frames)]
            for j, c in enumerate(columns)
        }
        return pd.DataFrame(cells)
    return pd.concat(frames, keys=range(len(frames)))


_EVENT_FIELDS = ("instance", "time", "channel", "value")


def from_events(
    events: pd.DataFrame,
    *,
    instance: str = "instance",
    time: str = "time",
    channel: str = "channel",
    value: str = "value",
    channels: Any = None,
    return_type: str = "pd-multiindex",
) -> Any:
    """Turn an event table (one row per observation) into a container the estimators take.

    The layout of clinical records (PhysioNet-style: a record, a time, a variable and
    its value per row), of sensor logs and of event-camera streams. Every series
    becomes the union of its channels' observation times, NaN where a channel was not
    observed at a time (``nested_univ``: each channel on its own times).

    Parameters
    ----------
    events : pandas.DataFrame
        One row per observation, with the columns named by ``instance``, ``time``,
        ``channel`` and ``value``; other columns are ignored. Times may be numeric,
        datetime or timedelta; values must be numbers (a NaN value is "not observed"
        and skipped).
    instance, time, channel, value : str
        Names of the columns holding the series id, the timestamp, the channel name
        and the observed value.
    channels : list, optional
        The channels to keep, in this order (for example those seen at fit, so that a
        test table lacking a channel gives the same columns); by default every channel
        in ``events``, sorted. Channels named here but absent from ``events`` are all NaN.
    return_type : {"pd-multiindex", "df-list", "nested_univ"}, default="pd-multiindex"
        The container. Series are ordered by sorted instance id: the ids are the first
        index level of a ``pd-multiindex``, the row index of a ``nested_univ`` and, for
        a ``df-list``, the ``attrs["instance"]`` of each frame.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
        Channels as columns, named by the channel values (as strings).

    Raises
    ------
    ValueError, TypeError
        For a missing column, a non-numeric or infinite value, a missing instance id,
        time or channel, or two observations of one channel at the same time.

    Examples
    --------
    >>> import pandas as pd
    >>> from sk_plstm import from_events
    >>> events = pd.DataFrame({
    ...     "instance": [0, 0, 0, 1, 1],
    ...     "time": [0.0, 0.5, 1.2, 0.1, 0.4],
    ...     "channel": ["hr", "temp", "hr", "hr", "temp"],
    ...     "value": [71.0, 36.6, 75.0, 80.0, 37.2],
    ... })
    >>> X = from_events(events)
    >>> X.loc[0]  # doctest: +NORMALIZE_WHITESPACE
            hr  temp
    time
    0.0   71.0   NaN
    0.5    NaN  36.6
    1.2   75.0   NaN
    >>> from_events(events, return_type="nested_univ").loc[1, "temp"]
    time
    0.4    37.2
    Name: temp, dtype: float64
    """
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}.")
    if not isinstance(events, pd.DataFrame):
        raise TypeError(f"events must be a pandas.DataFrame, got {type(events).__name__}.")
    names = dict(zip(_EVENT_FIELDS, (instance, time, channel, value)))
    absent = [f"{key}={column!r}" for key, column in names.items() if column not in events]
    if absent:
        raise ValueError(
            f"events has no column for {', '.join(absent)}; its columns are "
            f"{[str(c) for c in events.columns]}. Name the columns with the instance=, "
            "time=, channel= and value= arguments."
        )
    table = events[[instance, time, channel, value]].copy()
    table.columns = list(_EVENT_FIELDS)
    for key in ("instance", "time", "channel"):
        if table[key].isna().any():
            row = int(np.flatnonzero(table[key].isna().to_numpy())[0])
            raise ValueError(f"events row {row} has a missing {key} ({names[key]!r}).")
    table["value"] = _as_float_values(table["value"].to_numpy(), f"events column {value!r}")
    if np.isinf(table["value"]).any():
        raise ValueError(f"events column {value!r} contains infinity; values must be finite.")
    table = table[~table["value"].isna()]
    table["channel"] = table["channel"].astype(str)
    if channels is None:
        columns = sorted(table["channel"].unique())
    else:
        columns = list(_channel_names(channels, "channels"))
        table = table[table["channel"].isin(columns)]
    if table.empty:
        raise ValueError("events has no observation (no row with a value in a kept channel).")
    repeated = table.duplicated(["instance", "time", "channel"])
    if repeated.any():
        row = table[repeated].iloc[0]
        raise ValueError(
            f"events has two values of channel {_plain(row['channel'])} at time "
            f"{_plain(row['time'])} in instance {_plain(row['instance'])}; aggregate or "
            "remove the duplicates first."
        )
    wide = table.set_index(["instance", "time", "channel"])["value"].unstack("channel")
    wide = wide.reindex(columns=columns).sort_index()
    wide.columns = pd.Index(columns)
    wide.index.names = [instance, time]
    if return_type == "pd-multiindex":
        return wide
    ids = wide.index.unique(0)
    frames = []
    for key in ids:
        frame = wide.xs(key, level=0)
        frame.attrs["instance"] = key
        frames.append(frame)
    if return_type == "df-list":
        return frames
    cells = {c: [f[c].dropna() for f in frames] for c in columns}
    return pd.DataFrame(cells, index=ids)


def to_events(
    X: Any,
    *,
    instance: str = "instance",
    time: str = "time",
    channel: str = "channel",
    value: str = "value",
) -> pd.DataFrame:
    """Turn any accepted container into an event table, one row per observed value.

    The inverse of :func:`from_events`: unobserved (NaN) entries give no row.

    Parameters
    ----------
    X : array-like, pandas.DataFrame or list
        Series in any format the estimators accept.
    instance, time, channel, value : str
        Names of the columns to write.

    Returns
    -------
    pandas.DataFrame
        Columns ``instance`` (the series' id: the first index level of a
        ``pd-multiindex``, the row index of a ``nested_univ``, a frame's
        ``attrs["instance"]``, or else its position in ``X``), ``time`` (the
        series' own times: numbers, or datetimes / timedeltas, time-zone aware times in
        UTC), ``channel`` (the channel names, or ``dim_0, dim_1, ...``) and ``value``,
        ordered by instance, time and channel.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import to_events
    >>> X = np.array([[[1.0, np.nan, 3.0], [4.0, 5.0, np.nan]]])  # 1 series, 2 channels
    >>> to_events(X)
       instance  time channel  value
    0         0     0   dim_0    1.0
    1         0     0   dim_1    4.0
    2         0     1   dim_1    5.0
    3         0     2   dim_0    3.0
    """
    series = _parse(X, None, True, "mask", None)
    if isinstance(series, (_Block, _Ragged)):
        series = series.series()
    ids = _instance_ids(X, len(series))
    names = _align_names(series, None)
    columns = list(names or [f"dim_{c}" for c in range(series[0].values.shape[1])])
    parts = []
    for i, s in enumerate(series):
        rows, cols = np.nonzero(~np.isnan(s.values))
        raw = s.times[rows]
        if s.kind == "datetime":
            raw = pd.to_datetime(raw, unit="ns")
            raw = raw.tz_localize("UTC").tz_convert(s.tz) if s.tz else raw
        elif s.kind == "timedelta":
            raw = pd.to_timedelta(raw, unit="ns")
        parts.append(
            pd.DataFrame(
                {
                    instance: [ids[i]] * len(rows),
                    time: raw,
                    channel: np.asarray(columns, dtype=object)[cols],
                    value: s.values[rows, cols],
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


def _instance_ids(X: Any, n: int) -> list:
    """The series' ids where the container has them, else their positions."""
    if isinstance(X, pd.DataFrame) and isinstance(X.index, pd.MultiIndex):
        return list(pd.unique(X.index.droplevel(-1)))
    if isinstance(X, pd.DataFrame) and len(X.index) == n:
        return list(X.index)
    if isinstance(X, (list, tuple)):
        return [getattr(item, "attrs", {}).get("instance", i) for i, item in enumerate(X)]
    return list(range(n))

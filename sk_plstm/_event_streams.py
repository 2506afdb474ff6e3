"""Event streams given by channel index: event cameras, spike trains, sparse event logs.

The estimators take them as input by index (:class:`sk_plstm.nn.EventInput`): an event
is a time, a channel index and a value, and the network's input step for it reads one
column of the input weights instead of a dense row of every channel. Accepted:

* :class:`EventStreams` (made from any of the layouts below, or from an event table);
* a list of numpy structured arrays with fields ``t`` and ``x`` (and optionally ``y``
  and ``p``), the layout of the ``tonic`` package and of
  :func:`sk_plstm.datasets.read_nmnist`; a pixel ``(x, y)`` of polarity ``p`` of a
  sensor of size ``(W, H, P)`` is channel ``x + W * (y + H * p)``;
* a list of ``(times, channels)`` or ``(times, channels, values)`` tuples, one per
  stream.

Events at one time are one step (several channels, as a sensor reads out a row of
pixels at once). Times are numbers in any unit (tonic's are microseconds), measured from
0; each stream's events must be in time order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._data import Panel, TimeOrigin
from .nn._events import check_stream, group_streams

__all__ = [
    "EVENT_ATTRIBUTES",
    "EVENT_ORIGIN",
    "EventPanel",
    "EventStreams",
    "event_panel",
    "is_event_data",
]

#: event times are measured from 0, in the unit given
EVENT_ORIGIN = TimeOrigin("numeric", 0.0)
#: what a fit on event streams adds to the estimator's fitted state
EVENT_ATTRIBUTES = ("event_input_", "sensor_size_")


def _is_structured(item: Any) -> bool:
    return isinstance(item, np.ndarray) and item.dtype.names is not None


def _is_tuple_stream(item: Any) -> bool:
    return isinstance(item, tuple) and len(item) in (2, 3)


def is_event_data(X: Any) -> bool:
    """Whether ``X`` is event streams by index (see the module docstring).

    Parameters
    ----------
    X : object

    Returns
    -------
    bool
    """
    if isinstance(X, EventStreams):
        return True
    if isinstance(X, list) and X:
        return _is_structured(X[0]) or _is_tuple_stream(X[0])
    return False


def _check_sensor_size(sensor_size: Any) -> tuple[int, int, int]:
    try:
        size = tuple(int(s) for s in sensor_size)
    except (TypeError, ValueError):
        size = ()
    if len(size) != 3 or min(size, default=0) < 1 or size != tuple(sensor_size):
        raise ValueError(
            "sensor_size must be three positive integers (width, height, polarities), "
            f"as tonic gives it, got {sensor_size!r}."
        )
    return size


class EventStreams:
    """A collection of event streams, each a list of (time, channel index, value) events.

    The input by index of the estimators: fit and predict take it as ``X`` (see the
    module docstring for the other layouts they take). It behaves as a sequence of
    streams for scikit-learn's splitters and searches (``len``, indexing by position).

    Parameters
    ----------
    times : sequence of array-like of shape (n_events_i,)
        Each stream's event times, in time order (numbers in any unit).
    channels : sequence of array-like of shape (n_events_i,), integer
        Each event's channel, in ``[0, n_channels)``.
    n_channels : int
        Number of channels (pixels times polarities of a sensor, neurons of a spike
        recording).
    values : sequence of array-like of shape (n_events_i,), optional
        Each event's value (a spike's weight, a signed polarity); ones when omitted.
    sensor_size : tuple of int, optional
        ``(width, height, polarities)`` where the channels are a sensor's pixels.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import EventStreams
    >>> events = np.zeros(3, dtype=[("x", "i2"), ("y", "i2"), ("t", "i8"), ("p", "i1")])
    >>> events["x"], events["y"] = [3, 5, 5], [0, 2, 2]
    >>> events["t"], events["p"] = [0, 10, 10], [1, 0, 1]
    >>> streams = EventStreams.from_structured([events], sensor_size=(34, 34, 2))
    >>> len(streams), streams.n_channels, streams.channels[0].tolist()
    (1, 2312, [1159, 73, 1229])
    """

    def __init__(
        self,
        times: Sequence[Any],
        channels: Sequence[Any],
        n_channels: int,
        values: Sequence[Any] | None = None,
        sensor_size: tuple[int, int, int] | None = None,
    ) -> None:
        if isinstance(n_channels, bool) or not isinstance(n_channels, (int, np.integer)):
            raise TypeError(f"n_channels must be an integer, got {n_channels!r}.")
        if n_channels < 1:
            raise ValueError(f"n_channels must be >= 1, got {n_channels}.")
        if len(times) != len(channels) or (values is not None and len(values) != len(times)):
            raise ValueError(
                "times, channels and values must have one entry per stream, got "
                f"{len(times)}, {len(channels)} and "
                f"{len(times) if values is None else len(values)}."
            )
        if not len(times):
            raise ValueError("EventStreams needs at least one stream.")
        self.n_channels = int(n_channels)
        self.sensor_size = None if sensor_size is None else _check_sensor_size(sensor_size)
        self.times, self.channels, self.values = [], [], []
        for i in range(len(times)):
            t, c, v = check_stream(
                times[i], channels[i], None if values is None else values[i], self.n_channels, i
            )
            self.times.append(t)
            self.channels.append(c)
            self.values.append(v)

    @classmethod
    def from_structured(
        cls, events: Sequence[np.ndarray], sensor_size: tuple[int, int, int] | None = None
    ) -> EventStreams:
        """Streams from structured arrays in tonic's layout (fields ``t``, ``x``, ``y``, ``p``).

        Parameters
        ----------
        events : sequence of numpy structured arrays
            One per stream, with fields ``t`` (time) and ``x``, and optionally ``y`` and
            ``p`` (polarity: 0/1, or -1/1, or False/True).
        sensor_size : tuple of int, optional
            ``(width, height, polarities)``; read off the events (the largest
            coordinates seen plus one) when omitted. Give it: a sample of streams may
            not reach the sensor's edge.

        Returns
        -------
        EventStreams
            Pixel ``(x, y)`` of polarity ``p`` is channel ``x + width * (y + height * p)``.
        """
        events = list(events)
        if not events:
            raise ValueError("EventStreams needs at least one stream.")
        for i, e in enumerate(events):
            if not _is_structured(e) or not {"t", "x"} <= set(e.dtype.names):
                raise ValueError(
                    f"stream {i}: a structured array with fields 't' and 'x' (and optionally "
                    f"'y' and 'p') is expected, as tonic gives events, got "
                    f"{getattr(e, 'dtype', type(e).__name__)}."
                )
        if sensor_size is None:
            sensor_size = _sensor_size_of(events)
        width, height, polarities = _check_sensor_size(sensor_size)
        times, channels = [], []
        for i, e in enumerate(events):
            x = _coordinate(e, "x", width, i)
            y = _coordinate(e, "y", height, i) if "y" in e.dtype.names else 0
            p = _polarity(e, polarities, i)
            times.append(e["t"])
            channels.append(x + width * (y + height * p))
        return cls(times, channels, width * height * polarities, sensor_size=sensor_size)

    @classmethod
    def from_table(
        cls,
        table: pd.DataFrame,
        *,
        instance: str = "instance",
        time: str = "time",
        channel: str = "channel",
        value: str | None = None,
        n_channels: int | None = None,
    ) -> EventStreams:
        """Streams from an event table: one row per event, integer channel indices.

        Parameters
        ----------
        table : pandas.DataFrame
            Columns ``instance`` (the stream), ``time`` (numeric), ``channel``
            (integer index) and optionally ``value``.
        instance, time, channel, value : str
            The columns' names.
        n_channels : int, optional
            Number of channels; the largest index plus one when omitted.

        Returns
        -------
        EventStreams
            One stream per instance, in order of first appearance; each stream's
            events sorted by time (stably).
        """
        if not isinstance(table, pd.DataFrame):
            raise TypeError(f"table must be a pandas DataFrame, got {type(table).__name__}.")
        needed = [instance, time, channel] + ([value] if value is not None else [])
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(
                f"the event table has no column {missing[0]!r}; its columns are "
                f"{list(table.columns)}."
            )
        if not pd.api.types.is_numeric_dtype(table[time]):
            raise ValueError(
                f"column {time!r} must hold numbers (event times measured from 0), got "
                f"{table[time].dtype}."
            )
        if table[channel].isna().any() or not pd.api.types.is_integer_dtype(table[channel]):
            raise ValueError(
                f"column {channel!r} must hold integer channel indices, got {table[channel].dtype}."
            )
        if n_channels is None:
            n_channels = int(table[channel].max()) + 1 if len(table) else 1
        groups = table.groupby(instance, sort=False)
        times, channels, values = [], [], []
        for _, rows in groups:
            rows = rows.sort_values(time, kind="stable")
            times.append(rows[time].to_numpy())
            channels.append(rows[channel].to_numpy())
            values.append(None if value is None else rows[value].to_numpy())
        return cls(times, channels, n_channels, None if value is None else values)

    # ------------------------------------------------------------------ a sequence
    def __len__(self) -> int:
        return len(self.times)

    @property
    def shape(self) -> tuple[int]:
        """``(n_streams,)``: scikit-learn's splitters count and index the streams."""
        return (len(self),)

    def __getitem__(self, key: Any) -> Any:
        """One stream as ``(times, channels, values)``, or a subset as :class:`EventStreams`."""
        if isinstance(key, tuple):  # scikit-learn indexes arrays as X[rows, ...]
            key = key[0]
        if isinstance(key, (int, np.integer)):
            return self.times[key], self.channels[key], self.values[key]
        rows = np.arange(len(self))[key]
        out = EventStreams.__new__(EventStreams)
        out.n_channels, out.sensor_size = self.n_channels, self.sensor_size
        out.times = [self.times[r] for r in rows]
        out.channels = [self.channels[r] for r in rows]
        out.values = [self.values[r] for r in rows]
        return out

    @property
    def n_events(self) -> np.ndarray:
        """The number of events of each stream, shape (n_streams,)."""
        return np.array([len(t) for t in self.times], dtype=np.int64)

    def __repr__(self) -> str:
        counts = self.n_events
        return (
            f"EventStreams({len(self)} streams, n_channels={self.n_channels}, "
            f"events {counts.min()}..{counts.max()})"
        )


def _sensor_size_of(events: list[np.ndarray]) -> tuple[int, int, int]:
    def extent(field: str) -> int:
        tops = [int(e[field].max()) for e in events if field in e.dtype.names and len(e)]
        return max(tops, default=0) + 1

    polarities = 2 if any("p" in e.dtype.names for e in events) else 1
    return extent("x"), extent("y"), polarities


def _coordinate(e: np.ndarray, field: str, size: int, i: int) -> np.ndarray:
    v = np.asarray(e[field])
    if v.dtype.kind not in "iub":
        raise ValueError(f"stream {i}: field {field!r} must hold integers, got {v.dtype}.")
    v = v.astype(np.int64)
    if len(v) and (v.min() < 0 or v.max() >= size):
        raise ValueError(
            f"stream {i}: {field} must lie in [0, {size}) for this sensor_size, got "
            f"{v.min()} .. {v.max()}."
        )
    return v


def _polarity(e: np.ndarray, polarities: int, i: int) -> np.ndarray | int:
    if "p" not in e.dtype.names or polarities == 1:
        return 0
    p = np.asarray(e["p"]).astype(np.int64)
    if polarities == 2:
        if len(p) and not np.isin(p, (-1, 0, 1)).all():
            raise ValueError(f"stream {i}: polarity p must be 0/1 or -1/1, got {np.unique(p)}.")
        return (p > 0).astype(np.int64)
    if len(p) and (p.min() < 0 or p.max() >= polarities):
        raise ValueError(f"stream {i}: p must lie in [0, {polarities}).")
    return p


def as_event_streams(
    X: Any, n_channels: int | None = None, sensor_size: tuple[int, int, int] | None = None
) -> EventStreams:
    """``X`` (any layout of the module docstring) as :class:`EventStreams`.

    ``n_channels`` and ``sensor_size``, fixed at fit, make later data comparable: raw
    structured arrays are read with the fitted sensor size, and a different number of
    channels is refused.
    """
    if isinstance(X, EventStreams):
        streams = X
    elif _is_structured(X[0]):
        if not all(_is_structured(e) for e in X):
            raise ValueError("X mixes structured event arrays with other items.")
        streams = EventStreams.from_structured(X, sensor_size)
    else:
        if not all(_is_tuple_stream(s) for s in X):
            raise ValueError(
                "X must be a list of (times, channels) or (times, channels, values) tuples, "
                "one per stream."
            )
        size = n_channels
        if size is None:
            tops = [int(np.max(s[1])) for s in X if np.size(s[1])]
            size = max(tops, default=0) + 1
        streams = EventStreams(
            [s[0] for s in X],
            [s[1] for s in X],
            size,
            [s[2] for s in X] if all(len(s) == 3 for s in X) else None,
        )
    if n_channels is not None and streams.n_channels != n_channels:
        raise ValueError(
            f"X has events of {streams.n_channels} channels, but the model was fitted on "
            f"{n_channels}."
        )
    return streams


@dataclass
class EventPanel(Panel):
    """Event streams as the network takes them: a few channels per step, by index.

    ``values`` (n_series, max_steps, k) holds the events' values and ``indices`` (same
    shape, int64) their channels, ``-1`` where a step has fewer than ``k`` events and at
    padded steps; ``times`` (n_series, max_steps) the steps' times; ``size`` the number
    of channels.
    """

    indices: np.ndarray | None = None
    size: int = 1

    def __post_init__(self) -> None:
        self.mask = None

    @property
    def n_channels(self) -> int:
        """Number of channels."""
        return self.size

    @property
    def has_missing(self) -> bool:
        """Events have no missing values."""
        return False

    def standardized(self, mean: np.ndarray, std: np.ndarray) -> EventPanel:
        """Event values are used as given."""
        return self

    def network_inputs(self, with_mask: bool) -> dict[str, np.ndarray]:
        """``values`` and ``indices`` (n_series, max_steps, k), ``times``, ``lengths``."""
        return {
            "values": self.values.astype(np.float32),
            "indices": self.indices,
            "times": self.times,
            "lengths": self.lengths,
        }

    def scaled(self, time_scale: float) -> EventPanel:
        """A copy with the times divided by ``time_scale``."""
        return EventPanel(
            self.values, self.times / time_scale, self.lengths, None, self.indices, self.size
        )


def event_panel(
    X: Any, n_channels: int | None = None, sensor_size: tuple[int, int, int] | None = None
) -> tuple[EventPanel, EventStreams]:
    """Event streams (any accepted layout) as an :class:`EventPanel`.

    Parameters
    ----------
    X : EventStreams, list of structured arrays, or list of tuples
    n_channels : int, optional
        The number of channels fixed at fit.
    sensor_size : tuple of int, optional
        The sensor size fixed at fit (for raw structured arrays).

    Returns
    -------
    panel : EventPanel
    streams : EventStreams
    """
    streams = as_event_streams(X, n_channels, sensor_size)
    if not streams.n_events.all():
        empty = int(np.flatnonzero(streams.n_events == 0)[0])
        raise ValueError(f"stream {empty} has no events; every stream needs at least one.")
    indices, values, times, lengths = group_streams(streams.times, streams.channels, streams.values)
    return EventPanel(values, times, lengths, None, indices, streams.n_channels), streams

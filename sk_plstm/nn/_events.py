"""Input by index: a few channels per step, for event streams of many channels (pure torch).

Event cameras, spike trains and other streams with many channels of which each event
touches one. A dense one-hot row per event costs a product with the whole input weight; given by
index, the input part of the gates is a sum of the events' weight columns (what
``torch.nn.EmbeddingBag`` computes), and the recurrence is the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["EventInput", "check_stream", "group_streams", "project"]


class EventInput:
    """Events given by channel index: at every step of every sequence, up to ``k`` channels.

    A step is one timestamp; several events at one time (a sensor that emits a row of
    pixels at once) are one step with several channels. Pass it as ``x`` to
    :class:`PhasedLSTM` or :class:`PhasedGRU` (with the times of the steps): the first
    layer's input part is then a sum of the input weights' columns of the events'
    channels, times their values, and equals the dense input where each step's row
    holds the values at those channels (zeros elsewhere).

    Parameters
    ----------
    indices : torch.Tensor of shape (batch, steps, k), integer
        Channel of each event, in ``[0, input_size)``; ``-1`` where a step has fewer
        than ``k`` events (and at padded steps). ``(steps, batch, k)`` where the layer
        has ``batch_first=False``.
    input_size : int
        Number of channels (the layer's ``input_size``).
    values : torch.Tensor of shape (batch, steps, k), optional
        The value of each event (a polarity, a spike's weight); ones when omitted.
        Entries at ``-1`` indices are not read.

    Examples
    --------
    Two sequences of three steps over 1,000 channels; the second step of the first
    sequence has two events:

    >>> import torch
    >>> from sk_plstm.nn import EventInput, PhasedLSTM
    >>> indices = torch.tensor([[[5, -1], [17, 900], [3, -1]], [[42, -1], [-1, -1], [7, -1]]])
    >>> events = EventInput(indices, input_size=1000)
    >>> layer = PhasedLSTM(1000, 8)
    >>> times = torch.tensor([[0.0, 1.0, 2.5], [0.5, 1.0, 3.0]])
    >>> out, _ = layer(events, times)
    >>> dense, _ = layer(events.to_dense(), times)
    >>> torch.allclose(out, dense, atol=1e-6)
    True
    """

    def __init__(self, indices: Any, input_size: int, values: Any | None = None) -> None:
        indices = torch.as_tensor(indices)
        if indices.dtype.is_floating_point or indices.dtype in (torch.bool, torch.complex64):
            raise ValueError(f"indices must be integers, got {indices.dtype}.")
        if indices.dim() != 3:
            raise ValueError(
                f"indices must be 3-D (batch, steps, events per step), got shape "
                f"{tuple(indices.shape)}."
            )
        if int(input_size) < 1:
            raise ValueError(f"input_size must be >= 1, got {input_size}.")
        indices = indices.long()
        if indices.numel() and bool(((indices < -1) | (indices >= input_size)).any()):
            bad = indices[(indices < -1) | (indices >= input_size)][0].item()
            raise ValueError(
                f"indices must lie in [0, {input_size}) (or be -1 for no event), got {bad}."
            )
        if values is None:
            values = torch.ones(indices.shape, dtype=torch.float32, device=indices.device)
        else:
            values = torch.as_tensor(values, device=indices.device)
            if not values.dtype.is_floating_point:
                values = values.to(torch.float32)
            if values.shape != indices.shape:
                raise ValueError(
                    f"values must have the shape of indices, {tuple(indices.shape)}, got "
                    f"{tuple(values.shape)}."
                )
            if not bool(torch.isfinite(values[indices >= 0]).all()):
                raise ValueError("values must be finite at every event.")
        self.indices = indices
        self.values = values
        self.input_size = int(input_size)

    # ------------------------------------------------------------------ tensor-like
    @property
    def shape(self) -> torch.Size:
        """``(dim0, dim1, input_size)``: the shape of the dense input it stands for."""
        return torch.Size((*self.indices.shape[:2], self.input_size))

    @property
    def dtype(self) -> torch.dtype:
        """The dtype of the values."""
        return self.values.dtype

    @property
    def device(self) -> torch.device:
        """Where the indices and values lie."""
        return self.indices.device

    @property
    def is_cuda(self) -> bool:
        """Whether the events lie on a CUDA device."""
        return self.indices.is_cuda

    def dim(self) -> int:
        """3, as the dense input."""
        return 3

    def new_zeros(self, *size: Any) -> torch.Tensor:
        """Zeros of the values' dtype and device.

        Parameters
        ----------
        *size : int
            The shape.

        Returns
        -------
        torch.Tensor
        """
        return self.values.new_zeros(*size)

    def new_empty(self, *size: Any) -> torch.Tensor:
        """An uninitialised tensor of the values' dtype and device.

        Parameters
        ----------
        *size : int
            The shape.

        Returns
        -------
        torch.Tensor
        """
        return self.values.new_empty(*size)

    def to(self, *args: Any, **kwargs: Any) -> EventInput:
        """The events with their values moved or cast as ``Tensor.to`` does (indices moved).

        Parameters
        ----------
        *args, **kwargs
            As ``torch.Tensor.to``.

        Returns
        -------
        EventInput
        """
        values = self.values.to(*args, **kwargs)
        out = EventInput.__new__(EventInput)
        out.indices, out.values, out.input_size = (
            self.indices.to(values.device),
            values,
            self.input_size,
        )
        return out

    def transpose(self, dim0: int, dim1: int) -> EventInput:
        """Swap the batch and step dimensions (``transpose(0, 1)``).

        Parameters
        ----------
        dim0, dim1 : int
            0 and 1, in either order.

        Returns
        -------
        EventInput
        """
        if {dim0 % 3, dim1 % 3} != {0, 1}:
            raise ValueError("an EventInput transposes its first two dimensions only.")
        out = EventInput.__new__(EventInput)
        out.indices = self.indices.transpose(0, 1)
        out.values = self.values.transpose(0, 1)
        out.input_size = self.input_size
        return out

    def unsqueeze(self, dim: int) -> EventInput:
        """Add a dimension of size one in front (``dim=0``) or second (``dim=1``).

        Parameters
        ----------
        dim : {0, 1}

        Returns
        -------
        EventInput
        """
        if dim not in (0, 1):
            raise ValueError("an EventInput unsqueezes dimension 0 or 1 only.")
        out = EventInput.__new__(EventInput)
        out.indices = self.indices[None] if dim == 0 else self.indices[:, None]
        out.values = self.values[None] if dim == 0 else self.values[:, None]
        out.input_size = self.input_size
        return out

    def __repr__(self) -> str:
        events = int((self.indices >= 0).sum())
        return (
            f"EventInput(shape={tuple(self.indices.shape[:2])}, input_size={self.input_size}, "
            f"events={events})"
        )

    # ------------------------------------------------------------------ conversions
    def to_dense(self) -> torch.Tensor:
        """The dense input it stands for: each step's row holds the summed values at its channels.

        Returns
        -------
        torch.Tensor of shape (dim0, dim1, input_size)
            In the dtype of the values.
        """
        d0, d1, k = self.indices.shape
        dense = self.values.new_zeros(d0 * d1, self.input_size)
        valid = self.indices >= 0
        idx = self.indices.clamp(min=0).reshape(d0 * d1, k)
        dense.scatter_add_(1, idx, (self.values * valid).reshape(d0 * d1, k))
        return dense.view(d0, d1, self.input_size)

    @classmethod
    def from_dense(cls, x: torch.Tensor) -> EventInput:
        """The nonzero entries of a dense input as events (``k`` = the most of any step).

        Parameters
        ----------
        x : torch.Tensor of shape (dim0, dim1, input_size)

        Returns
        -------
        EventInput
        """
        if x.dim() != 3:
            raise ValueError(f"x must be 3-D, got shape {tuple(x.shape)}.")
        nonzero = x != 0
        k = max(int(nonzero.sum(-1).max()) if x.numel() else 0, 1)
        # the nonzero channels first, in channel order, then -1
        order = torch.sort(
            (~nonzero).to(torch.int8) * x.shape[-1] + torch.arange(x.shape[-1], device=x.device),
            dim=-1,
        ).indices[..., :k]
        taken = torch.gather(nonzero, -1, order)
        indices = torch.where(taken, order, torch.full_like(order, -1))
        values = torch.where(taken, torch.gather(x, -1, order), torch.zeros((), dtype=x.dtype))
        return cls(indices, x.shape[-1], values)

    @classmethod
    def from_streams(
        cls,
        times: Sequence[Any],
        channels: Sequence[Any],
        input_size: int,
        values: Sequence[Any] | None = None,
        dtype: torch.dtype = torch.float64,
    ) -> tuple[EventInput, torch.Tensor, torch.Tensor]:
        """Batch event streams: events at one time become one step, streams right-padded.

        Parameters
        ----------
        times : sequence of array-like of shape (events_i,)
            Each stream's event times, non-decreasing (equal times form one step).
        channels : sequence of array-like of shape (events_i,)
            Each event's channel index.
        input_size : int
            Number of channels.
        values : sequence of array-like of shape (events_i,), optional
            Each event's value; ones when omitted.
        dtype : torch.dtype, default=torch.float64
            The dtype of the returned times.

        Returns
        -------
        events : EventInput of shape (batch, steps, k)
            Batch first; ``k`` is the most events of any step.
        step_times : torch.Tensor of shape (batch, steps)
            The time of each step (the last step's time repeated at padded steps).
        lengths : torch.Tensor of shape (batch,), int64
            The number of steps of each stream.

        Examples
        --------
        >>> from sk_plstm.nn import EventInput
        >>> events, times, lengths = EventInput.from_streams(
        ...     [[0.0, 0.0, 1.5], [0.2]], [[3, 8, 3], [1]], input_size=10)
        >>> events.indices.tolist(), times.tolist(), lengths.tolist()
        ([[[3, 8], [3, -1]], [[1, -1], [-1, -1]]], [[0.0, 1.5], [0.2, 0.2]], [2, 1])
        """
        if len(times) != len(channels) or (values is not None and len(values) != len(times)):
            raise ValueError("times, channels and values must have one entry per stream.")
        checked = [
            check_stream(t, c, None if values is None else values[i], input_size, i)
            for i, (t, c) in enumerate(zip(times, channels))
        ]
        indices, vals, step_times, lengths = group_streams(*zip(*checked)) if checked else (
            np.full((0, 1, 1), -1), np.zeros((0, 1, 1), np.float32), np.zeros((0, 1)),
            np.zeros(0, np.int64),
        )  # fmt: skip
        return (
            cls(torch.from_numpy(indices), input_size, torch.from_numpy(vals)),
            torch.from_numpy(step_times).to(dtype),
            torch.from_numpy(lengths),
        )


def check_stream(
    times: Any, channels: Any, values: Any, input_size: int, i: int | str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One stream's events checked: float64 times, int64 channels, float32 values.

    Parameters
    ----------
    times, channels, values : array-like of shape (events,)
        ``values`` may be None (ones).
    input_size : int
        Channels are checked to lie in ``[0, input_size)``.
    i : int or str
        The stream's position (messages begin "stream i: "), or the words that begin them.

    Returns
    -------
    times, channels, values : numpy.ndarray of shape (events,)
    """
    i = f"stream {i}" if isinstance(i, (int, np.integer)) else i
    t = np.asarray(times)
    if t.dtype.kind not in "iuf":
        raise ValueError(f"{i}: times must be numbers, got {t.dtype}.")
    t = t.astype(np.float64).reshape(-1)
    c = np.asarray(channels).reshape(-1)
    if c.dtype.kind == "f" and np.all(c == np.round(c)):
        c = c.astype(np.int64)
    if c.dtype.kind not in "iu":
        raise ValueError(f"{i}: channels must be integers, got {c.dtype}.")
    c = c.astype(np.int64)
    v = (
        np.ones(len(t), dtype=np.float32)
        if values is None
        else np.asarray(values, dtype=np.float32).reshape(-1)
    )
    if not len(t) == len(c) == len(v):
        raise ValueError(
            f"{i}: times, channels and values must have one entry per event, got "
            f"{len(t)}, {len(c)} and {len(v)}."
        )
    if not np.isfinite(t).all():
        raise ValueError(f"{i}: times must be finite.")
    if not np.isfinite(v).all():
        raise ValueError(f"{i}: values must be finite.")
    if len(t) > 1 and bool((np.diff(t) < 0).any()):
        raise ValueError(f"{i}: times must be non-decreasing (events in time order).")
    if len(c) and (c.min() < 0 or c.max() >= input_size):
        raise ValueError(
            f"{i}: channels must lie in [0, {input_size}), got {c.min()} .. {c.max()}."
        )
    return t, c, v


def group_streams(
    times: Sequence[np.ndarray], channels: Sequence[np.ndarray], values: Sequence[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Checked streams (:func:`check_stream`) as padded steps: events at one time are one step.

    Returns
    -------
    indices : numpy.ndarray of shape (batch, steps, k), int64
        Channels, ``-1`` where a step has fewer than ``k`` (the most of any step) events
        and at padded steps.
    values : numpy.ndarray of shape (batch, steps, k), float32
    step_times : numpy.ndarray of shape (batch, steps), float64
        The last step's time repeated at padded steps.
    lengths : numpy.ndarray of shape (batch,), int64
    """
    batch = len(times)
    starts = []
    for t in times:
        new_step = np.ones(len(t), dtype=bool)
        new_step[1:] = t[1:] != t[:-1]
        starts.append(np.flatnonzero(new_step))
    steps = max([len(s) for s in starts] + [1])
    k = max([int(np.diff(np.append(s, len(t))).max()) for s, t in zip(starts, times) if len(t)]
            + [1])  # fmt: skip
    indices = np.full((batch, steps, k), -1, dtype=np.int64)
    vals = np.zeros((batch, steps, k), dtype=np.float32)
    step_times = np.zeros((batch, steps), dtype=np.float64)
    lengths = np.array([len(s) for s in starts], dtype=np.int64)
    for b, (t, c, v, s) in enumerate(zip(times, channels, values, starts)):
        if not len(t):
            continue
        step = np.cumsum(np.isin(np.arange(len(t)), s)) - 1
        slot = np.arange(len(t)) - s[step]
        indices[b, step, slot] = c
        vals[b, step, slot] = v
        step_times[b, : len(s)] = t[s]
        step_times[b, len(s) :] = t[-1]
    return indices, vals, step_times, lengths


def project(
    x: torch.Tensor | EventInput, weight: torch.Tensor, bias: torch.Tensor | None = None
) -> torch.Tensor:
    """``x @ weight.T + bias`` for dense inputs and for events given by index.

    Parameters
    ----------
    x : torch.Tensor of shape (..., input_size) or EventInput
        Dense inputs, or events (then the result has the shape of their first two
        dimensions, as the dense input they stand for).
    weight : torch.Tensor of shape (rows, input_size)
    bias : torch.Tensor of shape (rows,), optional

    Returns
    -------
    torch.Tensor of shape (..., rows)
        For events: the sum of ``weight``'s columns at each step's channels, times their
        values (an ``embedding_bag``; its gradient reaches ``weight``).
    """
    if not isinstance(x, EventInput):
        return F.linear(x, weight, bias)
    d0, d1, k = x.indices.shape
    valid = x.indices >= 0
    idx = x.indices.clamp(min=0).reshape(d0 * d1, k)
    per_event = (x.values * valid).to(weight.dtype).reshape(d0 * d1, k)
    # a contiguous (input_size, rows) table: three times faster than the transposed view
    table = weight.t().contiguous()
    out = F.embedding_bag(idx, table, per_sample_weights=per_event, mode="sum")
    if bias is not None:
        out = out + bias
    return out.view(d0, d1, weight.shape[0])

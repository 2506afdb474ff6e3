"""Event-by-event inference through a sequence layer, with the state kept between calls."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._cell import PhasedLSTMCell
from ._events import EventInput, check_stream, group_streams
from .backends import cpu_kernel

__all__ = ["LayerStream"]

_INF = float("inf")
#: "none given" for the kernel's optional tensors
_EMPTY = torch.empty(0)


class LayerStream:
    """Feed a :class:`PhasedLSTM` (or :class:`PhasedGRU`) one event, or a few, at a time.

    Made by ``layer.stream()``. Each :meth:`update` advances the state of every layer over
    the new events of one series and returns the last layer's outputs; feeding a series
    in pieces gives what the layer gives on the whole series in evaluation mode (no leak,
    no dropout, no gradients). A Phased LSTM of float32 on the CPU streams in the compiled
    kernel, which keeps the state and the weights laid out (again only after a parameter
    changes in place) and checks and runs each call's events itself: a call costs a few
    microseconds beside the open units' work, and gives the bits of the layer's
    event-driven forward (``implementation="sparse"``). Other layers run their
    ``forward`` on each call.

    Parameters
    ----------
    layer : PhasedRNNBase
        A unidirectional layer.
    state : tuple of torch.Tensor of shape (num_layers, 1, hidden_size), optional
        The initial state (``(h_0, c_0)``, or ``(h_0,)`` for the GRU); zeros when omitted.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedLSTM
    >>> layer = PhasedLSTM(2, 8, r_on=0.05).eval()
    >>> x, times = torch.randn(1, 30, 2), torch.arange(30.0, dtype=torch.float64)
    >>> stream = layer.stream()
    >>> pieces = [stream.update(x[0, i], times[i]) for i in range(30)]
    >>> whole, _ = layer(x, times)
    >>> torch.allclose(torch.cat(pieces), whole[0], atol=1e-6)
    True
    """

    def __init__(self, layer: Any, state: tuple[torch.Tensor, ...] | None = None) -> None:
        if layer.bidirectional:
            raise ValueError(
                "A bidirectional layer cannot stream: its backward direction needs the whole "
                "series."
            )
        self.layer = layer
        #: the kernel's stream (state, weights and checks in C++), or None: the layer's forward
        self._kernel: Any = cpu_kernel.stream_of(layer) if self._kernel_runs() else None
        self.reset(state)

    def _kernel_runs(self) -> bool:
        """Whether the kernel can stream the layer: float32 Phased LSTM cells on the CPU."""
        layer = self.layer
        return (
            layer.cell_class is PhasedLSTMCell
            and cpu_kernel.kernel_available()
            and all(
                c.weight_hh.device.type == "cpu" and c.weight_hh.dtype == torch.float32
                for c in layer.cells
            )
        )

    def _leave_kernel(self) -> None:
        """Go on through the layer's forward (it moved or changed dtype), state kept."""
        state, last_time = self.state, self.last_time
        self._kernel = None
        self._resume(state, last_time)

    def _resume(self, state: tuple[torch.Tensor, ...], last_time: float | None) -> None:
        """Carry on from ``state``, with the last event fed at ``last_time``."""
        self.reset(state)
        if self._kernel is not None:
            self._kernel.last_time = last_time
        else:
            self._last_time = last_time

    def reset(self, state: tuple[torch.Tensor, ...] | None = None) -> LayerStream:
        """Back to the initial state (zeros, or ``state``), forgetting every event.

        Parameters
        ----------
        state : tuple of torch.Tensor of shape (num_layers, 1, hidden_size), optional

        Returns
        -------
        self : LayerStream
        """
        layer = self.layer
        names = layer.cell_class.state_names
        shape = (layer.num_layers, 1, layer.hidden_size)
        weight = layer.cells[0].weight_hh
        if state is None:
            state = tuple(weight.new_zeros(shape) for _ in names)
        if len(state) != len(names) or any(tuple(s.shape) != shape for s in state):
            raise ValueError(f"the state must be {len(names)} tensor(s) of shape {shape}.")
        # per layer, each state tensor (1, hidden_size), contiguous, detached
        self._state = [
            tuple(s[i].detach().to(weight).contiguous() for s in state)
            for i in range(layer.num_layers)
        ]
        self._last_time: float | None = None
        if self._kernel is not None:
            self._kernel.set_state(*(list(parts) for parts in zip(*self._state)))
        return self

    @property
    def state(self) -> tuple[torch.Tensor, ...]:
        """The current state, as the layer returns it: shape (num_layers, 1, hidden_size)."""
        if self._kernel is not None:
            parts = self._kernel.state()  # h of every layer, then c of every layer
            n = self.layer.num_layers
            return torch.stack(parts[:n]), torch.stack(parts[n:])
        return tuple(torch.stack(parts) for parts in zip(*self._state))

    @property
    def last_time(self) -> float | None:
        """The time of the last event fed (None before the first)."""
        return self._kernel.last_time if self._kernel is not None else self._last_time

    def __getstate__(self) -> dict:
        """What a copy or a pickle keeps: the layer, the state and the last event's time."""
        return {"layer": self.layer, "state": self.state, "last_time": self.last_time}

    def __setstate__(self, saved: dict) -> None:
        """Rebuild the stream (the kernel's, where it runs) where the saved one was."""
        self.__init__(saved["layer"])
        self._resume(saved["state"], saved["last_time"])

    def update(self, x: Any, times: Any) -> torch.Tensor:
        """Feed new events of the series; return the outputs after each of them.

        Parameters
        ----------
        x : torch.Tensor or array-like of shape (events, input_size) or (input_size,)
            The inputs of the events.
        times : float, or torch.Tensor or array-like of shape (events,)
            Their timestamps: increasing, and after the last event fed.

        Returns
        -------
        torch.Tensor of shape (events, hidden_size)
            The last layer's output after every event.
        """
        kernel = self._kernel
        if kernel is not None:  # the kernel checks the events as below, with these messages
            if not isinstance(x, torch.Tensor):
                x = torch.as_tensor(x, dtype=torch.float32)
            if isinstance(times, (float, int)):
                run, times = kernel.update_at, float(times)
            else:
                run, times = kernel.update, torch.as_tensor(times, dtype=torch.float64)
            out = run(x, times)
            if out is None:  # a parameter changed, moved or was cast since it was laid out
                if not self._kernel_runs():
                    self._leave_kernel()
                    return self.update(x, times)
                cpu_kernel.lay_out(kernel, self.layer)
                out = run(x, times)
            return out
        size = self.layer.input_size
        x = torch.as_tensor(x, dtype=torch.float32)
        shape = x.shape
        if len(shape) == 1:
            x = x.view(1, -1)
        if x.dim() != 2 or x.shape[1] != size:
            raise ValueError(
                f"x must have shape (events, {size}) or ({size},), got {tuple(shape)}."
            )
        events = x.shape[0]
        t = torch.as_tensor(times, dtype=torch.float64)
        if t.numel() != events:
            raise ValueError(f"x has {events} events but times has {t.numel()}.")
        t = t.reshape(events, 1)
        if events == 1:
            first = last = t.item()
        else:
            first, last = t[0, 0].item(), t[-1, 0].item()
            if not bool((t[1:] > t[:-1]).all()):
                raise ValueError("times must be strictly increasing.")
        if not -_INF < first <= last < _INF:
            raise ValueError(f"times must be finite, got {first} .. {last}.")
        self._check_after_last(first)
        out = self._run(x.contiguous().unsqueeze(0), t.contiguous())
        self._last_time = last
        return out

    def _check_after_last(self, first: float) -> None:
        if self._last_time is not None and not first > self._last_time:
            raise ValueError(
                f"The events must come after the last one fed (at {self._last_time}), "
                f"got one at {first}."
            )

    def update_events(self, times: Any, channels: Any, values: Any | None = None) -> torch.Tensor:
        """Feed new events given by channel index; events at one time are one step.

        The input by index of :class:`EventInput`: each event adds its channel's column
        of the first layer's input weights (times its value), so an event costs the
        same whatever the number of channels.

        Parameters
        ----------
        times : array-like of shape (events,)
            The events' times: non-decreasing (equal times form one step), and after the
            last event fed.
        channels : array-like of shape (events,), integer
            Each event's channel, in ``[0, input_size)``.
        values : array-like of shape (events,), optional
            Each event's value; ones when omitted.

        Returns
        -------
        torch.Tensor of shape (steps, hidden_size)
            The last layer's output after every step (each distinct time).

        Examples
        --------
        >>> import torch
        >>> from sk_plstm.nn import PhasedLSTM
        >>> layer = PhasedLSTM(2312, 8).eval()
        >>> stream = layer.stream()
        >>> stream.update_events([0.0, 0.0, 1.5], [17, 1200, 5]).shape
        torch.Size([2, 8])
        """
        layer = self.layer
        kernel = self._kernel
        if kernel is not None:  # the kernel checks the events, with check_stream's messages
            t, c = np.asarray(times), np.asarray(channels)
            if t.dtype.kind not in "iuf" or c.dtype.kind not in "iu":
                check_stream(t, c, values, layer.input_size, "the events")  # raises
            v = _EMPTY if values is None else torch.as_tensor(np.asarray(values, np.float32))
            for _ in range(2):
                out = kernel.update_events(torch.as_tensor(t), torch.as_tensor(c), v)
                if out is not None:
                    return out
                if not self._kernel_runs():  # moved or cast: the layer's forward from now
                    self._leave_kernel()
                    return self.update_events(times, channels, values)
                cpu_kernel.lay_out(kernel, layer)
        t, c, v = check_stream(times, channels, values, layer.input_size, "the events")
        if not len(t):
            return layer.cells[0].weight_hh.new_zeros(0, layer.hidden_size)
        indices, vals, step_times, _ = group_streams([t], [c], [v])
        self._check_after_last(float(t[0]))
        events = EventInput(torch.from_numpy(indices), layer.input_size, torch.from_numpy(vals))
        out = self._run(events, torch.from_numpy(step_times).view(-1, 1))
        self._last_time = float(t[-1])
        return out

    def _run(self, x: torch.Tensor | EventInput, t: torch.Tensor) -> torch.Tensor:
        """Run the events through the layer's forward.

        ``x`` (1, events, input_size) or an :class:`EventInput` of that shape, ``t``
        (events, 1) float64.
        """
        layer = self.layer
        was_training = layer.training
        layer.eval()
        weight = layer.cells[0].weight_hh
        x = x.to(device=weight.device, dtype=weight.dtype)
        first = layer.batch_first
        try:
            with torch.no_grad():
                out, state = layer._forward(
                    x if first else x.transpose(0, 1),
                    t.view(1, -1) if first else t,
                    None,
                    self.state,
                )
        finally:
            layer.train(was_training)
        self._state = [tuple(s[i].contiguous() for s in state) for i in range(layer.num_layers)]
        return out[0] if first else out[:, 0]

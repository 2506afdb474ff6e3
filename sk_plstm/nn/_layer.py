"""Phased LSTM sequence layer with the interface of ``torch.nn.LSTM`` (pure torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._cell import PhasedLSTMCell
from ._fused import recurrence
from ._gate import time_gate

__all__ = ["IMPLEMENTATIONS", "PhasedLSTM", "lengths_to_mask"]

#: Ways to run the recurrence, see :class:`PhasedLSTM`.
IMPLEMENTATIONS = ("auto", "kernel", "sparse", "torch", "autograd")


def lengths_to_mask(lengths: torch.Tensor, steps: int) -> torch.Tensor:
    """Boolean mask of the valid steps of right-padded sequences.

    Parameters
    ----------
    lengths : torch.Tensor of shape (batch,)
        Number of valid steps of each sequence.
    steps : int
        Padded length.

    Returns
    -------
    torch.Tensor of shape (batch, steps), dtype bool
        True at the first ``lengths[i]`` steps of sequence ``i``.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import lengths_to_mask
    >>> lengths_to_mask(torch.tensor([2, 0, 3]), 3).int()
    tensor([[1, 1, 0],
            [0, 0, 0],
            [1, 1, 1]], dtype=torch.int32)
    """
    return torch.arange(steps, device=lengths.device) < lengths.unsqueeze(-1)


class PhasedLSTM(nn.Module):
    """Multi-layer, optionally bidirectional Phased LSTM over whole sequences.

    Every layer (and direction) receives the timestamps. Padded steps, given by
    ``lengths_or_mask``, leave the state untouched, so a padded batch gives the
    same results as each sequence run alone; outputs at padded steps are zero.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units per layer and direction.
    num_layers : int, default=1
        Number of stacked layers.
    bias : bool, default=True
        Whether the LSTM parts have biases.
    batch_first : bool, default=True
        If True, inputs and outputs are ``(batch, steps, ...)``, else ``(steps, batch, ...)``.
    dropout : float, default=0.0
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool, default=False
        If True, a second set of layers reads each sequence backwards.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.
    implementation : {"auto", "kernel", "torch", "autograd"}, default="auto"
        How the recurrence runs; all give the same outputs and gradients (to float
        rounding). ``"kernel"``: a compiled C++ loop with a fused step and a hand-written
        backward (CPU, float32; built on first use, see
        :func:`~sk_plstm.nn.kernel_available`). ``"sparse"``: in evaluation mode without
        gradients, the event-driven kernel path that computes only the units whose gate
        is open (closed units keep their state exactly); ``"kernel"`` otherwise.
        ``"torch"``: the hand-written backward in torch operations, for any device and
        dtype. ``"autograd"``: a plain loop of :meth:`PhasedLSTMCell.step` under autograd
        (the reference; slowest). ``"auto"`` takes the kernel where it can run (the
        sparse path for inference while the mean ``r_on`` is at most 0.1) and ``"torch"``
        elsewhere. Can be changed on a built layer.

    Attributes
    ----------
    cells : torch.nn.ModuleList of PhasedLSTMCell
        One cell per layer and direction, layer-major (``layer * num_directions + direction``).

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedLSTM
    >>> layer = PhasedLSTM(input_size=2, hidden_size=16, num_layers=2, bidirectional=True)
    >>> x = torch.randn(4, 50, 2)
    >>> times = torch.cumsum(torch.rand(4, 50), dim=1)
    >>> out, (h, c) = layer(x, times, torch.tensor([50, 30, 10, 1]))
    >>> out.shape, h.shape
    (torch.Size([4, 50, 32]), torch.Size([4, 4, 16]))
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        tau_range: tuple[float, float] = (1.0, 1000.0),
        r_on: float = 0.05,
        leak: float = 1e-3,
        learn_tau: bool = True,
        learn_shift: bool = True,
        learn_r_on: bool = False,
        implementation: str = "auto",
    ) -> None:
        super().__init__()
        self.implementation = implementation
        if num_layers < 1:
            raise ValueError(f"num_layers must be >= 1, got {num_layers}.")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}.")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.num_directions = 2 if bidirectional else 1
        cells = []
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * self.num_directions
            for _ in range(self.num_directions):
                cells.append(
                    PhasedLSTMCell(
                        layer_input,
                        hidden_size,
                        bias=bias,
                        tau_range=tau_range,
                        r_on=r_on,
                        leak=leak,
                        learn_tau=learn_tau,
                        learn_shift=learn_shift,
                        learn_r_on=learn_r_on,
                    )
                )
        self.cells = nn.ModuleList(cells)

    def _valid_mask(
        self, lengths_or_mask: torch.Tensor | None, batch: int, steps: int, device: torch.device
    ) -> torch.Tensor | None:
        if lengths_or_mask is None:
            return None
        m = torch.as_tensor(lengths_or_mask, device=device)
        if m.dim() == 1:
            if m.shape[0] != batch or m.dtype.is_floating_point or m.dtype == torch.bool:
                raise ValueError(
                    f"lengths must be an integer tensor of shape ({batch},), "
                    f"got {m.dtype} of shape {tuple(m.shape)}."
                )
            if bool(((m < 0) | (m > steps)).any()):
                raise ValueError(f"lengths must lie in [0, {steps}], got {m.tolist()}.")
            return lengths_to_mask(m, steps)
        if m.dim() == 2 and m.dtype == torch.bool:
            mask = m if self.batch_first else m.transpose(0, 1)
            if mask.shape != (batch, steps):
                raise ValueError(
                    "mask must have the shape of the first two dimensions of x, "
                    f"got {tuple(m.shape)}."
                )
            return mask
        raise ValueError(
            "lengths_or_mask must be integer lengths of shape (batch,) or a boolean mask "
            "of the shape of the first two dimensions of x, "
            f"got {m.dtype} of shape {tuple(m.shape)}."
        )

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        lengths_or_mask: torch.Tensor | None = None,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Run the layers over whole sequences.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, steps, input_size)
            Inputs (``(steps, batch, input_size)`` when ``batch_first=False``).
        times : torch.Tensor of shape (batch, steps) or (steps,)
            Timestamp of every step of every sample (``(steps, batch)`` when
            ``batch_first=False``); a 1-D tensor is shared by the whole batch.
            Use float64 for large absolute times: the phase is computed in the
            dtype of ``times``.
        lengths_or_mask : torch.Tensor, optional
            Either integer lengths of shape ``(batch,)`` for right-padded
            sequences, or a boolean mask of the shape of ``times`` that is False
            at padded steps. All steps are valid when omitted.
        state : tuple of torch.Tensor of shape (num_layers * num_directions, batch, hidden_size)
            Initial ``(h_0, c_0)``; zeros when omitted.

        Returns
        -------
        output : torch.Tensor of shape (batch, steps, num_directions * hidden_size)
            Hidden state of the last layer at every step (zero at padded steps).
        (h_n, c_n) : tuple of torch.Tensor
            Each of shape (num_layers * num_directions, batch, hidden_size): the
            final state of every layer and direction, for the forward direction
            after the last valid step, for the backward one after the first.
        """
        if x.dim() != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"x must be 3-D with {self.input_size} channels in the last dimension, "
                f"got shape {tuple(x.shape)}."
            )
        if self.batch_first:
            batch, steps, _ = x.shape
        else:
            steps, batch, _ = x.shape
        given_shape = tuple(times.shape)
        if times.dim() == 1 and times.shape[0] == steps:
            times = times.unsqueeze(0).expand(batch, steps)
        elif not self.batch_first and times.dim() == 2:
            times = times.transpose(0, 1)
        if times.shape != (batch, steps):
            raise ValueError(
                f"times must have shape {(batch, steps) if self.batch_first else (steps, batch)} "
                f"or ({steps},), got {given_shape}."
            )
        mask = self._valid_mask(lengths_or_mask, batch, steps, x.device)
        n_states = self.num_layers * self.num_directions
        if state is None:
            zeros = x.new_zeros(n_states, batch, self.hidden_size)
            state = (zeros, zeros)
        elif any(s.shape != (n_states, batch, self.hidden_size) for s in state):
            raise ValueError(
                f"state must be (h_0, c_0), each of shape {(n_states, batch, self.hidden_size)}."
            )
        # the recurrence runs time-major: every step reads one contiguous (batch, ...) block
        layer_input = x.transpose(0, 1) if self.batch_first else x
        times = times.transpose(0, 1)
        if mask is not None:
            mask = mask.transpose(0, 1)
        h_n, c_n = [], []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                out, h, c = self._run(
                    self.cells[index],
                    layer_input,
                    times,
                    mask,
                    state[0][index],
                    state[1][index],
                    reverse=direction == 1,
                )
                outputs.append(out)
                h_n.append(h)
                c_n.append(c)
            layer_input = outputs[0] if len(outputs) == 1 else torch.cat(outputs, dim=-1)
            if mask is not None:
                layer_input = layer_input * mask.unsqueeze(-1).to(layer_input.dtype)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, (torch.stack(h_n), torch.stack(c_n))

    @torch.no_grad()
    def gate_openness(
        self, times: torch.Tensor, lengths_or_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Openness ``k`` of every unit's time gate at every time, in evaluation mode.

        ``k`` is 0 while a unit is closed (it keeps its state exactly, as the leak is 0
        in evaluation), rises to 1 in the middle of its open phase and falls back; the
        gate depends on the timestamps only, not on the input values.

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps) or (steps,)
            Timestamps, as passed to :meth:`forward` (``(steps, batch)`` when
            ``batch_first=False``).
        lengths_or_mask : torch.Tensor, optional
            Valid steps, as in :meth:`forward`; padded steps get ``k = 0``.

        Returns
        -------
        torch.Tensor of shape (num_layers * num_directions, batch, steps, hidden_size)
            The openness in ``[0, 1]`` of each layer and direction (in the order of
            ``cells``: layer by layer, forward before backward), batch first whatever
            ``batch_first`` is.

        Examples
        --------
        >>> import torch
        >>> from sk_plstm.nn import PhasedLSTM
        >>> layer = PhasedLSTM(1, 4, r_on=0.05)
        >>> k = layer.gate_openness(torch.arange(1000.0))
        >>> k.shape, bool(((k >= 0) & (k <= 1)).all())
        (torch.Size([1, 1, 1000, 4]), True)
        """
        if times.dim() not in (1, 2):
            raise ValueError(f"times must be 1-D (steps,) or 2-D, got shape {tuple(times.shape)}.")
        if times.dim() == 1:
            times = times.unsqueeze(0)
        elif not self.batch_first:
            times = times.transpose(0, 1)
        batch, steps = times.shape
        mask = self._valid_mask(lengths_or_mask, batch, steps, times.device)
        openness = []
        with torch.no_grad():
            for cell in self.cells:
                tau, r_on = cell.gate.effective_params()
                k = time_gate(times, tau, cell.gate.shift, r_on, 0.0)
                if mask is not None:
                    k = k * mask.unsqueeze(-1).to(k.dtype)
                openness.append(k)
        return torch.stack(openness)

    def update_counts(
        self, times: torch.Tensor, lengths_or_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """How often each unit updates its state in evaluation mode (where its gate is open).

        A closed unit (``k = 0``, no leak in evaluation) keeps its state exactly and costs
        nothing on the event-driven path; an LSTM updates every unit at every step.

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps) or (steps,)
            Timestamps, as passed to :meth:`forward` (``(steps, batch)`` when
            ``batch_first=False``).
        lengths_or_mask : torch.Tensor, optional
            Valid steps, as in :meth:`forward`; padded steps never update.

        Returns
        -------
        torch.Tensor of shape (num_layers * num_directions, hidden_size)
            Number of updating steps of every unit, averaged over the batch. Divide by
            the number of valid steps for the fraction of an LSTM's updates.

        Examples
        --------
        >>> import torch
        >>> from sk_plstm.nn import PhasedLSTM
        >>> layer = PhasedLSTM(1, 4, r_on=0.05)
        >>> times = torch.arange(1000.0).unsqueeze(0)
        >>> counts = layer.update_counts(times)
        >>> counts.shape, bool(counts.mean() < 100)
        (torch.Size([1, 4]), True)
        """
        is_open = self.gate_openness(times, lengths_or_mask) > 0
        return is_open.sum(dim=2).to(self.cells[0].gate.tau.dtype).mean(dim=1)

    @property
    def implementation(self) -> str:
        """How the recurrence runs (see the class docstring)."""
        return self._implementation

    @implementation.setter
    def implementation(self, value: str) -> None:
        if value not in IMPLEMENTATIONS:
            raise ValueError(f"implementation must be one of {IMPLEMENTATIONS}, got {value!r}.")
        self._implementation = value

    def _run(
        self,
        cell: PhasedLSTMCell,
        x: torch.Tensor,
        times: torch.Tensor,
        mask: torch.Tensor | None,
        h: torch.Tensor,
        c: torch.Tensor,
        reverse: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        # time-major: x (steps, batch, input), times and mask (steps, batch)
        if self._implementation != "autograd":
            return recurrence(cell, x, times, mask, h, c, reverse, self._implementation)
        # Masked steps get openness 0, so they leave the state untouched wherever they are;
        # the backward direction therefore simply reads the padded sequence from the end.
        k = cell.gate(times)
        if mask is not None:
            k = k * mask.unsqueeze(-1).to(k.dtype)
        # unbind once: indexing x_proj[t] in the loop would make autograd allocate a
        # full-size gradient per step (quadratic in the sequence length)
        x_steps = cell.project_input(x).unbind(0)
        k_steps = k.unbind(0)
        order = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in order:
            h, c = cell.step(x_steps[t], k_steps[t], h, c)
            outputs[t] = h
        return torch.stack(outputs, dim=0), h, c

    def extra_repr(self) -> str:
        """The sizes and options shown in the module's ``repr``."""
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"batch_first={self.batch_first}, bidirectional={self.bidirectional}"
        )

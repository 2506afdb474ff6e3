"""Phased sequence layers shaped like ``torch.nn.LSTM`` and ``torch.nn.GRU`` (pure torch).

A shared base runs layers, directions and lengths, and a backend from the registry
(``sk_plstm.nn.backends``) runs each cell's recurrence.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._cell import PhasedCellBase, PhasedGRUCell, PhasedLSTMCell
from ._gate import time_gate
from ._streaming import LayerStream
from .backends import backend_names, recurrence

__all__ = ["IMPLEMENTATIONS", "PhasedGRU", "PhasedLSTM", "PhasedRNNBase", "lengths_to_mask"]

#: Ways to run the recurrence, see :class:`PhasedLSTM` (the built-in backends).
IMPLEMENTATIONS = backend_names()


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


class PhasedRNNBase(nn.Module):
    """Multi-layer, optionally bidirectional phased recurrence over whole sequences.

    The base of :class:`PhasedLSTM` and :class:`PhasedGRU`: a subclass names its
    :attr:`cell_class` (a :class:`~sk_plstm.nn.PhasedCellBase`) and the shape of its
    ``forward``. Every layer (and direction) receives the timestamps. Padded steps, given by
    ``lengths_or_mask``, leave the state untouched, so a padded batch gives the same
    results as each sequence run alone; outputs at padded steps are zero. Each cell's
    recurrence runs on a backend of the registry (``sk_plstm.nn.backends``), chosen by
    :attr:`implementation`.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units per layer and direction.
    num_layers : int, default=1
        Number of stacked layers.
    bias : bool, default=True
        Whether the cells have biases.
    batch_first : bool, default=True
        If True, inputs and outputs are ``(batch, steps, ...)``, else ``(steps, batch, ...)``.
    dropout : float, default=0.0
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool, default=False
        If True, a second set of layers reads each sequence backwards.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.
    implementation : str, default="auto"
        The recurrence backend (see :class:`PhasedLSTM`).

    Attributes
    ----------
    cells : torch.nn.ModuleList of PhasedCellBase
        One cell per layer and direction, layer-major (``layer * num_directions + direction``).

    Examples
    --------
    A layer for a new cell is its cell class and the shape of its ``forward``:

    >>> import torch
    >>> from sk_plstm.nn import PhasedGRUCell, PhasedRNNBase
    >>> class MyPhasedGRU(PhasedRNNBase):
    ...     cell_class = PhasedGRUCell
    ...     def forward(self, x, times, lengths_or_mask=None):
    ...         out, (h_n,) = self._forward(x, times, lengths_or_mask, None)
    ...         return out, h_n
    >>> MyPhasedGRU(2, 4)(torch.randn(3, 5, 2), torch.arange(5.0))[0].shape
    torch.Size([3, 5, 4])
    """

    #: the cell of every layer and direction
    cell_class: type[PhasedCellBase] = PhasedLSTMCell

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
                    self.cell_class(
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
            if bool((m == steps).all()):
                return None  # every step is valid: the same as no mask, with less work
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

    def _check_inputs(self, x: torch.Tensor, times: torch.Tensor) -> tuple[int, int, torch.Tensor]:
        """The batch size, the number of steps and the times as (batch, steps)."""
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
        return batch, steps, times

    def _initial_state(
        self, state: tuple[torch.Tensor, ...] | None, x: torch.Tensor, batch: int
    ) -> tuple[torch.Tensor, ...]:
        names = self.cell_class.state_names
        shape = (self.num_layers * self.num_directions, batch, self.hidden_size)
        if state is None:
            return (x.new_zeros(shape),) * len(names)
        if len(state) != len(names) or any(s.shape != shape for s in state):
            given = ", ".join(f"{n}_0" for n in names)
            raise ValueError(
                f"the initial state must be ({given}), each of shape {shape}."
                if len(names) > 1
                else f"h_0 must have shape {shape}."
            )
        return tuple(state)

    def _forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        lengths_or_mask: torch.Tensor | None,
        state: tuple[torch.Tensor, ...] | None,
        outputs: bool = True,
    ) -> tuple[torch.Tensor | None, tuple[torch.Tensor, ...]]:
        """Outputs and final states (each stacked over layers and directions).

        With ``outputs=False`` the last layer's outputs are not made (None): a caller
        that reads the final states only saves their masking and layout.
        """
        batch, steps, times = self._check_inputs(x, times)
        mask = self._valid_mask(lengths_or_mask, batch, steps, x.device)
        state = self._initial_state(state, x, batch)
        # the recurrence runs time-major: every step reads one contiguous (batch, ...) block
        layer_input = x.transpose(0, 1) if self.batch_first else x
        times = times.transpose(0, 1)
        if mask is not None:
            mask = mask.transpose(0, 1)
        final = []
        for layer in range(self.num_layers):
            found = []  # the outputs of this layer's directions
            for direction in range(self.num_directions):
                index = layer * self.num_directions + direction
                out, last = recurrence(
                    self.cells[index],
                    layer_input,
                    times,
                    mask,
                    tuple(s[index] for s in state),
                    reverse=direction == 1,
                    implementation=self._implementation,
                )
                found.append(out)
                final.append(last)
            top = layer == self.num_layers - 1
            if top and not outputs:
                return None, tuple(torch.stack(s) for s in zip(*final))
            layer_input = found[0] if len(found) == 1 else torch.cat(found, dim=-1)
            if mask is not None:
                layer_input = layer_input * mask.unsqueeze(-1).to(layer_input.dtype)
            if self.dropout and self.training and not top:
                layer_input = F.dropout(layer_input, self.dropout, training=True)
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, tuple(torch.stack(s) for s in zip(*final))

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
        for cell in self.cells:
            tau, r_on = cell.gate.effective_params()
            k = time_gate(times, tau, cell.gate.shift, r_on, 0.0)
            openness.append(k if mask is None else k * mask.unsqueeze(-1).to(k.dtype))
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

    def stream(self, state: tuple[torch.Tensor, ...] | None = None) -> LayerStream:
        """A stream that feeds this layer one event, or a few, at a time (inference).

        Parameters
        ----------
        state : tuple of torch.Tensor of shape (num_layers, 1, hidden_size), optional
            The initial state; zeros when omitted.

        Returns
        -------
        LayerStream
            See :class:`sk_plstm.nn.LayerStream`.
        """
        return LayerStream(self, state)

    @property
    def implementation(self) -> str:
        """How the recurrence runs: ``"auto"`` or a registered backend's name."""
        return self._implementation

    @implementation.setter
    def implementation(self, value: str) -> None:
        names = backend_names()
        if value not in names:
            raise ValueError(f"implementation must be one of {names}, got {value!r}.")
        self._implementation = value

    def extra_repr(self) -> str:
        """The sizes and options shown in the module's ``repr``."""
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"batch_first={self.batch_first}, bidirectional={self.bidirectional}"
        )


class PhasedLSTM(PhasedRNNBase):
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
    implementation : str, default="auto"
        The recurrence backend (``sk_plstm.nn.backends``); all give the same outputs and
        gradients (to float rounding). ``"kernel"``: a compiled C++ loop with a fused step
        and a hand-written backward (CPU, float32; built on first use, see
        :func:`~sk_plstm.nn.kernel_available`). ``"sparse"``: in evaluation mode without
        gradients, the event-driven kernel path that computes only the units whose gate
        is open (closed units keep their state exactly); ``"kernel"`` otherwise.
        ``"torch"``: the hand-written backward in torch operations, for any device and
        dtype. ``"autograd"``: a plain loop of :meth:`PhasedLSTMCell.step` under autograd
        (the reference; slowest). Backends registered later are accepted by name too.
        ``"auto"`` takes the registered backend of highest priority that runs the cell
        and the tensors: here the sparse path for inference while the mean ``r_on`` is at
        most 0.3 (``SPARSE_MAX_R_ON``), the kernel where it can run and ``"torch"``
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

    cell_class = PhasedLSTMCell

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
        return self._forward(x, times, lengths_or_mask, state)


class PhasedGRU(PhasedRNNBase):
    """Multi-layer, optionally bidirectional Phased GRU over whole sequences.

    :class:`PhasedLSTM` with :class:`PhasedGRUCell` cells, shaped like ``torch.nn.GRU``:
    the state is the hidden state alone. Every layer (and direction) receives the
    timestamps; padded steps and, in evaluation, closed units keep their state exactly.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units per layer and direction.
    num_layers : int, default=1
        Number of stacked layers.
    bias : bool, default=True
        Whether the GRU parts have biases.
    batch_first : bool, default=True
        If True, inputs and outputs are ``(batch, steps, ...)``, else ``(steps, batch, ...)``.
    dropout : float, default=0.0
        Dropout on the outputs of every layer but the last, in training mode.
    bidirectional : bool, default=False
        If True, a second set of layers reads each sequence backwards.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.
    implementation : {"auto", "sparse", "kernel", "torch", "autograd"}, default="auto"
        The recurrence backend: ``"kernel"`` (the compiled CPU kernel, float32; what
        ``"auto"`` takes there), ``"torch"`` (a hand-written backward in torch operations,
        any device and dtype; ``"auto"`` elsewhere) or ``"autograd"`` (the reference
        loop); ``"sparse"``, the kernel's event-driven inference (only open units are
        computed; ``"auto"`` takes it in inference while the mean ``r_on`` is at most
        0.3). The Triton kernels run Phased LSTM cells only.

    Attributes
    ----------
    cells : torch.nn.ModuleList of PhasedGRUCell
        One cell per layer and direction, layer-major (``layer * num_directions + direction``).

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedGRU
    >>> layer = PhasedGRU(input_size=2, hidden_size=16, num_layers=2, bidirectional=True)
    >>> x = torch.randn(4, 50, 2)
    >>> times = torch.cumsum(torch.rand(4, 50), dim=1)
    >>> out, h = layer(x, times, torch.tensor([50, 30, 10, 1]))
    >>> out.shape, h.shape
    (torch.Size([4, 50, 32]), torch.Size([4, 4, 16]))
    """

    cell_class = PhasedGRUCell

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        lengths_or_mask: torch.Tensor | None = None,
        h0: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Run the layers over whole sequences.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, steps, input_size)
            Inputs (``(steps, batch, input_size)`` when ``batch_first=False``).
        times : torch.Tensor of shape (batch, steps) or (steps,)
            Timestamp of every step of every sample (``(steps, batch)`` when
            ``batch_first=False``); a 1-D tensor is shared by the whole batch.
        lengths_or_mask : torch.Tensor, optional
            Integer lengths of shape ``(batch,)`` or a boolean mask of the shape of
            ``times``, False at padded steps; all steps are valid when omitted.
        h0 : torch.Tensor of shape (num_layers * num_directions, batch, hidden_size)
            Initial hidden state; zeros when omitted.

        Returns
        -------
        output : torch.Tensor of shape (batch, steps, num_directions * hidden_size)
            Hidden state of the last layer at every step (zero at padded steps).
        h_n : torch.Tensor of shape (num_layers * num_directions, batch, hidden_size)
            The final hidden state of every layer and direction.
        """
        state = None if h0 is None else (h0,)
        output, (h_n,) = self._forward(x, times, lengths_or_mask, state)
        return output, h_n

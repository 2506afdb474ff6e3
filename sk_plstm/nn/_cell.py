"""Phased recurrent cells (pure torch).

A shared base (weights, time gate, gated blend) and the Phased LSTM and Phased GRU steps
on it.
"""

from __future__ import annotations

from abc import abstractmethod

import torch
import torch.nn.functional as F
from torch import nn

from ._events import EventInput, project
from ._gate import TimeGate
from ._init import init_lstm_weights_

__all__ = ["PhasedCellBase", "PhasedGRUCell", "PhasedLSTMCell"]


class PhasedCellBase(nn.Module):
    """Base of the phased cells: an ordinary recurrent step blended with the old state.

    A subclass sets :attr:`num_chunks` (gate blocks in its weights, as in torch's
    ``RNNCellBase``) and :attr:`state_names`, and implements :meth:`candidate`, the
    ungated step. The base owns the weights, the time gate, the initialisation and
    the blend: every state tensor ``s`` becomes ``k_t s~_t + (1 - k_t) s_{t-1}`` with the
    gate's openness ``k_t``, so a closed unit (``k = 0``) and a padded step keep the state
    exactly. Every recurrence backend (``sk_plstm.nn.backends``) runs cells of this base.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units.
    bias : bool, default=True
        Whether the step has biases.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.

    Attributes
    ----------
    weight_ih : torch.Tensor of shape (num_chunks * hidden_size, input_size)
        Input weights of the gate blocks (in the order of the torch cell of the same kind).
    weight_hh : torch.Tensor of shape (num_chunks * hidden_size, hidden_size)
        Recurrent weights.
    bias_ih, bias_hh : torch.Tensor of shape (num_chunks * hidden_size,)
        Biases (absent when ``bias=False``).
    gate : TimeGate
        The time gate.

    Examples
    --------
    A new cell is its number of gate blocks, its state and its ungated step; every
    sequence layer and the ``autograd`` backend then run it (here a phased minimal
    recurrent unit, ``h~ = tanh(W x + U h)``):

    >>> import torch
    >>> from sk_plstm.nn import PhasedCellBase
    >>> class PhasedTanhCell(PhasedCellBase):
    ...     num_chunks, state_names = 1, ("h",)
    ...     def candidate(self, x_proj, h_proj, state):
    ...         return (torch.tanh(x_proj + h_proj),)
    >>> cell = PhasedTanhCell(3, 4)
    >>> (h,) = cell.step(cell.project_input(torch.randn(2, 3)), torch.ones(2, 4), torch.zeros(2, 4))
    >>> h.shape
    torch.Size([2, 4])
    """

    #: gate blocks of ``hidden_size`` rows in the weights
    num_chunks: int = 1
    #: the state tensors, each of shape (batch, hidden_size); the first is the output
    state_names: tuple[str, ...] = ("h",)

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        tau_range: tuple[float, float] = (1.0, 1000.0),
        r_on: float = 0.05,
        leak: float = 1e-3,
        learn_tau: bool = True,
        learn_shift: bool = True,
        learn_r_on: bool = False,
    ) -> None:
        super().__init__()
        if input_size < 1 or hidden_size < 1:
            raise ValueError(
                f"input_size and hidden_size must be >= 1, got {input_size} and {hidden_size}."
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        rows = self.num_chunks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(rows))
            self.bias_hh = nn.Parameter(torch.empty(rows))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self._reset_weights()
        self.gate = TimeGate(
            hidden_size,
            tau_range=tau_range,
            r_on=r_on,
            leak=leak,
            learn_tau=learn_tau,
            learn_shift=learn_shift,
            learn_r_on=learn_r_on,
        )

    def _reset_weights(self) -> None:
        weights = [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]
        init_lstm_weights_([w for w in weights if w is not None], self.hidden_size)

    def reset_parameters(self) -> None:
        """Draw the weights and the time gate afresh, as at construction."""
        self._reset_weights()
        self.gate.reset_parameters()

    def project_input(self, x: torch.Tensor | EventInput) -> torch.Tensor:
        """Input part of the gate pre-activations, for any number of steps at once.

        Parameters
        ----------
        x : torch.Tensor of shape (..., input_size), or EventInput
            Dense inputs, or events by index (:class:`EventInput`, whose projection is a
            sum of the input weights' columns at its channels).

        Returns
        -------
        torch.Tensor of shape (..., num_chunks * hidden_size)
        """
        return project(x, self.weight_ih, self.bias_ih)

    @abstractmethod
    def candidate(
        self, x_proj: torch.Tensor, h_proj: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, ...]:
        """The ungated step: the candidate state from the projected input and state.

        Parameters
        ----------
        x_proj : torch.Tensor of shape (batch, num_chunks * hidden_size)
            Output of :meth:`project_input` for this step.
        h_proj : torch.Tensor of shape (batch, num_chunks * hidden_size)
            ``weight_hh @ h + bias_hh`` for the previous output ``h``.
        state : tuple of torch.Tensor of shape (batch, hidden_size)
            Previous state, in the order of :attr:`state_names`.

        Returns
        -------
        tuple of torch.Tensor of shape (batch, hidden_size)
            The candidate state, before the time gate's blend.
        """

    def step(
        self, x_proj: torch.Tensor, k: torch.Tensor, *state: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        """One gated step from a projected input and a precomputed openness.

        Parameters
        ----------
        x_proj : torch.Tensor of shape (batch, num_chunks * hidden_size)
            Output of :meth:`project_input` for this step.
        k : torch.Tensor of shape (batch, hidden_size)
            Openness of the time gate at this step (0 leaves the state untouched).
        *state : torch.Tensor of shape (batch, hidden_size)
            Previous state, in the order of :attr:`state_names`.

        Returns
        -------
        tuple of torch.Tensor of shape (batch, hidden_size)
            New state, in the order of :attr:`state_names`.
        """
        h_proj = F.linear(state[0], self.weight_hh, self.bias_hh)
        new = self.candidate(x_proj, h_proj, state)
        return tuple(torch.lerp(old, s, k) for old, s in zip(state, new))

    def openness(self, times: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """The time gate's openness at ``times``, 0 at masked steps.

        Parameters
        ----------
        times : torch.Tensor of shape (...)
            Timestamps.
        mask : torch.Tensor of the shape of ``times``, dtype bool, optional
            False at padded steps.

        Returns
        -------
        torch.Tensor of shape (..., hidden_size)
            ``k`` (with the leak in training mode, without in evaluation).
        """
        k = self.gate(times)
        if mask is not None:
            k = k * mask.unsqueeze(-1).to(k.dtype)
        return k

    def _forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        state: tuple[torch.Tensor, ...] | None,
        mask: torch.Tensor | None,
    ) -> tuple[torch.Tensor, ...]:
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must have shape (batch, {self.input_size}), got {tuple(x.shape)}.")
        if times.shape != x.shape[:1]:
            raise ValueError(f"times must have shape ({x.shape[0]},), got {tuple(times.shape)}.")
        shape = (x.shape[0], self.hidden_size)
        if state is None:
            state = (x.new_zeros(shape),) * len(self.state_names)
        elif len(state) != len(self.state_names) or any(s.shape != shape for s in state):
            names = ", ".join(self.state_names)
            raise ValueError(f"the state must be ({names}), each of shape {shape}.")
        return self.step(self.project_input(x), self.openness(times, mask), *state)

    def extra_repr(self) -> str:
        """Sizes and whether there are biases, shown in the module's ``repr``."""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class PhasedLSTMCell(PhasedCellBase):
    """A Phased LSTM cell: an LSTM step blended with the previous state by a time gate.

    The LSTM part is an ordinary step from ``(x_t, h_{t-1}, c_{t-1})`` giving
    ``c~_t`` and ``h~_t = o_t * tanh(c~_t)``. The time gate's openness ``k_t``
    then blends ``c_t = k_t c~_t + (1 - k_t) c_{t-1}`` and
    ``h_t = k_t h~_t + (1 - k_t) h_{t-1}``.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units.
    bias : bool, default=True
        Whether the LSTM part has biases.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.

    Attributes
    ----------
    weight_ih : torch.Tensor of shape (4 * hidden_size, input_size)
        Input weights of the gates, in the order input, forget, cell, output
        (as in ``torch.nn.LSTMCell``).
    weight_hh : torch.Tensor of shape (4 * hidden_size, hidden_size)
        Recurrent weights.
    bias_ih, bias_hh : torch.Tensor of shape (4 * hidden_size,)
        Biases (absent when ``bias=False``).
    gate : TimeGate
        The time gate.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedLSTMCell
    >>> cell = PhasedLSTMCell(3, 8)
    >>> h, c = cell(torch.randn(5, 3), torch.zeros(5))
    >>> h.shape, c.shape
    (torch.Size([5, 8]), torch.Size([5, 8]))
    """

    num_chunks = 4
    state_names = ("h", "c")

    def candidate(
        self, x_proj: torch.Tensor, h_proj: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """The LSTM step ``(h~, c~)``, see :meth:`PhasedCellBase.candidate`.

        Parameters
        ----------
        x_proj, h_proj : torch.Tensor of shape (batch, 4 * hidden_size)
        state : tuple (h, c) of torch.Tensor of shape (batch, hidden_size)

        Returns
        -------
        h_tilde, c_tilde : torch.Tensor of shape (batch, hidden_size)
        """
        i, f, g, o = (x_proj + h_proj).chunk(4, dim=-1)
        c_tilde = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
        return torch.sigmoid(o) * torch.tanh(c_tilde), c_tilde

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        state: tuple[torch.Tensor, torch.Tensor] | None = None,
        mask: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Advance the state by one step.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, input_size)
            Input at this step.
        times : torch.Tensor of shape (batch,)
            Timestamp of this step for each sample.
        state : tuple of torch.Tensor of shape (batch, hidden_size), optional
            Previous ``(h, c)``; zeros when omitted.
        mask : torch.Tensor of shape (batch,), optional
            False where the step is padding: the state is left untouched there.

        Returns
        -------
        h, c : torch.Tensor of shape (batch, hidden_size)
        """
        return self._forward(x, times, state, mask)


class PhasedGRUCell(PhasedCellBase):
    """A Phased GRU cell: a GRU step blended with the previous state by a time gate.

    The GRU part is ``torch.nn.GRUCell``'s step from ``(x_t, h_{t-1})``: reset gate
    ``r``, update gate ``z``, candidate ``n = tanh(W_in x + b_in + r (W_hn h + b_hn))``
    and ``h~_t = (1 - z) n + z h_{t-1}``. The time gate's openness ``k_t`` then blends
    ``h_t = k_t h~_t + (1 - k_t) h_{t-1}``: a closed unit keeps its state exactly.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    hidden_size : int
        Number of units.
    bias : bool, default=True
        Whether the GRU part has biases.
    tau_range, r_on, leak, learn_tau, learn_shift, learn_r_on
        Time-gate settings, see :class:`TimeGate`.

    Attributes
    ----------
    weight_ih : torch.Tensor of shape (3 * hidden_size, input_size)
        Input weights of the gates, in the order reset, update, new (as in
        ``torch.nn.GRUCell``).
    weight_hh : torch.Tensor of shape (3 * hidden_size, hidden_size)
        Recurrent weights.
    bias_ih, bias_hh : torch.Tensor of shape (3 * hidden_size,)
        Biases (absent when ``bias=False``).
    gate : TimeGate
        The time gate.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedGRUCell
    >>> cell = PhasedGRUCell(3, 8)
    >>> cell(torch.randn(5, 3), torch.zeros(5)).shape
    torch.Size([5, 8])
    """

    num_chunks = 3
    state_names = ("h",)

    def candidate(
        self, x_proj: torch.Tensor, h_proj: torch.Tensor, state: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor]:
        """The GRU step ``(h~,)``, see :meth:`PhasedCellBase.candidate`.

        Parameters
        ----------
        x_proj, h_proj : torch.Tensor of shape (batch, 3 * hidden_size)
        state : tuple (h,) of torch.Tensor of shape (batch, hidden_size)

        Returns
        -------
        tuple (h_tilde,) of torch.Tensor of shape (batch, hidden_size)
        """
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
        h_r, h_z, h_n = h_proj.chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        return (torch.lerp(n, state[0], z),)

    def forward(
        self,
        x: torch.Tensor,
        times: torch.Tensor,
        h: torch.Tensor | None = None,
        mask: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Advance the state by one step.

        Parameters
        ----------
        x : torch.Tensor of shape (batch, input_size)
            Input at this step.
        times : torch.Tensor of shape (batch,)
            Timestamp of this step for each sample.
        h : torch.Tensor of shape (batch, hidden_size), optional
            Previous hidden state; zeros when omitted.
        mask : torch.Tensor of shape (batch,), optional
            False where the step is padding: the state is left untouched there.

        Returns
        -------
        torch.Tensor of shape (batch, hidden_size)
            The new hidden state.
        """
        return self._forward(x, times, None if h is None else (h,), mask)[0]

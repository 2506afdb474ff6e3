"""One step of a Phased LSTM (pure torch)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ._gate import TimeGate
from ._init import init_lstm_weights_

__all__ = ["PhasedLSTMCell"]


class PhasedLSTMCell(nn.Module):
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
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden_size, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden_size, hidden_size))
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(4 * hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(4 * hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        init_lstm_weights_([p for p in self._lstm_params() if p is not None], hidden_size)
        self.gate = TimeGate(
            hidden_size,
            tau_range=tau_range,
            r_on=r_on,
            leak=leak,
            learn_tau=learn_tau,
            learn_shift=learn_shift,
            learn_r_on=learn_r_on,
        )

    def _lstm_params(self) -> list[torch.Tensor | None]:
        return [self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh]

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        """Input part of the gate pre-activations, for any number of steps at once.

        Parameters
        ----------
        x : torch.Tensor of shape (..., input_size)

        Returns
        -------
        torch.Tensor of shape (..., 4 * hidden_size)
        """
        return F.linear(x, self.weight_ih, self.bias_ih)

    def step(
        self,
        x_proj: torch.Tensor,
        k: torch.Tensor,
        h: torch.Tensor,
        c: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """One gated step from a projected input and a precomputed openness.

        Parameters
        ----------
        x_proj : torch.Tensor of shape (batch, 4 * hidden_size)
            Output of :meth:`project_input` for this step.
        k : torch.Tensor of shape (batch, hidden_size)
            Openness of the time gate at this step (0 leaves the state untouched).
        h, c : torch.Tensor of shape (batch, hidden_size)
            Previous hidden and cell state.

        Returns
        -------
        h, c : torch.Tensor of shape (batch, hidden_size)
            New hidden and cell state.
        """
        gates = x_proj + F.linear(h, self.weight_hh, self.bias_hh)
        i, f, g, o = gates.chunk(4, dim=-1)
        c_tilde = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_tilde = torch.sigmoid(o) * torch.tanh(c_tilde)
        return torch.lerp(h, h_tilde, k), torch.lerp(c, c_tilde, k)

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
        if x.dim() != 2 or x.shape[-1] != self.input_size:
            raise ValueError(f"x must have shape (batch, {self.input_size}), got {tuple(x.shape)}.")
        if times.shape != x.shape[:1]:
            raise ValueError(f"times must have shape ({x.shape[0]},), got {tuple(times.shape)}.")
        if state is None:
            zeros = x.new_zeros(x.shape[0], self.hidden_size)
            state = (zeros, zeros)
        k = self.gate(times)
        if mask is not None:
            k = k * mask.to(k.dtype).unsqueeze(-1)
        return self.step(self.project_input(x), k, *state)

    def __getstate__(self) -> dict:
        # the kernel's cached weight copy (see sk_plstm.nn._fused) is rebuilt on demand
        state = super().__getstate__()
        state.pop("_kernel_weights", None)
        return state

    def extra_repr(self) -> str:
        """Sizes and whether there are biases, shown in the module's ``repr``."""
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"

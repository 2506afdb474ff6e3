"""The Phased LSTM time gate (pure torch)."""

from __future__ import annotations

import torch
from torch import nn

from ._init import init_time_gate_

__all__ = ["TimeGate", "time_gate"]

#: Smallest period and open ratio used in the forward pass; keeps both positive while learning.
TAU_MIN = 1e-6
R_ON_MIN = 1e-6


def time_gate(
    times: torch.Tensor,
    tau: torch.Tensor,
    shift: torch.Tensor,
    r_on: torch.Tensor,
    leak: float,
) -> torch.Tensor:
    """Openness ``k`` of every unit at every time.

    ``phi = ((t - s) mod tau) / tau``; ``k = 2 phi / r_on`` while
    ``phi < r_on / 2``, ``2 - 2 phi / r_on`` while ``phi < r_on``, and
    ``leak * phi`` otherwise (the closed phase).

    The phase is computed in the promoted dtype of ``times`` and the parameters,
    so float64 times keep their precision; ``k`` has the parameters' dtype.

    Parameters
    ----------
    times : torch.Tensor of shape (...)
        Timestamps, any leading shape (for example ``(batch, steps)``).
    tau, shift, r_on : torch.Tensor of shape (hidden_size,)
        Period (positive), phase shift and open ratio (in ``(0, 1]``) of each unit.
    leak : float
        Slope of the closed phase; use 0 in evaluation.

    Returns
    -------
    torch.Tensor of shape (..., hidden_size)
        The openness ``k`` in ``[0, 1]``.

    Examples
    --------
    A unit with period 10, no shift and open ratio 0.2 opens during the first 2 time
    units of every period and peaks at time 1:

    >>> import torch
    >>> from sk_plstm.nn import time_gate
    >>> times = torch.tensor([0.0, 0.5, 1.0, 1.5, 5.0, 11.0])  # shape (6,)
    >>> one = torch.ones(1)
    >>> time_gate(times, 10 * one, 0 * one, 0.2 * one, leak=0.0).squeeze(-1)
    tensor([0.0000, 0.5000, 1.0000, 0.5000, 0.0000, 1.0000])
    """
    phase_dtype = torch.promote_types(times.dtype, tau.dtype)
    t = times.unsqueeze(-1).to(phase_dtype)
    tau_p = tau.to(phase_dtype)
    phi = (torch.remainder(t - shift.to(phase_dtype), tau_p) / tau_p).to(tau.dtype)
    rising = 2.0 * phi / r_on
    k = torch.where(phi < 0.5 * r_on, rising, 2.0 - rising)
    if leak:
        return torch.where(phi < r_on, k, leak * phi)
    return torch.where(phi < r_on, k, torch.zeros_like(k))


class TimeGate(nn.Module):
    """Rhythmic time gate of ``hidden_size`` units.

    Each unit has a period ``tau``, a phase shift ``shift`` and an open ratio
    ``r_on``; any of them can be learned or frozen. In training mode the closed
    phase leaks with slope ``leak``; in evaluation mode the leak is 0, so a closed
    unit keeps its state exactly.

    Parameters
    ----------
    hidden_size : int
        Number of units.
    tau_range : tuple of float, default=(1.0, 1000.0)
        ``tau`` is initialised log-uniformly in this range, ``shift`` uniformly
        in ``[0, tau)``.
    r_on : float, default=0.05
        Initial open ratio.
    leak : float, default=1e-3
        Slope of the closed phase in training mode.
    learn_tau, learn_shift, learn_r_on : bool
        Whether each parameter receives gradients. Defaults: True, True, False.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import TimeGate
    >>> gate = TimeGate(4, tau_range=(1.0, 10.0)).eval()
    >>> gate(torch.linspace(0, 5, 6).reshape(2, 3)).shape
    torch.Size([2, 3, 4])
    """

    def __init__(
        self,
        hidden_size: int,
        tau_range: tuple[float, float] = (1.0, 1000.0),
        r_on: float = 0.05,
        leak: float = 1e-3,
        learn_tau: bool = True,
        learn_shift: bool = True,
        learn_r_on: bool = False,
    ) -> None:
        super().__init__()
        if leak < 0:
            raise ValueError(f"leak must be >= 0, got {leak!r}.")
        self.hidden_size = hidden_size
        self.leak = float(leak)
        self.tau = nn.Parameter(torch.empty(hidden_size), requires_grad=learn_tau)
        self.shift = nn.Parameter(torch.empty(hidden_size), requires_grad=learn_shift)
        self.r_on = nn.Parameter(torch.empty(hidden_size), requires_grad=learn_r_on)
        self.tau_range, self.initial_r_on = tau_range, r_on
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw ``tau`` and ``shift`` afresh and set ``r_on``, as at construction."""
        init_time_gate_(self.tau, self.shift, self.r_on, self.tau_range, self.initial_r_on)

    def effective_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Period and open ratio as used in the forward pass (kept positive).

        Returns
        -------
        tau : torch.Tensor of shape (hidden_size,)
            ``tau`` clamped to at least ``TAU_MIN``.
        r_on : torch.Tensor of shape (hidden_size,)
            ``r_on`` clamped to ``[R_ON_MIN, 1]``.
        """
        return self.tau.clamp(min=TAU_MIN), self.r_on.clamp(R_ON_MIN, 1.0)

    @torch.no_grad()
    def narrow_(self, r_on: float) -> None:
        """Open every unit at most ``r_on`` of its period, in place.

        Fixed open ratios become ``r_on``; learned ones stay free below it (those above
        are clamped to it).

        Parameters
        ----------
        r_on : float
            The largest open ratio, in ``(0, 1]``.
        """
        if self.r_on.requires_grad:
            self.r_on.clamp_(max=r_on)
        else:
            self.r_on.fill_(r_on)

    def forward(self, times: torch.Tensor) -> torch.Tensor:
        """Openness of every unit at ``times``.

        Parameters
        ----------
        times : torch.Tensor of shape (...)
            Timestamps.

        Returns
        -------
        torch.Tensor of shape (..., hidden_size)
        """
        tau, r_on = self.effective_params()
        return time_gate(times, tau, self.shift, r_on, self.leak if self.training else 0.0)

    def extra_repr(self) -> str:
        """Size and leak, shown in the module's ``repr``."""
        return f"{self.hidden_size}, leak={self.leak}"

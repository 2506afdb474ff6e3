"""The Phased LSTM time gate (pure torch)."""

from __future__ import annotations

import torch
from torch import nn

from ._init import init_time_gate_

__all__ = ["TimeGate", "time_gate"]

#: Smallest period used in the forward pass (``tau = TAU_MIN + exp(log_tau)``).
TAU_MIN = 1e-6
#: Smallest fixed open ratio; fixed ratios are checked to lie in ``(0, 1]``.
R_ON_MIN = 1e-6
#: Lowest value a learned open ratio can take (lower where the initial or narrowed ratio is
#: below twice this): a unit can always open on a hundredth of its period, never on none.
R_ON_FLOOR = 1e-2
#: How close to 0 or 1 a learned ratio's share of its range may be set (logit kept finite).
_SHARE_EPS = 1e-7


def _logit_in(r_on: torch.Tensor, floor: torch.Tensor, bound: torch.Tensor) -> torch.Tensor:
    """The ``r_on_logit`` that gives open ratios ``r_on`` between ``floor`` and ``bound``."""
    share = ((r_on - floor) / (bound - floor)).clamp(_SHARE_EPS, 1 - _SHARE_EPS)
    return torch.logit(share)


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

    The parameters are stored so that no value a unit needs is out of reach of its
    gradient (a clamp would pass none once crossed, and a unit whose open ratio fell to
    its clamp would never open again):

    * ``tau = TAU_MIN + exp(log_tau)``: every period is positive, and an optimiser's
      step changes it by a share of itself;
    * a learned open ratio is ``floor + (bound - floor) * sigmoid(r_on_logit)``: it stays
      between ``floor`` (:data:`R_ON_FLOOR`, 0.01, or half the initial or narrowed ratio
      where that is lower) and ``bound`` (1, or the width :meth:`narrow_` set), with a
      gradient everywhere; narrowing moves ``bound``, so every unit keeps its place in
      the range instead of being clamped;
    * a fixed open ratio is ``bound`` itself (``r_on_logit`` is not used).

    ``tau`` and ``r_on`` are read as properties (the effective values, with their
    gradients); :meth:`set_` writes them.

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

    Attributes
    ----------
    log_tau : torch.nn.Parameter of shape (hidden_size,)
        ``log(tau - TAU_MIN)``.
    shift : torch.nn.Parameter of shape (hidden_size,)
        The phase shifts.
    r_on_logit : torch.nn.Parameter of shape (hidden_size,)
        A learned open ratio's place in its range, before the sigmoid.
    r_on_bound, r_on_floor : torch.Tensor of shape (hidden_size,)
        Buffers: the largest and smallest open ratio (the fixed ratio is the bound).

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
        self.learn_r_on = bool(learn_r_on)
        self.log_tau = nn.Parameter(torch.empty(hidden_size), requires_grad=learn_tau)
        self.shift = nn.Parameter(torch.empty(hidden_size), requires_grad=learn_shift)
        self.r_on_logit = nn.Parameter(torch.zeros(hidden_size), requires_grad=learn_r_on)
        self.register_buffer("r_on_bound", torch.ones(hidden_size))
        self.register_buffer("r_on_floor", torch.full((hidden_size,), R_ON_FLOOR))
        self.tau_range, self.initial_r_on = tau_range, r_on
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw ``tau`` and ``shift`` afresh and set ``r_on``, as at construction."""
        tau, shift, r_on = (torch.empty(self.hidden_size, dtype=torch.float64) for _ in range(3))
        init_time_gate_(tau, shift, r_on, self.tau_range, self.initial_r_on)
        with torch.no_grad():
            self.r_on_bound.fill_(1.0 if self.learn_r_on else self.initial_r_on)
            self.r_on_floor.fill_(min(R_ON_FLOOR, 0.5 * self.initial_r_on))
        self.set_(tau=tau, shift=shift, r_on=r_on)

    @property
    def tau(self) -> torch.Tensor:
        """The periods, shape (hidden_size,): ``TAU_MIN + exp(log_tau)``."""
        return TAU_MIN + torch.exp(self.log_tau)

    @property
    def r_on(self) -> torch.Tensor:
        """The open ratios, shape (hidden_size,), each in ``[r_on_floor, r_on_bound]``."""
        if not self.learn_r_on:
            return self.r_on_bound
        span = self.r_on_bound - self.r_on_floor
        return self.r_on_floor + span * torch.sigmoid(self.r_on_logit)

    @torch.no_grad()
    def set_(
        self,
        tau: torch.Tensor | float | None = None,
        shift: torch.Tensor | float | None = None,
        r_on: torch.Tensor | float | None = None,
    ) -> TimeGate:
        """Set periods, shifts or open ratios (the effective values), in place.

        A learned open ratio below the floor lowers the floor to half of it; one at or
        above the bound is set just below the bound.

        Parameters
        ----------
        tau : torch.Tensor of shape (hidden_size,) or float, optional
            Periods, each above ``TAU_MIN``.
        shift : torch.Tensor of shape (hidden_size,) or float, optional
        r_on : torch.Tensor of shape (hidden_size,) or float, optional
            Open ratios in ``(0, 1]``.

        Returns
        -------
        TimeGate
            ``self``.
        """

        def full(value):
            value = torch.as_tensor(value, dtype=torch.float64)
            return value.expand(self.hidden_size).to(self.log_tau.device)

        if tau is not None:
            tau = full(tau)
            if not bool((tau > TAU_MIN).all()):
                raise ValueError(f"tau must be above {TAU_MIN}, got {tau.min().item()!r}.")
            self.log_tau.copy_(torch.log(tau - TAU_MIN))
        if shift is not None:
            self.shift.copy_(full(shift))
        if r_on is not None:
            r_on = full(r_on)
            if not bool(((r_on > 0) & (r_on <= 1)).all()):
                raise ValueError(f"r_on must be in (0, 1], got {r_on.tolist()!r}.")
            floor = torch.minimum(self.r_on_floor.double(), 0.5 * r_on)
            self.r_on_floor.copy_(floor)
            if self.learn_r_on:
                self.r_on_logit.copy_(_logit_in(r_on, floor, self.r_on_bound.double()))
            else:
                self.r_on_bound.copy_(r_on)
        return self

    def effective_params(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Period and open ratio as used in the forward pass.

        Returns
        -------
        tau : torch.Tensor of shape (hidden_size,)
            :attr:`tau`, above ``TAU_MIN``.
        r_on : torch.Tensor of shape (hidden_size,)
            :attr:`r_on`, in ``[r_on_floor, r_on_bound]``.
        """
        return self.tau, self.r_on

    @torch.no_grad()
    def narrow_(self, r_on: float) -> None:
        """Open every unit at most ``r_on`` of its period, in place.

        Fixed open ratios become ``r_on``; the range of learned ones ends at ``r_on``
        (each unit keeps its place in the range, and its gradient).

        Parameters
        ----------
        r_on : float
            The largest open ratio, in ``(0, 1]``.
        """
        if not 0 < r_on <= 1:
            raise ValueError(f"r_on must be in (0, 1], got {r_on!r}.")
        self.r_on_bound.fill_(r_on)
        self.r_on_floor.clamp_(max=0.5 * r_on)

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        """Read the gates of model files written before the parametrisation.

        Those stored ``tau`` and ``r_on`` as such (clamped in use).
        """
        if prefix + "tau" in state_dict and prefix + "log_tau" not in state_dict:
            tau = state_dict.pop(prefix + "tau").double().clamp(min=2 * TAU_MIN)
            r_on = state_dict.pop(prefix + "r_on").double().clamp(R_ON_MIN, 1.0)
            dtype = self.log_tau.dtype
            state_dict[prefix + "log_tau"] = torch.log(tau - TAU_MIN).to(dtype)
            floor = torch.minimum(torch.full_like(r_on, R_ON_FLOOR), 0.5 * r_on)
            if self.learn_r_on:
                bound = torch.ones_like(r_on)
                logit = _logit_in(r_on, floor, bound)
            else:
                logit, bound = torch.zeros_like(r_on), r_on
            state_dict[prefix + "r_on_logit"] = logit.to(dtype)
            state_dict[prefix + "r_on_bound"] = bound.to(self.r_on_bound.dtype)
            state_dict[prefix + "r_on_floor"] = floor.to(self.r_on_floor.dtype)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

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

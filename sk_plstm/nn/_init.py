"""Parameter initialisation for the Phased LSTM (pure torch)."""

from __future__ import annotations

import math
import numbers
from typing import Any

import torch

__all__ = ["init_lstm_weights_", "init_time_gate_"]


def check_tau_range(tau_range: Any, alternatives: str = "") -> tuple[float, float]:
    """``tau_range`` as ``(low, high)`` floats, checked: two finite numbers, 0 < low <= high.

    The one check of a range of periods, for the layer, the estimators and model files.

    Parameters
    ----------
    tau_range : tuple of two numbers
    alternatives : str, default=""
        Other accepted values, for the message (``"'auto' or "``).

    Returns
    -------
    tuple of float

    Raises
    ------
    ValueError
        Naming the value when it is not such a range.
    """
    try:
        values = tuple(tau_range)
    except TypeError:
        values = ()
    if len(values) != 2 or not all(
        isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ValueError(
            f"tau_range must be {alternatives}a tuple (low, high) of two numbers, "
            f"got {tau_range!r}."
        )
    low, high = float(values[0]), float(values[1])
    if not 0 < low <= high:
        raise ValueError(f"tau_range must satisfy 0 < low <= high, got {tau_range!r}.")
    return low, high


def init_time_gate_(
    tau: torch.Tensor,
    shift: torch.Tensor,
    r_on: torch.Tensor,
    tau_range: tuple[float, float],
    r_on_value: float,
    generator: torch.Generator | None = None,
) -> None:
    """Initialise time-gate parameters in place, as in the Phased LSTM paper.

    The periods ``tau`` are drawn log-uniformly in ``tau_range``, the phase
    shifts ``s`` uniformly in ``[0, tau)`` and the open ratios are set to
    ``r_on_value``.

    Parameters
    ----------
    tau, shift, r_on : torch.Tensor of shape (hidden_size,)
        The period, phase shift and open ratio of each unit, filled in place.
    tau_range : tuple of float
        ``(low, high)`` with ``0 < low <= high``.
    r_on_value : float
        Open ratio, in ``(0, 1]``.
    generator : torch.Generator, optional
        Source of randomness; the global generator when omitted.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import init_time_gate_
    >>> tau, shift, r_on = torch.empty(3), torch.empty(3), torch.empty(3)
    >>> g = torch.Generator().manual_seed(0)
    >>> init_time_gate_(tau, shift, r_on, tau_range=(1.0, 100.0), r_on_value=0.05, generator=g)
    >>> bool(((tau >= 1.0) & (tau <= 100.0)).all()), bool(((shift >= 0) & (shift < tau)).all())
    (True, True)
    >>> r_on
    tensor([0.0500, 0.0500, 0.0500])
    """
    low, high = check_tau_range(tau_range)
    if not 0 < r_on_value <= 1:
        raise ValueError(f"r_on must be in (0, 1], got {r_on_value!r}.")
    with torch.no_grad():
        u = torch.rand(tau.shape, generator=generator, dtype=torch.float64)
        log_tau = math.log(low) + u * (math.log(high) - math.log(low))
        tau_values = torch.exp(log_tau)
        v = torch.rand(shift.shape, generator=generator, dtype=torch.float64)
        tau.copy_(tau_values.to(tau.dtype))
        shift.copy_((v * tau_values).to(shift.dtype))
        r_on.fill_(r_on_value)


def init_lstm_weights_(
    weights: list[torch.Tensor], hidden_size: int, generator: torch.Generator | None = None
) -> None:
    """Initialise LSTM weights and biases in place as ``torch.nn.LSTM`` does.

    Every tensor is drawn from ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.

    Parameters
    ----------
    weights : list of torch.Tensor
        Weight matrices and bias vectors of one LSTM cell, any shapes (for example
        ``(4 * hidden_size, input_size)`` and ``(4 * hidden_size,)``).
    hidden_size : int
        Number of hidden units.
    generator : torch.Generator, optional
        Source of randomness; the global generator when omitted.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import init_lstm_weights_
    >>> w_ih, b_ih = torch.empty(4 * 16, 3), torch.empty(4 * 16)
    >>> init_lstm_weights_([w_ih, b_ih], hidden_size=16, generator=torch.Generator().manual_seed(0))
    >>> bool(w_ih.abs().max() <= 16**-0.5)
    True
    """
    bound = 1.0 / math.sqrt(hidden_size)
    with torch.no_grad():
        for w in weights:
            w.copy_(torch.rand(w.shape, generator=generator, dtype=w.dtype) * 2 * bound - bound)

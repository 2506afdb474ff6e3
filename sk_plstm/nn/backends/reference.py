"""``"autograd"``: the reference recurrence, a plain loop of the cell's step under autograd.

It runs every cell of :class:`~sk_plstm.nn.PhasedCellBase` on any device and dtype, and
every other backend is tested against it. Slowest; ``"auto"`` takes it only for a cell
that no other backend runs.
"""

from __future__ import annotations

import torch

from .._cell import PhasedCellBase
from ._registry import Backend, register


def run(
    cell: PhasedCellBase,
    x: torch.Tensor,
    times: torch.Tensor,
    mask: torch.Tensor | None,
    state: tuple[torch.Tensor, ...],
    reverse: bool,
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run ``cell`` step by step (see :class:`~sk_plstm.nn.backends.Backend` for shapes)."""
    # Masked steps get openness 0, so they leave the state untouched wherever they are;
    # the backward direction therefore simply reads the padded sequence from the end.
    k_steps = cell.openness(times, mask).unbind(0)
    # unbind once: indexing x_proj[t] in the loop would make autograd allocate a
    # full-size gradient per step (quadratic in the sequence length)
    x_steps = cell.project_input(x).unbind(0)
    order = range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])
    outputs = [None] * x.shape[0]
    for t in order:
        state = cell.step(x_steps[t], k_steps[t], *state)
        outputs[t] = state[0]
    if not outputs:
        return x.new_zeros(0, x.shape[1], cell.hidden_size), state
    return torch.stack(outputs, dim=0), state


register(Backend("autograd", PhasedCellBase, run, priority=0))

"""Recurrence backends: the ways to run a phased cell over whole sequences.

Each backend is one module that registers itself (:func:`register`) for the cells it
runs; the sequence layers ask :func:`select` for one per cell, layer and direction.

============  =============================  ========  ===============================
name          runs                           priority  where
============  =============================  ========  ===============================
``sparse``    LSTM and GRU, inference only   30        CPU, float32, compiled kernel;
                                                       ``"auto"`` while mean r_on <= 0.3
``triton``    Phased LSTM                    25        CUDA (CPU under TRITON_INTERPRET=1),
                                                       with the triton package
``kernel``    Phased LSTM, Phased GRU        20        CPU, float32, compiled kernel
``torch``     Phased LSTM, Phased GRU        10        any device and dtype
``autograd``  every cell (the reference)     0         any device and dtype
============  =============================  ========  ===============================

A new backend is a module here with a ``run`` function and one :class:`Backend`
registration (imported below); a new cell gets the ``autograd`` reference for free and
faster backends by registering runs for its class.
"""

from __future__ import annotations

import torch

from . import cpu_kernel, reference, torch_ops, triton_gpu  # noqa: F401  (they register)
from ._registry import Backend, backend_names, register, registered, select
from .cpu_kernel import SPARSE_MAX_R_ON, kernel_available

__all__ = [
    "SPARSE_MAX_R_ON",
    "Backend",
    "backend_names",
    "kernel_available",
    "recurrence",
    "register",
    "registered",
    "select",
]


def recurrence(
    cell: torch.nn.Module,
    x: torch.Tensor,
    times: torch.Tensor,
    mask: torch.Tensor | None,
    state: tuple[torch.Tensor, ...],
    reverse: bool = False,
    implementation: str = "auto",
) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
    """Run one cell over whole time-major sequences with the backend ``implementation`` picks.

    Parameters
    ----------
    cell : PhasedCellBase
        The cell (weights and time gate) to run.
    x : torch.Tensor of shape (steps, batch, input_size)
        Inputs.
    times : torch.Tensor of shape (steps, batch)
        Timestamps; the phase is computed in the promoted dtype of ``times`` and the
        gate parameters.
    mask : torch.Tensor of shape (steps, batch), dtype bool, or None
        False at padded steps, which leave the state untouched.
    state : tuple of torch.Tensor of shape (batch, hidden_size)
        Initial state, in the order of the cell's ``state_names``.
    reverse : bool, default=False
        Read the sequences from the last step to the first.
    implementation : str, default="auto"
        ``"auto"`` or a registered backend's name (see :func:`select`).

    Returns
    -------
    out : torch.Tensor of shape (steps, batch, hidden_size)
        Output after every step (the unchanged state at padded steps).
    state : tuple of torch.Tensor of shape (batch, hidden_size)
        State after the last step read.
    """
    backend = select(implementation, cell, x, state)
    return backend.run(cell, x, times, mask, state, reverse)

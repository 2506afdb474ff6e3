"""The registry of recurrence backends: who can run which cell, where, and which first.

A backend runs one cell (one layer, one direction) over whole time-major sequences:
``run(cell, x, times, mask, state, reverse) -> (out, state)``. It is registered per cell
class (a backend registered for :class:`~sk_plstm.nn.PhasedCellBase` runs every cell) with
a priority for ``implementation="auto"``, an availability check (is the compiled kernel
built, is its package importable) and an acceptance check for the tensors at hand
(device, dtype, training or inference). Both checks return ``None`` or the reason why not,
which becomes the error message when a backend is asked for by name.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

__all__ = ["Backend", "backend_names", "register", "registered", "select"]

Run = Callable[..., tuple[torch.Tensor, tuple[torch.Tensor, ...]]]


def _always(*args) -> None:
    return None


@dataclass(frozen=True)
class Backend:
    """One way to run one kind of cell.

    Attributes
    ----------
    name : str
        The ``implementation`` value that asks for it.
    cell : type
        The cell class it runs (and its subclasses).
    run : callable
        ``run(cell, x, times, mask, state, reverse) -> (out, state)``, time-major:
        ``x`` (steps, batch, input_size), ``times`` and ``mask`` (steps, batch) (``mask``
        bool or None), ``state`` a tuple of (batch, hidden_size) tensors in the order of
        the cell's ``state_names``; ``out`` (steps, batch, hidden_size).
    priority : int
        ``"auto"`` takes the available, accepting backend of highest priority.
    available : callable
        ``available() -> str | None``: None when it can run on this machine at all.
    accepts : callable
        ``accepts(cell, x, state, inference) -> str | None``: None when it can run these
        tensors (``inference``: evaluation mode without gradients).
    auto : callable
        ``auto(cell) -> bool``: whether ``"auto"`` may take it for this cell (a backend
        can be right only in some regimes, as the event-driven path at small ``r_on``).
    inference_only : bool
        Runs only in evaluation mode without gradients; outside it, ``fallback`` runs.
    fallback : str or None
        The backend that runs in its place outside inference.
    announce : bool
        Warn once when ``"auto"`` passes it over although it would run the tensors,
        because it is not available (a GPU kernel whose package is not installed).
    emulation : dict
        Environment variables under which it runs CPU tensors (an interpreter), so
        that it can be tested on a machine without its device; empty when it runs on
        the CPU anyway.
    """

    name: str
    cell: type
    run: Run
    priority: int = 0
    available: Callable[[], str | None] = _always
    accepts: Callable[..., str | None] = _always
    auto: Callable[[torch.nn.Module], bool] = lambda cell: True
    inference_only: bool = False
    fallback: str | None = None
    announce: bool = False
    emulation: dict = field(default_factory=dict)


_BACKENDS: dict[tuple[str, type], Backend] = {}


def register(backend: Backend) -> Backend:
    """Add a backend (or replace the one of the same name and cell).

    Parameters
    ----------
    backend : Backend

    Returns
    -------
    Backend
        The same backend.
    """
    _BACKENDS[(backend.name, backend.cell)] = backend
    return backend


def registered() -> list[Backend]:
    """Every registered backend, highest priority first.

    Returns
    -------
    list of Backend
    """
    return sorted(_BACKENDS.values(), key=lambda b: (-b.priority, b.name))


def backend_names() -> tuple[str, ...]:
    """The accepted ``implementation`` values: ``"auto"`` and every registered name.

    Returns
    -------
    tuple of str
    """
    names = []
    for backend in registered():
        if backend.name not in names:
            names.append(backend.name)
    return ("auto", *names)


def _for_cell(name: str, cell: torch.nn.Module) -> Backend | None:
    for cls in type(cell).__mro__:
        backend = _BACKENDS.get((name, cls))
        if backend is not None:
            return backend
    return None


_announced: set[str] = set()


def _reason(backend: Backend, cell, x, state, inference) -> str | None:
    # the tensors first: asking for availability may build a kernel
    refused = backend.accepts(cell, x, state, inference)
    if refused is not None:
        return refused
    missing = backend.available()
    if missing is not None and backend.announce and backend.name not in _announced:
        _announced.add(backend.name)
        warnings.warn(
            f"sk_plstm: the {backend.name!r} backend would run these tensors but is not "
            f"available: {missing}. A slower backend runs instead.",
            RuntimeWarning,
            stacklevel=5,
        )
    return missing


def select(
    implementation: str,
    cell: torch.nn.Module,
    x: torch.Tensor,
    state: tuple[torch.Tensor, ...],
) -> Backend:
    """The backend that runs ``cell`` on these tensors.

    Parameters
    ----------
    implementation : str
        ``"auto"`` or a registered name.
    cell : PhasedCellBase
        The cell to run.
    x : torch.Tensor of shape (steps, batch, input_size)
        Its inputs.
    state : tuple of torch.Tensor of shape (batch, hidden_size)
        Its initial state.

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        When the named backend does not run this cell or these tensors, with the reason.
    RuntimeError
        When the named backend is not available on this machine, with the reason.
    """
    inference = not torch.is_grad_enabled() and not cell.training
    kind = type(cell).__name__
    if implementation == "auto":
        for backend in registered():
            if (
                _for_cell(backend.name, cell) is backend
                and (inference or not backend.inference_only)
                and backend.auto(cell)
                and _reason(backend, cell, x, state, inference) is None
            ):
                return backend
        raise ValueError(f"no registered backend runs {kind} on these tensors.")
    backend = _for_cell(implementation, cell)
    if backend is None:
        raise ValueError(f"implementation={implementation!r} does not run {kind} cells.")
    if backend.inference_only and not inference:
        backend = _for_cell(backend.fallback, cell)
    missing = backend.available()
    if missing is not None:
        raise RuntimeError(
            f"implementation={implementation!r} is not available on this machine: {missing}"
        )
    refused = backend.accepts(cell, x, state, inference)
    if refused is not None:
        raise ValueError(f"implementation={implementation!r} {refused}")
    return backend

"""``"triton"``: the Phased LSTM recurrence as fused Triton kernels, for CUDA GPUs.

The time gate depends only on the times and the gate parameters, never on the state, so
its openness ``k`` is computed for all steps at once before the recurrence (under
autograd, as the ``"torch"`` backend does), and so is the input projection (one
matrix product). The recurrence itself is one kernel launch per layer and direction,
forward and backward (``_triton_kernels.py``): each program runs the whole time loop for a
tile of batch rows, so nothing is launched per step. The backward returns the gradient
of ``k``, which autograd reduces to ``tau``, ``shift`` and ``r_on`` in parallel, and the
weight gradient is one matrix product over all steps afterwards.

Available when the ``triton`` package imports (in a checkout: ``pip install -e ".[gpu]"``);
``"auto"`` takes it for CUDA tensors. ``TRITON_INTERPRET=1`` runs the same kernels on CPU
tensors through Triton's interpreter, which is how the tests check them on machines
without a GPU. Float32, float16 and bfloat16 inputs are computed in float32 (the state
and the gates), and the products follow ``torch.backends.cuda.matmul.allow_tf32``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import threading
from types import ModuleType

import torch
from torch.autograd.function import once_differentiable

from .._cell import PhasedLSTMCell
from ._registry import Backend, register
from .torch_ops import lstm_inputs

__all__ = ["interpreting", "triton_available"]

_lock = threading.Lock()
_modules: dict[bool, ModuleType] = {}
_error: str | None = None


def interpreting() -> bool:
    """Whether Triton runs kernels through its interpreter (``TRITON_INTERPRET=1``)."""
    return os.environ.get("TRITON_INTERPRET", "0") not in ("", "0")


def _kernels() -> ModuleType | None:
    """The kernels module for the current mode (compiled or interpreted), or None.

    Triton decides at definition time whether a kernel is compiled or interpreted, so
    each mode gets its own copy of the module.
    """
    global _error
    mode = interpreting()
    if mode in _modules or _error is not None:
        return _modules.get(mode)
    with _lock:
        if mode in _modules or _error is not None:
            return _modules.get(mode)
        try:
            import triton  # noqa: F401

            path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_triton_kernels.py")
            name = f"{__name__}._kernels_{'interpreted' if mode else 'compiled'}"
            spec = importlib.util.spec_from_file_location(name, path)
            module = importlib.util.module_from_spec(spec)
            sys.modules[name] = module  # Triton's JIT reads the source through the module
            spec.loader.exec_module(module)
            _modules[mode] = module
        except Exception as exc:  # not installed, or an unusable install
            _error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:160]}"
    return _modules.get(mode)


def triton_available() -> bool:
    """Whether the ``triton`` package imports, so that the backend can run.

    Returns
    -------
    bool
    """
    return _kernels() is not None


def _unavailable() -> str | None:
    if _kernels() is None:
        return (
            f"the triton package ({_error}); in a checkout, install it with "
            '`pip install -e ".[gpu]"`'
        )
    return None


_DTYPES = (torch.float32, torch.float16, torch.bfloat16)


def _accepts(cell, x, state, inference) -> str | None:
    if not (x.is_cuda or (x.device.type == "cpu" and interpreting())):
        return (
            "runs Triton kernels, which take CUDA tensors (or CPU tensors under "
            f"TRITON_INTERPRET=1), got tensors on {x.device}."
        )
    if x.dtype not in _DTYPES or cell.weight_hh.dtype not in _DTYPES:
        return f"takes float32, float16 or bfloat16 tensors, got {x.dtype}."
    return None


def _blocks(batch: int, hidden: int) -> dict:
    width = max(16, min(64, 1 << max(hidden - 1, 0).bit_length()))
    return {"BLOCK_B": 16, "BLOCK_H": width, "BLOCK_K": width}


def _precision() -> str:
    return "tf32" if torch.backends.cuda.matmul.allow_tf32 else "ieee"


class _TritonRecurrence(torch.autograd.Function):
    """``(xp, k, w_hh, h0, c0, reverse) -> (out, h_n, c_n)``, as the torch backend's."""

    @staticmethod
    def forward(ctx, xp, k, w_hh, h0, c0, reverse):
        kernels = _kernels()
        dtype = xp.dtype
        steps, batch, four_h = xp.shape
        hidden = four_h // 4
        f32 = dict(dtype=torch.float32, device=xp.device)
        xp32, k32 = xp.float().contiguous(), k.float().contiguous()
        w32 = w_hh.float().contiguous()
        hs = torch.empty(steps + 1, batch, hidden, **f32)
        cs = torch.empty(steps + 1, batch, hidden, **f32)
        hs[0], cs[0] = h0, c0
        save = any(ctx.needs_input_grad[:5])
        act = torch.empty(steps, batch, four_h, **f32) if save else hs  # hs: unused pointer
        if steps > 0 and batch > 0:
            blocks = _blocks(batch, hidden)
            grid = (triton_cdiv(batch, blocks["BLOCK_B"]),)
            kernels.lstm_forward[grid](
                xp32, k32, w32, hs, cs, act, steps, batch, hidden,
                REVERSE=bool(reverse), SAVE=save, PRECISION=_precision(), **blocks,
            )  # fmt: skip
        by_time = hs[1:].flip(0) if reverse else hs[1:]
        if save:
            ctx.save_for_backward(k32, w32, hs, cs, act)
            ctx.reverse, ctx.dtypes = reverse, (xp.dtype, k.dtype, w_hh.dtype, h0.dtype)
        return by_time.to(dtype), hs[-1].to(h0.dtype), cs[-1].to(c0.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        kernels = _kernels()
        k32, w32, hs, cs, act = ctx.saved_tensors
        reverse = ctx.reverse
        steps, batch, hidden = k32.shape
        d_gates = torch.zeros_like(act)
        d_k = torch.zeros_like(k32)
        dh = d_hn.float().clone().contiguous()
        dc = d_cn.float().clone().contiguous()
        dh_tmp = torch.empty_like(dh)
        if steps > 0 and batch > 0:
            blocks = _blocks(batch, hidden)
            grid = (triton_cdiv(batch, blocks["BLOCK_B"]),)
            kernels.lstm_backward[grid](
                d_out.float().contiguous(), k32, w32, hs, cs, act, d_gates, d_k, dh, dc,
                dh_tmp, steps, batch, hidden,
                REVERSE=bool(reverse), PRECISION=_precision(), **blocks,
            )  # fmt: skip
        before = hs[:-1].flip(0) if reverse else hs[:-1]  # the state before each time step
        d_w = d_gates.reshape(-1, 4 * hidden).t().mm(before.reshape(-1, hidden))
        xp_dtype, k_dtype, w_dtype, h_dtype = ctx.dtypes
        return (
            d_gates.to(xp_dtype),
            d_k.to(k_dtype),
            d_w.to(w_dtype),
            dh.to(h_dtype),
            dc.to(h_dtype),
            None,
        )


def triton_cdiv(a: int, b: int) -> int:
    """``ceil(a / b)`` for positive integers."""
    return -(-a // b)


def run_triton(cell, x, times, mask, state, reverse):
    """Run a :class:`~sk_plstm.nn.PhasedLSTMCell` with the Triton kernels (``Backend.run``)."""
    xp, k = lstm_inputs(cell, x, times, mask)
    out, h, c = _TritonRecurrence.apply(xp, k, cell.weight_hh, *state, reverse)
    return out, (h, c)


register(
    Backend(
        "triton",
        PhasedLSTMCell,
        run_triton,
        priority=25,
        available=_unavailable,
        accepts=_accepts,
        # on the CPU the interpreter is for tests: "auto" keeps the compiled CPU kernel
        auto=lambda cell: cell.weight_hh.is_cuda,
        announce=True,
        emulation={"TRITON_INTERPRET": "1"},
    )
)

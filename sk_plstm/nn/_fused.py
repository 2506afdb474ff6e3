"""Fast Phased LSTM recurrence: whole-sequence autograd Functions with hand-written backward.

Implementations of one recurrence (one layer, one direction, time-major):

* ``"kernel"``: a C++ extension (``_kernel.cpp``) compiled on first use with torch's own
  extension builder, once per kernel version per machine
  (:func:`kernel_build`). Per step it runs one matrix product and one fused elementwise pass
  that computes the LSTM gates, the time gate and the blend; the backward is written by
  hand, including the gradients of ``tau``, ``shift`` and ``r_on``, and recomputes the
  gates instead of storing them. CPU, float32 only.
* ``"sparse"``: the kernel's event-driven inference path (evaluation mode, no gradients):
  a closed unit keeps its state exactly, so only the open units are computed.
* ``"torch"``: the same forward and hand-written backward in torch operations, for any
  device and dtype. The time gate is computed for all steps at once by
  :func:`~sk_plstm.nn.time_gate` under autograd, and the recurrence returns the gradient
  of the openness.

:func:`recurrence` picks the kernel where it can run and falls back to the torch
implementation otherwise (no compiler, another device or dtype, or
``SK_PLSTM_KERNEL=0`` in the environment).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import threading
import time
import warnings
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from ._gate import time_gate

__all__ = ["kernel_available", "recurrence"]

#: ``"auto"`` takes the event-driven path for inference while the mean open ratio is at most
#: this; with more units open, the dense step is as fast or faster (``bench_sparse.py``).
SPARSE_MAX_R_ON = 0.1

_lock = threading.Lock()
_kernel: Any = None
_kernel_error: str | None = None


def _cpu_has(*features: str) -> bool:
    """Whether this (Linux) CPU advertises all ``features`` in /proc/cpuinfo."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(features) <= set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return False


#: the kernel's C++ source, beside this file
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_kernel.cpp")


def _kernel_flags() -> list[str]:
    """The compiler flags for this CPU."""
    # no FP-trap or errno semantics, so the compiler vectorises the per-unit loops
    flags = ["-O3", "-fno-trapping-math", "-fno-math-errno"]
    if _cpu_has("avx2", "fma"):
        flags += ["-mavx2", "-mfma"]
    return flags


def kernel_build(source: str = SOURCE, flags: list[str] | None = None) -> tuple[str, str]:
    """The build's name and the stable path of its source, from what decides the binary.

    The name is keyed by the source's bytes, the compiler flags and torch's version, and
    the source is copied into the build's own directory, so every copy of the package on a
    machine (checkouts, virtual environments, an installed release) with the same kernel
    shares one build, and a changed kernel gets a new one instead of rebuilding another
    copy's.

    Parameters
    ----------
    source : str
        Path of the C++ source.
    flags : list of str, optional
        Compiler flags (this CPU's by default).

    Returns
    -------
    name : str
        ``sk_plstm_kernel_<key>``, the name torch caches the build under.
    path : str
        The source copied into the build directory (``TORCH_EXTENSIONS_DIR``).
    """
    from torch.utils.cpp_extension import _get_build_directory

    flags = _kernel_flags() if flags is None else flags
    with open(source, "rb") as f:
        code = f.read()
    digest = hashlib.sha256(code)
    digest.update(repr((flags, torch.__version__)).encode())
    name = f"sk_plstm_kernel_{digest.hexdigest()[:16]}"
    directory = _get_build_directory(name, verbose=False)
    path = os.path.join(directory, "_kernel.cpp")
    try:
        with open(path, "rb") as f:
            current = f.read()
    except OSError:
        current = None
    if current != code:  # written once; atomic, for processes loading at the same time
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "wb") as f:
            f.write(code)
        os.replace(tmp, path)
    return name, path


def _load_kernel() -> Any:
    """Compile (once per kernel version per machine) and import the C++ kernel, or None."""
    global _kernel, _kernel_error
    if _kernel is not None or _kernel_error is not None:
        return _kernel
    with _lock:
        if _kernel is not None or _kernel_error is not None:
            return _kernel
        if os.environ.get("SK_PLSTM_KERNEL", "1") == "0":
            _kernel_error = "disabled by SK_PLSTM_KERNEL=0"
            return None
        try:
            from torch.utils.cpp_extension import load

            flags = _kernel_flags()
            name, source = kernel_build(flags=flags)
            built = os.path.exists(os.path.join(os.path.dirname(source), f"{name}.so"))
            if not built:
                print(
                    "sk_plstm: building the CPU kernel, once for this version and machine "
                    "(about a minute)...",
                    file=sys.stderr,
                    flush=True,
                )
            start = time.perf_counter()
            # torch's builder warns and logs about compilers; the outcome is reported below
            torch_log = logging.getLogger("torch.utils.cpp_extension")
            level = torch_log.level
            torch_log.setLevel(logging.CRITICAL)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _kernel = load(name=name, sources=[source], extra_cflags=flags, verbose=False)
            finally:
                torch_log.setLevel(level)
            if not built:
                print(
                    f"sk_plstm: CPU kernel built in {time.perf_counter() - start:.0f} s "
                    f"({os.path.dirname(source)}).",
                    file=sys.stderr,
                    flush=True,
                )
        except Exception as exc:  # no compiler, no ninja, failed build: use the torch path
            first_line = (str(exc).splitlines() or [""])[0]
            _kernel_error = f"{type(exc).__name__}: {first_line[:160]}"
            warnings.warn(
                "sk_plstm could not build its CPU kernel (is a C++ compiler installed?) and "
                f"uses its slower torch implementation. Cause: {_kernel_error}. Set "
                "SK_PLSTM_KERNEL=0 to skip the build.",
                RuntimeWarning,
                stacklevel=3,
            )
    return _kernel


def kernel_available() -> bool:
    """Whether the compiled CPU kernel can be used (builds it on the first call).

    Returns
    -------
    bool
        True when the C++ kernel compiled and loaded; False when it is disabled with
        ``SK_PLSTM_KERNEL=0`` or could not be built, in which case the layer uses its
        torch implementation.

    Examples
    --------
    >>> from sk_plstm.nn import kernel_available
    >>> isinstance(kernel_available(), bool)
    True
    """
    return _load_kernel() is not None


#: the kernel's tensor arguments, by name, in the order of its C++ entry points
KERNEL_INPUTS = ("x", "times", "mask", "w", "bias", "tau", "shift", "r_on", "h0", "c0")


class _KernelRecurrence(torch.autograd.Function):
    # the tensors of KERNEL_INPUTS (from _kernel_args), then the leak and the direction;
    # the kernel takes them by name
    @staticmethod
    def forward(ctx, *args):
        *tensors, leak, reverse = args
        inputs = dict(zip(KERNEL_INPUTS, tensors))
        save = any(ctx.needs_input_grad)
        result = _kernel.forward(**inputs, leak=leak, reverse=reverse, save=save)
        out, h_n, c_n = result[:3]
        if save:
            ctx.save_for_backward(*tensors, out, result[3])
            ctx.leak, ctx.reverse = leak, reverse
        return out, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        *tensors, out, cs = ctx.saved_tensors
        inputs = dict(zip(KERNEL_INPUTS, tensors))
        d_x, d_w, d_bias, d_tau, d_shift, d_r, d_h0, d_c0 = _kernel.backward(
            d_out=d_out.contiguous(),
            d_hn=d_hn.contiguous(),
            d_cn=d_cn.contiguous(),
            **inputs,
            out=out,
            cs=cs,
            leak=ctx.leak,
            reverse=ctx.reverse,
        )
        return d_x, None, None, d_w, d_bias, d_tau, d_shift, d_r, d_h0, d_c0, None, None


class _TorchRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, xp, k, w_hh, h0, c0, reverse):
        steps, _, four_h = xp.shape
        hidden = four_h // 4
        save = any(ctx.needs_input_grad[:5])
        out = xp.new_empty(steps, xp.shape[1], hidden)
        act = xp.new_empty(xp.shape) if save else None
        c_tilde_all = xp.new_empty(out.shape) if save else None
        c_all = xp.new_empty(out.shape) if save else None
        w_t = w_hh.t()
        h, c = h0, c0
        for n in range(steps):
            t = steps - 1 - n if reverse else n
            gates = torch.addmm(xp[t], h, w_t)
            a = torch.sigmoid(gates) if act is None else torch.sigmoid(gates, out=act[t])
            a[:, 2 * hidden : 3 * hidden] = torch.tanh(gates[:, 2 * hidden : 3 * hidden])
            i, f, g, o = a.chunk(4, dim=1)
            c_tilde = torch.addcmul(f * c, i, g)
            h_tilde = o * torch.tanh(c_tilde)
            c = torch.lerp(c, c_tilde, k[t])
            h = torch.lerp(h, h_tilde, k[t])
            out[t] = h
            if save:
                c_tilde_all[t] = c_tilde
                c_all[t] = c
        if save:
            ctx.save_for_backward(k, w_hh, h0, c0, out, act, c_tilde_all, c_all)
            ctx.reverse = reverse
        return out, h, c

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        k, w_hh, h0, c0, out, act, c_tilde_all, c_all = ctx.saved_tensors
        steps, hidden = out.shape[0], out.shape[2]
        reverse = ctx.reverse
        d_gates = torch.empty_like(act)
        d_k = torch.empty_like(k)
        dh, dc = d_hn, d_cn
        for n in range(steps - 1, -1, -1):
            t = steps - 1 - n if reverse else n
            t_prev = t + 1 if reverse else t - 1
            h_prev = h0 if n == 0 else out[t_prev]
            c_prev = c0 if n == 0 else c_all[t_prev]
            dh = dh + d_out[t]
            i, f, g, o = act[t].chunk(4, dim=1)
            c_tilde = c_tilde_all[t]
            tanh_c = torch.tanh(c_tilde)
            h_tilde = o * tanh_c
            k_t = k[t]
            d_k[t] = dh * (h_tilde - h_prev) + dc * (c_tilde - c_prev)
            d_ht = dh * k_t
            d_ct = dc * k_t + d_ht * o * (1 - tanh_c * tanh_c)
            torch.cat(
                (
                    d_ct * g * i * (1 - i),
                    d_ct * c_prev * f * (1 - f),
                    d_ct * i * (1 - g * g),
                    d_ht * tanh_c * o * (1 - o),
                ),
                dim=1,
                out=d_gates[t],
            )
            one_minus_k = 1 - k_t
            dc = dc * one_minus_k + d_ct * f
            dh = torch.addmm(dh * one_minus_k, d_gates[t], w_hh)
        first = h0.unsqueeze(0)
        h_prev_all = torch.cat((out[1:], first) if reverse else (first, out[:-1]))[:steps]
        d_w = d_gates.reshape(-1, 4 * hidden).t().mm(h_prev_all.reshape(-1, hidden))
        return d_gates, d_k, d_w, dh, dc, None


def _kernel_fits(x: torch.Tensor, h0: torch.Tensor, cell: torch.nn.Module) -> bool:
    """Whether the compiled kernel can run these tensors (float32 on the CPU)."""
    return (
        x.device.type == "cpu"
        and x.dtype == h0.dtype == cell.weight_hh.dtype == torch.float32
        and _load_kernel() is not None
    )


def _kernel_args(
    cell: torch.nn.Module,
    x: torch.Tensor,
    times: torch.Tensor,
    mask: torch.Tensor | None,
    h0: torch.Tensor,
    c0: torch.Tensor,
    tau: torch.Tensor,
    r_on: torch.Tensor,
    implementation: str,
) -> tuple[torch.Tensor, ...]:
    """The kernel's tensor inputs, in the order of ``KERNEL_INPUTS``.

    They are ``x, times, mask, w = [w_hh | w_ih], bias, tau, shift, r_on, h0, c0``.

    Raises a clear error where the kernel cannot run. The mask is float (empty: none) and
    the times are in the phase dtype. Under autograd the weight and the summed bias are
    built afresh (so gradients reach the parameters); without gradients they are cached on
    the cell until a parameter changes, so that streaming one event per call does not copy
    the whole weight every call.
    """
    if _load_kernel() is None:
        raise RuntimeError(
            f"implementation={implementation!r} needs the sk_plstm CPU kernel, which is not "
            f"available: {_kernel_error}"
        )
    if x.device.type != "cpu" or x.dtype != torch.float32:
        raise ValueError(
            f"implementation={implementation!r} runs the sk_plstm kernel, which takes float32 "
            f"tensors on the CPU, got {x.dtype} on {x.device}."
        )
    params = (cell.weight_hh, cell.weight_ih, cell.bias_ih, cell.bias_hh)
    tracked = torch.is_grad_enabled() and any(p is not None and p.requires_grad for p in params)
    key = tuple((p.data_ptr(), p._version, p.dtype, p.device) for p in params if p is not None)
    cached = getattr(cell, "_kernel_weights", None)
    if not tracked and cached is not None and cached[0] == key:
        weight, bias = cached[1]
    else:
        weight = torch.cat((cell.weight_hh, cell.weight_ih), dim=1).contiguous()
        if cell.bias_ih is not None:
            bias = cell.bias_ih + cell.bias_hh
        else:
            bias = x.new_zeros(weight.shape[0])
        # never keep tensors that belong to an autograd graph
        cell._kernel_weights = None if tracked else (key, (weight, bias))
    return (
        x.contiguous(),
        times.to(torch.promote_types(times.dtype, tau.dtype)).contiguous(),
        x.new_empty(0) if mask is None else mask.to(torch.float32).contiguous(),
        weight,
        bias,
        tau.contiguous(),
        cell.gate.shift.contiguous(),
        r_on.contiguous(),
        h0.contiguous(),
        c0.contiguous(),
    )


def recurrence(
    cell: torch.nn.Module,
    x: torch.Tensor,
    times: torch.Tensor,
    mask: torch.Tensor | None,
    h0: torch.Tensor,
    c0: torch.Tensor,
    reverse: bool = False,
    implementation: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Run one cell over whole time-major sequences.

    Parameters
    ----------
    cell : PhasedLSTMCell
        The cell (weights and time gate) to run.
    x : torch.Tensor of shape (steps, batch, input_size)
        Inputs.
    times : torch.Tensor of shape (steps, batch)
        Timestamps; the phase is computed in the promoted dtype of ``times`` and the
        gate parameters.
    mask : torch.Tensor of shape (steps, batch), dtype bool, or None
        False at padded steps, which leave the state untouched.
    h0, c0 : torch.Tensor of shape (batch, hidden_size)
        Initial state.
    reverse : bool, default=False
        Read the sequences from the last step to the first.
    implementation : {"auto", "kernel", "torch", "sparse"}, default="auto"
        ``"auto"`` uses the compiled kernel for float32 tensors on the CPU when it is
        available, and the torch implementation otherwise. ``"kernel"`` raises if the
        kernel cannot run these inputs. ``"sparse"`` computes only the open units in
        evaluation mode without gradients (and is ``"kernel"`` otherwise).

    Returns
    -------
    out : torch.Tensor of shape (steps, batch, hidden_size)
        Hidden state after every step (the unchanged state at padded steps).
    h_n, c_n : torch.Tensor of shape (batch, hidden_size)
        State after the last step read.
    """
    gate = cell.gate
    tau, r_on = gate.effective_params()
    leak = gate.leak if gate.training else 0.0
    inference = not torch.is_grad_enabled() and not gate.training
    if inference and (
        implementation == "sparse"
        or (
            implementation == "auto"
            and _kernel_fits(x, h0, cell)
            and float(r_on.mean()) <= SPARSE_MAX_R_ON
        )
    ):
        args = _kernel_args(cell, x, times, mask, h0, c0, tau, r_on, implementation)
        inputs = dict(zip(KERNEL_INPUTS, args))
        out, h_n, c_n, _ = _kernel.sparse_forward(**inputs, reverse=bool(reverse))
        return out, h_n, c_n
    if implementation in ("kernel", "sparse") or (
        implementation == "auto" and _kernel_fits(x, h0, cell)
    ):
        args = _kernel_args(cell, x, times, mask, h0, c0, tau, r_on, implementation)
        return _KernelRecurrence.apply(*args, float(leak), bool(reverse))
    bias = None
    if cell.bias_ih is not None:
        bias = cell.bias_ih + cell.bias_hh
    xp = torch.nn.functional.linear(x, cell.weight_ih, bias)
    k = time_gate(times, tau, gate.shift, r_on, leak)
    if mask is not None:
        k = k * mask.unsqueeze(-1).to(k.dtype)
    return _TorchRecurrence.apply(xp.contiguous(), k.contiguous(), cell.weight_hh, h0, c0, reverse)

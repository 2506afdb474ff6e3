"""``"kernel"`` and ``"sparse"``: the compiled CPU recurrence of the Phased LSTM.

* ``"kernel"``: a C++ extension (``_kernel.cpp``, beside this file) compiled on first use
  with torch's own extension builder, once per kernel version per machine
  (:func:`kernel_build`). A sequence runs on a team of threads that own blocks of hidden
  units and meet once per step; per step it runs one matrix product and one fused
  elementwise pass that computes the LSTM gates, the time gate and the blend; the
  backward is written by hand, including the gradients of ``tau``, ``shift`` and
  ``r_on``, and reads the gate activations the forward pass kept (up to 256 MiB; beyond,
  it recomputes them). CPU, float32 only; ``"auto"`` takes it there.
* ``"kernel"`` also runs the Phased GRU: from the input projection and the openness
  computed for all steps at once, one product ``h @ w_hh^T + b_hh`` and one fused pass per
  step (the reset gate multiplies the recurrent part, so it cannot join the input's
  product as the LSTM's does), and a hand-written backward in C++.
* ``"sparse"``: the kernel's event-driven inference path (evaluation mode, no gradients):
  a closed unit keeps its state exactly, so only the open units are computed; for the
  Phased GRU each open unit by dot products with its rows of the weights, so that a
  sample's result does not depend on the rest of the batch. ``"auto"``
  takes it for inference while the mean ``r_on`` is at most :data:`SPARSE_MAX_R_ON`; asked
  for by name outside inference, ``"kernel"`` runs.

The kernel's arguments travel by name (:data:`KERNEL_INPUTS`), in one order on both sides,
and its entry points check them. Without a compiler, or with ``SK_PLSTM_KERNEL=0`` in the
environment, neither is available and ``"auto"`` takes ``"torch"``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import threading
import time
import warnings
import weakref
from typing import Any

import torch
from torch.autograd.function import once_differentiable

from .._cell import PhasedGRUCell, PhasedLSTMCell
from .._events import EventInput
from ._registry import Backend, register
from .torch_ops import _previous, bias_or_zeros, gru_inputs, summed_bias

__all__ = ["SPARSE_MAX_R_ON", "kernel_available", "kernel_build", "lay_out", "stream_of"]

#: ``"auto"`` takes the event-driven path for inference while the mean open ratio is at most
#: this: measured at five sizes (estimator sizes to 32 x 200 x 256), the event-driven path
#: was 1.10-2.9x faster than the dense one at r_on 0.3 (LSTM and GRU), and as fast or
#: slower from 0.4-0.5 on (docs/performance.md).
SPARSE_MAX_R_ON = 0.3

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
    if sys.platform.startswith("linux"):
        # one parallel region per sequence (threads own blocks of hidden units); the
        # extension then needs libgomp.so.1, which is torch's own, already loaded
        flags += ["-fopenmp"]
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


def _import_built(name: str, path: str) -> Any:
    """Import an existing build directly (torch's loader would first run ninja), or None."""
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    except (ImportError, OSError):
        return None


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
            if built:  # keyed by its source, flags and torch: up to date by construction
                _kernel = _import_built(name, os.path.join(os.path.dirname(source), f"{name}.so"))
                if _kernel is not None:
                    return _kernel
            start = time.perf_counter()
            # torch's builder warns and logs about compilers; the outcome is reported below
            torch_log = logging.getLogger("torch.utils.cpp_extension")
            level = torch_log.level
            torch_log.setLevel(logging.CRITICAL)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    _kernel = load(
                        name=name,
                        sources=[source],
                        extra_cflags=flags,
                        extra_ldflags=[f for f in flags if f == "-fopenmp"],
                        verbose=False,
                    )
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


#: the kernel's tensor arguments, by name, in the order of its C++ entry points (``xp``, the
#: input projection of events given by index, is empty for dense inputs)
KERNEL_INPUTS = ("x", "times", "mask", "w", "bias", "tau", "shift", "r_on", "h0", "c0", "xp")


class _KernelRecurrence(torch.autograd.Function):
    # the tensors of KERNEL_INPUTS (from _kernel_args), the leak, the direction and the
    # weights laid out in blocks (_blocked_weights); the kernel takes them by name
    @staticmethod
    def forward(ctx, *args):
        *tensors, leak, reverse, w_blocked, bias_blocked = args
        inputs = dict(zip(KERNEL_INPUTS, tensors))
        save = any(ctx.needs_input_grad[: len(KERNEL_INPUTS)])
        result = _kernel.forward(
            **inputs,
            leak=leak,
            reverse=reverse,
            save=save,
            w_blocked=w_blocked,
            bias_blocked=bias_blocked,
        )
        out, h_n, c_n = result[:3]
        if save:
            ctx.save_for_backward(*tensors, out, *result[3:])  # cell states, activations
            ctx.leak, ctx.reverse = leak, reverse
        return out, h_n, c_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn, d_cn):
        *tensors, out, cs, acts = ctx.saved_tensors
        inputs = dict(zip(KERNEL_INPUTS, tensors))
        d_x, d_w, d_bias, d_tau, d_shift, d_r, d_h0, d_c0, d_xp = _kernel.backward(
            d_out=d_out.contiguous(),
            d_hn=d_hn.contiguous(),
            d_cn=d_cn.contiguous(),
            **inputs,
            out=out,
            cs=cs,
            acts=acts,
            leak=ctx.leak,
            reverse=ctx.reverse,
        )
        d_xp = d_xp if d_xp.numel() else None
        return (
            d_x, None, None, d_w, d_bias, d_tau, d_shift, d_r, d_h0, d_c0, d_xp,
            None, None, None, None,
        )  # fmt: skip


class _GatheredProjection(torch.autograd.Function):
    """The input projection of events by index in the kernel: ``(weight, indices, values)``.

    A gather of ``weight``'s columns into a buffer of large pages, and its gradient as one
    sum per channel in the order of the events (``embedding_bag`` computes the same; its
    output and gradient buffers fault in page by page, a tenth of a training step).
    """

    @staticmethod
    def forward(ctx, weight, indices, values):
        ctx.save_for_backward(indices, values)
        ctx.channels = weight.shape[1]
        return _kernel.gather_rows(indices=indices, values=values, table=weight.t().contiguous())

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        indices, values = ctx.saved_tensors
        d_table = _kernel.scatter_rows(
            indices=indices, values=values, grad=grad.contiguous(), channels=ctx.channels
        )
        return d_table.t(), None, None


def gathered(events: EventInput, weight: torch.Tensor) -> torch.Tensor:
    """``project(events, weight)`` (no bias) in the kernel, shape (dim0, dim1, rows)."""
    d0, d1, k = events.indices.shape
    indices = events.indices.reshape(d0 * d1, k).contiguous()
    values = events.values.to(torch.float32).reshape(d0 * d1, k).contiguous()
    return _GatheredProjection.apply(weight, indices, values).view(d0, d1, weight.shape[0])


def _unavailable() -> str | None:
    """Why the compiled kernel cannot run on this machine, or None (builds it once)."""
    return None if _load_kernel() is not None else f"the sk_plstm CPU kernel: {_kernel_error}"


def _accepts(cell, x, state, inference) -> str | None:
    """Why the kernel cannot run these tensors (it takes float32 on the CPU), or None."""
    dtypes = {x.dtype, cell.weight_hh.dtype, *(s.dtype for s in state)}
    if x.device.type != "cpu" or dtypes != {torch.float32}:
        return (
            "runs the sk_plstm kernel, which takes float32 tensors on the CPU, "
            f"got {x.dtype} on {x.device}."
        )
    return None


#: weights laid out for the kernel, per cell, while no parameter changes (inference only)
_weights: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _kernel_weights(
    cell: PhasedLSTMCell, x: torch.Tensor, by_index: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """``w = [w_hh | w_ih]`` (``w_hh`` alone for input by index) and the summed bias.

    Under autograd they are built afresh (so gradients reach the parameters); without
    gradients they are kept for the cell until a parameter changes, so that streaming one
    event per call does not copy the whole weight every call. The copy lives here, never
    on the cell, and goes with it.
    """
    params = (cell.weight_hh, cell.weight_ih, cell.bias_ih, cell.bias_hh)
    tracked = torch.is_grad_enabled() and any(p is not None and p.requires_grad for p in params)
    key = (by_index,) + tuple(
        (p.data_ptr(), p._version, p.dtype, p.device) for p in params if p is not None
    )
    cached = None if tracked else _weights.get(cell)
    if cached is not None and cached[0] == key:
        return cached[1]
    if by_index:
        weight = cell.weight_hh.contiguous()
    else:
        weight = torch.cat((cell.weight_hh, cell.weight_ih), dim=1).contiguous()
    bias = bias_or_zeros(summed_bias(cell), weight.shape[0], x)
    if not tracked:  # never keep tensors that belong to an autograd graph
        _weights[cell] = (key, (weight, bias), {})
    return weight, bias


def _layouts(cell: PhasedLSTMCell, weight: torch.Tensor) -> dict | None:
    """The layouts kept with ``weight`` while it is the cell's kept weight, else None.

    ``weight`` from :func:`_kernel_weights`: kept in inference, while no parameter changes.
    """
    cached = _weights.get(cell)
    return cached[2] if cached is not None and cached[1][0] is weight else None


def _kept_layout(cell: PhasedLSTMCell, weight: torch.Tensor, name: str, make: Any) -> Any:
    """``make()``, a layout of ``weight``: made once while ``weight`` is kept, else per call."""
    kept = _layouts(cell, weight)
    if kept is None:
        return make()
    if name not in kept:
        kept[name] = make()
    return kept[name]


def _weight_by_unit(cell: PhasedLSTMCell, weight: torch.Tensor) -> torch.Tensor:
    """``weight`` with its rows regrouped by unit, shape ``(hidden, hidden + inputs, 4)``.

    The event-driven path reads the four gate rows of each open unit together.
    """
    return _kept_layout(
        cell,
        weight,
        "w_units",
        lambda: weight.view(4, cell.hidden_size, -1).permute(1, 2, 0).contiguous(),
    )


def _blocked_weights(
    cell: PhasedLSTMCell, weight: torch.Tensor, bias: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``weight`` and ``bias`` with their rows in the dense kernel's blocks, when kept.

    Only for a kept weight (inference): the kernel then does not copy the whole weight on
    every call (one event per call). Under autograd, two empty tensors: the kernel lays
    the weight out itself.
    """
    if _layouts(cell, weight) is None:
        return _EMPTY, _EMPTY
    return _kept_layout(cell, weight, "blocked", lambda: tuple(_kernel.block_weights(weight, bias)))


#: an empty tensor: "not given" for the kernel's optional tensor arguments
_EMPTY = torch.empty(0)


def _cell_args(
    cell: PhasedLSTMCell, x: torch.Tensor, by_index: bool = False
) -> tuple[torch.Tensor, ...]:
    """The kernel inputs that come from the cell: ``w, bias, tau, shift, r_on``.

    ``w = [w_hh | w_ih]`` (``w_hh`` for input by index) and the summed bias
    (:func:`_kernel_weights`; ``x`` gives the bias its dtype and device when the cell has
    none), the gate's effective ``tau`` and ``r_on``, all contiguous.
    """
    tau, r_on = cell.gate.effective_params()
    weight, bias = _kernel_weights(cell, x, by_index)
    return weight, bias, tau.contiguous(), cell.gate.shift.contiguous(), r_on.contiguous()


def _kernel_args(
    cell: PhasedLSTMCell,
    x: torch.Tensor | EventInput,
    times: torch.Tensor,
    mask: torch.Tensor | None,
    h0: torch.Tensor,
    c0: torch.Tensor,
) -> tuple[torch.Tensor, ...]:
    """The kernel's tensor inputs, in the order of ``KERNEL_INPUTS``.

    They are ``x, times, mask, w = [w_hh | w_ih], bias, tau, shift, r_on, h0, c0, xp``,
    with the gate's effective ``tau`` and ``r_on``; the mask is float (empty: none) and the
    times are in the phase dtype. For events by index (:class:`EventInput`), ``x`` has no
    channels, ``w = w_hh`` and ``xp`` is the events' input projection (a gather of
    ``w_ih``'s columns); for dense inputs ``xp`` is empty. Whether the kernel can run
    these tensors was decided by the registry (``_unavailable``, ``_accepts``) before.
    """
    by_index = isinstance(x, EventInput)
    weight, bias, tau, shift, r_on = _cell_args(cell, x, by_index)
    if by_index:
        xp = gathered(x, cell.weight_ih)
        x = xp.new_empty(*xp.shape[:2], 0)
    else:
        xp = _EMPTY
    return (
        x.contiguous(),
        times.to(torch.promote_types(times.dtype, tau.dtype)).contiguous(),
        x.new_empty(0) if mask is None else mask.to(torch.float32).contiguous(),
        weight,
        bias,
        tau,
        shift,
        r_on,
        h0.contiguous(),
        c0.contiguous(),
        xp,
    )


def run_kernel(cell, x, times, mask, state, reverse):
    """Train or evaluate a Phased LSTM cell with the kernel (shapes as in ``Backend.run``)."""
    leak = cell.gate.leak if cell.gate.training else 0.0
    args = _kernel_args(cell, x, times, mask, *state)
    blocked = _blocked_weights(cell, args[3], args[4])
    out, h_n, c_n = _KernelRecurrence.apply(*args, float(leak), bool(reverse), *blocked)
    return out, (h_n, c_n)


def run_sparse(cell, x, times, mask, state, reverse):
    """Event-driven inference: only open units are computed (shapes as in ``Backend.run``)."""
    args = _kernel_args(cell, x, times, mask, *state)
    inputs = dict(zip(KERNEL_INPUTS, args))
    w_units = _weight_by_unit(cell, inputs["w"])
    out, h_n, c_n, _ = _kernel.sparse_forward(**inputs, reverse=bool(reverse), w_units=w_units)
    return out, (h_n, c_n)


def stream_of(layer: Any) -> Any:
    """The kernel's ``Stream`` for a unidirectional stack of float32 Phased LSTM cells.

    The stream keeps each layer's weights (regrouped by unit), biases, gate parameters
    and state between calls; its ``update`` returns None once a parameter has changed in
    place (training, ``load_state_dict``), and :func:`lay_out` brings it up to date.

    Parameters
    ----------
    layer : PhasedLSTM
        On the CPU, float32.

    Returns
    -------
    Stream
        Its events run as a lone sample's in ``sparse_forward``: the same bits.
    """
    stream = _kernel.Stream(layer.input_size, layer.hidden_size, layer.num_layers)
    lay_out(stream, layer)
    return stream


def lay_out(stream: Any, layer: Any) -> None:
    """Give ``stream`` (from :func:`stream_of`) the current parameters of ``layer``'s cells."""
    with torch.no_grad():
        for i, cell in enumerate(layer.cells):
            weight, *args = _cell_args(cell, cell.weight_hh)
            watched = [*cell.parameters(), *cell.buffers()]
            stream.set_layer(i, _weight_by_unit(cell, weight), *args, watched)


class _KernelGRURecurrence(torch.autograd.Function):
    """The Phased GRU recurrence in the kernel: ``(xp, k, w_hh, b_hh, h0, reverse)``."""

    @staticmethod
    def forward(ctx, xp, k, w_hh, b_hh, h0, reverse):
        save = any(ctx.needs_input_grad[:5])
        result = _kernel.gru_forward(
            xp=xp, k=k, w_hh=w_hh, b_hh=b_hh, h0=h0, reverse=reverse, save=save
        )
        out, h_n = result[:2]
        if save:
            ctx.save_for_backward(xp, k, w_hh, b_hh, h0, out, result[2])
            ctx.reverse = reverse
        return out, h_n

    @staticmethod
    @once_differentiable
    def backward(ctx, d_out, d_hn):
        xp, k, w_hh, b_hh, h0, out, saved = ctx.saved_tensors
        d_xp, d_k, d_gh, d_h0 = _kernel.gru_backward(
            d_out=d_out.contiguous(),
            d_hn=d_hn.contiguous(),
            xp=xp,
            k=k,
            w_hh=w_hh,
            b_hh=b_hh,
            h0=h0,
            out=out,
            saved=saved,
            reverse=ctx.reverse,
        )
        d_w = d_gh.reshape(-1, d_gh.shape[2]).t().mm(_previous(out, h0, ctx.reverse))
        return d_xp, d_k, d_w, d_gh.sum(dim=(0, 1)), d_h0, None


def run_gru_kernel(cell, x, times, mask, state, reverse):
    """Train or evaluate a Phased GRU cell with the kernel (shapes as in ``Backend.run``)."""
    xp, k, b_hh = gru_inputs(cell, x, times, mask)
    out, h_n = _KernelGRURecurrence.apply(
        xp, k.float(), cell.weight_hh.contiguous(), b_hh.contiguous(), state[0].contiguous(),
        bool(reverse),
    )  # fmt: skip
    return out, (h_n,)


def run_gru_sparse(cell, x, times, mask, state, reverse):
    """Event-driven Phased GRU inference: only open units are computed (``Backend.run``)."""
    rows = 3 * cell.hidden_size
    b_ih, b_hh = (bias_or_zeros(b, rows, x) for b in (cell.bias_ih, cell.bias_hh))
    if isinstance(x, EventInput):  # the kernel takes the events' input projection
        x, w_ih = gathered(x, cell.weight_ih), _EMPTY
    else:
        w_ih = cell.weight_ih
    out, h_n, _ = _kernel.gru_sparse_forward(
        x=x.contiguous(),
        k=cell.openness(times, mask).to(torch.float32).contiguous(),
        w_ih=w_ih.contiguous(),
        b_ih=b_ih.contiguous(),
        w_hh=cell.weight_hh.contiguous(),
        b_hh=b_hh.contiguous(),
        h0=state[0].contiguous(),
        reverse=bool(reverse),
    )
    return out, (h_n,)


#: per cell, whether the event-driven path pays, while its open ratios stay the same
_pays: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sparse_pays(cell: torch.nn.Module) -> bool:
    """Whether ``"auto"`` takes the event-driven path: mean ``r_on`` <= :data:`SPARSE_MAX_R_ON`.

    Asked at every call (streaming one event per call): the answer is kept until
    ``r_on`` changes, instead of reducing it on every call.
    """
    gate = cell.gate
    key = tuple(
        (t.data_ptr(), t._version) for t in (gate.r_on_logit, gate.r_on_bound, gate.r_on_floor)
    )
    cached = _pays.get(cell)
    if cached is None or cached[0] != key:
        cached = (key, float(cell.gate.effective_params()[1].mean()) <= SPARSE_MAX_R_ON)
        _pays[cell] = cached
    return cached[1]


for cell_class, run_dense, run_events in (
    (PhasedLSTMCell, run_kernel, run_sparse),
    (PhasedGRUCell, run_gru_kernel, run_gru_sparse),
):
    register(
        Backend(
            "kernel",
            cell_class,
            run_dense,
            priority=20,
            available=_unavailable,
            accepts=_accepts,
        )
    )
    register(
        Backend(
            "sparse",
            cell_class,
            run_events,
            priority=30,
            available=_unavailable,
            accepts=_accepts,
            auto=_sparse_pays,
            inference_only=True,
            fallback="kernel",
        )
    )

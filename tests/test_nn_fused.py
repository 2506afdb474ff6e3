"""The fast recurrences (compiled kernel, torch with hand-written backward) against the
autograd reference: same outputs and same gradients for every parameter, time-gate
parameters included, across layer configurations."""

import os
import subprocess
import sys

import pytest
import torch

from sk_plstm.nn import IMPLEMENTATIONS, PhasedLSTM, kernel_available
from sk_plstm.nn.backends.torch_ops import _TorchRecurrence


def test_the_compiled_kernel_is_built():
    """A kernel that does not build fails the suite: its own tests would only be skipped.

    A machine without a C++ compiler, where the torch implementation is the intended
    path, says so with SK_PLSTM_ALLOW_NO_KERNEL=1 (or disables the kernel with
    SK_PLSTM_KERNEL=0).
    """
    from sk_plstm.nn.backends import cpu_kernel

    if (
        os.environ.get("SK_PLSTM_KERNEL") == "0"
        or os.environ.get("SK_PLSTM_ALLOW_NO_KERNEL") == "1"
    ):
        pytest.skip("the kernel is disabled or allowed to be missing on this machine")
    assert kernel_available(), (
        f"the compiled CPU kernel did not build ({cpu_kernel._kernel_error}); install a C++ "
        "compiler, or set SK_PLSTM_ALLOW_NO_KERNEL=1 to test the torch implementation alone"
    )


needs_kernel = pytest.mark.skipif(not kernel_available(), reason="the CPU kernel did not build")
FAST = [pytest.param("kernel", marks=needs_kernel), "torch"]


def _times(batch, steps, dtype=torch.float64):
    return torch.cumsum(torch.rand(batch, steps, dtype=dtype) + 0.05, dim=1)


def _run(layer, implementation, x, times, lengths=None, state=None, weights=None):
    """Outputs, final state and every parameter gradient of one forward/backward pass."""
    layer.implementation = implementation
    layer.zero_grad(set_to_none=True)
    if state is not None:
        state = tuple(s.detach().clone().requires_grad_(True) for s in state)
    out, (h, c) = layer(x, times, lengths, state)
    if weights is None:
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
    loss = (out * weights).sum() + 0.3 * h.sum() + 0.7 * c.pow(2).sum()
    loss.backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    if state is not None:
        grads["h0"], grads["c0"] = state[0].grad, state[1].grad
    return out.detach(), h.detach(), c.detach(), grads


def _assert_same(result, reference, rtol=1e-4, atol=1e-5):
    for a, b in zip(result[:3], reference[:3]):
        torch.testing.assert_close(a, b, rtol=rtol, atol=atol)
    assert result[3].keys() == reference[3].keys()
    for name in reference[3]:
        got, expected = result[3][name], reference[3][name]
        torch.testing.assert_close(
            got, expected, rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}"
        )


@pytest.mark.parametrize("implementation", FAST)
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize(
    "num_layers, bidirectional, bias", [(1, False, True), (2, True, True), (1, True, False)]
)
def test_same_outputs_and_gradients_as_autograd(
    implementation, mode, num_layers, bidirectional, bias
):
    torch.manual_seed(0)
    # wide open ratios so that most steps update; learn r_on too, to check its gradient
    layer = PhasedLSTM(
        3,
        6,
        num_layers=num_layers,
        bidirectional=bidirectional,
        bias=bias,
        tau_range=(0.5, 4.0),
        r_on=0.4,
        learn_r_on=True,
    )
    getattr(layer, mode)()
    x, times = torch.randn(4, 25, 3), _times(4, 25)
    lengths = torch.tensor([25, 17, 1, 9])
    reference = _run(layer, "autograd", x, times, lengths)
    result = _run(layer, implementation, x, times, lengths)
    _assert_same(result, reference)
    assert result[3]["cells.0.gate.r_on_logit"].abs().sum() > 0  # the r_on gradient is not empty


@pytest.mark.parametrize("implementation", FAST)
@pytest.mark.parametrize("times_dtype", [torch.float32, torch.float64, torch.int64])
def test_phase_dtype_follows_the_times(implementation, times_dtype):
    torch.manual_seed(1)
    layer = PhasedLSTM(2, 5, tau_range=(2.0, 9.0), r_on=0.3).train()
    x = torch.randn(3, 30, 2)
    times = torch.cumsum(torch.randint(1, 4, (3, 30)), 1).to(times_dtype)
    _assert_same(_run(layer, implementation, x, times), _run(layer, "autograd", x, times))


@pytest.mark.parametrize("implementation", FAST)
def test_initial_state_mask_and_time_major_layout(implementation):
    torch.manual_seed(2)
    layer = PhasedLSTM(2, 4, num_layers=2, batch_first=False, tau_range=(0.5, 3.0), r_on=0.5)
    x, times = torch.randn(12, 3, 2), _times(3, 12).T
    mask = torch.rand(12, 3) > 0.3
    state = (torch.randn(2, 3, 4), torch.randn(2, 3, 4))
    reference = _run(layer, "autograd", x, times, mask, state)
    _assert_same(_run(layer, implementation, x, times, mask, state), reference)


@pytest.mark.parametrize("implementation", FAST)
def test_long_sequence_with_large_absolute_times(implementation):
    # Unix-epoch-like times in float64 and 500 steps: the phase must keep its precision
    torch.manual_seed(3)
    layer = PhasedLSTM(1, 8, tau_range=(1.0, 50.0), r_on=0.1).train()
    x = torch.randn(2, 500, 1)
    times = 1.7e9 + torch.cumsum(torch.rand(2, 500, dtype=torch.float64) * 2, 1)
    _assert_same(_run(layer, implementation, x, times), _run(layer, "autograd", x, times))


@pytest.mark.parametrize("implementation", FAST)
def test_empty_sequences_and_single_sample(implementation):
    layer = PhasedLSTM(2, 3)
    layer.implementation = implementation
    out, (h, c) = layer(torch.randn(2, 0, 2), torch.zeros(2, 0, dtype=torch.float64))
    assert out.shape == (2, 0, 3) and torch.all(h == 0) and torch.all(c == 0)
    x, times = torch.randn(1, 5, 2), _times(1, 5)
    _assert_same(_run(layer, implementation, x, times), _run(layer, "autograd", x, times))


def test_torch_recurrence_passes_gradcheck_in_float64():
    torch.manual_seed(4)
    steps, batch, hidden = 5, 2, 3
    xp = torch.randn(steps, batch, 4 * hidden, dtype=torch.float64, requires_grad=True)
    k = torch.rand(steps, batch, hidden, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4 * hidden, hidden, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(batch, hidden, dtype=torch.float64, requires_grad=True)
    c0 = torch.randn(batch, hidden, dtype=torch.float64, requires_grad=True)
    for reverse in (False, True):
        assert torch.autograd.gradcheck(
            lambda *a, r=reverse: _TorchRecurrence.apply(*a, r), (xp, k, w, h0, c0)
        )


def test_auto_uses_the_kernel_only_where_it_can_run():
    layer = PhasedLSTM(2, 3).double()
    x, times = torch.randn(2, 4, 2, dtype=torch.float64), _times(2, 4)
    layer(x, times)  # float64 falls back to the torch implementation
    layer.implementation = "kernel"
    with pytest.raises((ValueError, RuntimeError), match="kernel"):
        layer(x, times)


def test_bad_implementation_is_rejected():
    with pytest.raises(ValueError, match="implementation must be one of"):
        PhasedLSTM(2, 3, implementation="cudnn")
    layer = PhasedLSTM(2, 3)
    with pytest.raises(ValueError, match="implementation must be one of"):
        layer.implementation = "fast"
    assert set(IMPLEMENTATIONS) == {"auto", "kernel", "sparse", "torch", "autograd", "triton"}


_WITHOUT_KERNEL = (
    "import warnings, torch\n"
    "from sk_plstm.nn import PhasedLSTM, kernel_available\n"
    "with warnings.catch_warnings(record=True) as caught:\n"
    "    warnings.simplefilter('always')\n"
    "    assert not kernel_available()\n"
    "print(len(caught), *[str(w.message) for w in caught])\n"
    "out, _ = PhasedLSTM(2, 3)(torch.randn(2, 4, 2), torch.rand(2, 4).cumsum(1))\n"
    "out.sum().backward()\n"
    "print('ok')\n"
)


def _without_kernel(**env):
    result = subprocess.run(
        [sys.executable, "-c", _WITHOUT_KERNEL],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().endswith("ok")
    return result.stdout


@pytest.mark.heavy
def test_kernel_can_be_disabled_and_the_layer_still_runs():
    assert _without_kernel(SK_PLSTM_KERNEL="0").split()[0] == "0"  # disabled: no warning


@pytest.mark.heavy
def test_without_a_compiler_the_layer_warns_once_and_falls_back(tmp_path):
    out = _without_kernel(CXX=str(tmp_path / "no-compiler"), TORCH_EXTENSIONS_DIR=str(tmp_path))
    assert out.startswith("1 sk_plstm could not build its CPU kernel")
    assert "SK_PLSTM_KERNEL=0" in out


def test_kernel_build_is_keyed_by_what_decides_the_binary(tmp_path, monkeypatch):
    from sk_plstm.nn.backends.cpu_kernel import SOURCE, kernel_build

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path / "cache"))
    code = open(SOURCE).read()
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "a" / "_kernel.cpp").write_text(code)  # two copies of the package
    (tmp_path / "b" / "_kernel.cpp").write_text(code)
    name_a, path_a = kernel_build(str(tmp_path / "a" / "_kernel.cpp"), ["-O3"])
    name_b, path_b = kernel_build(str(tmp_path / "b" / "_kernel.cpp"), ["-O3"])
    # one build for both: same name and the same source path, so neither rebuilds the other
    assert (name_a, path_a) == (name_b, path_b)
    assert path_a.startswith(str(tmp_path / "cache")) and open(path_a).read() == code
    # another kernel or other flags: another build, the first one left alone
    (tmp_path / "b" / "_kernel.cpp").write_text(code + "\n// changed\n")
    name_c, path_c = kernel_build(str(tmp_path / "b" / "_kernel.cpp"), ["-O3"])
    name_d, _ = kernel_build(str(tmp_path / "a" / "_kernel.cpp"), ["-O2"])
    assert len({name_a, name_c, name_d}) == 3 and open(path_a).read() == code


@pytest.mark.heavy
@needs_kernel
def test_a_second_copy_of_the_package_loads_the_same_build(tmp_path):
    import shutil

    import sk_plstm

    # a copy elsewhere (another checkout or environment), the same extensions cache
    shutil.copytree(os.path.dirname(sk_plstm.__file__), tmp_path / "sk_plstm")
    code = (
        "import time, sk_plstm\n"
        "from sk_plstm.nn import kernel_available\n"
        "start = time.perf_counter()\n"
        "print(sk_plstm.__file__, kernel_available(), time.perf_counter() - start)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    path, available, seconds = result.stdout.split()
    assert path.startswith(str(tmp_path)) and available == "True"
    assert "building" not in result.stderr  # loaded this process's build, no rebuild
    assert float(seconds) < 30


@pytest.mark.heavy
def test_a_build_says_that_it_builds_and_how_long_it_took(tmp_path):
    env = {"TORCH_EXTENSIONS_DIR": str(tmp_path), "CXX": str(tmp_path / "no-compiler")}
    result = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", _WITHOUT_KERNEL],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # an empty cache: the build is announced on stderr before it starts (here it fails)
    assert result.stderr.startswith("sk_plstm: building the CPU kernel, once for this version")


def test_a_build_reports_its_duration_and_a_cached_one_is_silent(tmp_path, monkeypatch, capsys):
    import torch.utils.cpp_extension as ext

    from sk_plstm.nn.backends import cpu_kernel as _fused

    monkeypatch.setenv("TORCH_EXTENSIONS_DIR", str(tmp_path))
    monkeypatch.setattr(ext, "load", lambda **kwargs: f"kernel {kwargs['name']}")
    for cached in (False, True):
        monkeypatch.setattr(_fused, "_kernel", None)
        monkeypatch.setattr(_fused, "_kernel_error", None)
        name, source = _fused.kernel_build()
        assert _fused._load_kernel() == f"kernel {name}"
        err = capsys.readouterr().err
        if cached:
            assert err == ""
        else:
            assert "building the CPU kernel" in err and "CPU kernel built in" in err
            open(os.path.join(os.path.dirname(source), f"{name}.so"), "w").close()


def _kernel_inputs(batch=2, steps=3, inputs=2, hidden=4):
    from sk_plstm.nn.backends.cpu_kernel import KERNEL_INPUTS

    tensors = (
        torch.randn(steps, batch, inputs),
        torch.rand(steps, batch, dtype=torch.float64).cumsum(0),
        torch.empty(0),
        torch.randn(4 * hidden, hidden + inputs),
        torch.randn(4 * hidden),
        torch.full((hidden,), 2.0),
        torch.zeros(hidden),
        torch.full((hidden,), 0.5),
        torch.zeros(batch, hidden),
        torch.zeros(batch, hidden),
    )
    return dict(zip(KERNEL_INPUTS, tensors))


@needs_kernel
@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("x", torch.randn(3, 2), "x must be \\(steps, batch, inputs\\)"),
        ("x", torch.randn(3, 2, 2, dtype=torch.float64), "x must be float32"),
        ("times", torch.rand(4, 2, dtype=torch.float64), "times must be \\(steps, batch\\)"),
        ("times", torch.zeros(3, 2, dtype=torch.int64), "times must be float32 or float64"),
        ("w", torch.randn(16, 5), "w must be \\(4 \\* hidden, hidden \\+ inputs\\)"),
        ("bias", torch.randn(15), "bias must be"),
        ("tau", torch.ones(3), "tau, shift and r_on must be"),
        ("h0", torch.zeros(3, 4), "h0 and c0 must be"),
        ("mask", torch.ones(3, 3), "mask must be empty or"),
        ("c0", torch.zeros(4, 2).t(), "c0 must be contiguous"),
    ],
)
def test_kernel_entry_points_check_their_arguments(name, bad, message):
    from sk_plstm.nn.backends import cpu_kernel as _fused

    _fused._load_kernel()
    kernel = _fused._kernel
    inputs = {**_kernel_inputs(), name: bad}
    for call in (
        lambda: kernel.forward(**inputs, leak=0.0, reverse=False, save=False),
        lambda: kernel.sparse_forward(**inputs, reverse=False),
    ):
        with pytest.raises(RuntimeError, match="sk_plstm kernel: " + message):
            call()


@needs_kernel
def test_kernel_takes_its_arguments_by_name_in_one_order():
    from sk_plstm.nn.backends import cpu_kernel as _fused

    _fused._load_kernel()
    inputs = _kernel_inputs()
    out, h_n, c_n, cs, acts = _fused._kernel.forward(**inputs, leak=0.0, reverse=False, save=True)
    assert acts.shape == (3, 2, 16)  # small: the gate activations are kept
    # the same call with the arguments in another order (by name) gives the same result
    again = _fused._kernel.forward(
        save=True, reverse=False, leak=0.0, **dict(reversed(list(inputs.items())))
    )
    assert all(torch.equal(a, b) for a, b in zip((out, h_n, c_n, cs, acts), again))
    upstream = dict(d_out=torch.ones_like(out), d_hn=torch.zeros_like(h_n), d_cn=c_n.sin())
    grads = _fused._kernel.backward(
        **upstream, **inputs, out=out, cs=cs, acts=acts, leak=0.0, reverse=False
    )
    assert [tuple(g.shape) for g in grads[:2]] == [(3, 2, 2), (16, 6)]
    # without the activations (long sequences of large batches) the backward pass
    # recomputes them, to the same gradients
    recomputed = _fused._kernel.backward(
        **upstream, **inputs, out=out, cs=cs, acts=torch.empty(0), leak=0.0, reverse=False
    )
    for g, r in zip(grads, recomputed):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)
    with pytest.raises(RuntimeError, match="d_out must be a contiguous float32"):
        _fused._kernel.backward(
            **{**upstream, "d_out": torch.ones(3, 2, 5)},
            **inputs,
            out=out,
            cs=cs,
            acts=acts,
            leak=0.0,
            reverse=False,
        )
    with pytest.raises(RuntimeError, match="acts must be empty or"):
        _fused._kernel.backward(
            **upstream, **inputs, out=out, cs=cs, acts=acts[:2], leak=0.0, reverse=False
        )


def _inference(layer, implementation, *args, **kwargs):
    layer.implementation = implementation
    with torch.no_grad():
        out, (h, c) = layer(*args, **kwargs)
    return out, h, c


@needs_kernel
@pytest.mark.parametrize("batch, hidden", [(3, 40), (36, 40)])
def test_backward_recomputes_the_activations_it_was_not_given(batch, hidden):
    # long sequences of large batches: the forward pass keeps no activations and the
    # backward pass recomputes them (both modes: units shared by threads, groups of the
    # batch), to the same gradients
    from sk_plstm.nn.backends import cpu_kernel as _fused

    _fused._load_kernel()
    torch.manual_seed(4)
    inputs = _kernel_inputs(batch=batch, steps=7, inputs=3, hidden=hidden)
    inputs["w"] = inputs["w"] * 0.3
    out, h_n, c_n, cs, acts = _fused._kernel.forward(**inputs, leak=0.01, reverse=True, save=True)
    upstream = dict(d_out=out.cos(), d_hn=h_n.sin(), d_cn=c_n.sin())
    kept, recomputed = (
        _fused._kernel.backward(
            **upstream, **inputs, out=out, cs=cs, acts=a, leak=0.01, reverse=True
        )
        for a in (acts, torch.empty(0))
    )
    for g, r in zip(kept, recomputed):
        torch.testing.assert_close(g, r, rtol=1e-5, atol=1e-6)


@needs_kernel
@pytest.mark.parametrize("batch", [1, 3, 16])
@pytest.mark.parametrize("r_on", [0.05, 0.3, 1.0])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_sparse_inference_matches_the_dense_path(batch, r_on, num_layers, bidirectional):
    torch.manual_seed(5)
    layer = PhasedLSTM(
        3, 24, num_layers=num_layers, bidirectional=bidirectional, tau_range=(1, 30), r_on=r_on
    ).eval()
    x, times = torch.randn(batch, 40, 3), _times(batch, 40)
    lengths = torch.randint(1, 41, (batch,))
    state = (torch.randn(num_layers * (1 + bidirectional), batch, 24),) * 2
    reference = _inference(layer, "autograd", x, times, lengths, state)
    for a, b in zip(_inference(layer, "sparse", x, times, lengths, state), reference):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@needs_kernel
@pytest.mark.parametrize(
    "batch, steps, hidden, r_on",
    [(9, 30, 24, 0.05), (9, 30, 33, 0.3), (9, 30, 16, 1.0), (48, 60, 64, 0.1)],
)
def test_sparse_inference_of_a_series_does_not_depend_on_its_batch(batch, steps, hidden, r_on):
    # the event-driven path computes each sample on its own, in one order: a series gets
    # the same bits alone, in any batch, at any position and with any number of threads
    # (r_on 1.0: all units open; 48 x 60 x 64: enough work for two threads)
    torch.manual_seed(8)
    layer = PhasedLSTM(2, hidden, batch_first=True, tau_range=(1, 20), r_on=r_on).eval()
    layer.implementation = "sparse"
    x = torch.randn(batch, steps, 2)
    times = _times(batch, steps)
    times[3:6] = times[2]  # samples at the same times share the openness of each step
    lengths = torch.randint(1, steps + 1, (batch,))
    lengths[:2] = steps
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        with torch.no_grad():
            whole, _ = layer(x, times, lengths)
            order = torch.randperm(batch)
            shuffled, _ = layer(x[order], times[order], lengths[order])
            torch.set_num_threads(1)
            alone = [
                layer(x[i : i + 1], times[i : i + 1], lengths[i : i + 1])[0] for i in range(batch)
            ]
    finally:
        torch.set_num_threads(before)
    assert torch.equal(shuffled, whole[order])
    assert all(torch.equal(a[0], whole[i]) for i, a in enumerate(alone))


@needs_kernel
def test_sparse_path_takes_the_weight_by_unit_or_makes_it():
    from sk_plstm.nn.backends import cpu_kernel as _fused

    _fused._load_kernel()
    inputs = _kernel_inputs(batch=3, steps=5, hidden=8)
    made = _fused._kernel.sparse_forward(**inputs, reverse=False)
    by_unit = inputs["w"].view(4, 8, -1).permute(1, 2, 0).contiguous()
    given = _fused._kernel.sparse_forward(**inputs, reverse=False, w_units=by_unit)
    assert all(torch.equal(a, b) for a, b in zip(made, given))
    with pytest.raises(RuntimeError, match="sk_plstm kernel: w_units must be empty or w regrouped"):
        _fused._kernel.sparse_forward(**inputs, reverse=False, w_units=inputs["w"])


@needs_kernel
def test_dense_path_takes_its_blocked_weights_or_makes_them():
    from sk_plstm.nn.backends import cpu_kernel as _fused

    _fused._load_kernel()
    inputs = _kernel_inputs(batch=3, steps=5, hidden=40)  # two blocks of units, one short
    made = _fused._kernel.forward(**inputs, leak=0.0, reverse=False, save=False)
    w_blocked, bias_blocked = _fused._kernel.block_weights(inputs["w"], inputs["bias"])
    given = _fused._kernel.forward(
        **inputs, leak=0.0, reverse=False, save=False, w_blocked=w_blocked,
        bias_blocked=bias_blocked,
    )  # fmt: skip
    assert all(torch.equal(a, b) for a, b in zip(made, given))
    with pytest.raises(RuntimeError, match="w_blocked and bias_blocked must be empty or w"):
        _fused._kernel.forward(
            **inputs, leak=0.0, reverse=False, save=False, w_blocked=w_blocked[1:],
            bias_blocked=bias_blocked,
        )  # fmt: skip


@needs_kernel
def test_inference_keeps_the_blocked_weights_until_a_parameter_changes():
    from sk_plstm.nn.backends import cpu_kernel as _fused

    torch.manual_seed(3)
    layer = PhasedLSTM(2, 16, implementation="kernel").eval()
    cell = layer.cells[0]
    x, times = torch.randn(2, 7, 2), _times(2, 7)
    with torch.no_grad():
        first, _ = layer(x, times)
        kept = _fused._weights[cell][2]["blocked"]
        again, _ = layer(x, times)
        assert _fused._weights[cell][2]["blocked"] is kept  # laid out once
        cell.weight_hh.mul_(0.5)
        changed, _ = layer(x, times)
    assert torch.equal(first, again)
    assert _fused._weights[cell][2]["blocked"] is not kept
    tracked, _ = layer(x, times)  # under autograd: laid out by the kernel, the same way
    assert tracked.requires_grad and torch.equal(tracked, changed)


@needs_kernel
def test_sparse_path_skips_closed_units_and_counts_its_updates():
    from sk_plstm.nn.backends import cpu_kernel as _fused

    torch.manual_seed(6)
    layer = PhasedLSTM(2, 50, tau_range=(5.0, 100.0), r_on=0.05).eval()
    x, times = torch.randn(4, 200, 2), _times(4, 200)
    cell = layer.cells[0]
    zeros = torch.zeros(4, 50)
    with torch.no_grad():
        args = _fused._kernel_args(cell, x.transpose(0, 1), times.T, None, zeros, zeros)
        *_, count = _fused._kernel.sparse_forward(
            **dict(zip(_fused.KERNEL_INPUTS, args)), reverse=False
        )
    per_unit = layer.update_counts(times)
    assert int(count) == pytest.approx(per_unit.sum().item() * 4)
    assert per_unit.mean() / 200 < 0.1  # about r_on of the steps update


def test_update_counts_respects_padding_and_the_time_layout():
    layer = PhasedLSTM(1, 6, num_layers=2, bidirectional=True, r_on=1.0)
    times = _times(3, 10)
    counts = layer.update_counts(times, torch.tensor([10, 5, 0]))
    assert counts.shape == (4, 6)
    # r_on = 1: open at every valid step except where the phase is exactly 0
    assert torch.all(counts <= 5) and counts.sum() > 0
    layer_tm = PhasedLSTM(1, 6, num_layers=2, bidirectional=True, r_on=1.0, batch_first=False)
    layer_tm.load_state_dict(layer.state_dict())
    torch.testing.assert_close(layer_tm.update_counts(times.T, torch.tensor([10, 5, 0])), counts)
    with pytest.raises(ValueError, match="times must be 1-D"):
        layer.update_counts(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="lengths"):
        layer.update_counts(times, torch.tensor([10, 11, 0]))


@needs_kernel
def test_sparse_trains_like_the_kernel_and_refuses_what_it_cannot_run():
    torch.manual_seed(7)
    layer = PhasedLSTM(2, 5, r_on=0.5, tau_range=(1, 5)).train()
    x, times = torch.randn(2, 8, 2), _times(2, 8)
    _assert_same(_run(layer, "sparse", x, times), _run(layer, "autograd", x, times))
    layer.double().eval()
    layer.implementation = "sparse"
    with torch.no_grad(), pytest.raises(ValueError, match="sparse"):
        layer(x.double(), times)


def test_pickled_cell_drops_the_cached_kernel_weights():
    import pickle

    layer = PhasedLSTM(2, 4).eval()
    with torch.no_grad():
        layer(torch.randn(1, 3, 2), _times(1, 3))
    clone = pickle.loads(pickle.dumps(layer))
    assert getattr(clone.cells[0], "_kernel_weights", None) is None
    with torch.no_grad():
        torch.testing.assert_close(
            clone(torch.ones(1, 3, 2), _times(1, 3) * 0 + 1)[0],
            layer(torch.ones(1, 3, 2), _times(1, 3) * 0 + 1)[0],
        )


def _gru_inputs(steps=4, batch=2, hidden=3):
    return {
        "xp": torch.randn(steps, batch, 3 * hidden),
        "k": torch.rand(steps, batch, hidden),
        "w_hh": torch.randn(3 * hidden, hidden),
        "b_hh": torch.randn(3 * hidden),
        "h0": torch.zeros(batch, hidden),
    }


@needs_kernel
@pytest.mark.parametrize(
    "name, bad, message",
    [
        ("xp", torch.randn(4, 2, 8), "xp must be"),
        ("k", torch.rand(4, 2, 2), "k must be"),
        ("w_hh", torch.randn(9, 4), "w_hh must be"),
        ("b_hh", torch.randn(8), "b_hh must be"),
        ("h0", torch.zeros(2, 3, dtype=torch.float64), "h0 must be float32"),
        ("xp", torch.randn(4, 9, 2).transpose(1, 2), "xp must be contiguous"),
    ],
)
def test_gru_kernel_checks_its_arguments(name, bad, message):
    from sk_plstm.nn.backends import cpu_kernel

    inputs = {**_gru_inputs(), name: bad}
    with pytest.raises(RuntimeError, match="sk_plstm GRU kernel: " + message):
        cpu_kernel._kernel.gru_forward(**inputs, reverse=False, save=False)


@needs_kernel
def test_gru_kernel_forward_is_the_torch_recurrence():
    from sk_plstm.nn.backends import cpu_kernel
    from sk_plstm.nn.backends.torch_ops import _TorchGRURecurrence

    inputs = _gru_inputs(steps=6, batch=3, hidden=5)
    for reverse in (False, True):
        out, h_n = cpu_kernel._kernel.gru_forward(**inputs, reverse=reverse, save=False)
        expected = _TorchGRURecurrence.apply(*inputs.values(), reverse)
        torch.testing.assert_close(out, expected[0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(h_n, expected[1], rtol=1e-5, atol=1e-6)


@needs_kernel
def test_gru_sparse_inference_is_per_sample_and_counts_its_updates():
    from sk_plstm.nn import PhasedGRU
    from sk_plstm.nn.backends import cpu_kernel

    torch.manual_seed(8)
    layer = PhasedGRU(2, 30, tau_range=(5.0, 100.0), r_on=0.05).eval()
    x, times = torch.randn(6, 120, 2), _times(6, 120)
    with torch.no_grad():
        layer.implementation = "autograd"
        expected, _ = layer(x, times)
        layer.implementation = "sparse"
        whole, _ = layer(x, times)
        alone = torch.cat([layer(x[i : i + 1], times[i : i + 1])[0] for i in range(6)])
        cell = layer.cells[0]
        *_, count = cpu_kernel._kernel.gru_sparse_forward(
            x=x.transpose(0, 1).contiguous(),
            k=cell.openness(times.T).float().contiguous(),
            w_ih=cell.weight_ih,
            b_ih=cell.bias_ih,
            w_hh=cell.weight_hh,
            b_hh=cell.bias_hh,
            h0=torch.zeros(6, 30),
            reverse=False,
        )
    torch.testing.assert_close(whole, expected, rtol=1e-5, atol=1e-6)
    assert torch.equal(whole, alone)  # a sample's outputs do not depend on the batch
    assert int(count) == pytest.approx(layer.update_counts(times).sum().item() * 6)


@needs_kernel
@pytest.mark.parametrize(
    "batch, steps, hidden, inputs, reverse",
    [
        (1, 6, 256, 3, False),
        (5, 7, 100, 4, True),
        (16, 10, 160, 2, False),
        (2, 9, 24, 5, True),
        (40, 30, 72, 2, False),
        (36, 140, 40, 3, True),
    ],
)
def test_kernel_threads_share_the_units_of_a_sequence(batch, steps, hidden, inputs, reverse):
    # the kernel runs a sequence on a team of threads that each own whole blocks of 32
    # hidden units (100 and 160 leave a short last block; a small step runs on one
    # thread) and meet once per step; at small hidden sizes (72, 40) with two groups of 16
    # samples or more, threads take groups of the batch instead (40 and 36: a short last
    # group; 140 steps: three chunks of the weight gradient). Every team gives the reference's
    # result, and the same bits whatever the number of threads
    layer = PhasedLSTM(inputs, hidden, batch_first=True, bidirectional=reverse)
    x = torch.randn(batch, steps, inputs, requires_grad=True)
    times = _times(batch, steps)
    lengths = torch.randint(1, steps + 1, (batch,))
    state = (torch.randn(2 if reverse else 1, batch, hidden),) * 2
    reference = _run(layer, "autograd", x, times, lengths, state)
    before = torch.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            torch.set_num_threads(threads)
            results.append(_run(layer, "kernel", x, times, lengths, state))
    finally:
        torch.set_num_threads(before)
    _assert_same(results[0], reference)
    for result in results[1:]:
        assert all(torch.equal(a, b) for a, b in zip(result[:3], results[0][:3]))
        assert all(torch.equal(result[3][n], results[0][3][n]) for n in reference[3])


_NO_BLAS = (
    "import torch\n"
    "from sk_plstm.nn import PhasedLSTM\n"
    "torch.manual_seed(0)\n"
    "torch.set_num_threads(2)\n"
    "layer = PhasedLSTM(3, 40, batch_first=True)\n"
    "for batch in (6, 36):  # threads owning units, then groups of the batch\n"
    "    x, t = torch.randn(batch, 5, 3), torch.rand(batch, 5).cumsum(1)\n"
    "    result = []\n"
    "    for implementation in ('autograd', 'kernel'):\n"
    "        layer.implementation = implementation\n"
    "        layer.zero_grad()\n"
    "        out, _ = layer(x, t)\n"
    "        out.pow(2).sum().backward()\n"
    "        grads = [p.grad.clone() for p in layer.parameters() if p.grad is not None]\n"
    "        result.append([out.detach(), *grads])\n"
    "    for a, b in zip(*result):\n"
    "        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)\n"
    "print('ok')\n"
)


@pytest.mark.heavy
@needs_kernel
def test_kernel_without_the_blas_runs_its_own_products():
    # where torch's BLAS cannot be found (other builds; forced here), the kernel's own
    # loops compute the products, to the same results
    result = subprocess.run(
        [sys.executable, "-c", _NO_BLAS],
        env={**os.environ, "SK_PLSTM_KERNEL_BLAS": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"

"""The Triton backend's kernels, run on the CPU through Triton's interpreter
(``TRITON_INTERPRET=1``): outputs and every gradient against the autograd reference at
sizes that take several batch and hidden tiles, reduced precision under autocast, and
how the backend is chosen or refused. On a GPU machine the same comparisons run on CUDA
(``test_cuda_matches_the_reference``)."""

import warnings

import pytest
import torch
from conftest import CUDA
from conftest import irregular_times as _times

from sk_plstm.nn import PhasedGRU, PhasedLSTM
from sk_plstm.nn.backends import _registry, registered, select, triton_gpu

pytest.importorskip("triton")


@pytest.fixture
def interpreter(monkeypatch):
    monkeypatch.setenv("TRITON_INTERPRET", "1")


def _grads(layer, implementation, x, times, lengths, state):
    layer.implementation = implementation
    layer.zero_grad(set_to_none=True)
    state = tuple(s.clone().requires_grad_(True) for s in state)
    out, (h, c) = layer(x, times, lengths, state)
    weights = torch.linspace(-1, 1, out.numel(), device=out.device).reshape(out.shape)
    ((out * weights).sum() + h.pow(2).sum() + 0.5 * c.sum()).backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    grads["h0"], grads["c0"] = state[0].grad, state[1].grad
    return out.detach(), h.detach(), c.detach(), grads


def _compare(layer, x, times, lengths, state, rtol=1e-4, atol=2e-5):
    reference = _grads(layer, "autograd", x, times, lengths, state)
    result = _grads(layer, "triton", x, times, lengths, state)
    for got, expected in zip(result[:3], reference[:3]):
        torch.testing.assert_close(got, expected, rtol=rtol, atol=atol)
    for name, expected in reference[3].items():
        torch.testing.assert_close(
            result[3][name], expected, rtol=rtol, atol=atol, msg=lambda m, n=name: f"{n}: {m}"
        )


@pytest.mark.parametrize(
    "batch, hidden, num_layers, bidirectional",
    [(20, 70, 1, False), (3, 16, 2, True), (17, 5, 1, True)],
)
def test_interpreted_kernels_match_the_reference(
    interpreter, batch, hidden, num_layers, bidirectional
):
    # 20 rows and 70 units: two batch tiles of 16 and two hidden tiles of 64, masked edges
    torch.manual_seed(0)
    layer = PhasedLSTM(
        3, hidden, num_layers=num_layers, bidirectional=bidirectional,
        tau_range=(0.5, 4.0), r_on=0.4, learn_r_on=True,
    ).train()  # fmt: skip
    steps = 7
    x, times = torch.randn(batch, steps, 3), _times(batch, steps)
    lengths = torch.randint(1, steps + 1, (batch,))
    n = num_layers * (1 + bidirectional)
    state = (torch.randn(n, batch, hidden), torch.randn(n, batch, hidden))
    _compare(layer, x, times, lengths, state)


def test_bfloat16_under_autocast_is_close_to_float32(interpreter):
    torch.manual_seed(1)
    layer = PhasedLSTM(2, 16, tau_range=(0.5, 4.0), r_on=0.5).train()
    x, times = torch.randn(4, 6, 2), _times(4, 6)
    layer.implementation = "autograd"
    expected, _ = layer(x, times)
    layer.implementation = "triton"
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, (h, c) = layer(x, times)
    assert out.dtype == torch.bfloat16
    torch.testing.assert_close(out.float(), expected, rtol=0.05, atol=0.03)
    out.float().sum().backward()
    assert layer.cells[0].gate.log_tau.grad is not None


def test_what_it_refuses_and_when_auto_takes_it(interpreter):
    cell = PhasedLSTM(2, 4).cells[0]
    x, state = torch.randn(3, 2, 2), (torch.zeros(2, 4),) * 2
    assert select("triton", cell, x, state).name == "triton"  # CPU, interpreted
    assert select("auto", cell, x, state).name != "triton"  # the CPU keeps its own kernel
    with pytest.raises(ValueError, match="'triton' takes float32, float16 or bfloat16"):
        select("triton", cell.double(), x.double(), tuple(s.double() for s in state))
    with pytest.raises(ValueError, match="'triton' does not run PhasedGRUCell"):
        PhasedGRU(2, 4, implementation="triton")(torch.randn(1, 3, 2), torch.arange(3.0))


def test_without_the_interpreter_cpu_tensors_are_refused(monkeypatch):
    monkeypatch.delenv("TRITON_INTERPRET", raising=False)
    cell = PhasedLSTM(2, 4).cells[0]
    with pytest.raises(ValueError, match="take CUDA tensors .*TRITON_INTERPRET=1"):
        select("triton", cell, torch.randn(3, 2, 2), (torch.zeros(2, 4),) * 2)


def test_a_missing_triton_is_named_and_auto_announces_it_once(monkeypatch):
    monkeypatch.setattr(triton_gpu, "_modules", {})
    monkeypatch.setattr(triton_gpu, "_error", "ModuleNotFoundError: No module named 'triton'")
    monkeypatch.setenv("TRITON_INTERPRET", "1")  # so that it would accept CPU tensors
    monkeypatch.setattr(_registry, "_announced", set())
    backend = next(b for b in registered() if b.name == "triton")
    monkeypatch.setitem(
        _registry._BACKENDS, ("triton", backend.cell), backend.__class__(
            **{**backend.__dict__, "auto": lambda cell: True}
        )
    )  # fmt: skip
    cell = PhasedLSTM(2, 4).cells[0]
    x, state = torch.randn(3, 2, 2), (torch.zeros(2, 4),) * 2
    with pytest.raises(RuntimeError, match=r'pip install -e "\.\[gpu\]"'):
        select("triton", cell, x, state)
    with pytest.warns(RuntimeWarning, match="'triton' backend would run these tensors"):
        chosen = select("auto", cell, x, state)
    assert chosen.name != "triton"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        select("auto", cell, x, state)  # once only


@CUDA
def test_cuda_matches_the_reference():
    torch.manual_seed(2)
    torch.backends.cuda.matmul.allow_tf32 = False
    layer = PhasedLSTM(3, 70, num_layers=2, bidirectional=True, r_on=0.4).cuda().train()
    x, times = torch.randn(40, 30, 3, device="cuda"), _times(40, 30).cuda()
    lengths = torch.randint(1, 31, (40,), device="cuda")
    state = (torch.randn(4, 40, 70, device="cuda"), torch.randn(4, 40, 70, device="cuda"))
    _compare(layer, x, times, lengths, state, rtol=1e-3, atol=1e-4)
    layer.implementation = "auto"
    assert select("auto", layer.cells[0], x.transpose(0, 1), (state[0][0],) * 2).name == "triton"

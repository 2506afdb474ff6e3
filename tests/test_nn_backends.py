"""Every registered recurrence backend against the autograd reference, for every cell it
runs: same outputs, final states and gradients of every parameter (time-gate parameters
included), with masks, both directions, stacked layers and an initial state. A backend
registered later (a GPU kernel) is picked up by the same test."""

import dataclasses

import pytest
import torch
from conftest import irregular_times as _times

from sk_plstm.nn import PhasedGRU, PhasedGRUCell, PhasedLSTM, PhasedLSTMCell, kernel_available
from sk_plstm.nn.backends import (
    SPARSE_MAX_R_ON,
    Backend,
    _registry,
    backend_names,
    recurrence,
    register,
    registered,
    select,
)

LAYERS = {PhasedLSTMCell: PhasedLSTM, PhasedGRUCell: PhasedGRU}


def _cases():
    cases = []
    for backend in registered():
        if backend.name == "autograd":
            continue
        for cell_class, layer_class in LAYERS.items():
            if issubclass(cell_class, backend.cell):
                cases.append(
                    pytest.param(backend, layer_class, id=f"{backend.name}-{cell_class.__name__}")
                )
    return cases


def _run(layer, implementation, x, times, mask, state, grad):
    layer.implementation = implementation
    layer.zero_grad(set_to_none=True)
    state = tuple(s.detach().clone().requires_grad_(grad) for s in state)
    with torch.set_grad_enabled(grad):
        args = (state,) if isinstance(layer, PhasedLSTM) else state
        out, final = layer(x, times, mask, *args)
        final = final if isinstance(final, tuple) else (final,)
        if not grad:
            return out, final, {}
        weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(7))
        loss = (out * weights).sum() + sum((i + 0.3) * s.pow(2).sum() for i, s in enumerate(final))
        loss.backward()
    grads = {n: p.grad for n, p in layer.named_parameters() if p.grad is not None}
    grads.update({f"state{i}": s.grad for i, s in enumerate(state)})
    return out.detach(), tuple(s.detach() for s in final), grads


@pytest.mark.parametrize("backend, layer_class", _cases())
@pytest.mark.parametrize("mode", ["train", "eval", "inference"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_backend_matches_the_autograd_reference(
    backend, layer_class, mode, num_layers, bidirectional, monkeypatch
):
    for name, value in backend.emulation.items():  # a GPU backend's CPU interpreter
        monkeypatch.setenv(name, value)
    reason = backend.available()
    if reason is not None:
        pytest.skip(reason)
    if backend.inference_only and mode != "inference":
        pytest.skip("inference only: its fallback is tested on its own")
    torch.manual_seed(0)
    layer = layer_class(
        3,
        6,
        num_layers=num_layers,
        bidirectional=bidirectional,
        tau_range=(0.5, 4.0),
        r_on=0.4,
        learn_r_on=True,
    )
    layer.train(mode == "train")
    x, times = torch.randn(4, 21, 3), _times(4, 21)
    mask = torch.rand(4, 21) > 0.2
    mask[:, 0] = True
    n_states = num_layers * (1 + bidirectional)
    state = tuple(torch.randn(n_states, 4, 6) for _ in layer_class.cell_class.state_names)
    refused = backend.accepts(
        layer.cells[0], x.transpose(0, 1), (state[0][0],), mode == "inference"
    )
    if refused is not None:
        pytest.skip(refused)
    grad = mode != "inference"
    reference = _run(layer, "autograd", x, times, mask, state, grad)
    result = _run(layer, backend.name, x, times, mask, state, grad)
    torch.testing.assert_close(result[0], reference[0], rtol=1e-4, atol=1e-5)
    for got, expected in zip(result[1], reference[1]):
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    assert result[2].keys() == reference[2].keys()
    for name, expected in reference[2].items():
        torch.testing.assert_close(
            result[2][name], expected, rtol=1e-4, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}"
        )
    if grad:
        assert result[2]["cells.0.gate.r_on_logit"].abs().sum() > 0


def test_every_builtin_backend_is_registered_and_named():
    assert set(backend_names()) == {"auto", "sparse", "triton", "kernel", "torch", "autograd"}
    runs = {(b.name, b.cell) for b in registered()}
    assert ("torch", PhasedGRUCell) in runs and ("kernel", PhasedGRUCell) in runs
    assert ("kernel", PhasedLSTMCell) in runs and ("sparse", PhasedGRUCell) in runs
    assert ("triton", PhasedGRUCell) not in runs
    assert [b.priority for b in registered()] == sorted(
        (b.priority for b in registered()), reverse=True
    )


def test_auto_picks_by_priority_where_a_backend_accepts():
    cell = PhasedGRUCell(2, 3)
    x, h = torch.randn(4, 2, 2), (torch.zeros(2, 3),)
    assert select("auto", cell, x, h).name == "kernel"  # the GRU's own kernel
    assert select("auto", cell.double(), x.double(), (h[0].double(),)).name == "torch"
    lstm = PhasedLSTMCell(2, 3).double()
    state = (torch.zeros(2, 3, dtype=torch.float64),) * 2
    assert select("auto", lstm, x.double(), state).name == "torch"  # float64: no kernel


@pytest.mark.skipif(not kernel_available(), reason="no compiled kernel")
@pytest.mark.parametrize("cell_class", [PhasedLSTMCell, PhasedGRUCell])
def test_auto_runs_inference_event_driven_while_few_units_open(cell_class):
    assert SPARSE_MAX_R_ON == 0.3  # the measured crossover (docs/performance.md)
    x = torch.randn(4, 2, 2)
    picked = {}
    for r_on in (0.05, 0.28, 0.35, 0.9):
        cell = cell_class(2, 3, r_on=r_on).eval()
        state = tuple(torch.zeros(2, 3) for _ in cell.state_names)
        with torch.no_grad():
            picked[r_on] = select("auto", cell, x, state).name
        assert select("auto", cell, x, state).name == "kernel"  # gradients: never sparse
    assert picked == {0.05: "sparse", 0.28: "sparse", 0.35: "kernel", 0.9: "kernel"}


def test_named_backend_that_cannot_run_says_why():
    cell = PhasedGRUCell(2, 3)
    x, h = torch.randn(4, 2, 2), (torch.zeros(2, 3),)
    with pytest.raises(ValueError, match="'triton' does not run PhasedGRUCell"):
        select("triton", cell, x, h)
    unavailable = dataclasses.replace(
        registered()[-1], name="nowhere", available=lambda: "no such device here"
    )
    register(unavailable)
    try:
        with pytest.raises(RuntimeError, match="'nowhere' is not available.*no such device"):
            select("nowhere", cell, x, h)
    finally:
        _registry._BACKENDS.pop(("nowhere", unavailable.cell))


def test_a_registered_backend_is_taken_by_auto_and_by_name():
    calls = []

    def run(cell, x, times, mask, state, reverse):
        calls.append(reverse)
        return registered()[-1].run(cell, x, times, mask, state, reverse)  # the reference

    probe = Backend("probe", PhasedGRUCell, run, priority=99)
    register(probe)
    try:
        assert "probe" in backend_names()
        layer = PhasedGRU(2, 3, bidirectional=True)
        out, h = layer(torch.randn(2, 5, 2), _times(2, 5))
        assert calls == [False, True]
        layer.implementation = "probe"
        layer(torch.randn(2, 5, 2), _times(2, 5))
        assert len(calls) == 4
        # the LSTM is untouched: the probe runs GRU cells only
        PhasedLSTM(2, 3)(torch.randn(2, 5, 2), _times(2, 5))
        assert len(calls) == 4
    finally:
        _registry._BACKENDS.pop(("probe", PhasedGRUCell))
    assert "probe" not in backend_names()


def test_recurrence_returns_the_state_in_the_cell_order():
    cell = PhasedLSTMCell(2, 3)
    x, times = torch.randn(5, 2, 2), _times(2, 5).T
    out, (h, c) = recurrence(cell, x, times, None, (torch.zeros(2, 3),) * 2)
    assert out.shape == (5, 2, 3) and torch.equal(out[-1], h) and c.shape == h.shape

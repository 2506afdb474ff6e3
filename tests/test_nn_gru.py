"""The Phased GRU: torch.nn.GRU's step when the gate is open, the exact gate semantics
(padded steps and closed units keep their state), the time reaching every layer, and its
torch recurrence's hand-written backward."""

import pytest
import torch
from conftest import irregular_times as _times
from conftest import torch_twin

from sk_plstm.nn import PhasedGRU, PhasedGRUCell, lengths_to_mask
from sk_plstm.nn.backends.torch_ops import _TorchGRURecurrence


def _layer(**kwargs):
    kwargs.setdefault("tau_range", (1.0, 5.0))
    kwargs.setdefault("r_on", 0.5)
    return PhasedGRU(3, 5, **kwargs)


def _gru_twin(cell):
    return torch_twin(cell, torch.nn.GRUCell)


def test_fully_open_step_is_an_ordinary_gru_step_and_partial_openness_blends():
    cell = PhasedGRUCell(3, 6)
    twin = _gru_twin(cell)
    x, h = torch.randn(4, 3), torch.randn(4, 6)
    (h1,) = cell.step(cell.project_input(x), torch.ones(4, 6), h)
    torch.testing.assert_close(h1, twin(x, h))
    k = torch.rand(4, 6)
    (h2,) = cell.step(cell.project_input(x), k, h)
    torch.testing.assert_close(h2, k * twin(x, h) + (1 - k) * h)


def test_cell_keeps_a_closed_unit_and_a_masked_step_exactly():
    cell = PhasedGRUCell(2, 4).eval()
    with torch.no_grad():
        cell.gate.set_(tau=10.0)
        cell.gate.set_(shift=0.0)
        cell.gate.set_(r_on=0.05)
    h = torch.randn(2, 4)
    assert torch.equal(cell(torch.randn(2, 2), torch.tensor([5.0, 7.0]), h), h)
    cell.train()
    h_open = cell(torch.randn(2, 2), torch.tensor([0.2, 0.3]), h, mask=torch.tensor([True, False]))
    assert torch.equal(h_open[1], h[1]) and not torch.equal(h_open[0], h[0])
    with pytest.raises(ValueError, match="state must be"):
        cell(torch.randn(2, 2), torch.zeros(2), torch.zeros(3, 4))


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, True)])
def test_padded_batch_equals_each_sequence_alone(num_layers, bidirectional, mode):
    layer = _layer(num_layers=num_layers, bidirectional=bidirectional)
    getattr(layer, mode)()
    lengths = [7, 3, 1, 5]
    x = torch.full((4, 7, 3), 99.0)
    t = torch.full((4, 7), 123.456, dtype=torch.float64)
    pieces = []
    for i, n in enumerate(lengths):
        xi, ti = torch.randn(n, 3), _times(1, n)[0]
        x[i, :n], t[i, :n] = xi, ti
        pieces.append((xi, ti))
    out, h = layer(x, t, torch.tensor(lengths))
    for i, (xi, ti) in enumerate(pieces):
        out_i, h_i = layer(xi[None], ti[None])
        torch.testing.assert_close(out[i, : len(xi)], out_i[0])
        assert torch.all(out[i, len(xi) :] == 0)
        torch.testing.assert_close(h[:, i], h_i[:, 0])
    torch.testing.assert_close(layer(x, t, lengths_to_mask(torch.tensor(lengths), 7))[0], out)


def test_eval_keeps_closed_units_exactly_and_every_layer_gets_the_times():
    layer = _layer(num_layers=2).eval()
    with torch.no_grad():
        for cell in layer.cells:
            cell.gate.set_(tau=100.0)
            cell.gate.set_(shift=0.0)
            cell.gate.set_(r_on=0.05)
    h0 = torch.randn(2, 2, 5)
    t = torch.linspace(10.0, 90.0, 20, dtype=torch.float64).expand(2, 20)  # phi in [0.1, 0.9]
    out, h = layer(torch.randn(2, 20, 3), t, h0=h0)
    assert torch.equal(h, h0)
    assert torch.equal(out, h0[1].unsqueeze(1).expand(2, 20, 5))
    out_open, _ = layer(torch.randn(2, 20, 3), t * 0 + 1.0, h0=h0)  # phi = 0.01: both open
    assert not torch.equal(out_open[:, -1], h0[1])


def test_backward_direction_and_gradients_of_every_layer():
    layer = _layer(num_layers=2, bidirectional=True, learn_r_on=True).train()
    out, h = layer(torch.randn(2, 10, 3), _times(2, 10), torch.tensor([10, 6]))
    assert out.shape == (2, 10, 10) and h.shape == (4, 2, 5)
    (out.sum() + h.sum()).backward()
    for cell in layer.cells:
        for p in (cell.gate.log_tau, cell.gate.shift, cell.gate.r_on_logit, cell.weight_hh):
            assert p.grad is not None and p.grad.abs().sum() > 0


def test_bad_input_is_rejected_with_its_name():
    layer = _layer()
    with pytest.raises(ValueError, match="x must be 3-D"):
        layer(torch.randn(2, 3), torch.zeros(2, 3))
    with pytest.raises(ValueError, match="h_0 must have shape"):
        layer(torch.randn(2, 4, 3), _times(2, 4), h0=torch.zeros(2, 2, 5))
    with pytest.raises(ValueError, match="implementation must be one of"):
        layer.implementation = "kernel-gru"


def test_torch_gru_recurrence_passes_gradcheck_in_float64():
    torch.manual_seed(4)
    steps, batch, hidden = 5, 2, 3
    f64 = dict(dtype=torch.float64, requires_grad=True)
    xp = torch.randn(steps, batch, 3 * hidden, **f64)
    k = torch.rand(steps, batch, hidden, **f64)
    w = torch.randn(3 * hidden, hidden, **f64)
    b = torch.randn(3 * hidden, **f64)
    h0 = torch.randn(batch, hidden, **f64)
    for reverse in (False, True):
        assert torch.autograd.gradcheck(
            lambda *a, r=reverse: _TorchGRURecurrence.apply(*a, r), (xp, k, w, b, h0)
        )


def test_state_dict_and_repr():
    layer = _layer(num_layers=2)
    clone = _layer(num_layers=2)
    clone.load_state_dict(layer.state_dict())
    x, t = torch.randn(2, 4, 3), _times(2, 4)
    torch.testing.assert_close(clone.eval()(x, t)[0], layer.eval()(x, t)[0])
    assert "PhasedGRUCell(\n      3, 5, bias=True" in repr(layer)
    assert layer.cells[0].weight_ih.shape == (15, 3)

import pytest
import torch
from conftest import torch_twin

from sk_plstm.nn import PhasedLSTMCell


def _lstm_twin(cell):
    return torch_twin(cell, torch.nn.LSTMCell)


def test_fully_open_step_is_an_ordinary_lstm_step():
    cell = PhasedLSTMCell(3, 6)
    twin = _lstm_twin(cell)
    x, h, c = torch.randn(4, 3), torch.randn(4, 6), torch.randn(4, 6)
    ones = torch.ones(4, 6)
    h1, c1 = cell.step(cell.project_input(x), ones, h, c)
    h2, c2 = twin(x, (h, c))
    torch.testing.assert_close(h1, h2)
    torch.testing.assert_close(c1, c2)


def test_partial_openness_blends_candidate_with_previous_state():
    cell = PhasedLSTMCell(2, 5)
    twin = _lstm_twin(cell)
    x, h, c = torch.randn(3, 2), torch.randn(3, 5), torch.randn(3, 5)
    k = torch.rand(3, 5)
    h1, c1 = cell.step(cell.project_input(x), k, h, c)
    h_tilde, c_tilde = twin(x, (h, c))  # the candidate uses c_{t-1}, not the blended c_t
    torch.testing.assert_close(c1, k * c_tilde + (1 - k) * c)
    torch.testing.assert_close(h1, k * h_tilde + (1 - k) * h)


def test_closed_unit_keeps_its_state_exactly_in_eval():
    cell = PhasedLSTMCell(2, 4).eval()
    with torch.no_grad():
        cell.gate.set_(tau=10.0)
        cell.gate.set_(shift=0.0)
        cell.gate.set_(r_on=0.05)
    h, c = torch.randn(2, 4), torch.randn(2, 4)
    h1, c1 = cell(torch.randn(2, 2), torch.tensor([5.0, 7.0]), (h, c))  # phi = 0.5, 0.7
    assert torch.equal(h1, h) and torch.equal(c1, c)
    cell.train()  # the leak lets a little through in training
    h2, _ = cell(torch.randn(2, 2), torch.tensor([5.0, 7.0]), (h, c))
    assert not torch.equal(h2, h)


def test_mask_leaves_state_untouched():
    cell = PhasedLSTMCell(2, 4).train()
    h, c = torch.randn(3, 4), torch.randn(3, 4)
    h1, c1 = cell(torch.randn(3, 2), torch.rand(3), (h, c), mask=torch.tensor([True, False, True]))
    assert torch.equal(h1[1], h[1]) and torch.equal(c1[1], c[1])


def test_default_state_is_zero_and_gradients_flow():
    cell = PhasedLSTMCell(2, 4)
    times = torch.tensor([0.3, 0.9], dtype=torch.float64)
    h, c = cell(torch.randn(2, 2), times)
    (h.sum() + c.sum()).backward()
    for name, p in cell.named_parameters():
        if p.requires_grad and name != "weight_hh":  # h_{t-1} = 0 gives weight_hh no gradient
            assert p.grad is not None, name


@pytest.mark.parametrize(
    "x, times, message",
    [
        (torch.randn(2, 3), torch.zeros(2), "x must have shape"),
        (torch.randn(2, 2), torch.zeros(3), "times must have shape"),
    ],
)
def test_bad_shapes_are_rejected(x, times, message):
    with pytest.raises(ValueError, match=message):
        PhasedLSTMCell(2, 4)(x, times)

import math

import pytest
import torch

from sk_plstm.nn import init_lstm_weights_, init_time_gate_


def test_time_gate_init_is_reproducible_with_a_generator():
    def draw(seed):
        tau, shift, r_on = torch.empty(50), torch.empty(50), torch.empty(50)
        init_time_gate_(tau, shift, r_on, (1.0, 100.0), 0.05, torch.Generator().manual_seed(seed))
        return tau, shift, r_on

    a, b, c = draw(3), draw(3), draw(4)
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not torch.equal(a[0], c[0])
    tau, shift, r_on = a
    assert (tau >= 1.0).all() and (tau <= 100.0).all()
    assert (shift >= 0).all() and (shift < tau).all()
    assert torch.all(r_on == 0.05)


def test_equal_bounds_give_a_fixed_period():
    tau, shift, r_on = torch.empty(8), torch.empty(8), torch.empty(8)
    init_time_gate_(tau, shift, r_on, (5.0, 5.0), 0.2)
    torch.testing.assert_close(tau, torch.full((8,), 5.0))


@pytest.mark.parametrize("tau_range", [(0.0, 1.0), (-1.0, 1.0), (3.0, 2.0), (1.0, math.nan)])
def test_bad_tau_range(tau_range):
    t = torch.empty(3)
    with pytest.raises(ValueError, match="tau_range"):
        init_time_gate_(t, t.clone(), t.clone(), tau_range, 0.05)


def test_lstm_weights_follow_torch_lstm_bounds():
    w = torch.empty(400, 25)
    init_lstm_weights_([w], hidden_size=100)
    assert w.abs().max() <= 0.1
    assert w.abs().max() > 0.09  # spread over the whole interval

import math

import pytest
import torch

from sk_plstm.nn import TimeGate, time_gate
from sk_plstm.nn._gate import R_ON_FLOOR, TAU_MIN


def _gate(tau, shift, r_on, leak=1e-3, **kwargs):
    gate = TimeGate(len(tau), leak=leak, **kwargs)
    with torch.no_grad():
        gate.set_(tau=torch.tensor(tau))
        gate.set_(shift=torch.tensor(shift))
        gate.set_(r_on=torch.tensor(r_on))
    return gate


def test_hand_computed_values_train_and_eval():
    # tau=10, s=1, r_on=0.2: phi = ((t - 1) mod 10) / 10; open on phi < 0.2.
    gate = _gate([10.0], [1.0], [0.2], leak=0.01)
    times = torch.tensor([1.0, 1.5, 2.0, 2.5, 3.0, 6.0, 11.5, 0.0], dtype=torch.float64)
    phi = [0.0, 0.05, 0.1, 0.15, 0.2, 0.5, 0.05, 0.9]
    expected_open = [0.0, 0.5, 1.0, 0.5]  # rising 2*phi/r_on, falling 2 - 2*phi/r_on
    train = gate.train()(times)[:, 0]
    expected_train = expected_open + [0.01 * 0.2, 0.01 * 0.5, 0.5, 0.01 * 0.9]
    torch.testing.assert_close(train, torch.tensor(expected_train), rtol=1e-5, atol=1e-6)
    eval_ = gate.eval()(times)[:, 0]
    expected_eval = expected_open + [0.0, 0.0, 0.5, 0.0]
    torch.testing.assert_close(eval_, torch.tensor(expected_eval), rtol=1e-5, atol=1e-6)
    assert phi[6] == pytest.approx(((11.5 - 1.0) % 10) / 10)


def test_negative_times_wrap_into_the_period():
    gate = _gate([4.0], [0.0], [0.5]).eval()
    # t = -3 is one unit past a period start: phi = 0.25 -> peak of the open phase.
    assert gate(torch.tensor([-3.0]))[0, 0].item() == pytest.approx(1.0)


def test_shapes_and_dtype():
    gate = TimeGate(5)
    k = gate(torch.rand(3, 7, dtype=torch.float64))
    assert k.shape == (3, 7, 5)
    assert k.dtype == torch.float32
    assert ((k >= 0) & (k <= 1)).all()


@pytest.mark.parametrize("frozen", [None, "tau", "shift", "r_on"])
def test_gradients_reach_learned_parameters_only(frozen):
    flags = {f"learn_{name}": name != frozen for name in ("tau", "shift", "r_on")}
    gate = _gate([3.0, 5.0], [0.5, 1.0], [0.4, 0.4], **flags).train()
    times = torch.linspace(0.0, 20.0, 97, dtype=torch.float64)
    gate(times).sum().backward()
    stored = {"tau": "log_tau", "shift": "shift", "r_on": "r_on_logit"}
    for name in ("tau", "shift", "r_on"):
        grad = getattr(gate, stored[name]).grad
        if name == frozen:
            assert grad is None, name
        else:
            assert grad is not None and torch.isfinite(grad).all() and (grad != 0).all(), name


def test_gradients_match_finite_differences():
    gate = _gate([3.0, 7.0], [0.3, 2.0], [0.3, 0.2], leak=0.05, learn_r_on=True)
    gate = gate.double().train()
    times = torch.tensor([[0.2, 1.3, 2.9, 4.4, 6.1, 9.9, 12.5]], dtype=torch.float64)  # no kink
    params = tuple(p.detach().clone().requires_grad_() for p in gate.effective_params())
    params = (params[0], gate.shift.detach().clone().requires_grad_(), params[1])
    assert torch.autograd.gradcheck(
        lambda tau, s, r: time_gate(times, tau, s, r, 0.05), params, eps=1e-7, atol=1e-5
    )


def test_float64_times_keep_the_phase_of_large_absolute_times():
    tau = 2.0**-7  # exactly representable, so only the precision of the times matters
    # a float64 gate: the stored log-period gives the period to float64 rounding
    gate = TimeGate(1).double().set_(tau=tau, shift=0.0, r_on=0.5).eval()
    base = 1.7e9  # Unix epoch seconds: float32 cannot resolve milliseconds here
    offsets = torch.tensor([0.25, 0.5, 0.75], dtype=torch.float64) * tau
    k = gate(base + offsets)[:, 0]
    # phi = 0.25, 0.5, 0.75 of the period: the peak of the open phase, then closed.
    torch.testing.assert_close(k, torch.tensor([1.0, 0.0, 0.0]).double(), atol=1e-3, rtol=0)
    # the same times rounded to float32 lose the phase
    k32 = gate((base + offsets).float())[:, 0]
    assert not torch.allclose(k32, torch.tensor([1.0, 0.0, 0.0]).double(), atol=1e-2)


def test_parameters_stay_in_range_with_a_gradient_everywhere():
    gate = TimeGate(4, r_on=0.5, learn_r_on=True).train()
    with torch.no_grad():
        gate.log_tau.copy_(torch.tensor([-60.0, -5.0, 0.0, 8.0]))
        gate.r_on_logit.copy_(torch.tensor([-15.0, -3.0, 3.0, 15.0]))
    tau, r_on = gate.effective_params()
    assert (tau >= TAU_MIN).all()
    assert (r_on >= R_ON_FLOOR).all() and (r_on <= 1.0).all() and (r_on > 0.009).all()
    times = torch.linspace(0.0, 3000.0, 20001, dtype=torch.float64)
    k = gate(times)
    assert torch.isfinite(k).all()
    # every unit, at the extremes of its parameters too, is open at some time ...
    assert (gate.eval()(times) > 0).any(dim=0).all()
    # ... and its open ratio and period get a gradient (a clamp would pass none)
    gate.train()(times).sum().backward()
    assert (gate.r_on_logit.grad != 0).all() and (gate.log_tau.grad[1:] != 0).all()


def test_set_writes_the_effective_values_and_old_files_load():
    gate = TimeGate(3, r_on=0.5, learn_r_on=True)
    gate.set_(tau=torch.tensor([2.0, 30.0, 400.0]), shift=1.5, r_on=torch.tensor([0.02, 0.3, 1.0]))
    tau, r_on = gate.effective_params()
    torch.testing.assert_close(tau, torch.tensor([2.0, 30.0, 400.0]))
    torch.testing.assert_close(r_on, torch.tensor([0.02, 0.3, 1.0]), rtol=1e-5, atol=1e-6)
    gate.set_(r_on=0.004)  # below the floor: the floor follows
    torch.testing.assert_close(gate.r_on, torch.full((3,), 0.004), rtol=1e-5, atol=1e-8)
    with pytest.raises(ValueError, match="tau"):
        gate.set_(tau=0.0)
    with pytest.raises(ValueError, match="r_on"):
        gate.set_(r_on=1.5)
    # a state dict of the earlier layout (tau and r_on stored as such)
    for learn in (True, False):
        new = TimeGate(3, r_on=0.5, learn_r_on=learn)
        old = {"tau": torch.tensor([2.0, 30.0, 0.0]), "shift": torch.zeros(3)}
        old["r_on"] = torch.tensor([0.0, 0.3, 1.2])  # clamped in use to [1e-6, 1]
        new.load_state_dict(old)
        tau, r_on = new.effective_params()
        torch.testing.assert_close(tau[:2], torch.tensor([2.0, 30.0]))
        assert 0 < tau[2] < 1e-5
        torch.testing.assert_close(r_on, torch.tensor([1e-6, 0.3, 1.0]), rtol=1e-4, atol=1e-7)


def test_initialisation_ranges():
    torch.manual_seed(1)
    gate = TimeGate(2000, tau_range=(2.0, 200.0), r_on=0.1)
    tau = gate.tau.detach()
    assert tau.min() >= 2.0 and tau.max() <= 200.0
    # log-uniform: about half of the periods below the geometric mean (20)
    assert 0.45 < (tau < 20.0).float().mean() < 0.55
    assert (gate.shift >= 0).all() and (gate.shift < tau).all()
    assert torch.all(gate.r_on == 0.1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"tau_range": (0.0, 1.0)}, "tau_range"),
        ({"tau_range": (5.0, 1.0)}, "tau_range"),
        ({"tau_range": (1.0, math.inf)}, "tau_range"),
        ({"r_on": 0.0}, "r_on"),
        ({"r_on": 1.5}, "r_on"),
        ({"leak": -1.0}, "leak"),
    ],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TimeGate(3, **kwargs)


def test_narrow_sets_fixed_ratios_and_moves_the_range_of_learned_ones():
    fixed = TimeGate(6, r_on=0.5)
    fixed.narrow_(0.2)
    torch.testing.assert_close(fixed.r_on.detach(), torch.full((6,), 0.2))
    learned = TimeGate(3, r_on=0.5, learn_r_on=True)
    learned.set_(r_on=torch.tensor([0.05, 0.3, 0.9]))
    share = (learned.r_on.detach() - 0.01) / 0.99
    learned.narrow_(0.2)
    # each unit keeps its place between the floor and the new bound
    torch.testing.assert_close(learned.r_on.detach(), 0.01 + 0.19 * share)
    assert (learned.r_on <= 0.2).all() and learned.r_on_logit.requires_grad
    assert not fixed.r_on_logit.requires_grad
    learned.narrow_(0.01)  # below twice the floor: the floor follows
    assert (learned.r_on <= 0.01).all() and (learned.r_on >= 0.005).all()
    with pytest.raises(ValueError, match="r_on"):
        learned.narrow_(0.0)

import copy

import pytest
import torch
from conftest import CUDA

from sk_plstm.nn import PhasedGRU, PhasedLSTM, lengths_to_mask


def _irregular_times(batch, steps):
    return torch.cumsum(torch.rand(batch, steps, dtype=torch.float64) + 0.05, dim=1)


def _layer(**kwargs):
    # wide gates so that most steps update the state, which makes comparisons meaningful
    kwargs.setdefault("tau_range", (1.0, 5.0))
    kwargs.setdefault("r_on", 0.5)
    return PhasedLSTM(3, 5, **kwargs)


@pytest.mark.parametrize(
    "num_layers, bidirectional", [(1, False), (2, False), (1, True), (3, True)]
)
def test_shapes(num_layers, bidirectional):
    layer = _layer(num_layers=num_layers, bidirectional=bidirectional)
    out, (h, c) = layer(torch.randn(4, 9, 3), _irregular_times(4, 9))
    d = 2 if bidirectional else 1
    assert out.shape == (4, 9, d * 5)
    assert h.shape == c.shape == (num_layers * d, 4, 5)


@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("num_layers, bidirectional", [(1, False), (2, False), (2, True)])
def test_padded_batch_equals_each_sequence_alone(num_layers, bidirectional, mode):
    layer = _layer(num_layers=num_layers, bidirectional=bidirectional)
    getattr(layer, mode)()
    lengths = [7, 3, 1, 5]
    xs = [torch.randn(n, 3) for n in lengths]
    ts = [_irregular_times(1, n)[0] for n in lengths]
    x = torch.zeros(4, 7, 3)
    t = torch.zeros(4, 7, dtype=torch.float64)
    for i, (xi, ti) in enumerate(zip(xs, ts)):
        x[i, : len(xi)] = xi
        t[i, : len(ti)] = ti
        t[i, len(ti) :] = 123.456  # arbitrary padding values must not matter
        x[i, len(xi) :] = 99.0
    out, (h, c) = layer(x, t, torch.tensor(lengths))
    for i, (xi, ti) in enumerate(zip(xs, ts)):
        out_i, (h_i, c_i) = layer(xi[None], ti[None])
        n = len(xi)
        torch.testing.assert_close(out[i, :n], out_i[0])
        assert torch.all(out[i, n:] == 0)
        torch.testing.assert_close(h[:, i], h_i[:, 0])
        torch.testing.assert_close(c[:, i], c_i[:, 0])


def test_mask_and_lengths_agree_and_a_hole_in_the_mask_is_skipped():
    layer = _layer().eval()
    x, t = torch.randn(2, 6, 3), _irregular_times(2, 6)
    lengths = torch.tensor([6, 4])
    a = layer(x, t, lengths)
    b = layer(x, t, lengths_to_mask(lengths, 6))
    torch.testing.assert_close(a[0], b[0])
    mask = torch.ones(1, 6, dtype=torch.bool)
    mask[0, 2] = False
    out_hole, _ = layer(x[:1], t[:1], mask)
    keep = torch.tensor([0, 1, 3, 4, 5])
    out_dropped, _ = layer(x[:1, keep], t[:1, keep])
    torch.testing.assert_close(out_hole[0, keep], out_dropped[0])


def test_every_layer_receives_the_timestamps():
    layer = _layer(num_layers=2).eval()
    x = torch.randn(2, 8, 3)
    t = torch.arange(8, dtype=torch.float64).expand(2, 8) * 10.0
    with torch.no_grad():  # second layer: period 10, open on phi < 0.1, phase 0.5 at every step
        layer.cells[1].gate.set_(tau=10.0)
        layer.cells[1].gate.set_(shift=5.0)
        layer.cells[1].gate.set_(r_on=0.1)
    out, (h, _) = layer(x, t)
    assert torch.all(out == 0) and torch.all(h[1] == 0)  # layer 2 closed at every step
    assert not torch.all(h[0] == 0)  # layer 1 still computed
    out_open, _ = layer(x, t + 5.5)  # phi = 0.05 puts layer 2's gate at its peak
    assert not torch.all(out_open == 0)


def test_stack_equals_layers_run_one_after_another():
    stack = _layer(num_layers=2, bidirectional=True).eval()
    first = _layer(bidirectional=True).eval()
    second = PhasedLSTM(10, 5, bidirectional=True).eval()
    first.cells = torch.nn.ModuleList(stack.cells[:2])
    second.cells = torch.nn.ModuleList(stack.cells[2:])
    x, t = torch.randn(3, 5, 3), _irregular_times(3, 5)
    out, (h, _) = stack(x, t)
    mid, (h1, _) = first(x, t)
    out2, (h2, _) = second(mid, t)
    torch.testing.assert_close(out, out2)
    torch.testing.assert_close(h, torch.cat([h1, h2]))


def test_backward_direction_reads_the_sequence_reversed():
    layer = _layer(bidirectional=True).eval()
    forward_only = _layer().eval()
    forward_only.cells = torch.nn.ModuleList([layer.cells[1]])
    x, t = torch.randn(1, 6, 3), _irregular_times(1, 6)
    out, (h, _) = layer(x, t)
    rev, (h_rev, _) = forward_only(x.flip(1), t.flip(1))
    torch.testing.assert_close(out[..., 5:], rev.flip(1))
    torch.testing.assert_close(h[1], h_rev[0])


def test_eval_keeps_closed_units_exactly_over_a_sequence():
    layer = _layer().eval()
    with torch.no_grad():
        layer.cells[0].gate.set_(tau=100.0)
        layer.cells[0].gate.set_(shift=0.0)
        layer.cells[0].gate.set_(r_on=0.05)
    h0, c0 = torch.randn(1, 2, 5), torch.randn(1, 2, 5)
    t = torch.linspace(10.0, 90.0, 20, dtype=torch.float64).expand(2, 20)  # phi in [0.1, 0.9]
    out, (h, c) = layer(torch.randn(2, 20, 3), t, state=(h0, c0))
    assert torch.equal(h, h0) and torch.equal(c, c0)
    assert torch.equal(out, h0[0].unsqueeze(1).expand(2, 20, 5))


def test_batch_first_false_and_shared_times():
    layer = _layer(num_layers=2)
    layer_t = _layer(num_layers=2, batch_first=False)
    layer_t.load_state_dict(layer.state_dict())
    x, t = torch.randn(3, 7, 3), torch.linspace(0, 6, 7, dtype=torch.float64)
    out, (h, _) = layer.eval()(x, t)  # 1-D times shared by the batch
    out_t, (h_t, _) = layer_t.eval()(x.transpose(0, 1), t.expand(3, 7).transpose(0, 1))
    torch.testing.assert_close(out, out_t.transpose(0, 1))
    torch.testing.assert_close(h, h_t)


def test_gradients_reach_time_parameters_of_every_layer():
    layer = _layer(num_layers=2, bidirectional=True, learn_r_on=True).train()
    out, _ = layer(torch.randn(2, 10, 3), _irregular_times(2, 10), torch.tensor([10, 6]))
    out.sum().backward()
    for cell in layer.cells:
        for p in (cell.gate.log_tau, cell.gate.shift, cell.gate.r_on_logit, cell.weight_ih):
            assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0


def test_dropout_only_in_training():
    layer = _layer(num_layers=2, dropout=0.5)
    x, t = torch.randn(2, 5, 3), _irregular_times(2, 5)
    layer.eval()
    torch.testing.assert_close(layer(x, t)[0], layer(x, t)[0])
    layer.train()
    torch.manual_seed(0)
    a = layer(x, t)[0]
    torch.manual_seed(1)
    assert not torch.allclose(a, layer(x, t)[0])


@pytest.mark.parametrize(
    "args, message",
    [
        ((torch.randn(2, 5, 4), torch.zeros(2, 5)), "channels"),
        ((torch.randn(2, 5), torch.zeros(2, 5)), "3-D"),
        ((torch.randn(2, 5, 3), torch.zeros(2, 4)), "times must have shape"),
        ((torch.randn(2, 5, 3), torch.zeros(2, 5), torch.tensor([5, 6])), "lengths must lie"),
        ((torch.randn(2, 5, 3), torch.zeros(2, 5), torch.tensor([5.0, 2.0])), "lengths must be"),
        ((torch.randn(2, 5, 3), torch.zeros(2, 5), torch.ones(2, 4, dtype=torch.bool)), "mask"),
        (
            (torch.randn(2, 5, 3), torch.zeros(2, 5), None, (torch.zeros(1, 2, 4),) * 2),
            "state must be",
        ),
    ],
)
def test_bad_input_is_rejected(args, message):
    with pytest.raises(ValueError, match=message):
        _layer()(*args)


def test_bad_settings_are_rejected():
    with pytest.raises(ValueError, match="num_layers"):
        PhasedLSTM(2, 3, num_layers=0)
    with pytest.raises(ValueError, match="dropout"):
        PhasedLSTM(2, 3, dropout=1.0)


@CUDA
def test_cuda_matches_cpu_outputs_and_gradients():
    layer = _layer(num_layers=2, bidirectional=True, learn_r_on=True).train()
    x, t = torch.randn(3, 12, 3), _irregular_times(3, 12)
    lengths = torch.tensor([12, 7, 2])
    gpu = copy.deepcopy(layer).cuda()
    out, (h, c) = layer(x, t, lengths)
    out_g, (h_g, c_g) = gpu(x.cuda(), t.cuda(), lengths.cuda())
    torch.testing.assert_close(out_g.cpu(), out, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(h_g.cpu(), h, rtol=1e-4, atol=1e-5)
    (out.sum() + c.sum()).backward()
    (out_g.sum() + c_g.sum()).backward()
    for (name, p), p_g in zip(layer.named_parameters(), gpu.parameters()):
        torch.testing.assert_close(p_g.grad.cpu(), p.grad, rtol=1e-3, atol=1e-4, msg=name)


def test_gate_openness_is_the_eval_time_gate_of_every_cell_and_zero_on_padding():
    from sk_plstm.nn import time_gate

    layer = PhasedLSTM(2, 5, num_layers=2, bidirectional=True, tau_range=(1.0, 20.0), r_on=0.3)
    times = torch.cumsum(torch.rand(3, 40, dtype=torch.float64), dim=1)
    lengths = torch.tensor([40, 25, 1])
    k = layer.gate_openness(times, lengths)
    assert k.shape == (4, 3, 40, 5)
    for i, cell in enumerate(layer.cells):
        tau, r_on = cell.gate.effective_params()
        expected = time_gate(times, tau, cell.gate.shift, r_on, 0.0)
        torch.testing.assert_close(k[i, 0], expected[0])
        torch.testing.assert_close(k[i, 1, :25], expected[1, :25])
    assert (k[:, 1, 25:] == 0).all() and (k[:, 2, 1:] == 0).all()
    assert (k > 0).any() and (k == 0).any()
    # time-major input gives the same, batch first
    layer.batch_first = False
    torch.testing.assert_close(layer.gate_openness(times.T, lengths), k)
    counts = layer.update_counts(times.T, lengths)
    torch.testing.assert_close(counts, (k > 0).sum(dim=2).float().mean(dim=1))


@pytest.mark.parametrize("layer_class", [PhasedLSTM, PhasedGRU])
def test_final_states_without_outputs_are_the_same_and_train_the_same(layer_class):
    torch.manual_seed(0)
    layer = layer_class(3, 8, num_layers=2, batch_first=True, tau_range=(1, 10), r_on=0.3)
    x = torch.randn(4, 12, 3)
    times = torch.cumsum(torch.rand(4, 12, dtype=torch.float64) + 0.1, 1)
    lengths = torch.tensor([12, 5, 9, 1])
    grads = []
    for outputs in (True, False):
        layer.zero_grad()
        out, state = layer._forward(x, times, lengths, None, outputs=outputs)
        assert (out is None) == (not outputs)
        state[0][-1].sum().backward()
        grads.append([p.grad.clone() for p in layer.parameters() if p.requires_grad])
        if outputs:
            expected = [s.detach() for s in state]
    assert all(torch.equal(a, b.detach()) for a, b in zip(expected, state))
    assert all(torch.equal(a, b) for a, b in zip(*grads))

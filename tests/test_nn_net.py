import torch

from sk_plstm.nn import PhasedLSTMNet


def test_output_is_head_of_final_state_of_last_valid_step():
    net = PhasedLSTMNet(2, 3, hidden_size=4, tau_range=(1.0, 4.0), r_on=0.5).eval()
    values = torch.randn(2, 6, 2)
    times = torch.arange(6, dtype=torch.float64).expand(2, 6)
    lengths = torch.tensor([6, 3])
    out = net(values, times, lengths)
    assert out.shape == (2, 3)
    alone = net(values[1:, :3], times[1:, :3], torch.tensor([3]))
    torch.testing.assert_close(out[1:], alone)
    _, (h, _) = net.plstm(values, times, lengths)
    torch.testing.assert_close(out, net.head(h[-1]))


def test_bidirectional_summary_uses_both_directions():
    net = PhasedLSTMNet(1, 2, hidden_size=3, num_layers=2, bidirectional=True).eval()
    assert net.head.in_features == 6
    values, times = torch.randn(4, 5, 1), torch.rand(4, 5).cumsum(1).double()
    assert net(values, times).shape == (4, 2)


def test_gradients_reach_every_parameter_through_the_net():
    net = PhasedLSTMNet(2, 2, hidden_size=4, num_layers=2, tau_range=(1.0, 3.0), r_on=0.5).train()
    values, times = torch.randn(3, 8, 2), torch.rand(3, 8).cumsum(1).double()
    loss = torch.nn.functional.cross_entropy(net(values, times), torch.tensor([0, 1, 1]))
    loss.backward()
    for name, p in net.named_parameters():
        if p.requires_grad:
            assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_padding_beyond_the_longest_sequence_is_skipped():
    net = PhasedLSTMNet(2, 2, hidden_size=4, tau_range=(1.0, 3.0), r_on=0.5).eval()
    values, times = torch.randn(3, 9, 2), torch.rand(3, 9).cumsum(1).double()
    lengths = torch.tensor([4, 2, 3])
    torch.testing.assert_close(
        net(values, times, lengths), net(values[:, :4], times[:, :4], lengths)
    )

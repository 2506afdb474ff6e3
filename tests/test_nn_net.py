import pytest
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


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_inference_gives_a_series_the_same_output_whatever_the_batch(cell):
    # sparse gates take the event-driven path (dot products per sample), and the head
    # sums each row's own products: a prediction does not depend on the rest of the batch
    torch.manual_seed(0)
    net = PhasedLSTMNet(3, 2, hidden_size=16, cell=cell, r_on=0.05).eval()
    values = torch.randn(7, 30, 3)
    times = torch.cumsum(torch.rand(7, 30, dtype=torch.float64) + 0.1, dim=1)
    lengths = torch.tensor([30, 12, 5, 30, 1, 17, 29])
    with torch.no_grad():
        whole = net(values, times, lengths)
        alone = torch.cat(
            [net(values[i : i + 1], times[i : i + 1], lengths[i : i + 1]) for i in range(7)]
        )
        trained_head = net.head(net.dropout(torch.zeros(1, 16)))
    assert torch.equal(whole, alone)
    torch.testing.assert_close(net._head(torch.zeros(1, 16)), trained_head)

import math

import numpy as np
import pytest
import torch

from sk_plstm.nn import InputEncoding, NetworkStream, PhasedLSTMNet, channel_summary
from sk_plstm.nn._features import SUMMARY_STATS, split_inputs


def _masked_batch(seed=0, batch=3, steps=9, channels=2):
    g = torch.Generator().manual_seed(seed)
    m = (torch.rand(batch, steps, channels, generator=g) > 0.4).float()
    x = torch.randn(batch, steps, channels, generator=g) * m
    t = torch.cumsum(torch.rand(batch, steps, generator=g, dtype=torch.float64) + 0.1, 1)
    return torch.cat([x, m], -1), t


def test_gaps_and_deltas_by_hand():
    # one series, two channels: a observed at rows 0 and 2, b at row 1
    x = torch.tensor([[[1.0, 0.0], [0.0, 5.0], [3.0, 0.0]]])
    m = torch.tensor([[[1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]])
    t = torch.tensor([[10.0, 12.0, 17.0]], dtype=torch.float64)
    enc = InputEncoding(2, masked=True, gaps=True, level=True)
    out, _ = enc(torch.cat([x, m], -1), t)
    assert out.shape == (1, 3, enc.out_size) and enc.out_size == 4 + 3 + 2
    gap = out[0, :, 4]
    torch.testing.assert_close(gap, torch.log1p(torch.tensor([0.0, 2.0, 5.0])))
    # delta: time since the channel's last observation before the row (since the start if none)
    delta = out[0, :, 5:7]
    expected = torch.tensor([[0.0, 0.0], [2.0, 2.0], [7.0, 5.0]])
    torch.testing.assert_close(delta, torch.log1p(expected))
    # level: value minus the channel's first observation, 0 where unobserved
    level = out[0, :, 7:9]
    torch.testing.assert_close(level, torch.tensor([[0.0, 0.0], [0.0, 0.0], [2.0, 0.0]]))
    torch.testing.assert_close(out[0, :, :4], torch.cat([x, m], -1)[0])


def test_without_masks_only_the_row_gap():
    enc = InputEncoding(3, masked=False, gaps=True, level=False)
    values, t = torch.randn(2, 4, 3), torch.arange(4.0).expand(2, 4)
    out, _ = enc(values, t)
    assert enc.out_size == 4
    torch.testing.assert_close(
        out[..., 3], torch.log1p(torch.tensor([0.0, 1.0, 1.0, 1.0])).expand(2, 4)
    )


def test_channel_summary_matches_numpy():
    values, _ = _masked_batch(1, batch=4, steps=12, channels=3)
    lengths = torch.tensor([12, 7, 1, 12])
    stats, _ = channel_summary(values, 3, lengths)
    assert stats.shape == (4, 12, len(SUMMARY_STATS) * 3)
    x, m = split_inputs(values, 3)
    for b in range(4):
        last = int(lengths[b]) - 1
        final = stats[b, last].view(len(SUMMARY_STATS), 3)
        for c in range(3):
            seen = [float(x[b, t, c]) for t in range(last + 1) if m[b, t, c] > 0]
            if not seen:
                torch.testing.assert_close(final[:, c], torch.zeros(6))
                continue
            a = np.array(seen)
            expected = [math.log1p(len(a)), a.mean(), a.std(), a.min(), a.max(), a[-1]]
            torch.testing.assert_close(
                final[:, c], torch.tensor(expected, dtype=torch.float32), atol=1e-5, rtol=1e-5
            )


@pytest.mark.parametrize("split", [1, 4, 8])
def test_pieces_continue_from_the_state(split):
    values, t = _masked_batch(2)
    enc = InputEncoding(2, masked=True, gaps=True, level=True)
    whole, _ = enc(values, t)
    first, state = enc(values[:, :split], t[:, :split])
    rest, _ = enc(values[:, split:], t[:, split:], state)
    torch.testing.assert_close(torch.cat([first, rest], 1), whole)
    stats, _ = channel_summary(values, 2)
    a, s = channel_summary(values[:, :split], 2)
    b, _ = channel_summary(values[:, split:], 2, None, s)
    torch.testing.assert_close(torch.cat([a, b], 1), stats)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"time_inputs": True},
        {"level_inputs": True},
        {"readout": "summary"},
        {"time_inputs": True, "level_inputs": True, "readout": "summary", "cell": "gru"},
    ],
)
def test_network_streams_what_it_predicts(kwargs):
    torch.manual_seed(0)
    net = PhasedLSTMNet(4, 3, hidden_size=8, n_channels=2, r_on=0.5, **kwargs).eval()
    values, t = _masked_batch(3, batch=1, steps=12)
    with torch.no_grad():
        whole = net(values, t)
    for stream in (net.stream(), NetworkStream(net)):
        pieces = torch.cat(
            [stream.update(values[0, :5], t[0, :5]), stream.update(values[0, 5:], t[0, 5:])]
        )
        torch.testing.assert_close(pieces[-1], whole[0], atol=1e-5, rtol=1e-5)
    outputs, _ = net.step_outputs(values, t)
    torch.testing.assert_close(outputs[0, -1], whole[0], atol=1e-5, rtol=1e-5)


def test_network_sizes_and_errors():
    net = PhasedLSTMNet(4, 2, hidden_size=5, n_channels=2, time_inputs=True, readout="summary")
    assert net.plstm.input_size == 4 + 1 + 2 and net.head.in_features == 5 + 12
    with pytest.raises(ValueError, match="readout"):
        PhasedLSTMNet(2, 2, readout="mean")
    with pytest.raises(ValueError, match="input_size"):
        PhasedLSTMNet(3, 2, n_channels=2)
    # lengths: the summary of a shorter series stops at its last valid row
    values, t = _masked_batch(4, batch=2, steps=10)
    net.eval()
    with torch.no_grad():
        padded = net(values, t, torch.tensor([10, 6]))
        alone = net(values[1:, :6], t[1:, :6], torch.tensor([6]))
    torch.testing.assert_close(padded[1], alone[0], atol=1e-5, rtol=1e-5)

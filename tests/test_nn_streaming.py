"""Tests of sk_plstm.nn._streaming: a layer fed event by event gives what it gives on the
whole series, on the kernel's event-driven path and on the layer's own forward."""

import pytest
import torch

from sk_plstm.nn import LayerStream, PhasedGRU, PhasedLSTM, kernel_available

needs_kernel = pytest.mark.skipif(not kernel_available(), reason="no compiled kernel")


def _series(steps=40, inputs=3):
    torch.manual_seed(1)
    return torch.randn(steps, inputs), torch.cumsum(torch.rand(steps, dtype=torch.float64) + 0.1, 0)


@pytest.mark.parametrize("layer_class", [PhasedLSTM, PhasedGRU])
@pytest.mark.parametrize("num_layers, batch_first", [(1, True), (2, True), (2, False)])
def test_pieces_give_the_whole_series(layer_class, num_layers, batch_first):
    torch.manual_seed(0)
    layer = layer_class(
        3, 16, num_layers=num_layers, batch_first=batch_first, tau_range=(1, 20), r_on=0.2
    ).eval()
    x, times = _series()
    with torch.no_grad():
        if batch_first:
            whole, state = layer(x[None], times[None])
        else:
            whole, state = layer(x[:, None], times[:, None])
            whole = whole.transpose(0, 1)
    stream = layer.stream()
    # one event as (inputs,) with a float time, then chunks of several events
    pieces = [stream.update(x[0], float(times[0]))]
    for start, stop in [(1, 5), (5, 6), (6, 40)]:
        pieces.append(stream.update(x[start:stop], times[start:stop]))
    torch.testing.assert_close(torch.cat(pieces), whole[0], rtol=1e-5, atol=1e-6)
    expected = state if isinstance(state, tuple) else (state,)
    for a, b in zip(stream.state, expected):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert stream.last_time == pytest.approx(float(times[-1]))


@needs_kernel
def test_the_lstm_streams_on_the_kernel_and_follows_parameter_changes():
    torch.manual_seed(0)
    layer = PhasedLSTM(3, 16, tau_range=(1, 20), r_on=0.1)
    x, times = _series()
    stream = layer.stream()
    assert stream._kernel is not None  # the kernel's stream
    first = stream.update(x[:10], times[:10])
    with torch.no_grad():
        layer.cells[0].weight_hh.mul_(0.5)  # in place, as an optimiser step
        layer.eval()
        whole, _ = layer(x[None], times[None])
    stream.reset()
    again = torch.cat([stream.update(x[i], times[i]) for i in range(40)])
    torch.testing.assert_close(again, whole[0], rtol=1e-5, atol=1e-6)
    assert not torch.allclose(first, again[:10])
    assert layer.training is False  # the stream left the mode alone


def test_the_generic_path_keeps_the_layer_mode_and_starts_from_a_given_state():
    torch.manual_seed(0)
    layer = PhasedGRU(3, 8, tau_range=(1, 20))  # training mode
    x, times = _series(10)
    h0 = torch.randn(1, 1, 8)
    out = layer.stream((h0,)).update(x, times)
    assert layer.training
    layer.eval()
    with torch.no_grad():
        whole, _ = layer(x[None], times[None], h0=h0)
    torch.testing.assert_close(out, whole[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda s, x, t: s.update(x[:, :2], t), r"x must have shape \(events, 3\)"),
        (lambda s, x, t: s.update(x[:3], t[:2]), "x has 3 events but times has 2"),
        (lambda s, x, t: s.update(x[:3], t[[0, 2, 1]]), "strictly increasing"),
        (lambda s, x, t: s.update(x[0], float("nan")), "times must be finite"),
        (
            lambda s, x, t: (s.update(x[:3], t[:3]), s.update(x[3], t[1])),
            "must come after the last one fed",
        ),
    ],
)
def test_bad_events_are_refused_by_name(make, message):
    layer = PhasedLSTM(3, 8).eval()
    x, times = _series(10)
    with pytest.raises(ValueError, match=message) as refused:
        make(layer.stream(), x, times)
    # the layer's forward path (float64) refuses them in the same words
    with pytest.raises(ValueError) as generic:
        make(layer.double().stream(), x.double(), times)
    assert str(generic.value) == str(refused.value)


@needs_kernel
def test_the_kernel_stream_gives_the_event_driven_forward_to_the_bit():
    torch.manual_seed(0)
    layer = PhasedLSTM(3, 32, num_layers=2, tau_range=(1, 20), r_on=0.05, implementation="sparse")
    layer.eval()
    x, times = _series(60)
    h0, c0 = torch.randn(2, 1, 32), torch.randn(2, 1, 32)
    with torch.no_grad():
        whole, (h_n, c_n) = layer(x[None], times[None], state=(h0, c0))
    stream = layer.stream((h0, c0))
    assert stream.last_time is None
    # events as a user has them: numpy rows, float64 tensors, lists, Python floats
    pieces = [
        stream.update(x[0].numpy(), times[0].item()),
        stream.update(x[1:5].double(), times[1:5].tolist()),
        *(stream.update(x[i], times[i]) for i in range(5, 60)),
    ]
    assert torch.equal(torch.cat(pieces), whole[0])
    assert torch.equal(stream.state[0], h_n) and torch.equal(stream.state[1], c_n)
    assert stream.last_time == times[-1].item()
    assert stream.reset().last_time is None
    assert torch.equal(stream.state[0], torch.zeros(2, 1, 32))


@needs_kernel
def test_a_parameter_changed_between_events_is_followed_at_once():
    torch.manual_seed(0)
    layer = PhasedLSTM(3, 16, tau_range=(1, 20), r_on=1.0).eval()
    x, times = _series(6)
    stream, twin = layer.stream(), layer.stream()
    stream.update(x[:3], times[:3])
    twin.update(x[:3], times[:3])
    with torch.no_grad():
        layer.cells[0].bias_hh.add_(1.0)
    changed = stream.update(x[3:], times[3:])
    assert torch.equal(changed, twin.update(x[3:], times[3:]))  # both see the new bias
    with torch.no_grad():
        layer.cells[0].bias_hh.sub_(1.0)
        unchanged = PhasedLSTM(3, 16, tau_range=(1, 20), r_on=1.0)
        unchanged.load_state_dict(layer.state_dict())
    other = unchanged.eval().stream()
    other.update(x[:3], times[:3])
    assert not torch.allclose(changed, other.update(x[3:], times[3:]))


def test_a_bidirectional_layer_or_a_bad_state_cannot_stream():
    with pytest.raises(ValueError, match="bidirectional"):
        PhasedLSTM(3, 8, bidirectional=True).stream()
    with pytest.raises(ValueError, match="the state must be"):
        LayerStream(PhasedLSTM(3, 8), (torch.zeros(1, 2, 8), torch.zeros(1, 2, 8)))


@needs_kernel
def test_a_layer_cast_after_its_stream_was_made_goes_on_from_the_same_state():
    torch.manual_seed(0)
    layer = PhasedLSTM(3, 16, tau_range=(1, 20), r_on=0.3).eval()
    x, times = _series(12)
    stream = layer.stream()
    first = stream.update(x[:6], times[:6])
    layer.double()  # the kernel cannot run float64: the layer's forward takes over
    rest = stream.update(x[6:], times[6:])
    assert stream._kernel is None and rest.dtype == torch.float64
    with torch.no_grad():
        whole, _ = layer(x[None].double(), times[None])
    torch.testing.assert_close(torch.cat([first.double(), rest]), whole[0], rtol=1e-5, atol=1e-6)
    assert stream.last_time == times[-1].item()


@pytest.mark.parametrize("layer_class", [PhasedLSTM, PhasedGRU])
def test_a_copied_or_pickled_stream_goes_on_where_it_was(layer_class):
    import copy
    import pickle

    torch.manual_seed(0)
    layer = layer_class(3, 8, tau_range=(1, 20), r_on=0.3).eval()
    x, times = _series(10)
    stream = layer.stream()
    stream.update(x[:4], times[:4])
    copied, pickled = copy.deepcopy(stream), pickle.loads(pickle.dumps(stream))
    expected = stream.update(x[4:], times[4:])
    for other in (copied, pickled):
        assert other.last_time == times[3].item()
        torch.testing.assert_close(other.update(x[4:], times[4:]), expected)
        with pytest.raises(ValueError, match="after the last one fed"):
            other.update(x[0], times[0])

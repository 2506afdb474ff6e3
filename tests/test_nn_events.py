"""Input by index (sk_plstm.nn.EventInput): every backend, training and inference, and
streaming against the dense one-hot rows the events stand for (outputs and gradients)."""

import numpy as np
import pytest
import torch
from conftest import irregular_times as _times

from sk_plstm.nn import EventInput, PhasedGRU, PhasedLSTM, kernel_available
from sk_plstm.nn._events import project
from sk_plstm.nn.backends import registered

needs_kernel = pytest.mark.skipif(not kernel_available(), reason="the CPU kernel did not build")
LAYERS = {"PhasedLSTMCell": PhasedLSTM, "PhasedGRUCell": PhasedGRU}


def _events(batch, steps, channels, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    indices = torch.randint(-1, channels, (batch, steps, k), generator=g)
    indices[:, :, 0] = torch.randint(0, channels, (batch, steps), generator=g)
    values = torch.randn(batch, steps, k, generator=g)
    return EventInput(indices, channels, values)


def _cases():
    cases = []
    for backend in registered():
        for cell_name, layer_class in LAYERS.items():
            if any(c.__name__ == cell_name for c in layer_class.cell_class.__mro__) and issubclass(
                layer_class.cell_class, backend.cell
            ):
                cases.append(pytest.param(backend, layer_class, id=f"{backend.name}-{cell_name}"))
    return cases


def _run(layer, x, times, lengths, grad):
    layer.zero_grad(set_to_none=True)
    with torch.set_grad_enabled(grad):
        out, final = layer(x, times, lengths)
        final = final if isinstance(final, tuple) else (final,)
        if grad:
            weights = torch.randn(out.shape, generator=torch.Generator().manual_seed(3))
            ((out * weights).sum() + sum(s.pow(2).sum() for s in final)).backward()
    grads = {n: p.grad.clone() for n, p in layer.named_parameters() if p.grad is not None}
    return out.detach(), [s.detach() for s in final], grads


@pytest.mark.parametrize("backend, layer_class", _cases())
@pytest.mark.parametrize("mode", ["train", "inference"])
@pytest.mark.parametrize("batch, hidden", [(4, 6), (40, 20)])
def test_events_by_index_give_what_their_dense_rows_give(
    backend, layer_class, mode, batch, hidden, monkeypatch
):
    # (40, 20): the kernel's batch-sliced mode; (4, 6): units shared by threads
    for name, value in backend.emulation.items():
        monkeypatch.setenv(name, value)
    reason = backend.available()
    if reason is not None:
        pytest.skip(reason)
    if backend.inference_only and mode != "inference":
        pytest.skip("inference only")
    layer = layer_class(
        50, hidden, num_layers=2, bidirectional=True, tau_range=(0.5, 4.0), r_on=0.3,
        learn_r_on=True,
    )  # fmt: skip
    layer.train(mode == "train")
    events, times = _events(batch, 17, 50), _times(batch, 17)
    lengths = torch.randint(1, 18, (batch,), generator=torch.Generator().manual_seed(1))
    refused = backend.accepts(layer.cells[0], events.to_dense(), (torch.zeros(batch, hidden),),
                              mode == "inference")  # fmt: skip
    if refused is not None:
        pytest.skip(refused)
    grad = mode == "train"
    layer.implementation = "autograd"
    expected = _run(layer, events.to_dense(), times, lengths, grad)
    layer.implementation = backend.name
    got = _run(layer, events, times, lengths, grad)
    torch.testing.assert_close(got[0], expected[0], rtol=1e-4, atol=1e-5)
    for g, e in zip(got[1], expected[1]):
        torch.testing.assert_close(g, e, rtol=1e-4, atol=1e-5)
    assert got[2].keys() == expected[2].keys()
    for name, e in expected[2].items():
        scale = e.abs().max().clamp(min=1.0)  # gate gradients sum over every step
        torch.testing.assert_close(
            got[2][name] / scale, e / scale, rtol=1e-4, atol=1e-5, msg=lambda m, n=name: f"{n}: {m}"
        )


@needs_kernel
@pytest.mark.parametrize("batch, hidden", [(3, 40), (36, 40)])
def test_kernel_recomputes_the_activations_of_events_by_index(batch, hidden):
    # long sequences drop the kept activations: the backward pass recomputes them from
    # the input projection, to the same gradients (both batch modes)
    from sk_plstm.nn.backends import cpu_kernel

    cpu_kernel._load_kernel()
    g = torch.Generator().manual_seed(2)
    steps = 9
    inputs = dict(
        x=torch.empty(steps, batch, 0),
        times=torch.rand(steps, batch, dtype=torch.float64, generator=g).cumsum(0),
        mask=torch.empty(0),
        w=torch.randn(4 * hidden, hidden, generator=g) * 0.3,
        bias=torch.randn(4 * hidden, generator=g),
        tau=torch.full((hidden,), 2.0),
        shift=torch.zeros(hidden),
        r_on=torch.full((hidden,), 0.5),
        h0=torch.zeros(batch, hidden),
        c0=torch.zeros(batch, hidden),
        xp=torch.randn(steps, batch, 4 * hidden, generator=g),
    )
    out, h_n, c_n, cs, acts = cpu_kernel._kernel.forward(
        **inputs, leak=0.01, reverse=True, save=True
    )
    upstream = dict(d_out=out.cos(), d_hn=h_n.sin(), d_cn=c_n.sin())
    kept, recomputed = (
        cpu_kernel._kernel.backward(
            **upstream, **inputs, out=out, cs=cs, acts=a, leak=0.01, reverse=True
        )  # fmt: skip
        for a in (acts, torch.empty(0))
    )
    assert kept[-1].shape == (steps, batch, 4 * hidden)
    for k, r in zip(kept, recomputed):
        torch.testing.assert_close(k, r, rtol=1e-5, atol=1e-6)


@needs_kernel
def test_kernel_refuses_a_projection_of_the_wrong_shape():
    from sk_plstm.nn.backends import cpu_kernel

    cpu_kernel._load_kernel()
    args = dict(
        times=torch.zeros(2, 1, dtype=torch.float64), mask=torch.empty(0),
        w=torch.zeros(8, 2), bias=torch.zeros(8), tau=torch.ones(2), shift=torch.zeros(2),
        r_on=torch.ones(2), h0=torch.zeros(1, 2), c0=torch.zeros(1, 2),
    )  # fmt: skip
    with pytest.raises(RuntimeError, match="xp must be empty or a contiguous float32"):
        cpu_kernel._kernel.forward(x=torch.empty(2, 1, 0), xp=torch.zeros(2, 1, 7), leak=0.0,
                                   reverse=False, save=False, **args)  # fmt: skip
    args["w"] = torch.zeros(8, 5)
    with pytest.raises(RuntimeError, match="with xp, x must have no channels"):
        cpu_kernel._kernel.forward(x=torch.zeros(2, 1, 3), xp=torch.zeros(2, 1, 8), leak=0.0,
                                   reverse=False, save=False, **args)  # fmt: skip


def test_unused_channels_get_no_gradient_and_used_ones_do():
    layer = PhasedLSTM(30, 4, implementation="torch")
    events = EventInput(torch.tensor([[[3, -1], [7, 3]]]), 30)
    out, _ = layer(events, torch.tensor([[0.0, 1.0]]))
    out.sum().backward()
    touched = layer.cells[0].weight_ih.grad.abs().sum(0) > 0
    assert touched.nonzero().flatten().tolist() == [3, 7]


def test_time_major_layers_take_time_major_events():
    layer = PhasedLSTM(20, 5, batch_first=False).eval()
    events, times = _events(3, 8, 20), _times(3, 8)
    with torch.no_grad():
        first, _ = layer(events.transpose(0, 1), times.t())
        dense, _ = layer(events.to_dense().transpose(0, 1), times.t())
    torch.testing.assert_close(first, dense, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ the container
def test_to_dense_sums_the_values_of_a_channel_given_twice():
    events = EventInput(torch.tensor([[[2, 2, -1]]]), 4, torch.tensor([[[1.5, 2.0, 9.0]]]))
    assert events.to_dense().tolist() == [[[0.0, 0.0, 3.5, 0.0]]]
    assert events.shape == (1, 1, 4)


def test_from_dense_round_trips():
    x = torch.zeros(2, 3, 6)
    x[0, 0, 1], x[0, 0, 4], x[1, 2, 5] = 1.0, -2.0, 0.5
    events = EventInput.from_dense(x)
    assert events.indices.shape == (2, 3, 2)
    torch.testing.assert_close(events.to_dense(), x)
    torch.testing.assert_close(project(events, torch.eye(6)), x)


def test_from_streams_groups_events_at_one_time_into_one_step():
    events, times, lengths = EventInput.from_streams(
        [np.array([0.0, 0.0, 0.0, 2.0]), []], [[1, 4, 1, 3], []], 5, [[1, 2, 3, 4], []]
    )
    assert lengths.tolist() == [2, 0]
    assert times.dtype == torch.float64 and times[0].tolist() == [0.0, 2.0]
    assert events.indices[0, 0].tolist() == [1, 4, 1]
    assert events.to_dense()[0, 0].tolist() == [0.0, 4.0, 0.0, 0.0, 2.0]
    assert (events.indices[1] == -1).all()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: EventInput(torch.tensor([[[5]]]), 5), r"indices must lie in \[0, 5\)"),
        (lambda: EventInput(torch.tensor([[[-2]]]), 5), r"indices must lie in"),
        (lambda: EventInput(torch.tensor([[[0.5]]]), 5), "indices must be integers"),
        (lambda: EventInput(torch.tensor([[1, 2]]), 5), "indices must be 3-D"),
        (lambda: EventInput(torch.tensor([[[1]]]), 5, torch.ones(1, 2, 1)), "values must have"),
        (lambda: EventInput(torch.tensor([[[1]]]), 5, torch.tensor([[[np.nan]]])), "finite"),
        (lambda: EventInput(torch.tensor([[[1]]]), 0), "input_size must be >= 1"),
        (lambda: EventInput.from_streams([[1.0, 0.0]], [[0, 1]], 3), "non-decreasing"),
        (lambda: EventInput.from_streams([[0.0]], [[3]], 3), r"channels must lie in \[0, 3\)"),
        (lambda: EventInput.from_streams([[0.0]], [[0.5]], 3), "channels must be integers"),
        (lambda: EventInput.from_streams([[0.0, 1.0]], [[0]], 3), "one entry per event"),
        (lambda: EventInput.from_streams([[np.inf]], [[0]], 3), "times must be finite"),
    ],
)
def test_bad_events_are_refused_with_a_message(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_a_layer_refuses_events_of_another_number_of_channels():
    with pytest.raises(ValueError, match="20 channels"):
        PhasedLSTM(20, 4)(_events(1, 3, 21), _times(1, 3))


# ------------------------------------------------------------------ streaming
@pytest.mark.parametrize("layer_class", [PhasedLSTM, PhasedGRU])
def test_streamed_events_give_the_whole_series_outputs(layer_class):
    layer = layer_class(300, 16, num_layers=2, r_on=0.1).eval()
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 200, 80)).astype(float)
    channels, values = rng.integers(0, 300, 80), rng.normal(size=80)
    events, times, _ = EventInput.from_streams([t], [channels], 300, [values])
    with torch.no_grad():
        whole, _ = layer(events, times)
    stream = layer.stream()
    cut = int(np.searchsorted(t, t[30]))
    pieces = [
        stream.update_events(t[:cut], channels[:cut], values[:cut]),
        stream.update_events(t[cut:], channels[cut:], values[cut:]),
    ]
    torch.testing.assert_close(torch.cat(pieces), whole[0], rtol=1e-5, atol=1e-6)
    assert stream.last_time == t[-1]
    with pytest.raises(ValueError, match="must come after the last one fed"):
        stream.update_events([t[-1]], [0])


@needs_kernel
def test_a_streamed_event_costs_the_same_whatever_the_number_of_channels():
    # the kernel streams the events' projection: no column of the input weight is read
    # beyond the events' own (a dense row would read all 100,000)
    layer = PhasedLSTM(100_000, 8).eval()
    stream = layer.stream()
    assert stream._kernel is not None
    out = stream.update_events(np.arange(50.0), np.arange(50) * 1999)
    assert out.shape == (50, 8)


@pytest.mark.parametrize("layer_class", [PhasedLSTM, PhasedGRU])
@pytest.mark.parametrize(
    "times, channels, values, message",
    [
        ([0.0, 1.0], [0, 30], None, r"the events: channels must lie in \[0, 30\), got 0 .. 30"),
        ([1.0, 0.0], [0, 1], None, r"the events: times must be non-decreasing"),
        ([0.0, np.inf], [0, 1], None, "the events: times must be finite"),
        ([0.0, 1.0], [0, 1], [1.0, np.nan], "the events: values must be finite"),
        ([0.0, 1.0], [0], None, "one entry per event, got 2, 1 and"),
        ([0.0], [0.5], None, "the events: channels must be integers"),
    ],
)
def test_streamed_events_by_index_are_checked_alike_on_every_path(
    layer_class, times, channels, values, message
):
    # the kernel (Phased LSTM) and the layer's forward (Phased GRU) give the same messages
    stream = layer_class(30, 4).eval().stream()
    with pytest.raises(ValueError, match=message):
        stream.update_events(times, channels, values)
    assert stream.update_events([0.0, 0.0, 2.0], [1, 2, 3]).shape == (2, 4)  # state intact

"""The network contract: the estimators use a network only through EstimatorNetwork."""

import numpy as np
import pytest
import torch
from torch import nn

from sk_plstm import PhasedLSTMClassifier
from sk_plstm.nn import EstimatorNetwork, PhasedLSTMNet, TimeGate


def test_the_estimators_network_implements_the_contract():
    net = PhasedLSTMNet(
        input_size=3, output_size=4, hidden_size=5, num_layers=2, bidirectional=True
    )
    assert isinstance(net, EstimatorNetwork)
    assert (net.output_size, net.bidirectional) == (4, True)
    gates = net.time_gates()
    assert len(gates) == 4 and all(isinstance(g, TimeGate) for g in gates)
    assert gates == [cell.gate for cell in net.plstm.cells]  # the cells' order
    times = torch.arange(7, dtype=torch.float64).expand(2, 7)
    assert net.update_counts(times).shape == (4, 5)
    assert net.gate_openness(times).shape == (4, 2, 7, 5)
    assert net.device == torch.device("cpu")


def test_the_contract_is_abstract_and_its_optional_parts_say_what_is_missing():
    with pytest.raises(TypeError, match="abstract"):
        EstimatorNetwork()

    class NoGates(EstimatorNetwork):
        def forward(self, values, times, lengths=None):
            return values.sum(dim=1)

    net = NoGates()
    assert net.time_gates() == [] and net.device == torch.device("cpu")
    with pytest.raises(NotImplementedError, match="NoGates has no time gates"):
        net.update_counts(torch.zeros(1, 2))
    with pytest.raises(NotImplementedError, match="cannot run step by step"):
        net.step_outputs(torch.zeros(1, 2, 1), torch.zeros(1, 2))


class MeanNet(EstimatorNetwork):
    """A network without time gates: a linear head on the channel means."""

    def __init__(self, input_size, output_size, **kwargs):
        super().__init__()
        self.head = nn.Linear(input_size, output_size)
        self.output_size = output_size

    def forward(self, values, times, lengths=None):
        return self.head(values.mean(dim=1))


class MeanClassifier(PhasedLSTMClassifier):
    def _module_spec(self, output_size):
        return MeanNet, {"input_size": self.n_channels_, "output_size": output_size}


class NotANetwork(PhasedLSTMClassifier):
    def _module_spec(self, output_size):
        return nn.Linear, {"in_features": 1, "out_features": output_size}


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2, 6))
    return X, (X[:, 0].mean(axis=1) > 0).astype(int)


def test_any_network_on_the_contract_trains_through_the_estimators():
    X, y = _data()
    clf = MeanClassifier(max_epochs=3, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (20, 2)
    assert not hasattr(clf, "initial_gates_")  # nothing gate-specific was asked of it


def test_a_network_outside_the_contract_is_refused_by_name():
    X, y = _data()
    with pytest.raises(TypeError, match="does not implement sk_plstm.nn.EstimatorNetwork"):
        NotANetwork(max_epochs=1).fit(X, y)


class CumulativeNet(EstimatorNetwork):
    """A network that streams by step_outputs only: a running sum of its inputs."""

    output_size = 1

    def forward(self, values, times, lengths=None):
        return values.sum(dim=(1, 2))[:, None]

    def step_outputs(self, values, times, state=None):
        self.modes = [*getattr(self, "modes", []), (self.training, torch.is_grad_enabled())]
        running = values.sum(dim=2).cumsum(dim=1) + (0.0 if state is None else state)
        return running[..., None], running[:, -1:]


def test_the_default_stream_carries_the_networks_own_state():
    stream = CumulativeNet().stream()
    values = torch.arange(12.0).view(6, 2)
    times = torch.arange(6.0, dtype=torch.float64)
    first, rest = stream.update(values[:2], times[:2]), stream.update(values[2:], times[2:])
    whole = CumulativeNet()(values[None], times[None])
    assert torch.equal(torch.cat([first, rest])[-1], whole[0])
    assert rest.shape == (4, 1) and not rest.requires_grad
    # each call ran in evaluation mode without gradients, and left the mode as it was
    assert stream.network.modes == [(False, False)] * 2 and stream.network.training


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_the_phased_networks_stream_gives_what_step_outputs_gives(cell):
    from sk_plstm.nn import NetworkStream

    torch.manual_seed(0)
    net = PhasedLSTMNet(3, 4, hidden_size=16, num_layers=2, cell=cell, r_on=0.2).eval()
    values = torch.randn(30, 3)
    times = torch.cumsum(torch.rand(30, dtype=torch.float64) + 0.1, 0)
    fast, generic = net.stream(), NetworkStream(net)
    assert type(fast) is not NetworkStream  # the layers' own stream
    pieces = {}
    for name, stream in (("fast", fast), ("generic", generic)):
        pieces[name] = torch.cat(
            [stream.update(values[a:b], times[a:b]) for a, b in [(0, 1), (1, 7), (7, 30)]]
        )
    torch.testing.assert_close(pieces["fast"], pieces["generic"], rtol=1e-5, atol=1e-6)
    with torch.no_grad():
        whole = net(values[None], times[None])
    torch.testing.assert_close(pieces["fast"][-1], whole[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="unidirectional"):
        PhasedLSTMNet(3, 4, hidden_size=4, bidirectional=True).stream()

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

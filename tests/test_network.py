"""The skorch net's assembly from plain values: the contract check, the callbacks and
their order, validation and distribution settings."""

import pytest
import torch
from skorch import NeuralNet

from sk_plstm import PhasedLSTMClassifier
from sk_plstm._network import build_net, early_stopper
from sk_plstm.nn import PhasedLSTMNet


def _build(module=PhasedLSTMNet, incremental=False, **changes):
    settings = dict(
        criterion=torch.nn.CrossEntropyLoss,
        epoch_score=lambda y, out: 0.0,
        stratify=True,
        seed=0,
        validation=None,
        rank=0,
        world=1,
        device="cpu",
        epochs=5,
    )
    settings.update({k: changes.pop(k) for k in list(changes) if k in settings})
    params = {**PhasedLSTMClassifier().get_params(deep=False), **changes}
    return build_net(
        params, module, {"input_size": 2, "output_size": 3}, incremental=incremental, **settings
    )


def test_a_plain_net_with_the_guard_first_and_gate_narrowing():
    net = _build().initialize()
    assert type(net) is NeuralNet and net.max_epochs == 5
    names = [name for name, _ in net.callbacks]
    assert names[0] == "divergence_guard" and "gate_narrowing" in names
    assert early_stopper(net) is None
    assert net.module_.output_size == 3


def test_early_stopping_comes_last_and_not_in_partial_fit():
    net = _build(early_stopping=True, validation=0.2).initialize()
    assert [name for name, _ in net.callbacks][-1] == "early_stopping"
    assert early_stopper(net) is not None and net.train_split is not None
    incremental = _build(early_stopping=True, incremental=True).initialize()
    assert early_stopper(incremental) is None


def test_a_network_outside_the_contract_is_refused_by_name():
    with pytest.raises(TypeError, match="does not implement sk_plstm.nn.EstimatorNetwork"):
        _build(module=torch.nn.Linear)


def test_user_callbacks_follow_the_package_ones():
    from skorch.callbacks import Callback

    class Mine(Callback):
        pass

    net = _build(callbacks=[("mine", Mine())], grad_clip=1.0).initialize()
    names = [name for name, _ in net.callbacks]
    assert names.index("mine") > names.index("grad_clip")

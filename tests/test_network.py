"""The skorch net's assembly from plain values: the contract check, the callbacks and
their order, validation and distribution settings."""

import pytest
import torch

from sk_plstm import PhasedLSTMClassifier
from sk_plstm._network import build_net, early_stopper
from sk_plstm._training import SeriesWeightedNet
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
    net = _build(final_r_on=0.1).initialize()
    assert type(net) is SeriesWeightedNet and net.max_epochs == 5  # a NeuralNet with weights
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


@pytest.mark.parametrize("r_on", [0.05, 0.5])
def test_prediction_runs_in_large_batches_with_the_same_results(r_on):
    # validation and prediction batches hold as many series as fit in INFERENCE_BYTES;
    # r_on 0.05 predicts on the event-driven path (the same bits in any batch), 0.5 on
    # the dense one (the same to float rounding)
    import numpy as np

    from sk_plstm._network import INFERENCE_BYTES, _bytes_per_step

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(70, 2, 12)), rng.integers(0, 2, 70)
    clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=2, r_on=r_on, random_state=0).fit(X, y)
    sizes = []
    clf.net_.module_.register_forward_pre_hook(
        lambda m, args, kwargs: sizes.append(len(kwargs["values"])), with_kwargs=True
    )
    together = clf.predict_proba(X)
    assert sizes == [70]  # one batch, not three of batch_size 32
    apart = np.concatenate([clf.predict_proba(X[i : i + 5]) for i in range(0, 70, 5)])
    if r_on < 0.1:
        np.testing.assert_array_equal(together, apart)
    else:
        np.testing.assert_allclose(together, apart, rtol=1e-5, atol=1e-7)
    per_step = _bytes_per_step({"input_size": 2, "hidden_size": 8, "num_layers": 1})
    assert INFERENCE_BYTES // (12 * per_step) >= 70

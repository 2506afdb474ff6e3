"""The parameter checks, on plain values (no estimator needed)."""

import pytest
import torch

from sk_plstm import PhasedLSTMClassifier
from sk_plstm._params import PARAMETER_CONSTRAINTS, check_device, check_params, narrows


def _params(**changes):
    return {**PhasedLSTMClassifier().get_params(deep=False), **changes}


def test_defaults_pass_and_every_parameter_is_constrained():
    check_params(_params())
    shared = set(_params()) - {"class_weight"}  # the classifier's own, in its constraints
    assert set(PARAMETER_CONSTRAINTS) == shared
    assert set(PhasedLSTMClassifier._parameter_constraints) == set(_params())


@pytest.mark.parametrize(
    "changes, error, message",
    [
        ({"optimizer": "lion"}, ValueError, "optimizer must be one of"),
        ({"optimizer": torch.optim.LBFGS}, ValueError, "LBFGS needs a closure"),
        ({"hidden_size": True}, ValueError, "hidden_size must be a number"),
        ({"lr": float("inf")}, ValueError, "lr must be finite"),
        ({"callbacks": [print]}, TypeError, r"callbacks\[0\] is a builtin_function_or_method"),
        ({"device": "tpu"}, ValueError, "not a device torch knows|not supported"),
        ({"checkpoint_dir": ""}, ValueError, "checkpoint_dir is an empty string"),
        ({"time_unit": "fortnights"}, ValueError, "time_unit"),
    ],
)
def test_bad_values_are_named(changes, error, message):
    with pytest.raises(error, match=message):
        check_params(_params(**changes))


def test_device_checks():
    check_device("cpu")
    with pytest.raises(ValueError, match="not supported"):
        check_device("meta")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            check_device("cuda")


def test_narrowing_is_final_r_on_below_r_on():
    assert narrows(_params(final_r_on=0.1))  # 0.5 narrowed to 0.1
    assert not narrows(_params())  # the defaults keep the gates wide
    assert not narrows(_params(final_r_on=None))
    assert not narrows(_params(r_on=0.05, final_r_on=0.1))

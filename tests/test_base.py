"""Parameter validation and fitted attributes shared by both estimators."""

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.exceptions import NotFittedError
from sklearn.utils._param_validation import InvalidParameterError

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor

ESTIMATORS = [PhasedLSTMClassifier, PhasedLSTMRegressor]
X = np.random.default_rng(0).normal(size=(20, 8))
Y = {PhasedLSTMClassifier: np.arange(20) % 2, PhasedLSTMRegressor: np.linspace(0, 1, 20)}


def _fit(cls, **params):
    return cls(**{"hidden_size": 4, "max_epochs": 1, "random_state": 0, **params}).fit(X, Y[cls])


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    "params",
    [
        {"hidden_size": 0},
        {"num_layers": 0},
        {"r_on": 0.0},
        {"r_on": 1.5},
        {"leak": -0.1},
        {"dropout": 1.0},
        {"max_epochs": 0},
        {"batch_size": 0},
        {"lr": 0.0},
        {"optimizer": "lbfgs"},
        {"tau_range": "wide"},
        {"tau_range": 5.0},
    ],
)
def test_invalid_parameters_are_named(cls, params):
    name = next(iter(params))
    with pytest.raises(InvalidParameterError, match=name):
        _fit(cls, **params)


@pytest.mark.parametrize("cls", ESTIMATORS)
@pytest.mark.parametrize(
    "tau_range", [(1.0,), (0.0, 10.0), (10.0, 1.0), (1.0, float("inf")), ("a", "b")]
)
def test_bad_tau_range_tuples(cls, tau_range):
    with pytest.raises(ValueError, match="tau_range"):
        _fit(cls, tau_range=tau_range)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_tau_range_as_given_and_auto(cls):
    assert _fit(cls, tau_range=(2, 20)).tau_range_ == (2.0, 20.0)
    assert _fit(cls, tau_range=[3, 30]).tau_range_ == (3.0, 30.0)
    assert _fit(cls).tau_range_ == (1.0, 7.0)  # 8 steps at 0..7
    one_step = cls(hidden_size=4, max_epochs=1).fit(X[:, :1], Y[cls])
    assert one_step.tau_range_ == (1.0, 2.0)


def test_auto_tau_range_reads_as_plain_rounded_numbers():
    # 762 s between points, 110 intervals: 0.21166666666666667 h unrounded
    times = pd.Timestamp("2026-05-23") + pd.to_timedelta(np.arange(111) * 762.0, unit="s")
    frames = [pd.DataFrame({"a": np.sin(np.arange(111) + k)}, index=times) for k in range(4)]
    clf = PhasedLSTMClassifier(hidden_size=2, max_epochs=1, time_unit="h", random_state=0)
    clf.fit(frames, [0, 1, 0, 1])
    assert repr(clf.tau_range_) == "(0.211667, 23.2833)"  # printed rounded
    assert all(type(v) is float for v in clf.tau_range_)
    assert clf.tau_range_[0] == pytest.approx(762.0 / 3600, rel=1e-14)  # full precision


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_time_parameters_reach_the_module(cls):
    est = _fit(cls, r_on=0.2, leak=0.0, learn_tau=False, learn_r_on=True, num_layers=2)
    gates = [cell.gate for cell in est.module_.plstm.cells]
    assert len(gates) == 2
    for gate in gates:
        assert torch.all(gate.r_on == 0.2) or gate.r_on.requires_grad
        assert not gate.log_tau.requires_grad and gate.shift.requires_grad
        assert gate.r_on_logit.requires_grad and gate.learn_r_on
        assert gate.leak == 0.0
        assert (gate.tau >= 1.0).all() and (gate.tau <= 7.0).all()


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_bad_time_unit(cls):
    with pytest.raises(ValueError, match="time_unit"):
        _fit(cls, time_unit="parsecs")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")
@pytest.mark.parametrize("cls", ESTIMATORS)
def test_cuda_requested_without_cuda(cls):
    with pytest.raises(ValueError, match="CUDA is not available"):
        _fit(cls, device="cuda")


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_standardize_statistics_and_switch(cls):
    est = _fit(cls)
    np.testing.assert_allclose(est.channel_mean_, [X.mean()], rtol=1e-5)
    np.testing.assert_allclose(est.channel_std_, [X.std()], rtol=1e-5)
    raw = _fit(cls, standardize=False)
    assert not hasattr(raw, "channel_mean_")
    assert raw.predict(X).shape[0] == 20


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_fitted_helpers_need_a_fit(cls):
    est = cls()
    for name in ("history_", "module_"):
        with pytest.raises(NotFittedError):
            getattr(est, name)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_refit_on_3d_forgets_2d_feature_count(cls):
    est = _fit(cls)
    assert est.n_features_in_ == 8
    est.fit(X[:, None, :5], Y[cls])
    assert not hasattr(est, "n_features_in_")
    assert est.predict(X[:, None, :]).shape[0] == 20  # any length once fitted on 3-D


@pytest.mark.parametrize(
    "params, error, message",
    [
        ({"device": "bogus"}, ValueError, "not a device torch knows"),
        ({"device": "cuda:abc"}, ValueError, "not a device torch knows"),
        ({"device": "mps"}, ValueError, "not supported"),
        ({"device": "meta"}, ValueError, "not supported"),
        ({"device": "xpu"}, ValueError, "not supported"),
        ({"callbacks": [1]}, TypeError, r"callbacks\[0\] is a int"),
        ({"callbacks": [("name", 1)]}, TypeError, r"callbacks\[0\] is a tuple"),
        ({"optimizer": torch.optim.LBFGS}, ValueError, "LBFGS is not supported"),
        ({"optimizer": torch.optim.SparseAdam}, ValueError, "SparseAdam is not supported"),
        ({"checkpoint_dir": ""}, ValueError, "empty string"),
        ({"checkpoint_dir": "/dev/null"}, ValueError, "not a folder"),
        ({"checkpoint_dir": "/dev/null/sub"}, ValueError, "cannot be written"),
    ]
    + [
        ({name: True}, ValueError, f"{name} must be a number|{name}")
        for name in ("hidden_size", "num_layers", "r_on", "lr", "max_epochs", "grad_clip")
    ],
)
def test_bad_parameters_get_clear_errors(params, error, message):
    clf = PhasedLSTMClassifier(hidden_size=2, max_epochs=1, random_state=0)
    fitted = clf.fit(X, Y[PhasedLSTMClassifier])
    proba = fitted.predict_proba(X)
    with pytest.raises(error, match=message):
        fitted.set_params(**params).fit(X, Y[PhasedLSTMClassifier])
    np.testing.assert_array_equal(fitted.predict_proba(X), proba)  # the old model is kept


def test_a_checkpoint_dir_that_is_a_file_or_read_only(tmp_path):
    import os

    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ValueError, match="not a folder"):
        _fit(PhasedLSTMClassifier, checkpoint_dir=str(file))
    locked = tmp_path / "locked"
    locked.mkdir()
    os.chmod(locked, 0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions
            pytest.skip("running as a user that can write anywhere")
        with pytest.raises(ValueError, match="cannot be written"):
            _fit(PhasedLSTMClassifier, checkpoint_dir=str(locked))
    finally:
        os.chmod(locked, 0o700)


HOSTILE_VALUES = [None, True, False, -1, 0, 1, 2.5, 1e308, float("nan"), float("inf")]
HOSTILE_VALUES += ["x", "", [], {}, (1,), (1, 2), object(), torch.optim.Adam, "cuda"]


@pytest.mark.parametrize("name", sorted(PhasedLSTMClassifier().get_params()))
def test_any_parameter_value_fits_or_gets_a_clear_error(name, tmp_path):
    X3 = np.random.default_rng(0).normal(size=(12, 1, 6))
    y3 = np.arange(12) % 2
    for value in HOSTILE_VALUES:
        if name == "distributed" and value is True:
            continue  # needs a process group: tested in test_distributed_training.py
        if name in ("max_epochs", "hidden_size", "batch_size", "num_layers") and (
            isinstance(value, float) and value > 100
        ):
            continue  # valid, only slow
        if name == "checkpoint_dir" and value in ("x", "cuda"):
            value = str(tmp_path / value)
        params = {"hidden_size": 2, "max_epochs": 1, name: value}
        try:
            PhasedLSTMClassifier(**params).fit(X3, y3).predict(X3)
        except (ValueError, TypeError):
            pass  # a clear error (the message is checked by the specific tests)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_what_the_network_sees_reaches_it(cls):
    X_missing = np.stack([X, X[:, ::-1]], axis=1)  # (20, 2, 8)
    X_missing[::3, 0, 2] = np.nan
    est = _fit(cls, time_inputs=True, level_inputs=True, readout="summary")
    module = est.module_
    assert module.encoding is not None and module.readout == "summary"
    assert module.plstm.input_size == 1 + 1 + 1  # value, gap, level (complete data)
    est = cls(hidden_size=4, max_epochs=1, random_state=0, time_inputs=True)
    est.fit(X_missing, Y[cls])
    # values and masks of 2 channels, the row gap, the channels' deltas and levels; the
    # head reads the final state and 6 statistics of each channel
    assert est.module_.plstm.input_size == 2 + 2 + 1 + 2 + 2
    assert est.module_.head.in_features == 4 + 6 * 2
    plain = _fit(cls, time_inputs=False, level_inputs=False, readout="last")
    assert plain.module_.encoding is None and plain.module_.plstm.input_size == 1
    with pytest.raises(InvalidParameterError, match="readout"):
        _fit(cls, readout="attention")

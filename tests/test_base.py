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


# ---------------------------------------------------------------- labels and weights by id
def _id_panel(n=24, seed=0):
    """Irregular series with string ids; the label is the sign of the level."""
    rng = np.random.default_rng(seed)
    frames, labels = [], {}
    for i in range(n):
        label = i % 2
        times = np.sort(rng.uniform(0, 10, 12))
        frames.append(
            pd.DataFrame(
                {"id": f"s{i:02d}", "t": times, "v": rng.normal(2.0 * label - 1.0, 0.3, 12)}
            )
        )
        labels[f"s{i:02d}"] = label
    X = pd.concat(frames).set_index(["id", "t"])
    return X, pd.Series(labels)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_y_indexed_by_instance_ids_is_matched_by_id(cls):
    X, y = _id_panel()
    y = y if cls is PhasedLSTMClassifier else y.astype(float)
    shuffled = y.sample(frac=1.0, random_state=1)
    params = {"hidden_size": 4, "max_epochs": 2, "random_state": 0}
    ordered = cls(**params).fit(X, y)
    matched = cls(**params).fit(X, shuffled)
    np.testing.assert_array_equal(matched._forward(X), ordered._forward(X))
    # score matches by id too: the shuffled Series scores as the ordered one
    assert matched.score(X, shuffled) == ordered.score(X, y)
    # a plain array is taken by position: the shuffled labels give another model
    positional = cls(**params).fit(X, shuffled.to_numpy())
    assert not np.array_equal(positional._forward(X), ordered._forward(X))


def test_ids_that_differ_are_refused_by_name():
    X, y = _id_panel()
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1)
    with pytest.raises(ValueError, match=r"1 series of X has no entry in y \('s00'\)"):
        clf.fit(X, y.iloc[1:])
    with pytest.raises(ValueError, match=r"id\(s\) of sample_weight .*'extra'"):
        clf.fit(X, y, sample_weight=pd.Series(1.0, index=[*y.index, "extra"]))
    with pytest.raises(ValueError, match="to_numpy"):
        clf.fit(X, y.reset_index(drop=True))
    assert not hasattr(clf, "net_")


def test_all_zero_weight_on_a_class_leaves_it_unlearned():
    X, y = _id_panel(seed=2)
    params = {"hidden_size": 8, "max_epochs": 15, "random_state": 0}
    plain = PhasedLSTMClassifier(**params).fit(X, y)
    assert set(plain.predict(X)) == {0, 1}
    weighted = PhasedLSTMClassifier(**params).fit(X, y, sample_weight=(y == 0).astype(float))
    assert set(weighted.predict(X)) == {0}
    # class_weight is a weight per series from its label: the same fit as those weights
    by_class = PhasedLSTMClassifier(class_weight={0: 3.0}, **params).fit(X, y)
    by_series = PhasedLSTMClassifier(**params).fit(X, y, sample_weight=np.where(y == 0, 3.0, 1.0))
    np.testing.assert_array_equal(by_class._forward(X), by_series._forward(X))
    assert not np.array_equal(by_class._forward(X), plain._forward(X))


def test_the_weighted_loss_is_the_mean_of_weighted_series_losses():
    from sk_plstm._training import SAMPLE_WEIGHT, SeriesWeightedNet

    net = SeriesWeightedNet(torch.nn.Linear(2, 3), criterion=torch.nn.CrossEntropyLoss)
    net.initialize()
    logits, labels = torch.randn(4, 3), torch.tensor([0, 2, 1, 2])
    weights = torch.tensor([0.0, 2.0, 1.0, 1.0])
    per_series = torch.nn.functional.cross_entropy(logits, labels, reduction="none")
    loss = net.get_loss(logits, labels, X={"x": None, SAMPLE_WEIGHT: weights})
    torch.testing.assert_close(loss, (per_series * weights).mean())
    assert net.criterion_.reduction == "mean"  # restored
    torch.testing.assert_close(net.get_loss(logits, labels, X={"x": None}), per_series.mean())


def test_regressor_weights_pick_the_targets_it_fits():
    X, y = _id_panel(seed=3)
    target = pd.Series(np.where(np.arange(len(y)) % 3 == 0, 0.0, 10.0), index=y.index)
    weights = (target > 5).astype(float)
    params = {"hidden_size": 4, "max_epochs": 30, "lr": 0.05, "random_state": 0}
    reg = PhasedLSTMRegressor(**params).fit(X, target, sample_weight=weights)
    assert np.all(reg.predict(X) > 7.0)
    plain = PhasedLSTMRegressor(**params).fit(X, target)
    assert plain.predict(X).min() < 7.0


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_equal_weights_give_the_unweighted_fit_exactly(cls):
    params = {"hidden_size": 4, "max_epochs": 2, "random_state": 0}
    plain = cls(**params).fit(X, Y[cls])
    equal = cls(**params).fit(X, Y[cls], sample_weight=np.full(len(X), 3.0))
    np.testing.assert_array_equal(plain.predict(X), equal.predict(X))
    weighted = cls(**params).fit(X, Y[cls], sample_weight=np.arange(len(X)) % 4)
    assert not np.array_equal(plain._forward(X), weighted._forward(X))


def test_class_weight_balanced_is_scikit_learns():
    y = np.array([0] * 15 + [1] * 5)
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, class_weight="balanced")
    clf.fit(X, y)
    weights = clf._target_weights(np.searchsorted(clf.classes_, y), incremental=False)
    np.testing.assert_allclose(weights[[0, -1]], [20 / (2 * 15), 20 / (2 * 5)])
    with pytest.raises(ValueError, match="partial_fit"):
        PhasedLSTMClassifier(class_weight="balanced").partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"class_weight names classes \[7\]"):
        PhasedLSTMClassifier(max_epochs=1, class_weight={7: 2.0}).fit(X, y)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_partial_fit_takes_sample_weight(cls):
    est = cls(hidden_size=4, random_state=0)
    extra = {"classes": [0, 1]} if cls is PhasedLSTMClassifier else {}
    est.partial_fit(X, Y[cls], sample_weight=np.arange(len(X)) % 3, **extra)
    est.partial_fit(X, Y[cls], sample_weight=np.ones(len(X)))
    assert est.n_iter_ == 2


# ---------------------------------------------------------------- embeddings and steps
@pytest.mark.parametrize("readout", ["last", "summary"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_transform_is_what_the_head_reads(readout, bidirectional):
    X3, y = _id_panel()
    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=1, readout=readout, bidirectional=bidirectional
    ).fit(X3, y)
    features = clf.transform(X3)
    names = clf.get_feature_names_out()
    width = 4 * (2 if bidirectional else 1) + (6 if readout == "summary" else 0)
    assert features.shape == (len(y), width) and len(names) == width
    assert features.dtype == np.float64
    assert (names[-1] == "last_v") == (readout == "summary")
    head = clf.module_.head
    logits = (
        features @ head.weight.detach().double().numpy().T + head.bias.detach().double().numpy()
    )
    np.testing.assert_allclose(logits, clf._forward(X3), rtol=1e-5, atol=1e-6)


def test_transform_stacks_before_another_estimator():
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.pipeline import make_pipeline

    X3, y = _id_panel()
    pipe = make_pipeline(
        PhasedLSTMClassifier(hidden_size=4, max_epochs=3, random_state=0),
        HistGradientBoostingClassifier(min_samples_leaf=2, max_iter=20),
    ).fit(X3, y)
    assert pipe.predict(X3).shape == (len(y),)
    assert pipe.score(X3, y) >= 0.9


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_step_outputs_end_at_the_prediction(cls):
    X3, y = _id_panel()
    y = y if cls is PhasedLSTMClassifier else y.astype(float)
    est = cls(hidden_size=4, max_epochs=2, random_state=0).fit(X3, y)
    steps = est.predict_proba_steps(X3) if cls is PhasedLSTMClassifier else est.predict_steps(X3)
    assert steps.index.equals(X3.index)  # every observation, at the times given
    last = steps.groupby(level=0, sort=False).tail(1).to_numpy()
    final = est.predict_proba(X3) if cls is PhasedLSTMClassifier else est.predict(X3)[:, None]
    np.testing.assert_allclose(last, final, rtol=1e-5, atol=1e-6)
    # a row depends only on the observations up to it: the first half of a series
    # gives the same rows as the whole
    first = X3.groupby(level=0, sort=False).head(6)
    head_steps = (
        est.predict_proba_steps(first) if cls is PhasedLSTMClassifier else est.predict_steps(first)
    )
    np.testing.assert_allclose(head_steps, steps.loc[first.index], rtol=1e-5, atol=1e-6)


def test_predict_steps_labels_and_datetime_times():
    times = pd.date_range("2026-03-01", periods=10, freq="17min", tz="Europe/Berlin")
    frames = [pd.DataFrame({"v": np.arange(10.0) * (i % 2)}, index=times) for i in range(8)]
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
    clf.fit(frames, ["a", "b"] * 4)
    steps = clf.predict_steps(frames[:2])
    assert list(steps.columns) == ["prediction"] and set(steps["prediction"]) <= {"a", "b"}
    assert steps.index.get_level_values("time")[:10].equals(pd.Index(times, name="time"))
    assert steps.index.get_level_values("instance").tolist() == [0] * 10 + [1] * 10
    with pytest.raises(ValueError, match="unidirectional"):
        PhasedLSTMClassifier(hidden_size=4, max_epochs=1, bidirectional=True).fit(
            X, Y[PhasedLSTMClassifier]
        ).predict_steps(X)


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_a_misspelled_parameter_is_named_with_its_match(cls):
    with pytest.raises(
        TypeError,
        match=rf"{cls.__name__} got unknown parameter\(s\) 'r_onn' "
        r"\(did you mean 'r_on'\?\)",
    ):
        cls(r_onn=0.1)
    with pytest.raises(TypeError, match="give every parameter after num_layers by name"):
        cls(8, 1, "gru")

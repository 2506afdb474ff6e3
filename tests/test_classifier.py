import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import CUDA, CountEpochs, irregular_multiindex
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sktime.datasets import load_basic_motions, load_japanese_vowels
from sktime.datatypes import convert_to

from sk_plstm import PhasedLSTMClassifier

FAST = dict(hidden_size=16, max_epochs=15, random_state=0)


@pytest.fixture(scope="module")
def motions():
    X, y = load_basic_motions(split="train", return_type="numpy3D")
    Xt, yt = load_basic_motions(split="test", return_type="numpy3D")
    return X, y, Xt, yt


def test_fit_predict_score_on_basic_motions(motions):
    X, y, Xt, yt = motions
    clf = PhasedLSTMClassifier(hidden_size=32, max_epochs=30, random_state=0).fit(X, y)
    proba = clf.predict_proba(Xt)
    assert proba.shape == (len(Xt), 4)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    assert set(clf.classes_) == set(np.unique(y))
    # chance is 0.25; seeds 0-4 score 0.725-0.975 with the kernel (0.85-0.95 with torch)
    assert clf.score(Xt, yt) >= 0.7
    assert clf.n_channels_ == 6 and clf.n_iter_ == 30
    assert clf.tau_range_ == (1.0, 99.0)
    assert (
        len(clf.history_) == 30 and clf.history_[-1, "train_loss"] < clf.history_[0, "train_loss"]
    )


@pytest.mark.heavy
def test_gru_cell_learns_basic_motions_with_fewer_weights(motions):
    X, y, Xt, yt = motions
    gru = PhasedLSTMClassifier(cell="gru", hidden_size=32, max_epochs=30, random_state=0)
    gru.fit(X, y)
    lstm = PhasedLSTMClassifier(hidden_size=32, max_epochs=1, random_state=0).fit(X, y)
    assert type(gru.module_.plstm).__name__ == "PhasedGRU"
    assert gru.score(Xt, yt) >= 0.75  # chance is 0.25
    assert gru.history_[-1, "train_loss"] < gru.history_[0, "train_loss"]
    # three gate blocks instead of four; the same time gates and head
    n_gru = sum(p.numel() for p in gru.module_.parameters())
    n_lstm = sum(p.numel() for p in lstm.module_.parameters())
    inputs = gru.module_.plstm.input_size  # 6 channels, the time gap, 6 levels
    assert inputs == 13 and n_lstm - n_gru == 32 * (inputs + 32 + 2)
    assert gru.time_gates().shape == lstm.time_gates().shape
    again = PhasedLSTMClassifier(cell="gru", hidden_size=32, max_epochs=30, random_state=0)
    np.testing.assert_array_equal(again.fit(X, y).predict_proba(Xt), gru.predict_proba(Xt))


def test_unknown_cell_is_rejected_by_name(motions):
    X, y, _, _ = motions
    with pytest.raises(ValueError, match="'cell' parameter .* among .*'gru'.* Got 'rnn'"):
        PhasedLSTMClassifier(cell="rnn").fit(X, y)


def test_same_random_state_same_predictions(motions):
    X, y, Xt, _ = motions
    a = PhasedLSTMClassifier(**FAST).fit(X, y).predict_proba(Xt)
    b = PhasedLSTMClassifier(**FAST).fit(X, y).predict_proba(Xt)
    c = PhasedLSTMClassifier(**{**FAST, "random_state": 1}).fit(X, y).predict_proba(Xt)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)


def test_fit_does_not_touch_the_global_torch_generator(motions):
    X, y, _, _ = motions
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


def test_every_container_gives_the_same_model(motions):
    X, y, Xt, _ = motions
    X, y = X[:20, :2, :30], y[:20]
    reference = PhasedLSTMClassifier(**FAST).fit(X, y).predict_proba(Xt[:, :2, :30])
    for mtype in ("pd-multiindex", "nested_univ", "df-list"):
        Xc = convert_to(X, to_type=mtype)
        Xtc = convert_to(Xt[:, :2, :30], to_type=mtype)
        proba = PhasedLSTMClassifier(**FAST).fit(Xc, y).predict_proba(Xtc)
        np.testing.assert_allclose(proba, reference, rtol=1e-5, atol=1e-6, err_msg=mtype)


def test_unequal_length_japanese_vowels():
    X, y = load_japanese_vowels(split="train", return_type="pd-multiindex")
    Xt, yt = load_japanese_vowels(split="test", return_type="pd-multiindex")
    clf = PhasedLSTMClassifier(hidden_size=32, max_epochs=10, random_state=0).fit(X, y)
    assert clf.n_channels_ == 12
    assert clf.score(Xt, yt) > 0.5  # 9 classes: chance is about 0.11


def test_irregular_float_times(motions):
    X, y, Xt, yt = motions
    Xi, Xti = irregular_multiindex(X), irregular_multiindex(Xt, seed=1)
    lengths = Xi.groupby(level=0).size()
    assert lengths.nunique() == 1 and not np.allclose(np.diff(Xi.loc[0].index), 0.1)
    clf = PhasedLSTMClassifier(hidden_size=32, max_epochs=30, random_state=0).fit(Xi, y)
    assert clf.tau_range_[0] == pytest.approx(0.1)  # the median interval, in the index's unit
    assert clf.score(Xti, yt) > 0.5


def test_datetime_index_and_time_unit(motions):
    X, y, _, _ = motions
    frames = []
    for i, series in enumerate(X[:, :, :20]):
        times = pd.date_range("2026-01-01", periods=20, freq="100ms") + pd.Timedelta(hours=i)
        index = pd.MultiIndex.from_arrays([np.full(20, i), times])
        frames.append(pd.DataFrame(series.T, index=index))
    Xd = pd.concat(frames)
    seconds = PhasedLSTMClassifier(**{**FAST, "max_epochs": 1}).fit(Xd, y)
    millis = PhasedLSTMClassifier(**{**FAST, "max_epochs": 1, "time_unit": "ms"}).fit(Xd, y)
    np.testing.assert_allclose(seconds.tau_range_, (0.1, 1.9))
    np.testing.assert_allclose(millis.tau_range_, (100.0, 1900.0))
    assert seconds.predict(Xd).shape == (40,)
    with pytest.raises(ValueError, match="datetime"):
        PhasedLSTMClassifier(**{**FAST, "max_epochs": 1}).fit(X, y).predict(Xd)


def test_pipeline_clone_and_pickle():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 12))
    y = np.where(X[:, -3:].sum(axis=1) > 0, "up", "down")
    pipe = make_pipeline(StandardScaler(), PhasedLSTMClassifier(**FAST)).fit(X, y)
    assert set(pipe.predict(X)) <= {"up", "down"}
    clf = pipe[-1]
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    fresh = clone(clf)
    assert not hasattr(fresh, "net_") and fresh.get_params() == clf.get_params()


@pytest.mark.heavy
def test_grid_search_over_tau_range_in_parallel(motions):
    X, y, _, _ = motions
    search = GridSearchCV(
        PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0),
        {"tau_range": [(1, 10), (1, 1000)]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert search.best_params_["tau_range"] in [(1, 10), (1, 1000)]
    assert search.best_estimator_.tau_range_ == tuple(map(float, search.best_params_["tau_range"]))
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_user_data_is_not_mutated(motions):
    X, y, _, _ = motions
    Xi = irregular_multiindex(X[::4])
    X_copy, Xi_copy, y_copy = X.copy(), Xi.copy(), y.copy()
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 2}).fit(X, y).predict(X)
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 2}).fit(Xi, y[::4]).predict(Xi)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    pd.testing.assert_frame_equal(Xi, Xi_copy)


def test_verbose_prints_epochs_and_default_is_silent(motions, capsys):
    X, y, _, _ = motions
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 2}).fit(X, y)
    assert capsys.readouterr() == ("", "")
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 2, "verbose": 1}).fit(X, y)
    out, err = capsys.readouterr()
    assert out == "" and "fit: 100%" in err and "train_loss=" in err  # a progress bar
    PhasedLSTMClassifier(**{**FAST, "max_epochs": 2, "verbose": 2}).fit(X, y)
    out = capsys.readouterr().out
    assert "train_loss" in out and out.count("\n") >= 4  # and a table row per epoch


def test_skorch_callbacks_and_optimizer_class_are_accepted(motions):
    X, y, _, _ = motions
    counter = CountEpochs()
    clf = PhasedLSTMClassifier(
        **{**FAST, "max_epochs": 3}, callbacks=[counter], optimizer=torch.optim.SGD
    ).fit(X, y)
    fitted_counter = dict(clf.net_.callbacks_)["CountEpochs"]
    assert fitted_counter.epochs == 3
    assert isinstance(clf.net_.optimizer_, torch.optim.SGD)


# ---------------------------------------------------------------- bad input, one test per case


def test_single_class_is_rejected(motions):
    X, _, _, _ = motions
    with pytest.raises(ValueError, match="at least 2 classes"):
        PhasedLSTMClassifier(**FAST).fit(X, np.zeros(len(X)))


def test_y_of_wrong_length_is_rejected(motions):
    X, y, _, _ = motions
    with pytest.raises(ValueError, match="y has 39 labels, but X has 40 series"):
        PhasedLSTMClassifier(**FAST).fit(X, y[:-1])


def test_continuous_y_is_rejected(motions):
    X, _, _, _ = motions
    with pytest.raises(ValueError, match="Unknown label type"):
        PhasedLSTMClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))


def test_different_channel_count_at_predict(motions):
    X, y, _, _ = motions
    clf = PhasedLSTMClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 channels, but the estimator was fitted on 6"):
        clf.predict(X[:, :3])


def test_nan_values_are_rejected_with_missing_error(motions):
    X, y, _, _ = motions
    X = X.copy()
    X[4, 2, 7] = np.nan
    with pytest.raises(ValueError, match="series 4 contains NaN .*missing='error' refuses"):
        PhasedLSTMClassifier(**FAST, missing="error").fit(X, y)


def test_inf_values_at_predict_are_rejected(motions):
    X, y, _, _ = motions
    clf = PhasedLSTMClassifier(**{**FAST, "max_epochs": 1}).fit(X, y)
    Xi = irregular_multiindex(X[:3])
    Xi.iloc[5, 0] = np.inf
    with pytest.raises(ValueError, match="series 0 contains infinity"):
        clf.predict(Xi)


def test_times_not_increasing_are_rejected(motions):
    X, y, _, _ = motions
    Xi = irregular_multiindex(X)
    times = Xi.index.get_level_values(1).to_numpy().copy()
    times[3] = times[2]  # a duplicate timestamp in series 0
    Xi.index = pd.MultiIndex.from_arrays([Xi.index.get_level_values(0), times])
    with pytest.raises(ValueError, match="series 0 has times that are not strictly increasing"):
        PhasedLSTMClassifier(**FAST).fit(Xi, y)


def test_empty_series_is_rejected(motions):
    X, y, _, _ = motions
    frames = [pd.DataFrame(s.T) for s in X[:, :, :5]]
    frames[2] = frames[2].iloc[:0]
    with pytest.raises(ValueError, match="series 2 is empty"):
        PhasedLSTMClassifier(**FAST).fit(frames, y)


def test_predict_before_fit_raises():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PhasedLSTMClassifier().predict(np.zeros((2, 5)))


# ---------------------------------------------------------------- GPU


@CUDA
def test_cuda_fit_predict_and_pickle_to_cpu(motions):
    X, y, Xt, _ = motions
    gpu = PhasedLSTMClassifier(**{**FAST, "device": "cuda"}).fit(X, y)
    cpu = PhasedLSTMClassifier(**FAST).fit(X, y)
    assert next(gpu.module_.parameters()).is_cuda
    assert (gpu.predict(Xt) == cpu.predict(Xt)).mean() > 0.8
    restored = pickle.loads(pickle.dumps(gpu))
    np.testing.assert_allclose(restored.predict_proba(Xt), gpu.predict_proba(Xt), atol=1e-5)


@pytest.mark.parametrize(
    "labels",
    [
        [None, 1] * 5,
        pd.array([pd.NA, 1] * 5, dtype="Int64"),
        np.array(["a", pd.NA] * 5, dtype=object),
        [np.nan, 1.0] * 5,
    ],
)
def test_missing_labels_are_named(labels):
    X = np.random.default_rng(0).normal(size=(10, 1, 6))
    with pytest.raises(ValueError, match=r"y has missing labels .* at positions \[[01]"):
        PhasedLSTMClassifier(hidden_size=2, max_epochs=1).fit(X, labels)


def test_later_partial_fit_cannot_change_the_classes():
    X = np.random.default_rng(0).normal(size=(10, 1, 6))
    y = np.arange(10) % 2
    clf = PhasedLSTMClassifier(hidden_size=2, random_state=0).partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2\] differs from the classes \[0, 1\]"):
        clf.partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[1, 0])  # the same classes, in any order
    assert clf.n_iter_ == 2

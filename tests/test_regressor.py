import pickle

import numpy as np
import pytest
from conftest import irregular_multiindex
from sklearn.model_selection import GridSearchCV
from sktime.datasets import load_tecator

from sk_plstm import PhasedLSTMRegressor

FAST = dict(hidden_size=16, max_epochs=20, random_state=0)


def _late_mean_task(n=120, seed=0):
    """y is the mean of the last five steps of channel 0: the model must use the sequence end."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2, 25))
    return X, X[:, 0, -5:].mean(axis=1)


def test_learns_a_simple_relationship():
    X, y = _late_mean_task()
    Xt, yt = _late_mean_task(seed=1)
    reg = PhasedLSTMRegressor(hidden_size=32, max_epochs=60, r_on=0.5, random_state=0).fit(X, y)
    assert reg.predict(Xt).shape == (len(Xt),)
    assert reg.score(Xt, yt) > 0.5


@pytest.mark.heavy
def test_gru_cell_learns_the_same_relationship():
    X, y = _late_mean_task()
    Xt, yt = _late_mean_task(seed=1)
    reg = PhasedLSTMRegressor(cell="gru", hidden_size=32, max_epochs=60, r_on=0.5, random_state=0)
    assert reg.fit(X, y).score(Xt, yt) > 0.5
    assert type(reg.module_.plstm).__name__ == "PhasedGRU"


def test_targets_are_standardised_and_mapped_back():
    X, y = _late_mean_task()
    big = y * 1e6 + 3e7
    small = PhasedLSTMRegressor(**FAST).fit(X, y)
    large = PhasedLSTMRegressor(**FAST).fit(X, big)
    np.testing.assert_allclose(large.y_mean_, [big.mean()])
    np.testing.assert_allclose(large.predict(X), small.predict(X) * 1e6 + 3e7, rtol=1e-4)


def test_multi_output():
    X, y = _late_mean_task()
    Y = np.column_stack([y, -2 * y, X[:, 1, -1]])
    reg = PhasedLSTMRegressor(**FAST).fit(X, Y)
    assert reg.predict(X).shape == (len(X), 3)
    assert reg.y_mean_.shape == reg.y_std_.shape == (3,)
    column = PhasedLSTMRegressor(**FAST).fit(X, y[:, None])
    assert column.predict(X).shape == (len(X), 1)


def test_tecator_irregular_and_pickle():
    X, y = load_tecator(return_type="numpy3D")
    Xi = irregular_multiindex(X[:80], keep=0.5, dt=1.0)
    reg = PhasedLSTMRegressor(**FAST).fit(Xi, y[:80])
    pred = reg.predict(Xi)
    assert pred.shape == (80,) and np.isfinite(pred).all()
    restored = pickle.loads(pickle.dumps(reg))
    np.testing.assert_array_equal(restored.predict(Xi), pred)


@pytest.mark.heavy
def test_grid_search():
    X, y = _late_mean_task(60)
    search = GridSearchCV(
        PhasedLSTMRegressor(hidden_size=8, max_epochs=2, random_state=0),
        {"tau_range": [(1, 5), (1, 50)], "r_on": [0.05, 0.5]},
        cv=2,
        n_jobs=2,
    ).fit(X, y)
    assert len(search.cv_results_["params"]) == 4


def test_nan_target_is_rejected():
    X, y = _late_mean_task()
    y[3] = np.nan
    with pytest.raises(ValueError, match="y contains NaN"):
        PhasedLSTMRegressor(**FAST).fit(X, y)


def test_y_of_wrong_length_is_rejected():
    X, y = _late_mean_task()
    with pytest.raises(ValueError, match="y has 119 targets, but X has 120 series"):
        PhasedLSTMRegressor(**FAST).fit(X, y[:-1])


def test_three_dimensional_y_is_rejected():
    X, y = _late_mean_task()
    with pytest.raises(ValueError, match="y"):
        PhasedLSTMRegressor(**FAST).fit(X, y.reshape(-1, 1, 1))


def test_string_targets_are_rejected():
    X, _ = _late_mean_task()
    with pytest.raises(ValueError, match="could not convert"):
        PhasedLSTMRegressor(**FAST).fit(X, np.array(["a"] * len(X)))


def test_text_targets_point_to_the_classifier():
    X = np.random.default_rng(0).normal(size=(6, 1, 10))
    with pytest.raises(
        ValueError, match="y must hold numbers for a regressor.*PhasedLSTMClassifier"
    ):
        PhasedLSTMRegressor(max_epochs=1).fit(X, ["a", "b"] * 3)

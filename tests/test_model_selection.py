"""scikit-learn model selection with the package estimators on sktime containers and arrays."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import loguniform
from sklearn.model_selection import (
    GridSearchCV,
    KFold,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_validate,
)
from sktime.datasets import load_basic_motions
from sktime.datatypes import convert_to

from sk_plstm import PhasedLSTMClassifier
from sk_plstm.datasets import make_irregular


@pytest.fixture(scope="module")
def data():
    X, y = load_basic_motions(split="train", return_type="numpy3D")
    return X[:, :3, :40], y


@pytest.fixture(scope="module")
def irregular(data):
    """df-list with float times (seconds at 10 Hz) and unequal lengths."""
    X, _ = data
    frames = make_irregular(X, keep=0.5, random_state=0, return_type="df-list")
    for i, frame in enumerate(frames):
        frame.index = frame.index / 10.0
        frames[i] = frame.iloc[: len(frame) - i % 5]
    return frames


class LengthRecorder(PhasedLSTMClassifier):
    """Records the lengths of the series it is trained on."""

    def _panel(self, X, reset):
        panel = super()._panel(X, reset)
        if reset:
            self.train_lengths_ = panel.lengths.copy()
        return panel


def test_grid_search_over_the_cell(data):
    X, y = data
    search = GridSearchCV(
        PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0),
        {"cell": ["lstm", "gru"]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    ).fit(X, y)
    assert [p["cell"] for p in search.cv_results_["params"]] == ["lstm", "gru"]
    kinds = {"lstm": "PhasedLSTM", "gru": "PhasedGRU"}
    best = search.best_estimator_
    assert type(best.module_.plstm).__name__ == kinds[search.best_params_["cell"]]


@pytest.mark.heavy
@pytest.mark.parametrize("container", ["numpy3D", "nested_univ", "df-list"])
def test_grid_search_over_tau_range(data, container):
    X, y = data
    Xc = X if container == "numpy3D" else convert_to(X, to_type=container)
    search = GridSearchCV(
        PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0),
        {"tau_range": [(1, 10), (1, 1000)], "r_on": [0.05, 0.3]},
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        n_jobs=2,
    ).fit(Xc, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_estimator_.tau_range_ == tuple(map(float, search.best_params_["tau_range"]))
    assert search.predict(Xc).shape == (len(y),)


@pytest.mark.heavy
def test_randomized_search_on_irregular_float_times(data, irregular):
    _, y = data
    search = RandomizedSearchCV(
        PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0),
        {"tau_range": [(0.1, 1.0), (0.1, 10.0), "auto"], "r_on": loguniform(0.02, 0.5)},
        n_iter=4,
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
        n_jobs=2,
        random_state=0,
    ).fit(irregular, y)
    assert len(search.cv_results_["params"]) == 4
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


@pytest.mark.parametrize("container", ["nested_univ", "df-list"])
def test_cross_validation_keeps_each_series_whole(data, irregular, container):
    _, y = data
    Xc = irregular
    if container == "nested_univ":  # built by hand: sktime's converter refuses float times
        Xc = pd.DataFrame({c: [f[c] for f in irregular] for c in irregular[0].columns})
    full = np.array([len(f) for f in irregular])
    result = cross_validate(
        LengthRecorder(hidden_size=4, max_epochs=1, random_state=0),
        Xc,
        y,
        cv=KFold(4, shuffle=True, random_state=0),
        return_estimator=True,
        return_indices=True,
        n_jobs=2,
    )
    for est, train in zip(result["estimator"], result["indices"]["train"]):
        np.testing.assert_array_equal(est.train_lengths_, full[train])

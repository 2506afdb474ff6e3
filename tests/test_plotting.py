"""The plot helpers draw what the model learned (Agg backend)."""

import sys

import matplotlib
import numpy as np
import pytest
from sklearn.exceptions import NotFittedError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor  # noqa: E402
from sk_plstm.plotting import (  # noqa: E402
    plot_learning_curves,
    plot_open_units,
    plot_time_gates,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 2, 30))
Y = (X[:, 0, -5:].mean(axis=1) > 0).astype(int)


@pytest.fixture(scope="module")
def fitted():
    return PhasedLSTMClassifier(
        hidden_size=6, bidirectional=True, max_epochs=4, validation_fraction=0.25, random_state=0
    ).fit(X, Y)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_learning_curves_draw_the_history(fitted):
    ax = plot_learning_curves(fitted)
    lines = {line.get_label(): line for line in ax.get_lines()}
    np.testing.assert_allclose(lines["train_loss"].get_ydata(), fitted.history_[:, "train_loss"])
    np.testing.assert_allclose(lines["valid_loss"].get_ydata(), fitted.history_[:, "valid_loss"])
    (score,) = ax.score_axes.get_lines()
    np.testing.assert_allclose(score.get_ydata(), fitted.history_[:, "valid_score"])
    assert ax.score_axes.get_ylabel() == "accuracy"
    fig = ax.figure
    fig.canvas.draw()
    assert fig.canvas.buffer_rgba()  # rendered


def test_learning_curves_mark_the_kept_epoch_and_use_a_given_axes():
    reg = PhasedLSTMRegressor(
        hidden_size=4, max_epochs=30, early_stopping=True, n_iter_no_change=2, random_state=0
    ).fit(X, X[:, 0, -1])
    _, ax = plt.subplots()
    assert plot_learning_curves(reg, ax=ax) is ax
    assert ax.score_axes.get_ylabel() == "R²"
    labels = ax.get_legend().get_texts()
    assert f"kept (epoch {reg.best_epoch_})" in [t.get_text() for t in labels]


def test_time_gates_scatter_one_point_per_unit(fitted):
    tau_ax, r_on_ax = plot_time_gates(fitted)
    before, after = fitted.time_gates(initial=True), fitted.time_gates()
    points = np.concatenate([c.get_offsets() for c in tau_ax.collections])
    assert len(points) == 12 and len(tau_ax.collections) == 2  # forward and backward
    np.testing.assert_allclose(np.sort(points[:, 0]), np.sort(before["tau"]))
    np.testing.assert_allclose(np.sort(points[:, 1]), np.sort(after["tau"]))
    assert tau_ax.get_xscale() == "log" and "fixed" in r_on_ax.get_title()
    assert [t.get_text() for t in tau_ax.get_legend().get_texts()] == [
        "layer 0 forward",
        "layer 0 backward",
    ]


def test_open_units_raster_shows_the_openness_sorted_by_period(fitted):
    ax = plot_open_units(fitted, X, series=5, gate_layer=1)
    (mesh,) = ax.collections
    openness, _ = fitted.gate_openness(X[5:6])
    order = np.argsort(fitted.time_gates()["tau"].to_numpy()[6:])
    shown = np.asarray(mesh.get_array()).reshape(6, 30)
    np.testing.assert_allclose(shown, openness[0, :, 1, order])
    fraction = np.mean(openness[0, :, 1] > 0)
    assert f"{fraction:.1%}" in ax.get_title()


def test_open_units_on_irregular_unequal_series_and_sktime_adapter():
    pytest.importorskip("sktime")
    from sk_plstm.datasets import make_irregular
    from sk_plstm.sktime import PhasedLSTMClassifier as SktimePLSTM

    Xi = make_irregular(X, keep=0.5, return_type="nested_univ", random_state=0)
    clf = SktimePLSTM(hidden_size=4, max_epochs=2, random_state=0).fit(Xi, Y)
    ax = plot_open_units(clf, Xi, series=1)
    mesh = ax.collections[0]
    n_points = len(Xi.iloc[1, 0])
    assert np.asarray(mesh.get_array()).size == 4 * n_points
    plot_time_gates(clf)
    plot_learning_curves(clf)


def test_errors_are_clear(fitted, monkeypatch):
    with pytest.raises(NotFittedError):
        plot_learning_curves(PhasedLSTMClassifier())
    with pytest.raises(TypeError, match="Expected a Phased LSTM estimator"):
        plot_time_gates(object())
    with pytest.raises(ValueError, match=r"series must be in \[0, 40\)"):
        plot_open_units(fitted, X, series=40)
    with pytest.raises(ValueError, match=r"gate_layer must be in \[0, 2\)"):
        plot_open_units(fitted, X, gate_layer=2)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_learning_curves(fitted)


def test_unfitted_sktime_adapter_is_reported():
    pytest.importorskip("sktime")
    from sk_plstm.sktime import PhasedLSTMRegressor as SktimePLSTM

    with pytest.raises(NotFittedError, match="not fitted"):
        plot_time_gates(SktimePLSTM())

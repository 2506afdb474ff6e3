"""The plot helpers draw what the model learned (Agg backend)."""

import io
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor  # noqa: E402
from sk_plstm.plotting import (  # noqa: E402
    plot_learning_curves,
    plot_open_units,
    plot_prediction_steps,
    plot_time_gates,
)

RNG = np.random.default_rng(0)
X = RNG.normal(size=(40, 2, 30))
Y = (X[:, 0, -5:].mean(axis=1) > 0).astype(int)


@pytest.fixture(scope="module")
def fitted():
    return PhasedLSTMClassifier(
        hidden_size=6,
        bidirectional=True,
        max_epochs=4,
        validation_fraction=0.25,
        random_state=0,
        learn_r_on=False,
        final_r_on=None,  # the plot of fixed open ratios
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
    assert tau_ax.get_legend() is None  # one legend for both panels, beside the second
    assert [t.get_text() for t in r_on_ax.get_legend().get_texts()] == [
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


# ---------------------------------------------------------------- what a saved figure shows
def _assert_readable(fig):
    """Save ``fig`` with a plain savefig (what a user gets by default) and check that
    everything drawn is inside the image and that legends cover no data and no label."""
    fig.savefig(io.BytesIO(), format="png")
    renderer = fig.canvas.get_renderer()
    page = fig.bbox
    # tight boxes hold only what was drawn (not the tick labels outside the view)
    for ax in fig.axes:
        box = ax.get_tightbbox(renderer)
        assert (
            box.x0 >= page.x0 - 1
            and box.y0 >= page.y0 - 1
            and box.x1 <= page.x1 + 1
            and box.y1 <= page.y1 + 1
        ), f"axes {ax.get_label() or ax.get_title()!r} is cut off: {box} outside {page}"
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    for legend in legends:
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:  # twin axes and colour bars included
            others = [ax.get_window_extent(renderer), ax.title.get_window_extent(renderer)]
            others += [axis.get_tightbbox(renderer) for axis in (ax.xaxis, ax.yaxis)]
            for other in others:
                assert other is None or not box.overlaps(other), (
                    f"the legend covers the data or the labels of {ax.get_title()!r}"
                )
    return legends


def test_saved_learning_curves_keep_labels_and_legend_off_the_curves(fitted):
    ax = plot_learning_curves(fitted)
    (legend,) = _assert_readable(ax.figure)
    assert {t.get_text() for t in legend.get_texts()} >= {"train_loss", "valid_score"}
    assert ax.get_xlabel() == "epoch"


def test_saved_learning_curves_on_a_given_axes_stay_readable():
    reg = PhasedLSTMRegressor(
        hidden_size=4, max_epochs=6, validation_fraction=0.25, random_state=0
    ).fit(X, X[:, 0, -1])
    fig, ax = plt.subplots(figsize=(5, 3), layout="constrained")
    plot_learning_curves(reg, ax=ax)
    _assert_readable(fig)


def test_saved_time_gates_and_open_units_are_readable(fitted):
    _assert_readable(plot_time_gates(fitted)[0].figure)
    ax = plot_open_units(fitted, X, series=2)
    _assert_readable(ax.figure)
    assert ax.get_xlabel() == "time (time index units)"


@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_open_units_of_datetime_series_show_dates(zone):
    import matplotlib.dates as mdates

    start = pd.Timestamp("2026-05-23 08:00", tz=zone)
    rng = np.random.default_rng(1)
    frames = [
        pd.DataFrame(
            {"a": np.sin(np.arange(30) * (1 + k % 2))},
            index=start + pd.to_timedelta(np.cumsum(rng.uniform(30, 90, 30)), unit="s"),
        )
        for k in range(8)
    ]
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(frames, [0, 1] * 4)
    ax = plot_open_units(clf, frames, series=3)
    _assert_readable(ax.figure)
    assert ax.get_xlabel() == ("time" if zone is None else f"time ({zone})")
    low, high = (mdates.num2date(x, tz=zone) for x in ax.get_xlim())
    index = frames[3].index
    first, last = index[0].floor("s").to_pydatetime(), index[-1].floor("s").to_pydatetime()
    if zone is None:
        low, high = low.replace(tzinfo=None), high.replace(tzinfo=None)
    assert abs((low - first).total_seconds()) < 1 and abs((high - last).total_seconds()) < 1
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert any(label.startswith("08:") for label in labels), labels  # wall-clock, own zone


def test_open_ratios_from_one_start_are_a_histogram_not_a_stripe():
    clf = PhasedLSTMClassifier(hidden_size=6, max_epochs=3, random_state=0).fit(X, Y)
    assert clf.time_gates(initial=True)["r_on"].nunique() == 1  # every unit starts alike
    _, r_on_ax = plot_time_gates(clf)
    heights = [patch.get_height() for patch in r_on_ax.patches]
    assert sum(heights) == 6  # one count per unit
    assert not r_on_ax.collections  # no scatter on one vertical line
    assert r_on_ax.get_xlabel() == "r_on after training"
    assert "all started at 0.5" in r_on_ax.get_ylabel()


@pytest.mark.parametrize("cls", [PhasedLSTMClassifier, PhasedLSTMRegressor])
def test_prediction_steps_draw_the_per_step_outputs(cls):
    y = Y if cls is PhasedLSTMClassifier else Y.astype(float)
    est = cls(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
    ax = plot_prediction_steps(est, X, series=2)
    steps = (
        est.predict_proba_steps(X[2:3])
        if cls is PhasedLSTMClassifier
        else est.predict_steps(X[2:3])
    )
    lines = ax.get_lines()
    assert len(lines) == steps.shape[1]
    np.testing.assert_allclose(lines[-1].get_ydata(), steps.iloc[:, -1].to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(lines[0].get_xdata(), np.arange(30))
    assert "after 30 time points" in ax.get_title()
    with pytest.raises(ValueError, match="series must be in"):
        plot_prediction_steps(est, X, series=40)

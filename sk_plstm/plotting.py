"""Plots of what a fitted Phased LSTM learned (matplotlib, an optional dependency).

Every function takes a fitted :class:`~sk_plstm.PhasedLSTMClassifier`,
:class:`~sk_plstm.PhasedLSTMRegressor` or one of their sktime counterparts
(:mod:`sk_plstm.sktime`), draws on the given matplotlib axes (new ones when none
are given) and returns them. Install matplotlib with ``pip install matplotlib``
(or, from a checkout, ``pip install -e ".[plot]"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from ._base import PhasedLSTMBase, PhasedLSTMParams
from ._inspect import time_unit_label

__all__ = ["plot_learning_curves", "plot_open_units", "plot_prediction_steps", "plot_time_gates"]


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - exercised by hiding matplotlib in a test
        raise ImportError(
            "sk_plstm.plotting needs matplotlib; install it with `pip install matplotlib` "
            '(or, from a checkout of sk_plstm, `pip install -e ".[plot]"`).'
        ) from None
    return plt


def _new_figure(plt: Any, nrows: int = 1, ncols: int = 1, **kwargs: Any) -> tuple[Any, Any]:
    """A figure with a constrained layout: labels, colour bars and outside legends fit."""
    return plt.subplots(nrows, ncols, layout="constrained", **kwargs)


def _legend_outside(ax: Any, handles: list, labels: list, beside: Any = None, **kw: Any) -> Any:
    """A legend to the right of ``ax``, clear of its data and of ``beside``'s labels.

    ``beside`` (a twin axes on the right) has tick labels and a label that stick out
    of ``ax``; their width, measured in pixels (which a layout change does not alter),
    moves the legend further right.
    """
    from matplotlib.transforms import ScaledTranslation

    fig = ax.figure
    offset = 0.0
    if beside is not None:
        renderer = fig.canvas.get_renderer()
        sticking_out = beside.get_tightbbox(renderer).x1 - ax.get_window_extent(renderer).x1
        offset = max(sticking_out, 0.0) / fig.dpi
    transform = ax.transAxes + ScaledTranslation(offset + 0.08, 0.0, fig.dpi_scale_trans)
    return ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.0, 1.0),
        bbox_transform=transform,
        borderaxespad=0.0,
        **kw,
    )


def _fitted(estimator: Any) -> PhasedLSTMBase:
    """The fitted scikit-learn estimator (unwrapping the sktime adapters)."""
    if isinstance(estimator, PhasedLSTMParams) and not isinstance(estimator, PhasedLSTMBase):
        if not hasattr(estimator, "estimator_"):  # an sktime adapter
            raise NotFittedError(f"This {type(estimator).__name__} is not fitted yet.")
        estimator = estimator.estimator_
    if not isinstance(estimator, PhasedLSTMBase):
        raise TypeError(
            f"Expected a Phased LSTM estimator from sk_plstm, got {type(estimator).__name__}."
        )
    check_is_fitted(estimator, "net_")
    return estimator


def plot_learning_curves(estimator: Any, ax: Any = None) -> Any:
    """Training (and validation) loss per epoch, with the validation score if recorded.

    Parameters
    ----------
    estimator : fitted Phased LSTM estimator
        Its ``history_`` is drawn: ``train_loss``, and ``valid_loss`` and
        ``valid_score`` (on a second y axis) when fitted with a validation split.
        With early stopping, the epoch whose weights were kept is marked.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        The axes with the losses (the score's twin axes is ``ax.score_axes`` when
        drawn, else None).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> from sk_plstm.plotting import plot_learning_curves
    >>> X = np.random.default_rng(0).normal(size=(20, 1, 30))
    >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=3, validation_fraction=0.2,
    ...                            random_state=0).fit(X, [0, 1] * 10)
    >>> ax = plot_learning_curves(clf)
    >>> [line.get_label() for line in ax.get_lines()]
    ['train_loss', 'valid_loss']
    """
    fitted = _fitted(estimator)
    plt = _pyplot()
    if ax is None:
        _, ax = _new_figure(plt, figsize=(7, 3.5))
    history = fitted.history_
    epochs = np.asarray(history[:, "epoch"])
    for key in ("train_loss", "valid_loss"):
        if key in history[-1]:
            ax.plot(epochs, history[:, key], marker=".", label=key)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.score_axes = None
    handles, labels = ax.get_legend_handles_labels()
    if "valid_score" in history[-1]:
        ax.score_axes = score_ax = ax.twinx()
        (line,) = score_ax.plot(
            epochs, history[:, "valid_score"], color="C2", marker=".", label="valid_score"
        )
        score_ax.set_ylabel("accuracy" if is_classifier(fitted) else "R²")
        handles, labels = handles + [line], labels + ["valid_score"]
    best = getattr(fitted, "best_epoch_", None)
    if best is not None:
        handles.append(ax.axvline(best, color="0.5", linestyle="--"))
        labels.append(f"kept (epoch {best})")
    ax.set_title(f"{type(fitted).__name__}: {len(epochs)} epochs")
    _legend_outside(ax, handles, labels, beside=ax.score_axes)
    return ax


def _time_edges(fitted: Any, t: np.ndarray) -> tuple[Any, str]:
    """Column edges around the time points ``t`` of one series, and the axis label.

    One column per time point, between the midpoints to its neighbours (irregular
    times). Datetimes stay datetimes (the axis shows dates, aware ones in their zone);
    durations become numbers in ``time_unit``; numbers stay numbers.
    """
    origin = fitted.time_origin_
    if origin.kind == "datetime":
        ns = pd.DatetimeIndex(list(t)).as_unit("ns").asi8.astype(np.float64)
    elif origin.kind == "timedelta":
        ns = pd.TimedeltaIndex(t).as_unit("ns").asi8.astype(np.float64)
    else:
        ns = np.asarray(t, dtype=np.float64)
    half = (ns[1:] - ns[:-1]) / 2 if len(ns) > 1 else None
    if half is None:  # one point: a column of one time unit (or one index unit)
        width = origin.unit_ns / 2 if origin.kind in ("datetime", "timedelta") else 0.5
        edges = np.array([ns[0] - width, ns[0] + width])
    else:
        edges = np.concatenate(([ns[0]], ns[:-1] + half, [ns[-1]]))
    if origin.kind == "datetime":
        index = pd.DatetimeIndex(np.round(edges).astype(np.int64).astype("datetime64[ns]"))
        zone = f" ({origin.tz})" if origin.tz else ""
        return (index.tz_localize("UTC") if origin.tz else index).to_pydatetime(), f"time{zone}"
    if origin.kind == "timedelta":
        return edges / origin.unit_ns, f"time ({time_unit_label(fitted)})"
    return edges, f"time ({time_unit_label(fitted)})"


def plot_time_gates(estimator: Any, axes: Any = None) -> Any:
    """Each unit's period ``tau`` and open ratio ``r_on``, before against after training.

    Parameters
    ----------
    estimator : fitted Phased LSTM estimator
        Compares ``initial_gates_`` with the learned gates (:meth:`time_gates`).
    axes : sequence of two matplotlib.axes.Axes, optional
        Where to draw ``tau`` and ``r_on``; a new figure with two panels when None.

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes of shape (2,)
        The ``tau`` panel (log-log, one point per unit, coloured by layer and
        direction, with the diagonal of unchanged values) and the ``r_on`` panel (the
        same, or, where every unit started at one value, a histogram of the learned
        values with the start marked).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> from sk_plstm.plotting import plot_time_gates
    >>> X = np.random.default_rng(0).normal(size=(20, 1, 30))
    >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
    >>> axes = plot_time_gates(clf.fit(X, [0, 1] * 10))
    >>> [ax.get_xlabel() for ax in axes]  # every unit started at r_on=0.5: a histogram
    ['tau before training (time index units)', 'r_on after training']
    """
    fitted = _fitted(estimator)
    plt = _pyplot()
    if axes is None:
        _, axes = _new_figure(plt, 1, 2, figsize=(10, 4))
    axes = np.asarray(axes).ravel()
    before, after = fitted.time_gates(initial=True), fitted.time_gates()
    unit = time_unit_label(fitted)
    groups = before.groupby(["layer", "direction"], sort=False).groups
    for name, (ax, scale) in zip(("tau", "r_on"), ((axes[0], "log"), (axes[1], "linear"))):
        if np.ptp(before[name].to_numpy()) == 0:  # one start for every unit: where they went
            _plot_from_one_start(ax, before, after, name, groups, fitted.bidirectional, unit)
            continue
        for (layer, direction), rows in groups.items():
            label = f"layer {layer}" + (f" {direction}" if fitted.bidirectional else "")
            ax.scatter(before.loc[rows, name], after.loc[rows, name], s=12, label=label)
        low = min(before[name].min(), after[name].min())
        high = max(before[name].max(), after[name].max())
        ax.plot([low, high], [low, high], color="0.6", linewidth=1, zorder=0)
        ax.set_xscale(scale)
        ax.set_yscale(scale)
        suffix = f" ({unit})" if name == "tau" else ""
        ax.set_xlabel(f"{name} before training{suffix}")
        ax.set_ylabel(f"{name} after training{suffix}")
    if len(groups) > 1:  # one legend for both panels, beside the second
        handles, labels = axes[0].get_legend_handles_labels()
        _legend_outside(axes[-1], handles, labels, fontsize="small")
    axes[0].set_title("periods")
    learned = "learned" if fitted.learn_r_on else "fixed (learn_r_on=False)"
    axes[1].set_title(f"open ratios, {learned}")
    return axes


def _plot_from_one_start(
    ax: Any, before: Any, after: Any, name: str, groups: dict, bidirectional: bool, unit: str
) -> None:
    """The learned values as a histogram, with the one value every unit started from.

    A scatter against the start would put every unit on one vertical line.
    """
    start = before[name].iloc[0]
    values = [after.loc[rows, name].to_numpy() for rows in groups.values()]
    labels = [
        f"layer {layer}" + (f" {direction}" if bidirectional else "") for layer, direction in groups
    ]
    log = name == "tau"
    low, high = min(v.min() for v in values), max(v.max() for v in values)
    if log:
        bins = np.geomspace(min(low, start), max(high, start) * 1.0001, 21)
        ax.set_xscale("log")
    else:
        bins = np.linspace(min(low, start), max(high, start) + 1e-9, 21)
    ax.hist(values, bins=bins, stacked=True, label=labels)
    ax.axvline(start, color="0.3", linestyle="--", linewidth=1, label="start (every unit)")
    suffix = f" ({unit})" if name == "tau" else ""
    ax.set_xlabel(f"{name} after training{suffix}")
    ax.set_ylabel(f"units (all started at {start:.3g})")
    ax.yaxis.get_major_locator().set_params(integer=True)


def plot_prediction_steps(estimator: Any, X: Any, series: int = 0, ax: Any = None) -> Any:
    """How the prediction for one series evolves through it, time point by time point.

    Parameters
    ----------
    estimator : fitted Phased LSTM estimator
        A unidirectional model (:meth:`predict_proba_steps` of a classifier,
        :meth:`predict_steps` of a regressor).
    X : array-like or sktime panel container
        Series in any format ``predict`` accepts; one of them is drawn.
    series : int, default=0
        Position of the series in ``X``.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        For a classifier, each class's probability after every observation (a step
        line per class); for a regressor, the prediction. The title gives the final
        answer.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> from sk_plstm.plotting import plot_prediction_steps
    >>> X = np.random.default_rng(0).normal(size=(20, 1, 30))
    >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
    >>> ax = plot_prediction_steps(clf.fit(X, ["a", "b"] * 10), X, series=3)
    >>> ax.get_ylabel(), len(ax.get_lines())
    ('probability', 2)
    """
    fitted = _fitted(estimator)
    plt = _pyplot()
    classifier = is_classifier(fitted)
    steps = fitted.predict_proba_steps(X) if classifier else fitted.predict_steps(X)
    ids = steps.index.droplevel(-1).unique()
    if not 0 <= series < len(ids):
        raise ValueError(f"series must be in [0, {len(ids)}) for this X, got {series}.")
    rows = steps.loc[ids[series]] if steps.index.nlevels == 2 else steps.xs(ids[series])
    times = rows.index
    if fitted.time_origin_.kind == "timedelta":
        times = times / pd.Timedelta(1, unit=fitted.time_unit)
    if ax is None:
        _, ax = _new_figure(plt, figsize=(8, 3.5))
    for column in rows.columns:
        ax.step(times, rows[column].to_numpy(), where="post", label=str(column))
    if classifier:
        ax.set_ylim(-0.02, 1.02)
        ax.set_ylabel("probability")
        final = rows.columns[int(np.argmax(rows.iloc[-1].to_numpy()))]
        handles, labels = ax.get_legend_handles_labels()
        _legend_outside(ax, handles, labels, title="class")
        answer = f"predicted {final} (p = {rows[final].iloc[-1]:.2f})"
    else:
        ax.set_ylabel("prediction")
        answer = f"final prediction {rows.iloc[-1, 0]:.4g}"
    label = "time" if fitted.time_origin_.kind == "datetime" else None
    ax.set_xlabel(label or f"time ({time_unit_label(fitted)})")
    ax.set_title(f"series {ids[series]}: {answer} after {len(rows)} time points")
    return ax


def plot_open_units(
    estimator: Any,
    X: Any,
    series: int = 0,
    gate_layer: int = 0,
    ax: Any = None,
) -> Any:
    """A raster of which units are open at each time point of one series.

    Parameters
    ----------
    estimator : fitted Phased LSTM estimator
        The model whose gates are drawn (:meth:`gate_openness`).
    X : array-like or sktime panel container
        Series in any format ``predict`` accepts; one of them is drawn.
    series : int, default=0
        Position of the series in ``X``.
    gate_layer : int, default=0
        Which layer and direction to draw, in the order of :meth:`time_gates`
        (layer by layer, forward before backward).
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure when None.

    Returns
    -------
    matplotlib.axes.Axes
        Units (sorted by period, shortest at the bottom) against the series' time
        points, shaded by the openness ``k`` in ``[0, 1]``; the title gives the
        fraction of (unit, time point) pairs at which a unit updates.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> from sk_plstm.plotting import plot_open_units
    >>> X = np.random.default_rng(0).normal(size=(20, 1, 30))
    >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
    >>> ax = plot_open_units(clf.fit(X, [0, 1] * 10), X, series=3)
    >>> ax.get_ylabel()
    'unit (sorted by tau)'
    """
    fitted = _fitted(estimator)
    plt = _pyplot()
    openness, times = fitted.gate_openness(X)
    n_series, _, n_gates, _ = openness.shape
    if not 0 <= series < n_series:
        raise ValueError(f"series must be in [0, {n_series}) for this X, got {series}.")
    if not 0 <= gate_layer < n_gates:
        raise ValueError(f"gate_layer must be in [0, {n_gates}) for this model, got {gate_layer}.")
    valid = ~pd.isna(times[series])
    k = openness[series][valid][:, gate_layer, :]  # (time points, units)
    order = np.argsort(fitted._gate_params()["tau"][gate_layer])
    if ax is None:
        _, ax = _new_figure(plt, figsize=(8, 3.5))
    edges, label = _time_edges(fitted, times[series][valid])
    mesh = ax.pcolormesh(
        edges, np.arange(k.shape[1] + 1), k[:, order].T, cmap="Greys", vmin=0, vmax=1
    )
    ax.figure.colorbar(mesh, ax=ax, label="openness k")
    origin = fitted.time_origin_
    if origin.kind == "datetime":  # dates on the axis, in the data's time zone
        import matplotlib.dates as mdates

        locator = mdates.AutoDateLocator(tz=origin.tz)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=origin.tz))
    ax.set_xlabel(label)
    ax.set_ylabel("unit (sorted by tau)")
    ax.set_title(
        f"series {series}, gate layer {gate_layer}: units update at "
        f"{np.mean(k > 0):.1%} of (unit, time point) pairs"
    )
    return ax

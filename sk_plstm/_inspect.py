"""What a fitted estimator learned: its time gates, their openness, a text summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from ._data import Panel, absolute_times, from_panel, instance_ids

__all__ = [
    "ModelDescription",
    "describe",
    "embeddings",
    "gate_openness",
    "step_frame",
    "step_outputs",
    "gate_table",
    "training_updates",
    "update_counts",
]

#: series per chunk when counting updates on the training data
_CHUNK = 256


def _gate_labels(estimator: Any) -> tuple[np.ndarray, np.ndarray]:
    """Layer number and direction name of each gate row, in the network's cell order."""
    directions = ["forward", "backward"] if estimator.bidirectional else ["forward"]
    layers = np.repeat(np.arange(estimator.num_layers), len(directions))
    return layers, np.array(directions * estimator.num_layers)


def time_unit_label(estimator: Any) -> str:
    """The unit of the times, periods and shifts the estimator reports."""
    kind = estimator.time_origin_.kind
    if kind == "steps":
        return "steps"
    if kind == "numeric":
        return "time index units"
    return str(estimator.time_unit)


def gate_table(estimator: Any, gates: dict[str, np.ndarray]) -> pd.DataFrame:
    """One row per unit: layer, direction, unit, ``tau``, ``shift``, ``r_on``."""
    layers, directions = _gate_labels(estimator)
    n_gates, hidden = gates["tau"].shape
    return pd.DataFrame(
        {
            "layer": np.repeat(layers, hidden),
            "direction": np.repeat(directions, hidden),
            "unit": np.tile(np.arange(hidden), n_gates),
            **{name: values.ravel() for name, values in gates.items()},
        }
    )


def _gate_inputs(estimator: Any, X: Any) -> tuple[Any, torch.Tensor, torch.Tensor]:
    """``X`` as the gates see it: its panel, its internal times and its lengths.

    The panel is in the data's units; the times (in ``time_scale_``) and lengths are
    tensors on the module's device.
    """
    panel = estimator._panel(X, reset=False)
    internal = estimator._internal(panel)
    device = estimator.module_.device
    times = torch.as_tensor(internal.times, device=device)
    return panel, times, torch.as_tensor(internal.lengths, device=device)


def update_counts(estimator: Any, X: Any) -> np.ndarray:
    """Updates of every unit on ``X``, averaged over the series (see the estimators' method)."""
    _, times, lengths = _gate_inputs(estimator, X)
    counts = estimator.module_.update_counts(times, lengths)
    return counts.cpu().numpy().astype(np.float64)


#: series per chunk of transform and per-step outputs: every chunk is padded to this many
#: series, so that each product has the same shape whatever the series around it, and a
#: series gets the same numbers in any X (the BLAS rounds rows alike only in one shape)
_FIXED_CHUNK = 32


def _chunks(estimator: Any, X: Any) -> tuple[Any, Any]:
    """``X``'s panel, and its network inputs in chunks of :data:`_FIXED_CHUNK` series.

    The chunks (an iterator of ``(inputs, n_real)``, evaluation mode, no gradients) are
    tensors on the module's device; the last one is padded with copies of its first
    series, and ``n_real`` says how many of its series are ``X``'s.
    """
    panel = estimator._panel(X, reset=False)
    inputs = estimator._network_inputs(panel)
    module = estimator.module_
    module.train(False)

    def chunks():
        with torch.no_grad():
            for start in range(0, len(panel), _FIXED_CHUNK):
                real = min(_FIXED_CHUNK, len(panel) - start)
                rows = np.arange(start, start + _FIXED_CHUNK)
                rows[real:] = start
                yield (
                    {
                        name: torch.as_tensor(np.asarray(value)[rows], device=module.device)
                        for name, value in inputs.items()
                    },
                    real,
                )

    return panel, chunks()


def embeddings(estimator: Any, X: Any) -> np.ndarray:
    """What the output layer reads for each series of ``X`` (the estimators' ``transform``)."""
    _, chunks = _chunks(estimator, X)
    parts = [estimator.module_.embed(**chunk)[:real] for chunk, real in chunks]
    return torch.cat(parts).double().cpu().numpy()


def step_outputs(estimator: Any, X: Any) -> tuple[np.ndarray, Any]:
    """The network's raw outputs after every time point of ``X``, and ``X``'s panel.

    Returns
    -------
    outputs : numpy.ndarray of shape (n_series, max_length, output_size)
        NaN after the end of a shorter series.
    panel : Panel
    """
    if getattr(estimator.module_, "bidirectional", False):
        raise ValueError(
            "Per-step outputs need a unidirectional network: with bidirectional=True every "
            "output depends on the whole series, read backwards from its end."
        )
    panel, chunks = _chunks(estimator, X)
    parts = []
    for chunk, real in chunks:
        by_index = {"indices": chunk["indices"]} if "indices" in chunk else {}
        outputs, _ = estimator.module_.step_outputs(chunk["values"], chunk["times"], **by_index)
        parts.append(outputs[:real].double().cpu().numpy())
    outputs = np.concatenate(parts)
    outputs[~panel.valid_mask()] = np.nan
    return outputs, panel


def step_frame(
    estimator: Any, X: Any, values: np.ndarray, panel: Any, columns: Any
) -> pd.DataFrame:
    """Per-step values as a long table indexed by ``(instance, time)``, the times as given.

    Parameters
    ----------
    values : numpy.ndarray of shape (n_series, max_length, n_columns)
    panel : Panel
        ``X``'s panel (its lengths and times).
    columns : sequence of length n_columns
    """
    # plain Python labels (not numpy scalars) as column names
    steps = Panel(values, panel.times, panel.lengths, tuple(np.asarray(columns).tolist()))
    frame = from_panel(steps, estimator.time_origin_)  # times restored, series 0, 1, ...
    ids = instance_ids(X)
    if ids is None or len(ids) != len(panel):
        ids = pd.RangeIndex(len(panel), name="instance")
    names = list(ids.names) if ids.nlevels > 1 else [ids.name or "instance"]
    instance = ids.repeat(panel.lengths)
    arrays = [instance.get_level_values(k) for k in range(ids.nlevels)]
    frame.index = pd.MultiIndex.from_arrays(
        [*arrays, frame.index.get_level_values(-1)], names=[*names, "time"]
    )
    return frame


def training_updates(module: Any, times: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Updates of every unit on a network's training inputs, averaged over the series.

    Parameters
    ----------
    module : EstimatorNetwork
        A network with time gates (in its training mode or not: counted as in inference).
    times : numpy.ndarray of shape (n_series, max_length)
        The internal times the network trained on.
    lengths : numpy.ndarray of shape (n_series,)

    Returns
    -------
    numpy.ndarray of shape (n_gate_layers, hidden_size)
        0 for a unit that never opened at a training time point.
    """
    device = next(module.parameters()).device
    total = None
    with torch.no_grad():
        for start in range(0, len(lengths), _CHUNK):
            t = torch.as_tensor(times[start : start + _CHUNK], device=device)
            n = torch.as_tensor(lengths[start : start + _CHUNK], device=device)
            counts = module.update_counts(t, n).double().cpu().numpy() * len(n)
            total = counts if total is None else total + counts
    return total / max(len(lengths), 1)


def gate_openness(estimator: Any, X: Any) -> tuple[np.ndarray, np.ndarray]:
    """Openness of every unit at every time point of ``X`` (see the estimators' method)."""
    panel, times, lengths = _gate_inputs(estimator, X)
    openness = estimator.module_.gate_openness(times, lengths)
    openness = openness.permute(1, 2, 0, 3).cpu().double().numpy()
    openness[~panel.valid_mask()] = np.nan
    return openness, absolute_times(panel, estimator.time_origin_)


#: what the first line says of a cell other than the default LSTM
_CELL_NOTES = {"gru": " (Phased GRU cells)"}


@dataclass
class ModelDescription:
    """A fitted Phased LSTM estimator in numbers, printable as a short report.

    Parameters
    ----------
    summary : dict
        Estimator, sizes (channels, outputs, units, layers, parameters), epochs run,
        time unit and ``tau_range_``.
    layers : pandas.DataFrame
        One row per layer and direction: ``units``, the learned ``tau_min``,
        ``tau_median``, ``tau_max`` (in ``summary["time_unit"]``), ``r_on_mean``,
        ``open_fraction`` (the fraction of time a unit's gate is open, the mean
        ``r_on``), ``never_opened`` (units that were closed at every time point of the
        training data: they learned nothing and change no prediction) and, when series
        were given, ``updates_fraction`` (the fraction of
        their time points at which a unit updates, against 1 for an LSTM).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMRegressor
    >>> X = np.random.default_rng(0).normal(size=(16, 1, 40))
    >>> reg = PhasedLSTMRegressor(hidden_size=4, max_epochs=1, random_state=0)
    >>> info = reg.fit(X, X[:, 0, -1]).describe(X)
    >>> info.summary["n_outputs"], list(info.layers.columns[:3])
    (1, ['layer', 'direction', 'units'])
    """

    summary: dict[str, Any]
    layers: pd.DataFrame = field(repr=False)

    def __str__(self) -> str:
        s = self.summary
        lines = [
            f"{s['estimator']}{_CELL_NOTES.get(s.get('cell'), '')}: {s['n_channels']} "
            f"channel(s) -> {s['num_layers']} layer(s) x "
            f"{s['hidden_size']} units{' x 2 directions' if s['bidirectional'] else ''} -> "
            f"{s['n_outputs']} output(s); {s['n_parameters']:,} parameters",
            f"trained {s['n_iter']} epoch(s)"
            + (f", weights of epoch {s['best_epoch']} kept" if s.get("best_epoch") else ""),
            f"times in {s['time_unit']}; tau initialised in "
            f"({s['tau_range'][0]:.4g}, {s['tau_range'][1]:.4g})",
            self.layers.to_string(index=False, float_format=lambda v: f"{v:.4g}"),
        ]
        never = int(self.layers["never_opened"].sum()) if "never_opened" in self.layers else 0
        if never:
            lines.append(
                f"never_opened: {never} unit(s) closed at every training time point; they "
                "take no part in any prediction (see docs/inspecting.md)"
            )
        if "updates_fraction" in self.layers:
            lines.append(
                f"updates_fraction: on {s['n_series']} series, of their time points "
                "(an LSTM updates at all of them)"
            )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        head = "<br>".join(str(self).splitlines()[:3])
        return f"<p>{head}</p>{self.layers.to_html(index=False)}"


def describe(estimator: Any, X: Any = None) -> ModelDescription:
    """A :class:`ModelDescription` of a fitted estimator (see the estimators' method)."""
    gates = estimator._gate_params()
    layers, directions = _gate_labels(estimator)
    table = pd.DataFrame(
        {
            "layer": layers,
            "direction": directions,
            "units": gates["tau"].shape[1],
            "tau_min": gates["tau"].min(axis=1),
            "tau_median": np.median(gates["tau"], axis=1),
            "tau_max": gates["tau"].max(axis=1),
            "r_on_mean": gates["r_on"].mean(axis=1),
        }
    )
    table["open_fraction"] = table["r_on_mean"]
    if getattr(estimator, "training_updates_", None) is not None:
        table["never_opened"] = (estimator.training_updates_ == 0).sum(axis=1)
    module = estimator.module_
    summary = {
        "estimator": type(estimator).__name__,
        "cell": estimator.cell,
        "n_channels": estimator.n_channels_,
        "n_outputs": module.output_size,
        "hidden_size": estimator.hidden_size,
        "num_layers": estimator.num_layers,
        "bidirectional": estimator.bidirectional,
        "n_parameters": sum(p.numel() for p in module.parameters()),
        "n_iter": estimator.n_iter_,
        "best_epoch": getattr(estimator, "best_epoch_", None),
        "time_unit": time_unit_label(estimator),
        "tau_range": tuple(float(v) for v in estimator.tau_range_),
    }
    if X is not None:
        panel, times, lengths = _gate_inputs(estimator, X)
        # updates per unit, averaged over the series, over the mean number of points
        counts = estimator.module_.update_counts(times, lengths).cpu().double().numpy()
        table["updates_fraction"] = counts.mean(axis=1) / panel.lengths.mean()
        summary["n_series"] = len(panel)
    return ModelDescription(summary, table)

"""The estimators' shared base: data in, the one training path, fitted state, inspection.

The parameters and their checks live in ``_params``, the skorch net's assembly in
``_network``, training callbacks, checkpoints and seeding in ``_training``, model files in
``_persistence``; this module calls them with plain values.
"""

from __future__ import annotations

import os
import sys
import warnings
from abc import abstractmethod
from contextlib import contextmanager, nullcontext
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import TransformerTags, check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.helper import SliceDict
from skorch.history import History

from . import _distributed
from ._compat import check_sample_weight
from ._data import Panel, TimeOrigin, TimeRange, align_to_instances, instance_ids, to_panel
from ._event_streams import (
    EVENT_ATTRIBUTES,
    EVENT_ORIGIN,
    EventPanel,
    event_panel,
    is_event_data,
)
from ._inspect import (
    ModelDescription,
    describe,
    embeddings,
    gate_openness,
    gate_table,
    step_frame,
    step_outputs,
    training_updates,
    update_counts,
)
from ._network import build_net, early_stopper
from ._params import (
    EARLY_STOPPING_FRACTION,
    PARAMETER_CONSTRAINTS,
    PhasedLSTMParams,
    check_params,
    narrows,
)
from ._persistence import write_model
from ._stream import PhasedLSTMStream
from ._training import (
    LAST_CHECKPOINT,
    SAMPLE_WEIGHT,
    Checkpointer,
    directory_lock,
    fingerprint,
    load_checkpoint,
    seeded,
)
from .nn import PhasedLSTMNet
from .nn._features import SUMMARY_STATS
from .nn._init import check_tau_range


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside the package, scikit-learn and skorch.

    Counted from the caller of ``warnings.warn``, so that a warning points at the
    user's call.
    """
    frame, level = sys._getframe(1), 1
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not name.startswith(("sk_plstm", "sklearn", "skorch")):
            return level
        frame, level = frame.f_back, level + 1
    return 1


def steps_doc(summary: str, final: str, columns: str, examples: str = "") -> str:
    """The docstring of a per-step prediction method (``predict_steps`` and its kin)."""
    return f"""{summary}

    Each row is the model's answer after the series' observations up to that time (the
    network reads the series in order, so a row depends on nothing later): how the
    prediction evolves through a series, and early classification (act on the first
    row that is confident enough). The last row of a series is :meth:`{final}`'s answer
    (to float rounding). Needs a unidirectional network.

    Parameters
    ----------
    X : array-like or sktime panel container
        Series in any format accepted by :meth:`fit`.

    Returns
    -------
    pandas.DataFrame
        One row per time point of each series (the times with an observation, as ``X``
        gives them), indexed by ``(instance, time)`` (the instance ids of ``X`` where it
        has them, else 0, 1, ...), with {columns}.
{examples}"""


def score_doc(metric: str, y_doc: str) -> str:
    """The docstring of ``score``: ``metric`` of the predictions, ``y`` matched by id."""
    return f"""{metric} of the predictions for ``X`` against ``y``.

    As scikit-learn's ``score``, with ``y`` and ``sample_weight`` matched to ``X``'s
    series by id where they are pandas objects indexed by its instance ids (as in
    :meth:`fit`).

    Parameters
    ----------
    X : array-like or sktime panel container
        Series in any format accepted by :meth:`fit`.
    y : {y_doc}
    sample_weight : array-like of shape (n_samples,), optional
        Weights of the series in the score.

    Returns
    -------
    float
    """


class PhasedLSTMBase(PhasedLSTMParams, BaseEstimator):
    """Parameters and fitting shared by the Phased LSTM classifier and regressor.

    See :class:`sk_plstm.PhasedLSTMClassifier` for the parameters.
    """

    _parameter_constraints: dict = PARAMETER_CONSTRAINTS

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.missing == "mask"
        tags.non_deterministic = False
        # transform gives an embedding (float64 whatever the input's dtype)
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])
        return tags

    # ------------------------------------------------------------------ subclass hooks
    @abstractmethod
    def _prepare_targets(
        self, y: Any, n_samples: int, classes: Any = None
    ) -> tuple[np.ndarray, int]:
        """Validate ``y``, record what predict needs; return training targets and output size."""

    @abstractmethod
    def _criterion(self) -> type[torch.nn.Module]:
        """The loss class."""

    def _target_weights(self, targets: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Per-series weights that the targets imply (the classifier's ``class_weight``)."""
        return None

    @staticmethod
    @abstractmethod
    def _epoch_score(y_true: np.ndarray, outputs: np.ndarray) -> float:
        """The validation score recorded every epoch (the estimator's ``score``)."""

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        check_params(self.get_params(deep=False))

    def _resolve_tau_range(self, panel: Panel) -> tuple[float, float]:
        if isinstance(self.tau_range, str):  # "auto": the data's sampling interval to duration
            interval, duration = panel.time_scale()
            return (interval, max(duration, 2.0 * interval))
        return check_tau_range(self.tau_range, alternatives="'auto' or ")

    def _set_time_scale(self) -> None:
        """Fix the unit of the network's internal time: a power of two near ``tau_range_[0]``.

        The network sees times divided by ``time_scale_``, so its periods are of order
        one whatever the data's time unit (nanoseconds or days): learning them with a
        given learning rate, and the float32 parameters, behave the same at every
        scale, and a power of two keeps the division exact.
        """
        low, high = self.tau_range_
        self.time_scale_ = float(2.0 ** np.round(np.log2(low)))
        if high / self.time_scale_ > 1e30:
            raise ValueError(
                f"tau_range_ {self.tau_range_} spans more than 30 orders of magnitude, "
                "beyond what float32 periods can hold; give a narrower tau_range."
            )

    def _internal(self, panel: Panel) -> Panel:
        """``panel`` as the network sees it: standardised values, times in ``time_scale_``."""
        if isinstance(panel, EventPanel):  # events by index: their values as given
            return panel.scaled(self.time_scale_)
        if self.standardize:
            panel = panel.standardized(self.channel_mean_, self.channel_std_)
        return Panel(panel.values, panel.times / self.time_scale_, panel.lengths, panel.channels)

    def _network_inputs(self, panel: Panel) -> SliceDict:
        """The network's keyword arguments for ``panel`` (in the data's units).

        Values are standardised (zero where unobserved) and, for a model fitted on data
        with missing values (``mask_inputs_``), followed by the observation masks; a
        model fitted on complete data reads an unobserved value as the channel's mean.
        """
        mask_inputs = getattr(self, "mask_inputs_", False)
        if panel.has_missing and not mask_inputs:
            warnings.warn(
                "X has missing values, but the model was fitted on fully observed data and "
                "takes no observation masks: each missing value is read as its channel's "
                "training mean. Fit on data with missing values to let the model use them.",
                UserWarning,
                stacklevel=3,
            )
        return SliceDict(**self._internal(panel).network_inputs(mask_inputs))

    def _panel(self, X: Any, reset: bool) -> Panel:
        """Convert ``X`` (recording the time origin, channels and statistics at fit).

        The panel is in the data's units (float64); :meth:`_internal` makes the
        network's view.
        """
        if is_event_data(X):
            return self._event_panel(X, reset)
        if not reset and getattr(self, "event_input_", False):
            check_is_fitted(self, "net_")
            raise TypeError(
                "The model was fitted on event streams by index; pass event streams "
                "(sk_plstm.EventStreams, structured event arrays or (times, channels[, "
                f"values]) tuples), got {type(X).__name__}."
            )
        if reset:
            for name in (
                "n_features_in_",
                "feature_names_in_",
                "channel_names_",
                *EVENT_ATTRIBUTES,
            ):
                self.__dict__.pop(name, None)
            panel, self.time_origin_ = to_panel(
                X,
                estimator=self,
                reset=True,
                time_unit=self.time_unit,
                missing=self.missing,
                dtype=np.float64,
            )
            self.n_channels_ = panel.n_channels
            if panel.channels is not None:
                self.channel_names_ = panel.channels
            self.mask_inputs_ = panel.has_missing
            if self.standardize:
                self.channel_mean_, self.channel_std_ = panel.channel_stats()
        else:
            check_is_fitted(self, "net_")
            panel, _ = to_panel(
                X,
                estimator=self,
                reset=False,
                origin=self.time_origin_,
                n_channels=self.n_channels_,
                channel_names=getattr(self, "channel_names_", None),
                missing=self.missing,
                dtype=np.float64,
            )
        return panel

    def _event_panel(self, X: Any, reset: bool) -> EventPanel:
        """Event streams by index as a panel (recording the channels and sensor at fit)."""
        if reset:
            for name in ("n_features_in_", "feature_names_in_", "channel_names_",
                         "channel_mean_", "channel_std_", "sensor_size_"):  # fmt: skip
                self.__dict__.pop(name, None)
            panel, streams = event_panel(X)
            self.time_origin_ = EVENT_ORIGIN
            self.n_channels_ = panel.n_channels
            self.mask_inputs_ = False
            self.event_input_ = True
            if streams.sensor_size is not None:
                self.sensor_size_ = streams.sensor_size
            return panel
        check_is_fitted(self, "net_")
        if not getattr(self, "event_input_", False):
            raise TypeError(
                "X holds event streams by index, but the model was fitted on series of "
                "values; fit it on event streams to predict them."
            )
        panel, _ = event_panel(X, self.n_channels_, getattr(self, "sensor_size_", None))
        return panel

    # ------------------------------------------------------------------ fitting
    def _network_size(self, output_size: int) -> dict[str, Any]:
        """The size arguments every network takes (inputs, outputs, units, layers)."""
        masks = self.n_channels_ if getattr(self, "mask_inputs_", False) else 0
        return {
            "input_size": self.n_channels_ + masks,
            "output_size": output_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
        }

    def _module_spec(self, output_size: int) -> tuple[type[torch.nn.Module], dict[str, Any]]:
        """The torch module class and its keyword arguments (a hook for other networks).

        The class must implement :class:`sk_plstm.nn.EstimatorNetwork`.
        """
        events = getattr(self, "event_input_", False)  # by index: no per-channel features
        return PhasedLSTMNet, {
            **self._network_size(output_size),
            "n_channels": self.n_channels_,
            "time_inputs": self.time_inputs and not events,
            "level_inputs": self.level_inputs and not events,
            "readout": "last" if events else self.readout,
            "cell": self.cell,
            "tau_range": (
                self.tau_range_[0] / self.time_scale_,
                self.tau_range_[1] / self.time_scale_,
            ),
            "r_on": self.r_on,
            "leak": self.leak,
            "learn_tau": self.learn_tau,
            "learn_shift": self.learn_shift,
            "learn_r_on": self.learn_r_on,
        }

    def _narrows(self) -> bool:
        """Whether the gates narrow while training (``final_r_on`` below ``r_on``)."""
        return narrows(self.get_params(deep=False))

    def _validation(self, incremental: bool) -> float | None:
        """The fraction of the training series held out for validation, if any."""
        if self.validation_fraction is not None:
            return self.validation_fraction
        if self.early_stopping and not incremental:
            return EARLY_STOPPING_FRACTION
        return None

    def _check_validation_size(self, n_series: int, incremental: bool) -> None:
        """A clear error when the validation split cannot hold every class (or any series)."""
        fraction = self._validation(incremental)
        if fraction is None:
            return
        n_valid = int(np.ceil(fraction * n_series))
        needed = len(self.classes_) if is_classifier(self) else 1
        if n_valid < needed or n_series - n_valid < needed:
            source = (
                f"validation_fraction={fraction}"
                if self.validation_fraction is not None
                else f"early_stopping (which holds out {fraction} of the series)"
            )
            raise ValueError(
                f"{source} leaves {n_valid} of the {n_series} training series for "
                f"validation and {n_series - n_valid} for training; each needs at least "
                f"{needed} (one per class for a classifier). Give more series or change "
                "validation_fraction."
            )

    def _build_net(
        self,
        output_size: int,
        extra_callbacks: list | None = None,
        max_epochs: int | None = None,
        incremental: bool = False,
    ) -> NeuralNet:
        """The skorch net with this estimator's network and training callbacks."""
        module, module_kwargs = self._module_spec(output_size)
        rank, world = self._rank_and_world()
        return build_net(
            self.get_params(deep=False),
            module,
            module_kwargs,
            criterion=self._criterion(),
            epoch_score=self._epoch_score,
            stratify=is_classifier(self),
            seed=getattr(self, "seed_", None),
            validation=self._validation(incremental),
            rank=rank,
            world=world,
            device=self._device(),
            epochs=self.max_epochs if max_epochs is None else max_epochs,
            incremental=incremental,
            extra_callbacks=extra_callbacks,
        )

    def _seeded(self, seed: int):
        """Seed torch for a block (:func:`sk_plstm._training.seeded`)."""
        return seeded(seed, self._device())

    def _gate_params(self) -> dict[str, np.ndarray]:
        """Every unit's period, shift and open ratio, in the time index's units.

        Arrays of shape (num_layers * num_directions, hidden_size), one row per gate
        layer in the order of the network's cells.
        """
        rows = {"tau": [], "shift": [], "r_on": []}
        for gate in self.net_.module_.time_gates():
            tau, r_on = gate.effective_params()
            rows["tau"].append(tau.detach().cpu().double().numpy() * self.time_scale_)
            shift = torch.remainder(gate.shift.detach().double(), tau.detach().double())
            rows["shift"].append(shift.cpu().numpy() * self.time_scale_)
            rows["r_on"].append(r_on.detach().cpu().double().numpy())
        return {name: np.stack(values) for name, values in rows.items()}

    def _fitted_state(self) -> dict[str, Any]:
        """The fitted attributes (``name_``), by reference."""
        return {
            name: value
            for name, value in vars(self).items()
            if name.endswith("_") and not name.startswith("__")
        }

    @contextmanager
    def _all_or_nothing(self):
        """A fit or partial_fit that fails leaves the estimator exactly as it was.

        Every fitted attribute is restored (the statistics, the classes, the time
        origin, ``net_``; new ones are removed), and a network trained in place by
        ``partial_fit`` gets its weights, optimizer state and history back.
        """
        before = self._fitted_state()
        net = before.get("net_")
        weights = optimizer = None
        if net is not None:
            weights = deepcopy(net.module_.state_dict())
            optimizer = deepcopy(net.optimizer_.state_dict())
            n_epochs = len(net.history)
        try:
            yield
        except BaseException:
            for name in self._fitted_state():
                if name not in before:
                    delattr(self, name)
            self.__dict__.update(before)
            if net is not None:
                net.module_.load_state_dict(weights)
                net.optimizer_.load_state_dict(optimizer)
                del net.history[n_epochs:]
            raise

    def _fit(
        self,
        X: Any,
        y: Any,
        epochs: int | None = None,
        classes: Any = None,
        incremental: bool = False,
        sample_weight: Any = None,
    ) -> PhasedLSTMBase:
        """The one training path of ``fit`` and every ``partial_fit``, all or nothing.

        ``fit`` trains a new network for ``epochs`` (``max_epochs`` by default), resuming
        from a checkpoint if any; ``partial_fit`` (``incremental``) does the same for one
        epoch on its first call and then trains the same network one more epoch per call,
        on data checked against what the first call fixed. ``classes`` (classifier only)
        declares every class up front. ``y`` and ``sample_weight`` given as pandas objects
        indexed by ``X``'s instance ids are matched to its series by id.
        """
        with self._all_or_nothing():
            self._check_params()
            y, sample_weight = self._aligned(X, y, sample_weight)
            if incremental and hasattr(self, "net_"):
                self._continue(X, y, epochs or 1, sample_weight)
            else:
                epochs = self.max_epochs if epochs is None else epochs
                self._fit_new(X, y, epochs, classes, incremental, sample_weight)
        return self

    @staticmethod
    def _aligned(X: Any, y: Any, sample_weight: Any = None) -> tuple[Any, Any]:
        """``y`` and ``sample_weight`` in the order of ``X``'s series (by id where possible)."""
        ids = instance_ids(X)
        return (
            align_to_instances(y, ids, "y"),
            align_to_instances(sample_weight, ids, "sample_weight"),
        )

    def _weighted(
        self, inputs: SliceDict, targets: np.ndarray, sample_weight: Any, incremental: bool
    ) -> SliceDict:
        """``inputs`` with the series' weights (``sample_weight`` times the targets').

        The weights are scaled to mean 1 over the call's series; equal weights (or none)
        leave ``inputs`` without weights, so the fit is the unweighted one exactly.
        """
        n = len(targets)
        weights = None
        if sample_weight is not None:
            weights = check_sample_weight(sample_weight, n)
        implied = self._target_weights(targets, incremental)
        if implied is not None:
            weights = implied if weights is None else weights * implied
        if weights is None:
            return inputs
        if not weights.any():
            raise ValueError(
                "Every series has weight 0 (sample_weight times class_weight); at least one "
                "needs a positive weight."
            )
        weights = weights / weights.mean()
        if np.all(weights == 1.0):
            return inputs
        return SliceDict(**inputs, **{SAMPLE_WEIGHT: weights.astype(np.float32)})

    def _continue(self, X: Any, y: Any, epochs: int, sample_weight: Any = None) -> None:
        """Train the fitted network ``epochs`` more epochs on data of the same kind."""
        panel = self._panel(X, reset=False)
        targets = self._partial_targets(y, len(panel))
        inputs = self._weighted(self._network_inputs(panel), targets, sample_weight, True)
        # a draw of its own for every epoch, continuing the fit's sequence
        with self._seeded(self.seed_ + len(self.net_.history)):
            self.net_.partial_fit(inputs, targets, epochs=epochs)
        self._finish(epochs, inputs, incremental=True)

    def _fit_new(
        self,
        X: Any,
        y: Any,
        epochs: int,
        classes: Any,
        incremental: bool,
        sample_weight: Any = None,
    ) -> None:
        """Fit a new network (or resume an interrupted fit from its checkpoint)."""
        panel = self._panel(X, reset=True)
        targets, output_size = self._prepare_targets(y, len(panel), classes)
        self._check_validation_size(len(panel), incremental)
        self.tau_range_ = TimeRange(self._resolve_tau_range(panel))
        self._set_time_scale()
        inputs = self._weighted(self._network_inputs(panel), targets, sample_weight, incremental)
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        if self.distributed:  # every rank must shuffle alike: rank 0's seed for all
            self.seed_ = _distributed.broadcast_seed(self.seed_)
        for name in ("best_epoch_", "initial_gates_"):
            self.__dict__.pop(name, None)
        checkpoints, resume = self._checkpointing(inputs, targets, incremental)
        holding = directory_lock(Path(self.checkpoint_dir)) if checkpoints else nullcontext()
        with holding, self._seeded(self.seed_):
            self.net_ = net = self._build_net(output_size, checkpoints, epochs, incremental)
            if resume is None:
                net.initialize()
                if net.module_.time_gates():  # not for networks without gates
                    self.initial_gates_ = self._gate_params()
                net.partial_fit(inputs, targets, epochs=epochs)
            else:
                try:
                    self._restore(net, resume)
                except (RuntimeError, KeyError, TypeError, ValueError, AttributeError) as exc:
                    raise ValueError(
                        f"The checkpoint in {self.checkpoint_dir} does not fit this model "
                        f"({exc.__class__.__name__}: {str(exc)[:200]}); delete "
                        f"{LAST_CHECKPOINT} there to start training afresh."
                    ) from None
                remaining = epochs - resume["epoch"]
                if remaining > 0 and not self._stopped_early():
                    net.partial_fit(inputs, targets, epochs=remaining)
        trained = epochs if resume is None else epochs - resume["epoch"]
        stopped = self._finish(trained, inputs, incremental)
        if checkpoints and (self.n_iter_ >= epochs or stopped):
            # complete: nothing to resume (an interrupted fit keeps its checkpoint)
            (Path(self.checkpoint_dir) / LAST_CHECKPOINT).unlink(missing_ok=True)

    def _finish(self, epochs: int, inputs: SliceDict, incremental: bool) -> bool:
        """What every training call records: epochs, interruption, early stopping's best.

        Returns whether early stopping ended the training.
        """
        self.n_iter_ = len(self.net_.history)
        if self.net_.module_.time_gates():  # not for networks without gates
            self.training_updates_ = training_updates(
                self.net_.module_, inputs["times"], inputs["lengths"]
            )
        stopped = self._stopped_early()
        self._note_interruption(epochs, stopped)
        if self.early_stopping and not incremental:
            best = int(early_stopper(self.net_).best_epoch_)
            self.best_epoch_ = best or self.n_iter_  # 0: no epoch was watched (final_r_on)
        return stopped

    def _stopped_early(self) -> bool:
        """Whether early stopping ended the last fit of ``net_``."""
        stopper = early_stopper(self.net_)
        return stopper is not None and stopper.stopped(self.net_)

    def _checkpointing(
        self, inputs: SliceDict, targets: np.ndarray, incremental: bool
    ) -> tuple[list, dict | None]:
        """Checkpoint callback and the state to resume from (when checkpoint_dir is set)."""
        if self.checkpoint_dir is None:
            return [], None
        directory = Path(self.checkpoint_dir)  # created by _check_params
        params = {
            k: v
            for k, v in self.get_params().items()
            if k not in ("verbose", "callbacks", "checkpoint_dir", "device", "distributed")
        }
        arrays = [inputs["values"], inputs["times"], inputs["lengths"], targets]
        if SAMPLE_WEIGHT in inputs:
            arrays.append(inputs[SAMPLE_WEIGHT])
        fit_id = fingerprint(arrays, params)

        def save_best(net, path):
            write_model(self, net, path)

        callback = Checkpointer(
            directory,
            self.checkpoint_every,
            fit_id,
            save_best if self._validation(incremental) is not None else None,
            self._resume_state,
        )
        # every rank resumes from the checkpoint; only rank 0 writes one
        callbacks = [("checkpointer", callback)] if self._rank_and_world()[0] == 0 else []
        return callbacks, load_checkpoint(directory, fit_id)

    def _rank_and_world(self) -> tuple[int, int]:
        """The rank of this process and the number of ranks it trains with (``(0, 1)`` alone)."""
        if self.distributed and _distributed.process_group_ready():
            return _distributed.rank_and_world()
        return 0, 1

    def _device(self) -> str | torch.device:
        """The training device: with ``distributed``, a bare ``"cuda"`` is this rank's GPU."""
        if self.distributed:
            return _distributed.local_device(self.device)
        return self.device

    def _resume_state(self) -> dict:
        """What a checkpoint needs beyond the net: initial gates, early stopping's best."""
        state = {}
        if hasattr(self, "initial_gates_"):
            state["initial_gates"] = {k: torch.as_tensor(v) for k, v in self.initial_gates_.items()}
        stopper = early_stopper(self.net_)
        if stopper is not None and stopper.best_model_weights_ is not None:
            state["best_epoch"] = int(stopper.best_epoch_)
            state["best_weights"] = stopper.best_model_weights_
        return state

    def _restore(self, net: NeuralNet, state: dict) -> None:
        net.initialize()
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(state["history"])
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])
        extra = state.get("extra", {})
        if "initial_gates" in extra:
            self.initial_gates_ = {k: v.numpy() for k, v in extra["initial_gates"].items()}
        stopper = early_stopper(net)
        if stopper is not None and "best_weights" in extra:
            stopper.best_epoch_ = extra["best_epoch"]
            stopper.best_model_weights_ = extra["best_weights"]
        if stopper is not None:  # the patience count as the interrupted fit left it
            stopper.on_train_begin(net)

    def _partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> PhasedLSTMBase:
        return self._fit(
            X, y, epochs=1, classes=classes, incremental=True, sample_weight=sample_weight
        )

    def _note_interruption(self, epochs: int, stopped_early: bool) -> None:
        """Record (``interrupted_``) and warn when Ctrl-C ended training early.

        skorch stops training on KeyboardInterrupt and keeps the model; early
        stopping uses the same exception, so a stop that it did not ask for is an
        interruption. Epochs whose end was not reached have no duration in the history.
        """
        history = self.net_.history
        completed = sum("dur" in row for row in history[len(history) - epochs :])
        self.interrupted_ = bool(not stopped_early and completed < epochs)
        if self.interrupted_:
            resume = (
                "; fit again with the same data and parameters to resume from the checkpoint"
                if self.checkpoint_dir is not None
                else ""
            )
            warnings.warn(
                f"Training was interrupted (KeyboardInterrupt) after {completed} of {epochs} "
                f"epoch(s); the model keeps the weights it had then (interrupted_=True)"
                f"{resume}.",
                UserWarning,
                stacklevel=_caller_stacklevel(),
            )

    def save(self, path: str | os.PathLike) -> None:
        """Save the fitted model to a file, without pickle.

        The file holds the hyperparameters and fitted attributes as JSON and the
        weights as a torch state dict; :func:`sk_plstm.load` reads it back, on any
        device, without executing anything from the file.

        Parameters
        ----------
        path : str or os.PathLike
            Destination file (conventionally ``*.plstm``); replaced atomically.
        """
        check_is_fitted(self, "net_")
        write_model(self, self.net_, path)

    def stream(self) -> PhasedLSTMStream:
        """A stream that feeds one event, or a chunk of events, at a time.

        Returns
        -------
        PhasedLSTMStream
            Carries the network state between calls to ``update``; see
            :class:`sk_plstm.PhasedLSTMStream`.
        """
        return PhasedLSTMStream(self)

    def _forward(self, X: Any) -> np.ndarray:
        """Raw network outputs for ``X`` in evaluation mode, shape (n_samples, output_size).

        Logits or standardised predictions; ``_transform_outputs`` maps them.
        """
        inputs = self._network_inputs(self._panel(X, reset=False))
        return self.net_.predict_proba(inputs).astype(np.float64)

    def transform(self, X: Any) -> np.ndarray:
        """A fixed-length embedding of each series: what the output layer reads.

        The last layer's final hidden state (forward, then backward for a bidirectional
        network), followed, with ``readout="summary"``, by the per-channel summaries
        the output layer also reads (log of 1 + the count of observations, mean,
        standard deviation, minimum, maximum and last value of each channel, in
        standardised units; grouped by statistic). Use it to feed what the network
        learned to another model, for example in a ``Pipeline`` before a boosted-trees
        classifier; :meth:`get_feature_names_out` names the columns. A series gets the
        same embedding whatever other series ``X`` holds (computed in chunks of fixed
        size).

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples, n_features)
            ``n_features = hidden_size * num_directions`` (+ ``6 * n_channels_`` with the
            summary readout); float64.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_plstm import PhasedLSTMClassifier
        >>> X = np.random.default_rng(0).normal(size=(8, 2, 30))
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
        >>> clf.fit(X, [0, 1] * 4).transform(X).shape
        (8, 16)
        >>> list(clf.get_feature_names_out()[[0, 4, 5]])
        ['state0', 'log_count_channel0', 'log_count_channel1']
        """
        check_is_fitted(self, "net_")
        try:
            return embeddings(self, X)
        except NotImplementedError as exc:
            raise AttributeError(f"transform is not available: {exc}") from None

    def fit_transform(self, X: Any, y: Any, **fit_params: Any) -> np.ndarray:
        """Fit on ``X, y``, then return :meth:`transform` of ``X``.

        Parameters
        ----------
        X : array-like or sktime panel container
            Training series.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Labels or targets, as for :meth:`fit`.
        **fit_params
            Passed to :meth:`fit` (``sample_weight``).

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        return self.fit(X, y, **fit_params).transform(X)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : ignored
            Present for scikit-learn's API: the columns are the network's, not ``X``'s.

        Returns
        -------
        ndarray of str of shape (n_features,)
            ``state0`` ... (``state_backward0`` ... for the backward direction), then
            ``{statistic}_{channel}`` for the summary readout.
        """
        check_is_fitted(self, "net_")
        names = [f"state{i}" for i in range(self.hidden_size)]
        if self.bidirectional:
            names += [f"state_backward{i}" for i in range(self.hidden_size)]
        if self.readout == "summary":
            channels = getattr(self, "channel_names_", None) or [
                f"channel{j}" for j in range(self.n_channels_)
            ]
            names += [f"{stat}_{channel}" for stat in SUMMARY_STATS for channel in channels]
        return np.asarray(names, dtype=object)

    def _step_frame(self, X: Any, columns: Any) -> pd.DataFrame:
        """The transformed network outputs after every time point, as a long table."""
        check_is_fitted(self, "net_")
        raw, panel = step_outputs(self, X)
        values = self._transform_outputs(raw)
        if values.ndim == 2:  # one regression target: keep a column axis
            values = values[..., None]
        return step_frame(self, X, values, panel, columns)

    def update_counts(self, X: Any) -> np.ndarray:
        """How often each unit updates its state on ``X``, in evaluation mode.

        A unit updates at a time point only while its time gate is open; an LSTM would
        update every unit at every point. This is the measure of the paper's "updates
        per unit" and of the work the event-driven inference path does.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series, in any format ``predict`` accepts.

        Returns
        -------
        numpy.ndarray of shape (num_layers * num_directions, hidden_size)
            Number of time points at which each unit updates, averaged over the series.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_plstm import PhasedLSTMClassifier
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 200))
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
        >>> counts = clf.fit(X, [0, 1] * 4).update_counts(X)
        >>> counts.shape, bool(counts.mean() < 200)
        ((1, 4), True)
        """
        return update_counts(self, X)

    def time_gates(self, initial: bool = False) -> pd.DataFrame:
        """The period, phase shift and open ratio of every unit's time gate.

        Parameters
        ----------
        initial : bool, default=False
            The values before training (``initial_gates_``) instead of the learned ones.

        Returns
        -------
        pandas.DataFrame
            One row per unit, ``num_layers * num_directions * hidden_size`` rows, with
            columns ``layer``, ``direction`` ("forward" or "backward"), ``unit``,
            ``tau`` and ``shift`` (in the time index's units, or ``time_unit`` for
            datetime indexes; the shift taken modulo ``tau``) and ``r_on``.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_plstm import PhasedLSTMClassifier
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 50))
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
        >>> gates = clf.fit(X, [0, 1] * 4).time_gates()
        >>> list(gates.columns), len(gates)
        (['layer', 'direction', 'unit', 'tau', 'shift', 'r_on'], 4)
        """
        check_is_fitted(self, "net_")
        if initial and not hasattr(self, "initial_gates_"):
            raise AttributeError(
                "This model holds no initial gates: it was saved by an sk_plstm version "
                "that did not record them; refit it to compare before and after training."
            )
        return gate_table(self, self.initial_gates_ if initial else self._gate_params())

    def gate_openness(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """How open every unit's time gate is at every time point of ``X``.

        The openness ``k`` (evaluation mode) is 0 while a unit is closed and keeps its
        state, and rises to 1 in the middle of its open phase. It depends on the
        timestamps only.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series, in any format ``predict`` accepts.

        Returns
        -------
        openness : numpy.ndarray of shape (n_series, max_length, n_gate_layers, hidden_size)
            ``k`` in ``[0, 1]`` of each unit, for ``n_gate_layers = num_layers *
            num_directions`` (layer by layer, forward before backward); NaN after the
            end of a shorter series.
        times : numpy.ndarray of shape (n_series, max_length)
            The time of each point as ``X`` gives it: float64 numbers for a numeric
            index (NaN after the end of a shorter series); datetime64[ns] for a naive
            datetime index and timedelta64[ns] for a timedelta index (NaT padding);
            time-zone-aware ``pandas.Timestamp`` objects for an aware datetime index
            (``pandas.NaT`` padding); positions 0, 1, 2, ... with
            ``time_unit="steps"``. The shifts of :meth:`time_gates` are measured
            from ``time_origin_``, the earliest training time.

        Examples
        --------
        >>> import numpy as np
        >>> from sk_plstm import PhasedLSTMClassifier
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 50))
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
        >>> openness, times = clf.fit(X, [0, 1] * 4).gate_openness(X[:2])
        >>> openness.shape, times.shape
        ((2, 50, 1, 4), (2, 50))
        """
        return gate_openness(self, X)

    def describe(self, X: Any = None) -> ModelDescription:
        """Sizes, learned periods and open fractions of the fitted model.

        Parameters
        ----------
        X : array-like or sktime panel container, optional
            Series (any format ``predict`` accepts) on which to measure how often the
            units update.

        Returns
        -------
        sk_plstm.ModelDescription
            Prints as a short report; its ``summary`` dict holds the sizes, epochs and
            time unit, and its ``layers`` DataFrame one row per layer and direction with
            the learned ``tau`` range, mean ``r_on`` and the fraction of time the units
            are open (``open_fraction``; ``updates_fraction`` on ``X``).

        Examples
        --------
        >>> import numpy as np
        >>> from sk_plstm import PhasedLSTMClassifier
        >>> X = np.random.default_rng(0).normal(size=(8, 1, 50))
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
        >>> info = clf.fit(X, [0, 1] * 4).describe(X)
        >>> info.summary["n_parameters"], list(info.layers["units"])
        (178, [4])
        >>> print(info)  # doctest: +ELLIPSIS
        PhasedLSTMClassifier: 1 channel(s) -> 1 layer(s) x 4 units -> 2 output(s); 178 parameters
        ...
        """
        check_is_fitted(self, "net_")
        return describe(self, X)

    @property
    def history_(self):
        """Per-epoch training history (a ``skorch.History``) of the last fit."""
        check_is_fitted(self, "net_")
        return self.net_.history

    @property
    def module_(self) -> PhasedLSTMNet:
        """The fitted torch module (:class:`sk_plstm.nn.PhasedLSTMNet`)."""
        check_is_fitted(self, "net_")
        return self.net_.module_


__all__ = ["PhasedLSTMBase", "TimeOrigin", "score_doc", "steps_doc"]

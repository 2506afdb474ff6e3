"""Shared estimator glue: parameters, validation, network building, device and seeding."""

from __future__ import annotations

import numbers
import os
import sys
import tempfile
import threading
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
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import Callback, EpochScoring, GradientNormClipping
from skorch.dataset import ValidSplit
from skorch.helper import SliceDict
from skorch.history import History

from . import _distributed
from ._compat import Interval, StrOptions
from ._data import MISSING, Panel, TimeOrigin, TimeRange, check_time_unit, to_panel
from ._inspect import ModelDescription, describe, gate_openness, gate_table, update_counts
from ._persistence import write_model
from ._stream import PhasedLSTMStream
from ._training import (
    LAST_CHECKPOINT,
    Checkpointer,
    DivergenceGuard,
    EpochScorer,
    GateNarrowing,
    ResumableEarlyStopping,
    TrainingProgress,
    directory_lock,
    fingerprint,
    load_checkpoint,
    log_line,
    lr_scheduler,
    narrowing_epochs,
)
from .nn import EstimatorNetwork, PhasedLSTMNet
from .nn._init import check_tau_range
from .nn._net import CELLS

#: held by every seeded block (see PhasedLSTMBase._seeded); reentrant, for nested fits
_SEEDED = threading.RLock()


def _check_checkpoint_dir(directory: str | os.PathLike) -> None:
    """A checkpoint folder must be a writable folder (or creatable), checked before training."""
    if str(directory) == "":
        raise ValueError("checkpoint_dir is an empty string; give a folder (None: no checkpoints).")
    path = Path(directory)
    if path.exists() and not path.is_dir():
        raise ValueError(f"checkpoint_dir {str(path)!r} exists and is not a folder.")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-", delete=True)
        probe.close()
    except OSError as exc:
        raise ValueError(
            f"checkpoint_dir {str(path)!r} cannot be written ({exc.strerror or exc})."
        ) from None


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


_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


LR_SCHEDULES = ("cosine", "plateau")

#: Validation fraction held out when early_stopping is on and validation_fraction is None.
EARLY_STOPPING_FRACTION = 0.1


def _is_optimizer_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer)


def _early_stopper(net: NeuralNet) -> ResumableEarlyStopping | None:
    """The net's early-stopping callback, or None when it trains without one."""
    return dict(net.callbacks_).get("early_stopping")


class PhasedLSTMParams:
    """The hyperparameters of the Phased LSTM estimators, in one place.

    A cooperative mixin: it stores the parameters and calls the next
    ``__init__`` in the method resolution order, so the scikit-learn estimators
    and the sktime adapters share one signature.
    """

    def __init__(
        self,
        hidden_size: int = 64,
        num_layers: int = 1,
        *,
        cell: str = "lstm",
        bidirectional: bool = False,
        dropout: float = 0.0,
        tau_range: str | tuple[float, float] = "auto",
        r_on: float = 0.5,
        leak: float = 1e-3,
        learn_tau: bool = True,
        learn_shift: bool = True,
        learn_r_on: bool = True,
        final_r_on: float | None = 0.1,
        time_unit: str = "s",
        missing: str = "mask",
        standardize: bool = True,
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-2,
        optimizer: str | type = "adam",
        weight_decay: float = 0.0,
        grad_clip: float | None = None,
        validation_fraction: float | None = None,
        early_stopping: bool = False,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        lr_schedule: str | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        callbacks: list | None = None,
        device: str = "cpu",
        distributed: bool = False,
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.cell = cell
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.tau_range = tau_range
        self.r_on = r_on
        self.leak = leak
        self.learn_tau = learn_tau
        self.learn_shift = learn_shift
        self.learn_r_on = learn_r_on
        self.final_r_on = final_r_on
        self.time_unit = time_unit
        self.missing = missing
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.lr_schedule = lr_schedule
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.callbacks = callbacks
        self.device = device
        self.distributed = distributed
        self.random_state = random_state
        self.verbose = verbose
        super().__init__()


class PhasedLSTMBase(PhasedLSTMParams, BaseEstimator):
    """Parameters and fitting shared by the Phased LSTM classifier and regressor.

    See :class:`sk_plstm.PhasedLSTMClassifier` for the parameters.
    """

    _parameter_constraints: dict = {
        "hidden_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "num_layers": [Interval(numbers.Integral, 1, None, closed="left")],
        "cell": [StrOptions(set(CELLS))],
        "bidirectional": ["boolean"],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "tau_range": [StrOptions({"auto"}), tuple, list],
        "r_on": [Interval(numbers.Real, 0, 1, closed="right")],
        "leak": [Interval(numbers.Real, 0, 1, closed="left")],
        "learn_tau": ["boolean"],
        "learn_shift": ["boolean"],
        "learn_r_on": ["boolean"],
        "final_r_on": [Interval(numbers.Real, 0, 1, closed="right"), None],
        "time_unit": [str, pd.Timedelta],
        "missing": [StrOptions(set(MISSING))],
        "standardize": ["boolean"],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "grad_clip": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="left")],
        "lr_schedule": [StrOptions(set(LR_SCHEDULES)), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "distributed": ["boolean"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = self.missing == "mask"
        tags.non_deterministic = False
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

    @staticmethod
    @abstractmethod
    def _epoch_score(y_true: np.ndarray, outputs: np.ndarray) -> float:
        """The validation score recorded every epoch (the estimator's ``score``)."""

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if not _is_optimizer_class(self.optimizer) and self.optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(_OPTIMIZERS)} or a torch.optim.Optimizer "
                f"subclass, got {self.optimizer!r}."
            )
        check_time_unit(self.time_unit)
        if self.distributed and not _distributed.process_group_ready():
            raise ValueError(
                "distributed=True trains on every rank of a torch.distributed process group, "
                "but none is initialised: launch the script with torchrun and call "
                "torch.distributed.init_process_group() before fit (docs/scaling.md)."
            )
        self._check_device()
        numeric = ("hidden_size", "num_layers", "dropout", "r_on", "final_r_on", "leak")
        numeric += ("max_epochs", "batch_size", "lr", "weight_decay", "grad_clip")
        numeric += ("validation_fraction",)
        numeric += ("n_iter_no_change", "tol", "checkpoint_every")
        flags = [name for name in numeric if isinstance(getattr(self, name), bool)]
        if flags:  # True is an int to Python, never a size or a rate to a user
            raise ValueError(
                f"{flags[0]} must be a number, got {getattr(self, flags[0])!r} (a boolean)."
            )
        for name in ("lr", "weight_decay", "grad_clip", "tol"):
            value = getattr(self, name)
            if value is not None and not np.abs(value) < np.finfo(np.float32).max:
                raise ValueError(f"{name} must be finite and below 3.4e38, got {value!r}.")
        for i, callback in enumerate(self.callbacks or []):
            if not isinstance(callback, (Callback, tuple)) or (
                isinstance(callback, tuple)
                and not (len(callback) == 2 and isinstance(callback[1], Callback))
            ):
                raise TypeError(
                    f"callbacks[{i}] is a {type(callback).__name__}; callbacks must be skorch "
                    "Callback instances (or (name, Callback) pairs)."
                )
        if _is_optimizer_class(self.optimizer) and issubclass(
            self.optimizer, (torch.optim.LBFGS, torch.optim.SparseAdam)
        ):
            raise ValueError(
                f"optimizer={self.optimizer.__name__} is not supported: LBFGS needs a closure "
                "that re-evaluates the loss, and SparseAdam sparse gradients; use a "
                "first-order optimizer such as torch.optim.Adam or SGD."
            )
        if self.checkpoint_dir is not None:
            _check_checkpoint_dir(self.checkpoint_dir)

    def _check_device(self) -> None:
        try:
            device = torch.device(self.device)
        except (RuntimeError, TypeError, ValueError):
            raise ValueError(
                f"device={self.device!r} is not a device torch knows; use 'cpu', 'cuda' or "
                "'cuda:<index>'."
            ) from None
        if device.type not in ("cpu", "cuda"):
            raise ValueError(
                f"device={self.device!r} is not supported: sk_plstm trains on 'cpu' or "
                "'cuda' devices."
            )
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available on this "
                "machine; use device='cpu'."
            )
        if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
            raise ValueError(
                f"device={self.device!r}: this machine has {torch.cuda.device_count()} CUDA "
                "device(s)."
            )

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
        if reset:
            for name in ("n_features_in_", "feature_names_in_", "channel_names_"):
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
        return PhasedLSTMNet, {
            **self._network_size(output_size),
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
        return self.final_r_on is not None and self.final_r_on < self.r_on

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
        """The skorch net with this estimator's training callbacks.

        ``incremental`` (``partial_fit``) leaves out early stopping, as scikit-learn's
        incremental estimators do: each call trains one epoch.
        """
        optimizer = self.optimizer
        if not _is_optimizer_class(optimizer):
            optimizer = _OPTIMIZERS[optimizer]
        epochs = self.max_epochs if max_epochs is None else max_epochs
        module, module_kwargs = self._module_spec(output_size)
        if not (isinstance(module, type) and issubclass(module, EstimatorNetwork)):
            raise TypeError(
                f"The network class {module!r} does not implement "
                "sk_plstm.nn.EstimatorNetwork, the contract the estimators rely on."
            )
        validation = self._validation(incremental)
        monitor = "train_loss" if validation is None else "valid_loss"
        rank, world = self._rank_and_world()
        printing = self.verbose >= 2 and rank == 0  # a row per epoch, from one rank
        # skorch's printing callbacks print whatever their verbosity when the sink is not print
        sink = log_line if printing else print
        callbacks = [("divergence_guard", DivergenceGuard(self.lr, self.grad_clip))]
        if self.grad_clip is not None:
            callbacks.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        if validation is not None:
            scoring = EpochScorer(self._epoch_score)
            callbacks.append(
                ("valid_score", EpochScoring(scoring, lower_is_better=False, name="valid_score"))
            )
        if self.lr_schedule is not None:
            patience = max(1, self.n_iter_no_change // 2)
            schedule = lr_scheduler(self.lr_schedule, self.lr, self.max_epochs, patience, monitor)
            callbacks.append(("lr_schedule", schedule))
        if self._narrows():
            narrowing = GateNarrowing(self.r_on, self.final_r_on, self.max_epochs)
            callbacks.append(("gate_narrowing", narrowing))
        callbacks += list(extra_callbacks or []) + list(self.callbacks or [])
        if self.verbose and rank == 0:  # one progress bar, not one per rank
            callbacks.append(("progress", TrainingProgress(epochs, self.batch_size)))
        if self.early_stopping and not incremental:  # last: its stop skips later callbacks
            stopper = ResumableEarlyStopping(
                monitor=monitor,
                patience=self.n_iter_no_change,
                threshold=self.tol,
                threshold_mode="abs",
                load_best=True,
                sink=sink,
                # with final_r_on, only epochs at the final width can be the kept one
                start_epoch=narrowing_epochs(self.max_epochs) if self._narrows() else 0,
            )
            callbacks.append(("early_stopping", stopper))
        train_split = None
        if validation is not None:
            train_split = ValidSplit(
                validation,
                stratified=is_classifier(self),
                random_state=self.seed_,
            )
        net_class = _distributed.DistributedNet if world > 1 else NeuralNet
        return net_class(
            module=module,
            **{f"module__{name}": value for name, value in module_kwargs.items()},
            criterion=self._criterion(),
            # the raw outputs: _transform_outputs is the one way to predictions, for
            # predict, predict_proba and streaming alike
            predict_nonlinearity=None,
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            iterator_train__shuffle=True,
            # every DataLoader iteration draws a base seed (for worker processes) from a
            # generator: a private one for prediction, so that predicting in one thread
            # does not consume the global draws of a fit running in another
            iterator_valid__generator=torch.Generator(),
            callbacks=callbacks,
            callbacks__print_log__sink=sink,
            device=self._device(),
            # verbose=1 draws progress bars; 2 also prints a line per epoch (on rank 0)
            verbose=int(printing),
        )

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
    ) -> PhasedLSTMBase:
        """The one training path of ``fit`` and every ``partial_fit``, all or nothing.

        ``fit`` trains a new network for ``epochs`` (``max_epochs`` by default), resuming
        from a checkpoint if any; ``partial_fit`` (``incremental``) does the same for one
        epoch on its first call and then trains the same network one more epoch per call,
        on data checked against what the first call fixed. ``classes`` (classifier only)
        declares every class up front.
        """
        with self._all_or_nothing():
            self._check_params()
            if incremental and hasattr(self, "net_"):
                self._continue(X, y, epochs or 1)
            else:
                self._fit_new(
                    X, y, self.max_epochs if epochs is None else epochs, classes, incremental
                )
        return self

    def _continue(self, X: Any, y: Any, epochs: int) -> None:
        """Train the fitted network ``epochs`` more epochs on data of the same kind."""
        panel = self._panel(X, reset=False)
        targets = self._partial_targets(y, len(panel))
        inputs = self._network_inputs(panel)
        # a draw of its own for every epoch, continuing the fit's sequence
        with self._seeded(self.seed_ + len(self.net_.history)):
            self.net_.partial_fit(inputs, targets, epochs=epochs)
        self._finish(epochs, incremental=True)

    def _fit_new(self, X: Any, y: Any, epochs: int, classes: Any, incremental: bool) -> None:
        """Fit a new network (or resume an interrupted fit from its checkpoint)."""
        panel = self._panel(X, reset=True)
        targets, output_size = self._prepare_targets(y, len(panel), classes)
        self._check_validation_size(len(panel), incremental)
        self.tau_range_ = TimeRange(self._resolve_tau_range(panel))
        self._set_time_scale()
        inputs = self._network_inputs(panel)
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
        self._finish(trained, incremental)
        if checkpoints and (self.n_iter_ >= epochs or self._stopped_early()):
            # complete: nothing to resume (an interrupted fit keeps its checkpoint)
            (Path(self.checkpoint_dir) / LAST_CHECKPOINT).unlink(missing_ok=True)

    def _finish(self, epochs: int, incremental: bool) -> None:
        """What every training call records: epochs, interruption, early stopping's best."""
        self.n_iter_ = len(self.net_.history)
        stopped = self._stopped_early()
        self._note_interruption(epochs, stopped)
        if self.early_stopping and not incremental:
            best = int(_early_stopper(self.net_).best_epoch_)
            self.best_epoch_ = best or self.n_iter_  # 0: no epoch was watched (final_r_on)

    def _stopped_early(self) -> bool:
        """Whether early stopping ended the last fit of ``net_``."""
        stopper = _early_stopper(self.net_)
        return stopper is not None and stopper.stopped(self.net_)

    @contextmanager
    def _seeded(self, seed: int):
        """Seed torch for a block, leaving the caller's global generators as they were.

        torch's generators are process-wide, and the weight initialisation, the batch
        shuffling and dropout all draw from them: two fits in threads that each seeded
        and restored them would change each other's draws. So seeded blocks (fits and
        partial fits) run one at a time in a process; parallel fits use processes.
        """
        device = torch.device(self._device())
        forked = [device] if device.type == "cuda" else []
        with _SEEDED, torch.random.fork_rng(devices=forked, device_type=device.type):
            torch.manual_seed(seed)
            yield

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
        fit_id = fingerprint(
            [inputs["values"], inputs["times"], inputs["lengths"], targets], params
        )

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
        stopper = _early_stopper(self.net_)
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
        stopper = _early_stopper(net)
        if stopper is not None and "best_weights" in extra:
            stopper.best_epoch_ = extra["best_epoch"]
            stopper.best_model_weights_ = extra["best_weights"]
        if stopper is not None:  # the patience count as the interrupted fit left it
            stopper.on_train_begin(net)

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> PhasedLSTMBase:
        return self._fit(X, y, epochs=1, classes=classes, incremental=True)

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
        (134, [4])
        >>> print(info)  # doctest: +ELLIPSIS
        PhasedLSTMClassifier: 1 channel(s) -> 1 layer(s) x 4 units -> 2 output(s); 134 parameters
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


__all__ = ["PhasedLSTMBase", "TimeOrigin"]

"""Shared estimator glue: parameters, validation, network building, device and seeding."""

from __future__ import annotations

import numbers
import os
from abc import abstractmethod
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator, is_classifier
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.callbacks import GradientNormClipping
from skorch.dataset import ValidSplit
from skorch.helper import SliceDict
from skorch.history import History

from ._compat import Interval, StrOptions
from ._data import Panel, TimeOrigin, check_time_unit, to_panel
from ._persistence import write_model
from ._stream import PhasedLSTMStream
from ._training import (
    LAST_CHECKPOINT,
    Checkpointer,
    DivergenceGuard,
    fingerprint,
    load_checkpoint,
)
from .nn import PhasedLSTMNet

_OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


def _is_optimizer_class(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer)


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
        bidirectional: bool = False,
        dropout: float = 0.0,
        tau_range: str | tuple[float, float] = "auto",
        r_on: float = 0.05,
        leak: float = 1e-3,
        learn_tau: bool = True,
        learn_shift: bool = True,
        learn_r_on: bool = False,
        time_unit: str = "s",
        standardize: bool = True,
        max_epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-2,
        optimizer: str | type = "adam",
        weight_decay: float = 0.0,
        grad_clip: float | None = None,
        validation_fraction: float | None = None,
        checkpoint_dir: str | None = None,
        checkpoint_every: int = 1,
        callbacks: list | None = None,
        device: str = "cpu",
        random_state: int | np.random.RandomState | None = None,
        verbose: int = 0,
    ) -> None:
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidirectional = bidirectional
        self.dropout = dropout
        self.tau_range = tau_range
        self.r_on = r_on
        self.leak = leak
        self.learn_tau = learn_tau
        self.learn_shift = learn_shift
        self.learn_r_on = learn_r_on
        self.time_unit = time_unit
        self.standardize = standardize
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.validation_fraction = validation_fraction
        self.checkpoint_dir = checkpoint_dir
        self.checkpoint_every = checkpoint_every
        self.callbacks = callbacks
        self.device = device
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
        "bidirectional": ["boolean"],
        "dropout": [Interval(numbers.Real, 0, 1, closed="left")],
        "tau_range": [StrOptions({"auto"}), tuple, list],
        "r_on": [Interval(numbers.Real, 0, 1, closed="right")],
        "leak": [Interval(numbers.Real, 0, None, closed="left")],
        "learn_tau": ["boolean"],
        "learn_shift": ["boolean"],
        "learn_r_on": ["boolean"],
        "time_unit": [str, pd.Timedelta],
        "standardize": ["boolean"],
        "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
        "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
        "lr": [Interval(numbers.Real, 0, None, closed="neither")],
        "optimizer": [StrOptions(set(_OPTIMIZERS)), callable],
        "weight_decay": [Interval(numbers.Real, 0, None, closed="left")],
        "grad_clip": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "validation_fraction": [Interval(numbers.Real, 0, 1, closed="neither"), None],
        "checkpoint_dir": [str, os.PathLike, None],
        "checkpoint_every": [Interval(numbers.Integral, 1, None, closed="left")],
        "callbacks": [list, None],
        "device": [str, torch.device],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
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

    # ------------------------------------------------------------------ validation
    def _check_params(self) -> None:
        if not _is_optimizer_class(self.optimizer) and self.optimizer not in _OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(_OPTIMIZERS)} or a torch.optim.Optimizer "
                f"subclass, got {self.optimizer!r}."
            )
        check_time_unit(self.time_unit)
        device = torch.device(self.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(
                f"device={self.device!r} was requested but CUDA is not available on this "
                "machine; use device='cpu'."
            )

    def _resolve_tau_range(self, panel: Panel) -> tuple[float, float]:
        if isinstance(self.tau_range, str):  # "auto": the data's sampling interval to duration
            interval, duration = panel.time_scale()
            return (interval, max(duration, 2.0 * interval))
        values = tuple(self.tau_range)
        if len(values) != 2 or not all(
            isinstance(v, numbers.Real) and np.isfinite(v) for v in values
        ):
            raise ValueError(
                f"tau_range must be 'auto' or a tuple (low, high) of two numbers, got "
                f"{self.tau_range!r}."
            )
        low, high = float(values[0]), float(values[1])
        if not 0 < low <= high:
            raise ValueError(f"tau_range must satisfy 0 < low <= high, got {self.tau_range!r}.")
        return (low, high)

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
        return Panel(panel.values, panel.times / self.time_scale_, panel.lengths)

    def _panel(self, X: Any, reset: bool) -> Panel:
        """Convert ``X`` (recording the time origin, channels and statistics at fit).

        The panel is in the data's units; :meth:`_internal` makes the network's view.
        """
        if reset:
            for name in ("n_features_in_", "feature_names_in_"):
                self.__dict__.pop(name, None)
            panel, self.time_origin_ = to_panel(
                X, estimator=self, reset=True, time_unit=self.time_unit
            )
            self.n_channels_ = panel.n_channels
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
            )
        return panel

    # ------------------------------------------------------------------ fitting
    def _network_size(self, output_size: int) -> dict[str, Any]:
        """The size arguments every network takes (inputs, outputs, units, layers)."""
        return {
            "input_size": self.n_channels_,
            "output_size": output_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
        }

    def _module_spec(self, output_size: int) -> tuple[type[torch.nn.Module], dict[str, Any]]:
        """The torch module class and its keyword arguments (a hook for other networks)."""
        return PhasedLSTMNet, {
            **self._network_size(output_size),
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

    def _build_net(
        self,
        output_size: int,
        extra_callbacks: list | None = None,
        max_epochs: int | None = None,
    ) -> NeuralNet:
        optimizer = self.optimizer
        if not _is_optimizer_class(optimizer):
            optimizer = _OPTIMIZERS[optimizer]
        module, module_kwargs = self._module_spec(output_size)
        callbacks = [("divergence_guard", DivergenceGuard(self.lr, self.grad_clip))]
        if self.grad_clip is not None:
            callbacks.append(("grad_clip", GradientNormClipping(self.grad_clip)))
        callbacks += list(extra_callbacks or []) + list(self.callbacks or [])
        train_split = None
        if self.validation_fraction is not None:
            train_split = ValidSplit(
                self.validation_fraction,
                stratified=is_classifier(self),
                random_state=self.seed_,
            )
        return NeuralNet(
            module=module,
            **{f"module__{name}": value for name, value in module_kwargs.items()},
            criterion=self._criterion(),
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs if max_epochs is None else max_epochs,
            batch_size=self.batch_size,
            train_split=train_split,
            iterator_train__shuffle=True,
            callbacks=callbacks,
            device=self.device,
            verbose=self.verbose,
        )

    def _fit(
        self, X: Any, y: Any, epochs: int | None = None, classes: Any = None
    ) -> PhasedLSTMBase:
        """Fit for ``epochs`` (``max_epochs`` by default), resuming from a checkpoint if any.

        ``classes`` (classifier only) declares every class up front, for ``partial_fit``.
        """
        epochs = self.max_epochs if epochs is None else epochs
        self._check_params()
        panel = self._panel(X, reset=True)
        targets, output_size = self._prepare_targets(y, len(panel), classes)
        self.tau_range_ = self._resolve_tau_range(panel)
        self._set_time_scale()
        panel = self._internal(panel)
        self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        inputs = SliceDict(**panel.as_dict())
        checkpoints, resume = self._checkpointing(panel, targets)
        with self._seeded(self.seed_):
            net = self._build_net(output_size, checkpoints, epochs)
            if resume is None:
                net.fit(inputs, targets)
            else:
                self._restore(net, resume)
                remaining = epochs - resume["epoch"]
                if remaining > 0:
                    net.partial_fit(inputs, targets, epochs=remaining)
        self.net_ = net
        self.n_iter_ = len(net.history)
        if checkpoints and self.n_iter_ >= epochs:
            # complete: nothing to resume (an interrupted fit keeps its checkpoint)
            (Path(self.checkpoint_dir) / LAST_CHECKPOINT).unlink(missing_ok=True)
        return self

    @contextmanager
    def _seeded(self, seed: int):
        """Seed torch for a block, leaving the caller's global generators as they were."""
        device = torch.device(self.device)
        forked = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=forked, device_type=device.type):
            torch.manual_seed(seed)
            yield

    def _checkpointing(self, panel: Panel, targets: np.ndarray) -> tuple[list, dict | None]:
        """Checkpoint callback and the state to resume from (when checkpoint_dir is set)."""
        if self.checkpoint_dir is None:
            return [], None
        directory = Path(self.checkpoint_dir)
        directory.mkdir(parents=True, exist_ok=True)
        params = {
            k: v
            for k, v in self.get_params().items()
            if k not in ("verbose", "callbacks", "checkpoint_dir", "device")
        }
        fit_id = fingerprint([panel.values, panel.times, panel.lengths, targets], params)

        def save_best(net, path):
            write_model(self, net, path)

        callback = Checkpointer(
            directory,
            self.checkpoint_every,
            fit_id,
            save_best if self.validation_fraction is not None else None,
        )
        return [("checkpointer", callback)], load_checkpoint(directory, fit_id)

    @staticmethod
    def _restore(net: NeuralNet, state: dict) -> None:
        net.initialize()
        net.module_.load_state_dict(state["module"])
        net.optimizer_.load_state_dict(state["optimizer"])
        net.history = History(state["history"])
        torch.set_rng_state(state["rng"])
        if state["cuda_rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state["cuda_rng"])

    def _partial_fit(self, X: Any, y: Any, classes: Any = None) -> PhasedLSTMBase:
        if not hasattr(self, "net_"):
            return self._fit(X, y, epochs=1, classes=classes)
        panel = self._internal(self._panel(X, reset=False))
        targets = self._partial_targets(y, len(panel))
        with self._seeded(self.seed_ + len(self.net_.history)):
            self.net_.partial_fit(SliceDict(**panel.as_dict()), targets, epochs=1)
        self.n_iter_ = len(self.net_.history)
        return self

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
        """Network outputs for ``X`` in evaluation mode, shape (n_samples, output_size)."""
        panel = self._internal(self._panel(X, reset=False))
        return self.net_.predict_proba(SliceDict(**panel.as_dict())).astype(np.float64)

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
        panel = self._internal(self._panel(X, reset=False))
        device = next(self.module_.parameters()).device
        counts = self.module_.plstm.update_counts(
            torch.as_tensor(panel.times, device=device),
            torch.as_tensor(panel.lengths, device=device),
        )
        return counts.cpu().numpy().astype(np.float64)

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

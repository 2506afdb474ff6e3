"""Shared estimator glue: parameters, validation, network building, device and seeding."""

from __future__ import annotations

import numbers
from abc import abstractmethod
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNet
from skorch.helper import SliceDict

from ._compat import Interval, StrOptions
from ._data import Panel, TimeOrigin, check_time_unit, to_panel
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
    def _prepare_targets(self, y: Any, n_samples: int) -> tuple[np.ndarray, int]:
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

    def _panel(self, X: Any, reset: bool) -> Panel:
        """Convert ``X`` (recording the time origin and channel statistics at fit)."""
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
        if self.standardize:
            panel = panel.standardized(self.channel_mean_, self.channel_std_)
        return panel

    # ------------------------------------------------------------------ fitting
    def _module_spec(self, output_size: int) -> tuple[type[torch.nn.Module], dict[str, Any]]:
        """The torch module class and its keyword arguments (a hook for other networks)."""
        return PhasedLSTMNet, {
            "input_size": self.n_channels_,
            "output_size": output_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bidirectional": self.bidirectional,
            "dropout": self.dropout,
            "tau_range": self.tau_range_,
            "r_on": self.r_on,
            "leak": self.leak,
            "learn_tau": self.learn_tau,
            "learn_shift": self.learn_shift,
            "learn_r_on": self.learn_r_on,
        }

    def _build_net(self, output_size: int) -> NeuralNet:
        optimizer = self.optimizer
        if not _is_optimizer_class(optimizer):
            optimizer = _OPTIMIZERS[optimizer]
        module, module_kwargs = self._module_spec(output_size)
        return NeuralNet(
            module=module,
            **{f"module__{name}": value for name, value in module_kwargs.items()},
            criterion=self._criterion(),
            optimizer=optimizer,
            optimizer__weight_decay=self.weight_decay,
            lr=self.lr,
            max_epochs=self.max_epochs,
            batch_size=self.batch_size,
            train_split=None,
            iterator_train__shuffle=True,
            callbacks=list(self.callbacks) if self.callbacks else None,
            device=self.device,
            verbose=self.verbose,
        )

    def _fit(self, X: Any, y: Any) -> PhasedLSTMBase:
        self._check_params()
        panel = self._panel(X, reset=True)
        targets, output_size = self._prepare_targets(y, len(panel))
        self.tau_range_ = self._resolve_tau_range(panel)
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = torch.device(self.device)
        forked = [device] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=forked, device_type=device.type):
            torch.manual_seed(seed)
            net = self._build_net(output_size)
            net.fit(SliceDict(**panel.as_dict()), targets)
        self.net_ = net
        self.n_iter_ = len(net.history)
        return self

    def _forward(self, X: Any) -> np.ndarray:
        """Network outputs for ``X`` in evaluation mode, shape (n_samples, output_size)."""
        panel = self._panel(X, reset=False)
        return self.net_.predict_proba(SliceDict(**panel.as_dict())).astype(np.float64)

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

"""The estimators' hyperparameters: their one signature, declared constraints and checks.

Plain values in, errors out: nothing here reads a fitted estimator.
"""

from __future__ import annotations

import difflib
import inspect
import numbers
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback

from . import _distributed
from ._compat import Interval, StrOptions
from ._data import MISSING, check_time_unit
from .nn._net import CELLS, READOUTS

__all__ = [
    "EARLY_STOPPING_FRACTION",
    "LR_SCHEDULES",
    "OPTIMIZERS",
    "PARAMETER_CONSTRAINTS",
    "PhasedLSTMParams",
    "check_device",
    "check_params",
    "is_optimizer_class",
    "narrows",
]


#: the optimisers named by string
OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}


LR_SCHEDULES = ("cosine", "plateau")

#: Validation fraction held out when early_stopping is on and validation_fraction is None.
EARLY_STOPPING_FRACTION = 0.1


def is_optimizer_class(value: Any) -> bool:
    """Whether ``value`` is a ``torch.optim.Optimizer`` subclass."""
    return isinstance(value, type) and issubclass(value, torch.optim.Optimizer)


def _shared_parameters(
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
    final_r_on: float | None = None,
    time_unit: str = "s",
    missing: str = "mask",
    standardize: bool = True,
    time_inputs: bool = True,
    level_inputs: bool = True,
    readout: str = "summary",
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
    lr_schedule: str | None = "cosine",
    checkpoint_dir: str | None = None,
    checkpoint_every: int = 1,
    callbacks: list | None = None,
    device: str = "cpu",
    distributed: bool = False,
    random_state: int | np.random.RandomState | None = None,
    verbose: int = 0,
) -> None:
    """The parameters every estimator takes: the signature that ``__init__`` gets."""


#: the shared parameters, in order (``self`` first)
_SHARED = inspect.signature(_shared_parameters)


def _unexpected(owner: str, names: list[str], kwargs: dict[str, Any]) -> str | None:
    """A message for keyword arguments that are not parameters, with close matches."""
    unknown = [key for key in kwargs if key not in names]
    if not unknown:
        return None
    hints = []
    for key in unknown:
        close = difflib.get_close_matches(key, names, n=1)
        hints.append(f"{key!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"{owner} got unknown parameter(s) {', '.join(hints)}; its parameters are listed "
        f"by {owner}().get_params() and documented in help({owner})."
    )


def _make_init(cls: type) -> Any:
    """``cls.__init__``: the shared parameters and ``cls._extra_params``, stored as given."""
    extra = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=hint)
        for name, (default, hint) in cls._extra_params.items()
    ]
    signature = _SHARED.replace(parameters=[*_SHARED.parameters.values(), *extra])
    names = list(signature.parameters)[1:]
    owner = cls.__name__

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as exc:
            message = _unexpected(owner, names, kwargs)
            if message is None:
                message = f"{owner}(): {exc}; give every parameter after num_layers by name."
            raise TypeError(message) from None
        bound.apply_defaults()
        for name in names:
            setattr(self, name, bound.arguments[name])
        super(PhasedLSTMParams, self).__init__()

    __init__.__signature__ = signature
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__doc__ = f"Store the parameters (see :class:`{owner}`)."
    return __init__


class PhasedLSTMParams:
    """The hyperparameters of the Phased LSTM estimators, in one place.

    A cooperative mixin: every subclass gets an ``__init__`` with the shared signature
    (:func:`_shared_parameters`) and its own keyword-only ``_extra_params`` (the
    classifier's ``class_weight``), which stores the parameters and calls the next
    ``__init__`` in the method resolution order, so the scikit-learn estimators and the
    sktime adapters share one signature. A misspelled parameter is named with its
    closest match.
    """

    #: keyword-only parameters a subclass adds to the shared ones: (default, type hint)
    _extra_params: dict[str, tuple[Any, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:  # a subclass with its own __init__ keeps it
            cls.__init__ = _make_init(cls)


#: the parameters' types and ranges, as scikit-learn's parameter validation reads them
PARAMETER_CONSTRAINTS: dict = {
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
    "time_inputs": ["boolean"],
    "level_inputs": ["boolean"],
    "readout": [StrOptions(set(READOUTS))],
    "max_epochs": [Interval(numbers.Integral, 1, None, closed="left")],
    "batch_size": [Interval(numbers.Integral, 1, None, closed="left")],
    "lr": [Interval(numbers.Real, 0, None, closed="neither")],
    "optimizer": [StrOptions(set(OPTIMIZERS)), callable],
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


def narrows(params: dict[str, Any]) -> bool:
    """Whether the gates narrow while training (``final_r_on`` below ``r_on``).

    Parameters
    ----------
    params : dict
        The estimator's parameters.

    Returns
    -------
    bool
    """
    return params["final_r_on"] is not None and params["final_r_on"] < params["r_on"]


def check_checkpoint_dir(directory: str | os.PathLike) -> None:
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


def check_params(params: dict[str, Any]) -> None:
    """Check what the declared constraints cannot: combinations, devices, callbacks, folders.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).

    Raises
    ------
    ValueError or TypeError
        Naming the parameter and what is wrong with it.
    """
    if not is_optimizer_class(params["optimizer"]) and params["optimizer"] not in OPTIMIZERS:
        raise ValueError(
            f"optimizer must be one of {sorted(OPTIMIZERS)} or a torch.optim.Optimizer "
            f"subclass, got {params['optimizer']!r}."
        )
    check_time_unit(params["time_unit"])
    if params["distributed"] and not _distributed.process_group_ready():
        raise ValueError(
            "distributed=True trains on every rank of a torch.distributed process group, "
            "but none is initialised: launch the script with torchrun and call "
            "torch.distributed.init_process_group() before fit (docs/scaling.md)."
        )
    check_device(params["device"])
    numeric = ("hidden_size", "num_layers", "dropout", "r_on", "final_r_on", "leak")
    numeric += ("max_epochs", "batch_size", "lr", "weight_decay", "grad_clip")
    numeric += ("validation_fraction",)
    numeric += ("n_iter_no_change", "tol", "checkpoint_every")
    flags = [name for name in numeric if isinstance(params[name], bool)]
    if flags:  # True is an int to Python, never a size or a rate to a user
        raise ValueError(f"{flags[0]} must be a number, got {params[flags[0]]!r} (a boolean).")
    for name in ("lr", "weight_decay", "grad_clip", "tol"):
        value = params[name]
        if value is not None and not np.abs(value) < np.finfo(np.float32).max:
            raise ValueError(f"{name} must be finite and below 3.4e38, got {value!r}.")
    for i, callback in enumerate(params["callbacks"] or []):
        if not isinstance(callback, (Callback, tuple)) or (
            isinstance(callback, tuple)
            and not (len(callback) == 2 and isinstance(callback[1], Callback))
        ):
            raise TypeError(
                f"callbacks[{i}] is a {type(callback).__name__}; callbacks must be skorch "
                "Callback instances (or (name, Callback) pairs)."
            )
    if is_optimizer_class(params["optimizer"]) and issubclass(
        params["optimizer"], (torch.optim.LBFGS, torch.optim.SparseAdam)
    ):
        raise ValueError(
            f"optimizer={params['optimizer'].__name__} is not supported: LBFGS needs a closure "
            "that re-evaluates the loss, and SparseAdam sparse gradients; use a "
            "first-order optimizer such as torch.optim.Adam or SGD."
        )
    if params["checkpoint_dir"] is not None:
        check_checkpoint_dir(params["checkpoint_dir"])


def check_device(device: Any) -> None:
    """A device torch knows, of a type the estimators train on, present on this machine.

    Parameters
    ----------
    device : str or torch.device

    Raises
    ------
    ValueError
        Naming the device and what is wrong with it.
    """
    try:
        where = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise ValueError(
            f"device={device!r} is not a device torch knows; use 'cpu', 'cuda' or 'cuda:<index>'."
        ) from None
    if where.type not in ("cpu", "cuda"):
        raise ValueError(
            f"device={device!r} is not supported: sk_plstm trains on 'cpu' or 'cuda' devices."
        )
    if where.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available on this "
            "machine; use device='cpu'."
        )
    if where.type == "cuda" and (where.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"device={device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)."
        )

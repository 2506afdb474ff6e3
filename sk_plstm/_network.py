"""The skorch net an estimator trains: its network class checked, its callbacks assembled.

Plain values in (the parameters, the network class and its arguments, what the fit
decided: seed, validation share, ranks), a ``NeuralNet`` out; nothing here reads an
estimator.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from skorch import NeuralNet
from skorch.callbacks import EpochScoring, GradientNormClipping
from skorch.dataset import ValidSplit

from . import _distributed
from ._batches import TensorBatches
from ._params import OPTIMIZERS, is_optimizer_class, narrows
from ._training import (
    DivergenceGuard,
    EpochScorer,
    GateNarrowing,
    ResumableEarlyStopping,
    SeriesWeightedNet,
    TrainingProgress,
    log_line,
    lr_scheduler,
    narrowing_epochs,
)
from .nn import EstimatorNetwork

__all__ = ["build_net", "early_stopper", "INFERENCE_BYTES"]

#: the memory a batch of validation or prediction may take (its series' activations):
#: batches grow beyond batch_size up to it
INFERENCE_BYTES = 64 << 20


def _bytes_per_step(module_kwargs: dict[str, Any]) -> int:
    """An estimate of a network's memory per series and time step in inference.

    Its inputs, and each layer's outputs and their time-major copies (float32).
    """
    width = module_kwargs.get("hidden_size", 0) * (2 if module_kwargs.get("bidirectional") else 1)
    layers = module_kwargs.get("num_layers", 1)
    return 4 * (module_kwargs.get("input_size", 1) + 4) + 8 * width * layers


def early_stopper(net: NeuralNet) -> ResumableEarlyStopping | None:
    """The net's early-stopping callback, or None when it trains without one.

    Parameters
    ----------
    net : skorch.NeuralNet

    Returns
    -------
    ResumableEarlyStopping or None
    """
    return dict(net.callbacks_).get("early_stopping")


def _callbacks(
    params: dict[str, Any],
    epoch_score: Callable,
    validation: float | None,
    rank: int,
    epochs: int,
    incremental: bool,
    extra: list,
    sink: Callable,
) -> list:
    """The training callbacks in their order (``sink``: where rows are printed)."""
    monitor = "train_loss" if validation is None else "valid_loss"
    callbacks = [("divergence_guard", DivergenceGuard(params["lr"], params["grad_clip"]))]
    if params["grad_clip"] is not None:
        callbacks.append(("grad_clip", GradientNormClipping(params["grad_clip"])))
    if validation is not None:
        scoring = EpochScorer(epoch_score)
        callbacks.append(
            ("valid_score", EpochScoring(scoring, lower_is_better=False, name="valid_score"))
        )
    if params["lr_schedule"] is not None:
        patience = max(1, params["n_iter_no_change"] // 2)
        schedule = lr_scheduler(
            params["lr_schedule"], params["lr"], params["max_epochs"], patience, monitor
        )
        callbacks.append(("lr_schedule", schedule))
    if narrows(params):
        narrowing = GateNarrowing(params["r_on"], params["final_r_on"], params["max_epochs"])
        callbacks.append(("gate_narrowing", narrowing))
    callbacks += list(extra) + list(params["callbacks"] or [])
    if params["verbose"] and rank == 0:  # one progress bar, not one per rank
        callbacks.append(("progress", TrainingProgress(epochs, params["batch_size"])))
    if params["early_stopping"] and not incremental:  # last: its stop skips later callbacks
        stopper = ResumableEarlyStopping(
            monitor=monitor,
            patience=params["n_iter_no_change"],
            threshold=params["tol"],
            threshold_mode="abs",
            load_best=True,
            sink=sink,
            # with final_r_on, only epochs at the final width can be the kept one
            start_epoch=narrowing_epochs(params["max_epochs"]) if narrows(params) else 0,
        )
        callbacks.append(("early_stopping", stopper))
    return callbacks


def build_net(
    params: dict[str, Any],
    module: type,
    module_kwargs: dict[str, Any],
    *,
    criterion: type[torch.nn.Module],
    epoch_score: Callable,
    stratify: bool,
    seed: int | None,
    validation: float | None,
    rank: int,
    world: int,
    device: str | torch.device,
    epochs: int,
    incremental: bool = False,
    extra_callbacks: list | None = None,
) -> NeuralNet:
    """The skorch net that trains ``module`` with the estimator's settings.

    Parameters
    ----------
    params : dict
        The estimator's parameters (``get_params(deep=False)``).
    module : type
        The network class; it must implement :class:`sk_plstm.nn.EstimatorNetwork`.
    module_kwargs : dict
        Its constructor's arguments.
    criterion : type
        The loss.
    epoch_score : callable
        ``score(y_true, outputs)``, recorded every epoch on the validation share.
    stratify : bool
        Whether the validation share is stratified (classifiers).
    seed : int or None
        Seed of the validation split.
    validation : float or None
        The share of series held out for validation, if any.
    rank, world : int
        This process's rank and the number of ranks training together.
    device : str or torch.device
        The training device.
    epochs : int
        Epochs of this training call.
    incremental : bool, default=False
        ``partial_fit``: no early stopping, as in scikit-learn's incremental estimators.
    extra_callbacks : list, optional
        More callbacks (checkpoints), before the user's.

    Returns
    -------
    skorch.NeuralNet

    Raises
    ------
    TypeError
        When ``module`` does not implement the network contract.
    """
    optimizer = params["optimizer"]
    if not is_optimizer_class(optimizer):
        optimizer = OPTIMIZERS[optimizer]
    if not (isinstance(module, type) and issubclass(module, EstimatorNetwork)):
        raise TypeError(
            f"The network class {module!r} does not implement "
            "sk_plstm.nn.EstimatorNetwork, the contract the estimators rely on."
        )
    printing = params["verbose"] >= 2 and rank == 0  # a row per epoch, from one rank
    # skorch's printing callbacks print whatever their verbosity when the sink is not print
    sink = log_line if printing else print
    callbacks = _callbacks(
        params, epoch_score, validation, rank, epochs, incremental, extra_callbacks or [], sink
    )
    train_split = None
    if validation is not None:
        train_split = ValidSplit(validation, stratified=stratify, random_state=seed)
    net_class = _distributed.DistributedNet if world > 1 else SeriesWeightedNet
    return net_class(
        module=module,
        **{f"module__{name}": value for name, value in module_kwargs.items()},
        criterion=criterion,
        # the raw outputs: _transform_outputs is the one way to predictions, for
        # predict, predict_proba and streaming alike
        predict_nonlinearity=None,
        optimizer=optimizer,
        optimizer__weight_decay=params["weight_decay"],
        lr=params["lr"],
        max_epochs=epochs,
        batch_size=params["batch_size"],
        train_split=train_split,
        # batches cut from tensors made once per training call, on the training device
        iterator_train=TensorBatches,
        iterator_valid=TensorBatches,
        iterator_train__device=device,
        iterator_valid__device=device,
        iterator_train__shuffle=True,
        # validation and prediction in a few large batches, within INFERENCE_BYTES
        iterator_valid__max_bytes=INFERENCE_BYTES,
        iterator_valid__bytes_per_step=_bytes_per_step(module_kwargs),
        # every DataLoader iteration draws a base seed (for worker processes) from a
        # generator: a private one for prediction, so that predicting in one thread
        # does not consume the global draws of a fit running in another
        iterator_valid__generator=torch.Generator(),
        callbacks=callbacks,
        callbacks__print_log__sink=sink,
        device=device,
        # verbose=1 draws progress bars; 2 also prints a line per epoch (on rank 0)
        verbose=int(printing),
    )

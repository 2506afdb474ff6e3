"""Training helpers around skorch: progress, early stopping, schedules, checkpoints, resuming."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import socket
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, LRScheduler
from skorch.utils import to_tensor
from tqdm.auto import tqdm
from tqdm.std import tqdm as plain_tqdm

from ._persistence import check_regular_file, replace_atomically

__all__ = [
    "Checkpointer",
    "DivergenceGuard",
    "EpochScorer",
    "GateNarrowing",
    "ResumableEarlyStopping",
    "ResumableLRScheduler",
    "SAMPLE_WEIGHT",
    "SeriesWeightedNet",
    "TrainingDivergedError",
    "TrainingProgress",
    "fingerprint",
    "log_line",
    "lr_scheduler",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

#: the key of the series' weights among a training call's inputs (not the network's)
SAMPLE_WEIGHT = "sample_weight"


class SeriesWeightedNet(NeuralNet):
    """skorch's ``NeuralNet`` whose loss weights each series, where its inputs carry weights.

    A training call's inputs may hold :data:`SAMPLE_WEIGHT`, one weight per series (scaled
    to mean 1 over the call's series); the network never sees them, and the loss of a
    batch is the mean of each series' loss times its weight (an unbiased estimate of
    the weighted mean loss over the data, so the learning rate keeps its meaning).
    Without weights the loss is skorch's, unchanged.
    """

    @staticmethod
    def network_inputs(x: Any) -> Any:
        """``x`` without the weights: what the network's ``forward`` takes."""
        if isinstance(x, dict) and SAMPLE_WEIGHT in x:
            return {k: v for k, v in x.items() if k != SAMPLE_WEIGHT}
        return x

    def infer(self, x, **fit_params):
        return super().infer(self.network_inputs(x), **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        weights = X.get(SAMPLE_WEIGHT) if isinstance(X, dict) else None
        if weights is None:
            return super().get_loss(y_pred, y_true, X=X, training=training)
        y_true = to_tensor(y_true, device=self.device)
        reduction = self.criterion_.reduction
        self.criterion_.reduction = "none"
        try:
            losses = self.criterion_(y_pred, y_true)
        finally:
            self.criterion_.reduction = reduction
        per_series = losses.reshape(len(losses), -1).mean(dim=1)
        return (per_series * to_tensor(weights, device=self.device).to(per_series)).mean()


#: held by every seeded block (see :func:`seeded`); reentrant, for nested fits
_SEEDED = threading.RLock()


@contextmanager
def seeded(seed: int, device: str | torch.device):
    """Seed torch for a block, leaving the caller's global generators as they were.

    torch's generators are process-wide, and the weight initialisation, the batch
    shuffling and dropout all draw from them: two fits in threads that each seeded
    and restored them would change each other's draws. So seeded blocks (fits and
    partial fits) run one at a time in a process; parallel fits use processes.

    Parameters
    ----------
    seed : int
    device : str or torch.device
        The training device (its generator is forked too when it is a GPU).
    """
    device = torch.device(device)
    forked = [device] if device.type == "cuda" else []
    with _SEEDED, torch.random.fork_rng(devices=forked, device_type=device.type):
        torch.manual_seed(seed)
        yield


def _in_notebook() -> bool:
    """Whether ``tqdm.auto`` draws notebook widgets (an IPython kernel with ipywidgets)."""
    return any("notebook" in cls.__module__ for cls in tqdm.__mro__)


def interactive(stream: Any) -> bool:
    """Whether output to ``stream`` is seen live: a terminal, or a notebook's output.

    Parameters
    ----------
    stream : file-like
        ``sys.stdout`` or ``sys.stderr`` (or what replaces them).

    Returns
    -------
    bool
        False for a file or a pipe (a log): no colour, no redrawn lines there.
    """
    if _in_notebook():
        return True
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


def log_line(text: str) -> None:
    """Print one line of the training log (the epoch table, early-stopping messages).

    On a terminal or in a notebook it goes through ``tqdm.write``, so that a progress
    bar on screen is redrawn below it, colours kept; to a file or a pipe it is printed
    plainly, its ANSI colour codes removed.

    Parameters
    ----------
    text : str
        The line, possibly with ANSI colour codes (skorch marks the best scores so).
    """
    stream = sys.stdout
    if interactive(stream):
        tqdm.write(text, file=stream)
    else:
        print(_ANSI.sub("", text), file=stream, flush=True)


class _LogBar:
    """A progress "bar" for a file or a pipe: whole lines, never redrawn.

    It has the methods of ``tqdm`` that :class:`TrainingProgress` uses. A line (tqdm's
    own text for the bar, in ASCII) is written when progress is made at least
    ``interval`` seconds after the previous line (and ``delay`` seconds after the
    start), and, if ``leave``, once more on closing unless the last line already showed
    the final state.
    """

    def __init__(
        self,
        total: int | None,
        desc: str,
        unit: str,
        *,
        interval: float,
        leave: bool = True,
        delay: float = 0.0,
    ) -> None:
        self.total, self.desc, self.unit, self.leave = total, desc, unit, leave
        self.interval, self.delay = interval, delay
        self.n = 0
        self.postfix = ""
        self.started = self.last = time.perf_counter()
        self.shown_n = None

    def set_postfix(self, values: dict, refresh: bool = False) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def _write(self, now: float) -> None:
        line = plain_tqdm.format_meter(
            self.n,
            self.total,
            now - self.started,
            prefix=self.desc,
            ascii=True,
            unit=self.unit,
            postfix=self.postfix or None,
        )
        print(line, file=sys.stderr, flush=True)
        self.last, self.shown_n = now, self.n

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.perf_counter()
        if now - self.started >= self.delay and now - self.last >= self.interval:
            self._write(now)

    def close(self) -> None:
        if self.leave and self.shown_n != self.n:
            self._write(time.perf_counter())


LAST_CHECKPOINT = "last.ckpt"
BEST_MODEL = "best.plstm"
#: held in a checkpoint folder while a fit uses it: "<pid> <host>"
LOCK = "fit.lock"


def _owner_alive(owner: str) -> bool:
    """Whether the process named in a lock file ("<pid> <host>") may still be running."""
    try:
        pid_text, host = owner.split(" ", 1)
        pid = int(pid_text)
    except ValueError:
        return False  # not a lock this package wrote: stale
    if host != socket.gethostname():
        return True  # another machine's process: cannot tell, so assume it runs
    if pid == os.getpid():
        return False  # this process holds no fit there (fits in it run one at a time)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def directory_lock(directory: Path):
    """Hold ``directory`` for one fit; refuse it while another live fit holds it.

    Two fits writing checkpoints into one folder would overwrite each other's
    ``last.ckpt``. The lock is a file naming the holder's process and host; a lock
    whose process is gone (a killed fit) is taken over.

    Raises
    ------
    ValueError
        If another running process holds the folder.
    """
    path = directory / LOCK
    for _ in range(3):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                owner = path.read_text()
            except OSError:
                owner = ""
            if _owner_alive(owner):
                raise ValueError(
                    f"checkpoint_dir {str(directory)!r} is in use by another fit (process "
                    f"{owner}); give each fit its own folder, or delete {path} if no fit "
                    "runs there."
                ) from None
            path.unlink(missing_ok=True)  # stale: its process is gone
            continue
        with os.fdopen(fd, "w") as f:
            f.write(f"{os.getpid()} {socket.gethostname()}")
        break
    else:
        raise ValueError(f"checkpoint_dir {str(directory)!r}: could not take its lock {path}.")
    try:
        yield
    finally:
        path.unlink(missing_ok=True)


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite.

    Raised by ``fit`` and ``partial_fit`` as soon as a batch loss is not finite; the
    message names the epoch and suggests a lower ``lr`` or ``grad_clip``. The
    estimator is left as it was before the call (unfitted, or with its previous model).

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMRegressor, TrainingDivergedError
    >>> X = np.random.default_rng(0).normal(size=(16, 1, 10))
    >>> reg = PhasedLSTMRegressor(hidden_size=4, lr=1e12, optimizer="sgd", random_state=0)
    >>> try:
    ...     reg.fit(X, X[:, 0, -1] * 1e3)
    ... except TrainingDivergedError as error:
    ...     print(str(error).split(":")[0])
    Training diverged in epoch 2
    """


class DivergenceGuard(Callback):
    """Stop training with a clear error as soon as a batch loss is NaN or infinite."""

    def __init__(self, lr: float, grad_clip: float | None) -> None:
        self.lr = lr
        self.grad_clip = grad_clip

    def on_batch_end(self, net, batch=None, training=None, loss=None, **kwargs):
        if loss is not None and not bool(torch.isfinite(loss.detach()).all()):
            epoch = len(net.history)
            clip = (
                "set grad_clip (for example grad_clip=1.0)"
                if self.grad_clip is None
                else f"lower grad_clip (now {self.grad_clip})"
            )
            phase = "training" if training else "validation"
            raise TrainingDivergedError(
                f"Training diverged in epoch {epoch}: the {phase} loss is {loss.item()}. "
                f"Lower the learning rate (lr is {self.lr}), {clip}, or check the targets "
                "for extreme values. The estimator was left as it was before this call."
            )


class TrainingProgress(Callback):
    """Progress bars: one over the epochs, and one over the batches of a long epoch.

    The epoch bar shows the last epoch's losses, validation score and duration. The
    batch bar of an epoch appears only once the epoch has run for ``batch_delay``
    seconds, so short epochs stay on one line. ``tqdm.auto`` draws widgets in a
    notebook and redrawn text on a terminal (on standard error). To a file or a pipe
    (a log), nothing is redrawn: a plain line shows the progress at most every
    ``LOG_INTERVAL`` seconds (10 s), and a last line the final state.

    Parameters
    ----------
    total_epochs : int
        Epochs this call to fit trains for (the bar's length).
    batch_size : int
        Series per batch, to size the batch bar.
    batch_delay : float, optional
        Seconds an epoch must run before its batch bar is drawn (``BATCH_DELAY``,
        2 s, by default).
    """

    KEYS = ("train_loss", "valid_loss", "valid_score")
    BATCH_DELAY = 2.0
    LOG_INTERVAL = 10.0

    def __init__(
        self, total_epochs: int, batch_size: int, batch_delay: float | None = None
    ) -> None:
        self.total_epochs = total_epochs
        self.batch_size = batch_size
        self.batch_delay = self.BATCH_DELAY if batch_delay is None else batch_delay

    def _bar(self, total: int | None, desc: str, unit: str, **options: Any) -> Any:
        if self.live_:
            return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, **options)
        return _LogBar(total, desc, unit, interval=self.LOG_INTERVAL, **options)

    def on_train_begin(self, net, **kwargs):
        self.live_ = interactive(sys.stderr)
        self.epochs_ = self._bar(self.total_epochs, "fit", "epoch")
        self.batches_ = None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        n_batches = math.ceil(len(dataset_train) / self.batch_size) if dataset_train else None
        self.batches_ = self._bar(
            n_batches, f"epoch {len(net.history)}", "batch", leave=False, delay=self.batch_delay
        )
        self.started_ = time.perf_counter()

    def on_batch_end(self, net, training=None, **kwargs):
        if training and self.batches_ is not None:
            self.batches_.update()

    def on_epoch_end(self, net, **kwargs):
        if self.batches_ is not None:
            self.batches_.close()
            self.batches_ = None
        row = net.history[-1]
        shown = {key: f"{row[key]:.4g}" for key in self.KEYS if key in row}
        shown["time"] = f"{time.perf_counter() - self.started_:.2f}s"
        self.epochs_.set_postfix(shown, refresh=False)
        self.epochs_.update()

    def on_train_end(self, net, **kwargs):
        if self.batches_ is not None:
            self.batches_.close()
        self.epochs_.close()


#: the share of ``max_epochs`` over which ``final_r_on`` narrows the gates
NARROWING_SHARE = 0.8


def narrowing_epochs(max_epochs: int) -> int:
    """The epochs over which the gates narrow; the later ones train at the final width."""
    return max(1, int(np.ceil(NARROWING_SHARE * max_epochs)))


class GateNarrowing(Callback):
    """Narrow every time gate from ``start`` to ``end`` while training (``final_r_on``).

    The largest open ratio falls linearly from ``start`` (the initial ``r_on``) in the
    first epoch to ``end`` after :func:`narrowing_epochs` epochs and stays at ``end``,
    so the last epochs train the sparse model that prediction runs. Fixed open ratios
    follow it; the range of learned ones falls from 1 to ``end`` over the same epochs,
    each unit keeping its place in the range (:meth:`sk_plstm.nn.TimeGate.narrow_`).
    The width depends only on the epoch number, so ``partial_fit`` calls and a fit
    resumed from a checkpoint narrow exactly as one uninterrupted fit.
    """

    def __init__(self, start: float, end: float, max_epochs: int) -> None:
        self.start, self.end, self.max_epochs = start, end, max_epochs

    def width(self, epoch: int, learned: bool = False) -> float:
        """The largest open ratio during ``epoch`` (counted from 1).

        Fixed ratios narrow from ``start``; the range of learned ones from 1 (where it
        starts), so that every learned ratio falls with it from where it was.
        """
        progress = min(1.0, (epoch - 1) / narrowing_epochs(self.max_epochs))
        start = 1.0 if learned else self.start
        return start + (self.end - start) * progress

    def on_epoch_begin(self, net, **kwargs):
        epoch = len(net.history)  # this epoch's row exists already
        for gate in net.module_.time_gates():
            gate.narrow_(self.width(epoch, learned=getattr(gate, "learn_r_on", False)))


class ResumableEarlyStopping(EarlyStopping):
    """skorch's early stopping, with its counters rebuilt from the history on resume.

    A fit resumed from a checkpoint starts with a history: the epochs without
    improvement and the best score so far are replayed from it, so training stops at
    the same epoch as an uninterrupted fit. The best weights seen before the
    interruption are set by the caller (``best_model_weights_`` and ``best_epoch_``,
    from the checkpoint) before training resumes.

    Epochs up to ``start_epoch`` are not watched (with ``final_r_on`` the gates are
    still narrowing then, and a best epoch there would keep a model that is not sparse).
    """

    def __init__(
        self,
        monitor: str = "valid_loss",
        patience: int = 5,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        lower_is_better: bool = True,
        sink: Callable = print,
        load_best: bool = False,
        start_epoch: int = 0,
    ) -> None:
        super().__init__(
            monitor, patience, threshold, threshold_mode, lower_is_better, sink, load_best
        )
        self.start_epoch = start_epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.start_epoch:
            super().on_epoch_end(net, **kwargs)

    def on_train_begin(self, net, **kwargs):
        best_weights = getattr(self, "best_model_weights_", None)
        best_epoch = getattr(self, "best_epoch_", 0)
        super().on_train_begin(net, **kwargs)
        for row in net.history:
            if self.monitor not in row or row["epoch"] <= self.start_epoch:
                continue
            if self._is_score_improved(row[self.monitor]):
                self.misses_ = 0
                self.dynamic_threshold_ = self._calc_new_threshold(row[self.monitor])
                self.best_epoch_ = row["epoch"]
            else:
                self.misses_ += 1
        if best_epoch == self.best_epoch_:
            self.best_model_weights_ = best_weights
        elif net.history and self.best_epoch_ == net.history[-1, "epoch"]:
            # the checkpoint was written before this callback saw its (best) epoch
            self.best_model_weights_ = deepcopy(net.module_.state_dict())

    def stopped(self, net) -> bool:
        """Whether the last epoch of ``net`` triggered the stop."""
        return bool(net.history) and self.misses_ >= self.patience


class EpochScorer:
    """A skorch scoring callable from a ``score(y_true, outputs)`` function.

    skorch's ``EpochScoring`` calls it with the net (whose cached validation outputs
    ``predict_proba`` returns), the validation inputs and targets.
    """

    def __init__(self, score: Callable[[np.ndarray, np.ndarray], float]) -> None:
        self.score = score

    def __call__(self, net, X, y) -> float:
        outputs = net.predict_proba(X)
        y_true = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        return float(self.score(y_true, outputs))


class ResumableLRScheduler(LRScheduler):
    """skorch's ``LRScheduler``, whose plateau state survives ``partial_fit`` and resuming.

    skorch builds a new torch scheduler at the start of every call to ``fit`` or
    ``partial_fit``. Closed-form schedules (cosine) continue from the epoch count; a
    ``ReduceLROnPlateau`` would forget its best loss and patience count, so here the
    monitored values already in the history are replayed into it, leaving the
    optimiser's learning rates (restored with it) as they are.
    """

    def on_train_begin(self, net, **kwargs):
        # a schedule resumed past its first epoch (partial_fit of a loaded model, whose
        # optimiser is new) needs each group's starting rate, which torch keeps there
        for group in net.optimizer_.param_groups:
            group.setdefault("initial_lr", net.lr)
        super().on_train_begin(net, **kwargs)
        if not isinstance(self.lr_scheduler_, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return
        rates = [group["lr"] for group in net.optimizer_.param_groups]
        for row in net.history:
            if self.monitor in row:
                self.lr_scheduler_.step(row[self.monitor])
        for group, rate in zip(net.optimizer_.param_groups, rates):
            group["lr"] = rate
        self.lr_scheduler_._last_lr = rates  # what skorch records as this epoch's rate


def lr_scheduler(schedule: str, lr: float, epochs: int, patience: int, monitor: str) -> LRScheduler:
    """The learning-rate schedule named by the estimators' ``lr_schedule``.

    ``"cosine"`` anneals the rate to 1% of ``lr`` over ``epochs``; ``"plateau"`` divides
    it by 10 when ``monitor`` has not improved for ``patience`` epochs. The rate of
    every epoch is recorded in the history as ``lr``.
    """
    if schedule == "cosine":
        return ResumableLRScheduler(
            "CosineAnnealingLR", T_max=epochs, eta_min=0.01 * lr, event_name="lr"
        )
    return ResumableLRScheduler(
        "ReduceLROnPlateau", monitor=monitor, factor=0.1, patience=patience, event_name="lr"
    )


def fingerprint(arrays: list[np.ndarray], params: dict[str, Any]) -> str:
    """A digest of the training data and parameters, to match a checkpoint to its fit."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    digest.update(json.dumps(params, sort_keys=True, default=repr).encode())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    """Python built-ins only (numpy scalars become numbers), as ``weights_only`` loading needs."""
    return json.loads(
        json.dumps(value, default=lambda o: o.item() if hasattr(o, "item") else str(o))
    )


#: a checkpoint file: this line, the SHA-256 of the payload (hex) and a newline, the payload
CHECKPOINT_MAGIC = b"sk_plstm-checkpoint 1\n"
CHECKPOINT_KEYS = {"epoch", "fingerprint", "module", "optimizer", "history", "rng", "cuda_rng"}


def _atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` of ``obj`` behind a magic line and a checksum, written atomically."""
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    payload = buffer.getvalue()
    blob = CHECKPOINT_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    replace_atomically(path, lambda tmp: Path(tmp).write_bytes(blob))


def read_checkpoint(path: Path) -> dict:
    """The state in a checkpoint file, checked; ValueError (the reason) if unusable."""
    check_regular_file(path, "a checkpoint")
    blob = path.read_bytes()
    head = len(CHECKPOINT_MAGIC)
    if not blob.startswith(CHECKPOINT_MAGIC):
        raise ValueError("it is not an sk_plstm checkpoint (or one of an older version)")
    digest, payload = blob[head : head + 64], blob[head + 65 :]
    if blob[head + 64 : head + 65] != b"\n" or hashlib.sha256(payload).hexdigest() != (
        digest.decode("ascii", "replace")
    ):
        raise ValueError("it does not match its checksum (corrupt or tampered)")
    state = torch.load(io.BytesIO(payload), map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not CHECKPOINT_KEYS <= set(state):
        raise ValueError("it does not hold a training state")
    epoch, history = state["epoch"], state["history"]
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 1:
        raise ValueError(f"its epoch ({epoch!r}) is not a positive integer")
    if not isinstance(history, list) or len(history) != epoch:
        raise ValueError("its history does not have one row per epoch")
    tensors = state["module"]
    if not isinstance(tensors, dict) or not all(
        isinstance(v, torch.Tensor) for v in tensors.values()
    ):
        raise ValueError("its module state is not a dictionary of tensors")
    if not isinstance(state["rng"], torch.Tensor) or state["rng"].dtype != torch.uint8:
        raise ValueError("its random number generator state is invalid")
    return state


class Checkpointer(Callback):
    """Write a resumable checkpoint every ``every`` epochs, and the best model so far.

    The checkpoint holds the module and optimiser state, the history, the random
    number generator state and a fingerprint of the fit; it is written atomically, so
    a process killed mid-write leaves the previous checkpoint intact.
    """

    def __init__(
        self,
        directory: Path,
        every: int,
        fit_fingerprint: str,
        save_best: Callable[[Any, Path], None] | None,
        extra_state: Callable[[], dict] | None = None,
    ) -> None:
        self.directory = directory
        self.every = every
        self.fit_fingerprint = fit_fingerprint
        self.save_best = save_best
        self.extra_state = extra_state

    def on_epoch_end(self, net, **kwargs):
        epoch = len(net.history)
        if self.save_best is not None and net.history[-1].get("valid_loss_best"):
            self.save_best(net, self.directory / BEST_MODEL)
        if epoch % self.every == 0 or epoch == net.max_epochs:
            state = {
                "epoch": epoch,
                "fingerprint": self.fit_fingerprint,
                "module": net.module_.state_dict(),
                "optimizer": net.optimizer_.state_dict(),
                "history": _plain(net.history.to_list()),
                "rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
                "extra": self.extra_state() if self.extra_state is not None else {},
            }
            _atomic_save(state, self.directory / LAST_CHECKPOINT)


def load_checkpoint(directory: Path, fit_fingerprint: str) -> dict | None:
    """The last checkpoint in ``directory`` for this fit, or None if there is none."""
    path = directory / LAST_CHECKPOINT
    if not path.exists():
        return None
    try:
        state = read_checkpoint(path)
    except Exception as exc:  # a corrupt file must not be silently ignored or trusted
        raise ValueError(
            f"The checkpoint {path} cannot be read ({exc.__class__.__name__}: {exc}); "
            "delete it to start training afresh."
        ) from None
    if state.get("fingerprint") != fit_fingerprint:
        raise ValueError(
            f"The checkpoint {path} was written by a fit on other data or with other "
            "parameters; delete it or use another checkpoint_dir."
        )
    return state

"""Training helpers around skorch: divergence guard, checkpoints and resuming."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch.callbacks import Callback

__all__ = ["Checkpointer", "DivergenceGuard", "TrainingDivergedError", "fingerprint"]

LAST_CHECKPOINT = "last.ckpt"
BEST_MODEL = "best.plstm"


class TrainingDivergedError(FloatingPointError):
    """The training loss became NaN or infinite."""


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
                "for extreme values. No model was returned."
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


def _atomic_save(obj: Any, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


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
    ) -> None:
        self.directory = directory
        self.every = every
        self.fit_fingerprint = fit_fingerprint
        self.save_best = save_best

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
            }
            _atomic_save(state, self.directory / LAST_CHECKPOINT)


def load_checkpoint(directory: Path, fit_fingerprint: str) -> dict | None:
    """The last checkpoint in ``directory`` for this fit, or None if there is none."""
    path = directory / LAST_CHECKPOINT
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
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

"""Data-parallel training of one model on several processes (torch DistributedDataParallel).

Every rank of the default ``torch.distributed`` process group calls ``fit`` with the same
data and the same ``random_state``. All ranks then draw the same shuffled batches; each
rank runs the forward and backward pass on its own contiguous slice of every batch, and
DistributedDataParallel averages the gradients across ranks. The loss of each slice is
weighted by its share of the batch, so the averaged gradient is exactly the gradient of
the whole batch's mean loss: the optimiser takes the steps one process would take with
the same batches, up to the rounding of the sums.
"""

from __future__ import annotations

import os
from typing import Any

import torch
import torch.distributed as dist
from skorch.dataset import get_len, unpack_data
from skorch.utils import to_tensor
from torch.nn.parallel import DistributedDataParallel

from ._training import SeriesWeightedNet

__all__ = ["DistributedNet", "broadcast_seed", "process_group_ready", "rank_and_world"]


def process_group_ready() -> bool:
    """Whether a default ``torch.distributed`` process group is initialised."""
    return dist.is_available() and dist.is_initialized()


def rank_and_world() -> tuple[int, int]:
    """The rank of this process and the number of ranks (``(0, 1)`` without a group)."""
    if process_group_ready():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def broadcast_seed(seed: int) -> int:
    """Rank 0's ``seed`` on every rank (so every rank shuffles the same way)."""
    box = [int(seed)]
    dist.broadcast_object_list(box, src=0)
    return int(box[0])


def local_device(device: str | torch.device) -> torch.device:
    """``device``, with a bare ``"cuda"`` resolved to this rank's GPU (``LOCAL_RANK``)."""
    device = torch.device(device)
    if device.type == "cuda" and device.index is None:
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", 0)))
    return device


def _slice(data: Any, start: int, stop: int) -> Any:
    if isinstance(data, dict):
        return {key: value[start:stop] for key, value in data.items()}
    return data[start:stop]


class DistributedNet(SeriesWeightedNet):
    """A skorch ``NeuralNet`` that trains one model on every rank of the process group.

    The data loader is unchanged (every rank loads the whole batch, which costs little
    next to the recurrence); the training step keeps the rank's slice of it. Validation,
    prediction and scoring run on the local, unwrapped module: every rank holds the same
    weights, so they need no communication and any rank may call them alone. The reported
    training loss and predictions are those of the whole batch, identical on every rank,
    so callbacks (early stopping, divergence checks) take the same decisions everywhere.
    """

    def _wrapped(self) -> DistributedDataParallel:
        wrapped = self.__dict__.get("_ddp")
        if wrapped is None or wrapped.module is not self.module_:
            device = self.module_.device
            wrapped = DistributedDataParallel(
                self.module_,
                device_ids=[device] if device.type == "cuda" else None,
            )
            # bypass NeuralNet.__setattr__: the wrapper is no component of the net
            self.__dict__["_ddp"] = wrapped
            # per-rank random stream for the forward pass (dropout), see train_step_single
            generator = torch.Generator()
            generator.manual_seed(torch.initial_seed() * 1_000_003 + dist.get_rank())
            self.__dict__["_step_seeds"] = generator
        return wrapped

    def on_train_end(self, net, X=None, y=None, **kwargs):
        self.__dict__.pop("_ddp", None)
        self.__dict__.pop("_step_seeds", None)
        return super().on_train_end(net, X=X, y=y, **kwargs)

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_ddp", None)
        state.pop("_step_seeds", None)
        return state

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        Xi, yi = unpack_data(batch)
        rank, world = dist.get_rank(), dist.get_world_size()
        n = get_len(Xi)
        bounds = [r * n // world for r in range(world + 1)]
        start, stop = bounds[rank], bounds[rank + 1]
        rows = stop - start
        weight = rows * world / n
        if rows == 0:
            # an empty slice (a batch smaller than the number of ranks) still takes part in
            # the collective backward pass, with one series and no weight
            stop = start + 1
        X_part, y_part = _slice(Xi, start, stop), _slice(yi, start, stop)
        module = self._wrapped()
        device = self.module_.device
        # The forward pass draws from a per-rank stream (different dropout masks on each
        # rank) and leaves the global generator alone: it only feeds the batch shuffling,
        # which must stay the same on every rank.
        forked = [device] if device.type == "cuda" else []
        seed = int(torch.randint(2**62, (1,), generator=self.__dict__["_step_seeds"]))
        with torch.random.fork_rng(devices=forked, device_type=device.type):
            torch.manual_seed(seed)
            x = to_tensor(X_part, device=self.device)
            if isinstance(x, dict):
                inputs = self._merge_x_and_fit_params(self.network_inputs(x), fit_params)
                y_pred = module(**inputs)
            else:
                y_pred = module(x, **fit_params)
        loss = self.get_loss(y_pred, y_part, X=X_part, training=True)
        (loss * weight).backward()  # DDP averages over ranks: the whole batch's gradient
        whole_loss, whole_pred = self._whole_batch(loss.detach(), y_pred.detach(), start, rows, n)
        return {"loss": whole_loss, "y_pred": whole_pred}

    @staticmethod
    def _whole_batch(loss, y_pred, start, rows, n):
        """The whole batch's mean loss and predictions, identical on every rank.

        One all-reduce: each rank writes its ``rows`` predictions at their place in a
        zeroed batch-sized buffer, and its summed loss in an extra column; the sum over
        ranks has one contributor per prediction, so it is exact.
        """
        flat = y_pred.reshape(len(y_pred), -1).to(torch.float64)
        buffer = flat.new_zeros((n, flat.shape[1] + 1))
        buffer[start : start + rows, :-1] = flat[:rows]
        buffer[start if rows else 0, -1] += loss.to(torch.float64) * rows
        dist.all_reduce(buffer)
        whole_loss = buffer[:, -1].sum() / n
        return (
            whole_loss.to(loss.dtype).reshape(loss.shape),
            buffer[:, :-1].to(y_pred.dtype).reshape(n, *y_pred.shape[1:]),
        )

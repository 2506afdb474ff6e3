"""The batches of a fit, cut from tensors made once per training call.

skorch's default iterator, a ``DataLoader``, fetches every series on its own and stacks
the batch from them (converting each series' arrays to tensors) at every step of every
epoch. :class:`TensorBatches` converts the arrays of a dataset to tensors once, on the
training device, and cuts each batch by indexing them: on a GPU the data for a fit is moved
there once, not per batch. It draws from the random generators exactly as the
``DataLoader`` does (a base seed, then the shuffling's seed), so a fit gives the same
model with either.
"""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

__all__ = ["TensorBatches"]

#: the tensors of each dataset, by device (kept while the dataset lives: one training call)
_TENSORS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _as_tensor(value: Any, device: torch.device) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.to(device)
    return torch.as_tensor(np.ascontiguousarray(value)).to(device)


def _tensors(dataset: Any, device: torch.device) -> tuple[dict[str, torch.Tensor], Any]:
    """The dataset's inputs (a dict of tensors) and targets (a tensor or None), cached."""
    per_device = _TENSORS.setdefault(dataset, {})
    if device not in per_device:
        X = {name: _as_tensor(value, device) for name, value in dataset.X.items()}
        y = None if dataset.y is None else _as_tensor(dataset.y, device)
        per_device[device] = (X, y)
    return per_device[device]


def _unwrap(dataset: Any) -> tuple[Any, torch.Tensor | None]:
    """The underlying skorch dataset and the indices of a (possibly nested) subset."""
    indices = None
    while isinstance(dataset, Subset):
        mine = torch.as_tensor(np.asarray(dataset.indices, dtype=np.int64))
        indices = mine if indices is None else mine[indices]
        dataset = dataset.dataset
    return dataset, indices


class TensorBatches:
    """An iterator over the batches of a skorch dataset of dict inputs, for skorch.

    Used as skorch's ``iterator_train`` and ``iterator_valid``; it takes the arguments
    skorch gives a ``DataLoader`` that it needs.

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset of one
        Inputs ``X`` (a dict of arrays with one row per series) and targets ``y``.
    batch_size : int
        Series per batch (the last batch may be smaller).
    shuffle : bool, default=False
        Draw a new order every pass, as ``DataLoader(shuffle=True)``.
    generator : torch.Generator, optional
        The source of the draws (the global generator when omitted).
    device : str or torch.device, default="cpu"
        Where the tensors are made.
    max_bytes : int, optional
        Without shuffling (validation and prediction, no gradients kept), batches may
        hold more than ``batch_size`` series: as many as keep ``steps * bytes_per_step``
        per series within ``max_bytes`` (a few large batches instead of many small ones:
        the per-batch overhead of Python and of starting a recurrence is paid less
        often). None: always ``batch_size``.
    bytes_per_step : int, default=0
        The network's memory per series and time step, for ``max_bytes``.

    Examples
    --------
    >>> import numpy as np
    >>> from skorch.dataset import Dataset
    >>> from sk_plstm._batches import TensorBatches
    >>> data = Dataset({"values": np.zeros((5, 3, 1), dtype=np.float32)}, np.arange(5))
    >>> [tuple(X["values"].shape) for X, y in TensorBatches(data, batch_size=2)]
    [(2, 3, 1), (2, 3, 1), (1, 3, 1)]
    """

    def __init__(
        self,
        dataset: Any,
        batch_size: int,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        device: str | torch.device = "cpu",
        max_bytes: int | None = None,
        bytes_per_step: int = 0,
    ) -> None:
        self.dataset = dataset
        self.batch_size = int(batch_size)
        if max_bytes is not None and not shuffle and len(dataset):
            base, _ = _unwrap(dataset)
            steps = max((np.shape(v)[1] for v in base.X.values() if np.ndim(v) > 1), default=1)
            per_series = max(1, steps * max(1, bytes_per_step))
            self.batch_size = max(self.batch_size, int(max_bytes) // per_series)
        self.shuffle = shuffle
        self.generator = generator
        self.device = torch.device(device)

    def __len__(self) -> int:
        return -(-len(self.dataset) // self.batch_size)

    def __iter__(self):
        base, indices = _unwrap(self.dataset)
        X, y = _tensors(base, self.device)
        n = len(self.dataset)
        # the draws of a DataLoader pass: its base seed (for worker processes), then the
        # seed of its shuffling, both from the generator given or the global one
        torch.empty((), dtype=torch.int64).random_(generator=self.generator)
        if self.shuffle:
            shuffling = self.generator
            if shuffling is None:
                seed = int(torch.empty((), dtype=torch.int64).random_().item())
                shuffling = torch.Generator()
                shuffling.manual_seed(seed)
            order = torch.randperm(n, generator=shuffling)
        else:
            order = torch.arange(n)
        if indices is not None:
            order = indices[order]
        order = order.to(self.device)
        for start in range(0, n, self.batch_size):
            rows = order[start : start + self.batch_size]
            batch = {name: value[rows] for name, value in X.items()}
            # skorch's dataset gives a placeholder target when there is none
            target = torch.zeros(len(rows), 1, device=self.device) if y is None else y[rows]
            yield batch, target

"""The fit's batch iterator against skorch's default DataLoader: the same batches, in the
same order, with the same draws from the random generators, for shuffled and ordered
passes, validation subsets and predictions without targets."""

import numpy as np
import pytest
import torch
from skorch.dataset import Dataset, ValidSplit
from skorch.helper import SliceDict
from torch.utils.data import DataLoader

from sk_plstm._batches import TensorBatches


def _dataset(n=23, y=True):
    rng = np.random.default_rng(0)
    X = SliceDict(
        values=rng.normal(size=(n, 7, 3)).astype(np.float32),
        times=np.cumsum(rng.random((n, 7)), axis=1),
        lengths=rng.integers(1, 8, n),
    )
    return Dataset(X, rng.integers(0, 3, n) if y else None)


def _passes(iterator_class, dataset, **kwargs):
    torch.manual_seed(3)
    batches = []
    for _ in range(2):  # two epochs: the second pass draws a new order
        batches += list(iterator_class(dataset, **kwargs))
    return batches, torch.get_rng_state()


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("subset", [False, True])
def test_same_batches_and_draws_as_a_dataloader(shuffle, subset):
    dataset = _dataset()
    if subset:
        dataset, _ = ValidSplit(0.3, stratified=False, random_state=0)(dataset)
    kwargs = dict(batch_size=5, shuffle=shuffle)
    expected, expected_rng = _passes(DataLoader, dataset, **kwargs)
    got, got_rng = _passes(TensorBatches, dataset, **kwargs)
    assert len(got) == len(expected) == 2 * len(TensorBatches(dataset, 5))
    for (x_a, y_a), (x_b, y_b) in zip(got, expected):
        assert x_a.keys() == x_b.keys()
        for name in x_a:
            assert x_a[name].dtype == x_b[name].dtype
            torch.testing.assert_close(x_a[name], x_b[name], rtol=0, atol=0)
        torch.testing.assert_close(y_a, y_b, rtol=0, atol=0)
    assert torch.equal(got_rng, expected_rng)  # the global generator advanced alike


def test_a_private_generator_leaves_the_global_one_alone():
    dataset = _dataset()
    torch.manual_seed(5)
    before = torch.get_rng_state()
    list(TensorBatches(dataset, batch_size=4, generator=torch.Generator()))
    assert torch.equal(torch.get_rng_state(), before)


def test_predictions_without_targets_get_skorchs_placeholder():
    dataset = _dataset(n=6, y=False)
    (x, y), *rest = list(TensorBatches(dataset, batch_size=4))
    loader_y = next(iter(DataLoader(dataset, batch_size=4)))[1]
    assert y.shape == loader_y.shape == (4, 1) and y.dtype == loader_y.dtype
    assert rest[0][0]["values"].shape == (2, 7, 3)


def test_the_tensors_are_made_once_per_dataset():
    dataset = _dataset()
    first = next(iter(TensorBatches(dataset, batch_size=4)))
    from sk_plstm._batches import _TENSORS

    cached = _TENSORS[dataset][torch.device("cpu")]
    next(iter(TensorBatches(dataset, batch_size=4)))
    assert _TENSORS[dataset][torch.device("cpu")] is cached
    assert first[0]["values"].device.type == "cpu"


@pytest.mark.parametrize("subset", [False, True])
def test_inference_batches_grow_within_the_memory_given(subset):
    # 23 series of 7 steps at 100 bytes a step: 700 bytes a series, so 2100 bytes hold 3
    dataset = _dataset()
    if subset:
        dataset, _ = ValidSplit(0.3, stratified=False, random_state=0)(dataset)
    n = len(dataset)
    grown = TensorBatches(dataset, batch_size=2, max_bytes=2100, bytes_per_step=100)
    sizes = [len(y) for _, y in grown]
    assert sizes == [3] * (n // 3) + ([n % 3] if n % 3 else [])
    # never below batch_size; shuffled (training) passes keep it
    assert len(TensorBatches(dataset, batch_size=5, max_bytes=100, bytes_per_step=100)) == -(
        -n // 5
    )
    trained = TensorBatches(dataset, batch_size=2, shuffle=True, max_bytes=10**9, bytes_per_step=1)
    assert {len(y) for _, y in trained} <= {1, 2}
    # the same rows in the same order as batch_size batches
    together = torch.cat([X["values"] for X, _ in grown])
    apart = torch.cat([X["values"] for X, _ in TensorBatches(dataset, batch_size=2)])
    assert torch.equal(together, apart)

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback


@pytest.fixture(autouse=True)
def _seed():
    """Each test starts from the same torch and numpy global state."""
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def pytest_collection_modifyitems(config, items):
    """The Triton interpreter's two-layer bidirectional runs go to the heavy tier.

    They take 5-15 s each under the interpreter; the one-layer runs stay in the fast
    tier, and every other backend keeps both shapes there.
    """
    for item in items:
        if "test_backend_matches_the_autograd_reference" in item.name and (
            "2-True" in item.name and "triton" in item.name
        ):
            item.add_marker(pytest.mark.heavy)


# The suite runs its test files in parallel processes (pytest -n 2); one thread per process
# avoids oversubscribing the cores with the many small matrix products of short sequences.
torch.set_num_threads(1)


class CountEpochs(Callback):
    """A skorch callback counting the epochs run in this process."""

    def initialize(self):
        self.epochs = 0
        return self

    def on_epoch_end(self, net, **kwargs):
        self.epochs += 1


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def irregular_multiindex(X3d, keep=0.6, dt=0.1, seed=0):
    """pd-multiindex DataFrame with a random subset of each series' time points kept.

    The float time index holds the true times (step * dt), so spacing is unequal
    and lengths differ between series.
    """
    import pandas as pd

    rng = np.random.default_rng(seed)
    frames = []
    for i, series in enumerate(X3d):
        steps = np.sort(
            rng.choice(series.shape[1], max(2, int(keep * series.shape[1])), replace=False)
        )
        index = pd.MultiIndex.from_arrays([np.full(len(steps), i), steps * dt])
        frames.append(pd.DataFrame(series[:, steps].T, index=index))
    return pd.concat(frames)


# tests/data holds fixtures and the script that writes them on a GPU machine, not tests
collect_ignore_glob = ["data/*"]


def torch_twin(cell, twin_class):
    """A ``torch.nn`` cell (``LSTMCell``, ``GRUCell``) with the weights of a phased cell."""
    twin = twin_class(cell.input_size, cell.hidden_size)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(twin, name).copy_(getattr(cell, name))
    return twin


def irregular_times(batch, steps):
    """Increasing float64 timestamps with random gaps, of shape (batch, steps)."""
    return torch.cumsum(torch.rand(batch, steps, dtype=torch.float64) + 0.05, dim=1)

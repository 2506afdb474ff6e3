import numpy as np
import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    """Each test starts from the same torch and numpy global state."""
    torch.manual_seed(0)
    np.random.seed(0)
    yield


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip_slow = pytest.mark.skip(reason="slow: give --runslow to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip_slow)


CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")

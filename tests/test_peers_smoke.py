"""The peer-library baselines of benchmarks/_peers.py fit and predict on tiny data."""

import importlib
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from sk_plstm._data import to_panel

#: the heavy tier (the peer libraries of the benchmarks): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def peers():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("_peers")
    finally:
        sys.path.remove(str(BENCHMARKS))


def _skip_without(name):
    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is not installed")


def _regular():
    X = np.random.default_rng(0).normal(size=(20, 2, 15))
    y = np.array(["a", "b"] * 10)
    X[y == "b", 0] += 1.0
    return X, y


def _irregular():
    """pd-multiindex, unequal lengths, float times at random gaps, NaN in both channels."""
    rng = np.random.default_rng(1)
    frames, y = [], []
    for i in range(16):
        n = int(rng.integers(4, 12))
        times = np.cumsum(rng.uniform(0.1, 1.0, n))
        values = rng.normal(size=(n, 2)) + (i % 2)
        values[rng.random((n, 2)) < 0.3] = np.nan
        values[0] = [0.5, np.nan]  # every series keeps its first row
        frames.append(pd.DataFrame(values, index=pd.Index(times), columns=["u", "v"]))
        y.append(i % 2)
    X = pd.concat(frames, keys=range(len(frames)), names=["instance", "time"])
    return X, np.array(y)


@pytest.mark.parametrize("data", [_regular, _irregular])
def test_summary_hgb(peers, data):
    X, y = data()
    clf = peers.SummaryHGBClassifier(max_iter=5, random_state=0).fit(X, y)
    assert set(clf.predict(X)) <= set(y) and clf.n_parameters_ > 0
    assert clf.predict_proba(X).shape == (len(y), 2)
    target = np.linspace(0, 1, len(y))
    reg = peers.SummaryHGBRegressor(max_iter=5, random_state=0).fit(X, target)
    assert reg.predict(X).shape == (len(y),) and reg.n_parameters_ > 0


def test_summary_features_by_hand(peers):
    times = [0.0, 1.0, 3.0, 4.0]
    X = pd.DataFrame(
        {"a": [1.0, 2.0, np.nan, 4.0], "b": [np.nan, 5.0, np.nan, np.nan]},
        index=pd.MultiIndex.from_product([[0], times]),
    )
    f = peers.summary_features(to_panel(X, missing="mask", dtype=np.float64)[0])
    a, b, series = f[0, :11], f[0, 11:22], f[0, 22:]
    # a: observed 1, 2, 4 at times 0, 1, 4 -> slope 57/78 by least squares, gaps 1 and 3
    expected = [3, 7 / 3, np.std([1, 2, 4]), 1, 4, 1, 4, 3, 57 / 78, 2, 3]
    np.testing.assert_allclose(a, expected)
    assert b[0] == 1 and b[1] == 5 and np.isnan(b[8]) and np.isnan(b[9])  # one observation
    np.testing.assert_array_equal(series, [4.0, 3.0])  # duration, rows (time 3 has no value)


def test_to_grid_bins_and_averages(peers):
    X = pd.DataFrame(
        {"a": [1.0, 3.0, 5.0, 7.0]}, index=pd.MultiIndex.from_product([[0], [0.0, 1.0, 5.0, 8.0]])
    )
    grid = peers.to_grid(to_panel(X, missing="mask", dtype=np.float64)[0], 4)
    np.testing.assert_array_equal(grid[0, :, 0], [2.0, np.nan, 5.0, 7.0])


@pytest.mark.parametrize("data", [_regular, _irregular])
def test_cfc(peers, data):
    pytest.importorskip("ncps")
    X, y = data()
    kwargs = {"hidden_size": 8, "max_epochs": 2, "batch_size": 8, "random_state": 0}
    clf = peers.CfCClassifier(**kwargs).fit(X, y)
    assert set(clf.predict(X)) <= set(y) and clf.n_parameters_ > 0
    again = peers.CfCClassifier(**kwargs).fit(X, y)
    np.testing.assert_array_equal(clf.predict_proba(X), again.predict_proba(X))  # seeded
    reg = peers.CfCRegressor(**kwargs).fit(X, np.linspace(0, 1, len(y)))
    assert reg.predict(X).shape == (len(y),)


def test_cfc_net_batch_matches_one_series_at_a_time(peers):
    """The batched timespans broadcast per series (ncps' own CfC.forward does not)."""
    pytest.importorskip("ncps")
    net = peers.CfCNet(3, 2, hidden_size=4).eval()
    x, dt = torch.randn(4, 6, 3), torch.rand(4, 6)
    lengths = torch.tensor([6, 3, 1, 5])
    with torch.no_grad():
        batched = net(x, dt, lengths)
        single = torch.cat(
            [
                net(x[i : i + 1, :n], dt[i : i + 1, :n], lengths[i : i + 1])
                for i, n in enumerate(lengths.tolist())
            ]
        )
    torch.testing.assert_close(batched, single)


@pytest.mark.parametrize("model", ["GRUD", "BRITS"])
def test_pypots(peers, model):
    _skip_without("pypots")  # not importorskip: the peers import it (quietly) themselves
    X, y = _irregular()
    clf = peers.PyPOTSClassifier(
        model, epochs=2, batch_size=8, model_params={"rnn_hidden_size": 8}, random_state=0
    )
    clf.fit(X, y)
    assert clf.n_steps_ == int(np.median(X.groupby(level=0).size()))
    assert set(clf.predict(X)) <= set(y) and clf.n_parameters_ > 0
    assert clf.predict_proba(_irregular()[0]).shape == (len(y), 2)


def test_pypots_raindrop(peers):
    _skip_without("pypots")  # not importorskip: the peers import it (quietly) themselves
    X, y = _regular()
    clf = peers.PyPOTSClassifier("Raindrop", n_steps=6, epochs=2, batch_size=8, random_state=0)
    names = ("torch_geometric", "torch_scatter", "torch_sparse")
    if not all(importlib.util.find_spec(name) for name in names):
        with pytest.raises(ImportError, match="torch_"):
            clf.fit(X, y)
        return
    clf.fit(X, y)
    assert set(clf.predict(X)) <= set(y) and clf.n_parameters_ > 0

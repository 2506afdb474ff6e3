"""Data-parallel training on two CPU processes (gloo on one machine) matches one process.

The two ranks meet through a file store in the test's temporary directory: no port, so
it runs beside other tests (pytest -n 2) and leaves no process behind (spawn joins both
ranks).
"""

import pickle

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor

#: the heavy tier (processes training together): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

WORLD = 2
PARAMS = dict(hidden_size=8, max_epochs=3, batch_size=10, tau_range=(1.0, 30.0), random_state=0)


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(33, 2, 15))  # 33 series, batches of 10: the last batch splits 1 + 2
    y = (X[:, 0, :5].mean(axis=1) > 0).astype(int)
    return X, y


def _rank(rank, store, out, regressor):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        X, y = _data()
        Estimator = PhasedLSTMRegressor if regressor else PhasedLSTMClassifier
        est = Estimator(**PARAMS, distributed=True, checkpoint_dir=str(out / "ckpt"))
        est.fit(X, y.astype(float) if regressor else y)
        if rank == 0:
            est.save(out / "model.plstm")
        dist.barrier()
        if rank == 1:  # predicting needs no other rank: rank 0 has already left the group
            dist.destroy_process_group()
        outputs = est.predict(X) if regressor else est.predict_proba(X)
        state = {k: v.numpy() for k, v in est.module_.state_dict().items()}
        np.savez(out / f"rank{rank}.npz", outputs=outputs, **state)
        (out / f"rank{rank}.pkl").write_bytes(pickle.dumps(est))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


@pytest.mark.parametrize("regressor", [False, True], ids=["classifier", "regressor"])
def test_two_processes_match_one(tmp_path, regressor):
    mp.spawn(_rank, args=(tmp_path / "store", tmp_path, regressor), nprocs=WORLD, join=True)
    X, y = _data()
    Estimator = PhasedLSTMRegressor if regressor else PhasedLSTMClassifier
    single = Estimator(**PARAMS).fit(X, y.astype(float) if regressor else y)
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(WORLD)]
    for name, value in single.module_.state_dict().items():
        assert np.array_equal(ranks[0][name], ranks[1][name])  # replicas stay identical
        np.testing.assert_allclose(ranks[0][name], value.numpy(), rtol=0, atol=1e-5)
    expected = single.predict(X) if regressor else single.predict_proba(X)
    np.testing.assert_allclose(ranks[1]["outputs"], expected, rtol=0, atol=1e-5)
    # a model trained on ranks loads (file or pickle) and predicts in a plain process
    saved = sk_plstm.load(tmp_path / "model.plstm")
    np.testing.assert_array_equal(
        saved.predict(X) if regressor else saved.predict_proba(X), ranks[0]["outputs"]
    )
    assert not any((tmp_path / "ckpt").iterdir())  # rank 0 removed its checkpoint at the end
    loaded = pickle.loads((tmp_path / "rank0.pkl").read_bytes())
    np.testing.assert_array_equal(
        loaded.predict(X) if regressor else loaded.predict_proba(X), ranks[0]["outputs"]
    )


def test_distributed_without_process_group_is_a_clear_error():
    X, y = _data()
    with pytest.raises(ValueError, match="process group"):
        PhasedLSTMClassifier(**PARAMS, distributed=True).fit(X, y)


def _verbose_rank(rank, store):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    try:
        X, y = _data()
        params = {**PARAMS, "early_stopping": True, "n_iter_no_change": 1, "verbose": 2}
        PhasedLSTMClassifier(**params, distributed=True).fit(X, y)
    finally:
        dist.destroy_process_group()


def test_only_rank_zero_prints(tmp_path, capfd):
    mp.spawn(_verbose_rank, args=(str(tmp_path / "store"),), nprocs=WORLD, join=True)
    out, err = capfd.readouterr()
    assert out.count("train_loss") == 1  # one table header, from rank 0
    assert err.count("fit: 100%") == 1  # one progress line (stderr is not a terminal here)

"""Grid search on a real Dask cluster: a local scheduler and two worker processes on loopback.

The search runs through joblib's dask backend, exactly as it would against a remote
cluster (``Client("tcp://scheduler:8786")``); only the address differs. Ports are chosen by
the operating system, so the test runs beside others (``pytest -n 2``).
"""

import re
import time

import joblib
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

from sk_plstm import PhasedLSTMClassifier

#: the heavy tier (a local Dask cluster): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

distributed = pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

GRID = {"r_on": [0.05, 0.2], "tau_range": [(1, 10), (1, 100)]}


def _search():
    return GridSearchCV(
        PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0), GRID, cv=2
    )


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 20))
    y = np.repeat([0, 1], 20)
    X[y == 1, 0] += np.sin(np.arange(20) / 2.0)  # a learnable difference between classes
    return X, y


def _gone(pids, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


def test_grid_search_on_local_dask_cluster_matches_local_search(tmp_path):
    X, y = _data()
    expected = _search().fit(X, y)

    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,  # no dashboard; its HTTP server (health, metrics) still
        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},  # runs: on a free port too
        local_directory=str(tmp_path),
    )
    with cluster, distributed.Client(cluster, timeout="60s") as client:
        workers = set(client.scheduler_info()["workers"])
        worker_pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(workers) == 2 and all(a.startswith("tcp://127.0.0.1:") for a in workers)
        with distributed.get_task_stream(client) as stream:
            with joblib.parallel_config(backend="dask"):
                search = _search().fit(X, y)
    assert cluster.status == distributed.core.Status.closed
    assert _gone(worker_pids), "a worker process outlived the cluster"

    # the 8 fits (4 candidates x 2 folds) ran on the cluster's workers, not in this process;
    # joblib names each task after the calls it batches ("batch_of__fit_and_score_1_calls")
    ran_on = {task["worker"] for task in stream.data}
    assert stream.data and ran_on <= workers
    calls = [re.search(r"_fit_and_score_(\d+)_calls", task["key"]) for task in stream.data]
    assert all(calls) and sum(int(c.group(1)) for c in calls) == 8

    assert search.cv_results_["params"] == expected.cv_results_["params"]
    for key in ("split0_test_score", "split1_test_score", "mean_test_score", "std_test_score"):
        np.testing.assert_allclose(
            search.cv_results_[key], expected.cv_results_[key], rtol=0, atol=1e-6, err_msg=key
        )
    np.testing.assert_array_equal(
        search.cv_results_["rank_test_score"], expected.cv_results_["rank_test_score"]
    )
    assert search.best_params_ == expected.best_params_
    np.testing.assert_array_equal(search.predict(X), expected.predict(X))

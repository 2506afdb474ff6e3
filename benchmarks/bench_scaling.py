"""Scaling out: one model on 1..N processes (DDP), and a grid search on 1..N Dask workers.

    python benchmarks/bench_scaling.py ddp --procs 1 2 [--batch 32 128] [--device cpu]
    python benchmarks/bench_scaling.py search --workers 1 2

``ddp`` fits the same classifier (hidden 64, 2000 irregular series of 100 points, 3
epochs by default) alone and as every rank of a gloo process group of each size, one
torch thread per process, and reports the best of ``--repeats`` fit times after a warm-up
fit in every process, and the largest difference of the predicted probabilities from the
one-process fit. ``search`` runs a 4-candidate, 2-fold ``GridSearchCV`` in one process and
on a local Dask cluster of each size (one thread per worker, the data scattered to the
workers once). Process start-up is not counted. The device is named in the table.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time

import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from _common import device_name, emit_table

from sk_plstm import PhasedLSTMClassifier


def make_data(n: int, length: int, seed: int = 0) -> tuple[list, np.ndarray]:
    """``n`` irregular 2-channel series; the class is the period of a noisy sine."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    frames = []
    for label in y:
        times = np.sort(rng.uniform(0, 10 * length, length))
        signal = np.sin(2 * np.pi * times / (50.0 if label else 80.0))
        values = np.column_stack([signal + 0.5 * rng.normal(size=length), rng.normal(size=length)])
        frames.append(pd.DataFrame(values, index=pd.Index(times)))
    return frames, y


def _where(device: str) -> str:
    """The machine in words: the GPU, or the CPU and its core count."""
    if torch.device(device).type == "cuda":
        return f"{device_name(device)} (every rank on it)"
    return f"{platform.processor() or platform.machine()} CPU, {os.cpu_count()} cores"


def _estimator(args, batch: int, distributed: bool) -> PhasedLSTMClassifier:
    return PhasedLSTMClassifier(
        hidden_size=args.hidden,
        max_epochs=args.epochs,
        batch_size=batch,
        tau_range=(10.0, 1000.0),
        device=args.device,
        distributed=distributed,
        random_state=0,
    )


def _rank(rank: int, world: int, store: str, out: str, args, batch: int) -> None:
    torch.set_num_threads(1)
    if world > 1:
        dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        X, y = make_data(args.series, args.length)
        times = []
        for _ in range(args.repeats + 1):  # the first fit warms up (kernel, allocator)
            est = _estimator(args, batch, world > 1)
            if world > 1:
                dist.barrier()
            start = time.perf_counter()
            est.fit(X, y)
            times.append(time.perf_counter() - start)
        if rank == 0:
            np.savez(out, seconds=np.array(times[1:]), proba=est.predict_proba(X))
    finally:
        if world > 1:
            dist.destroy_process_group()


def bench_ddp(args) -> list[str]:
    lines = [
        f"Data-parallel fit on {_where(args.device)}, one torch thread per process; "
        f"hidden {args.hidden}, {args.series} series x {args.length} points, {args.epochs} "
        f"epochs; best of {args.repeats} fits",
        "",
        "| batch_size | processes | fit (s) | speed-up | max abs diff of probabilities vs 1 |",
        "|---|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        for batch in args.batch:
            results = {}
            for world in args.procs:
                out = os.path.join(tmp, f"b{batch}_w{world}.npz")
                store = os.path.join(tmp, f"store_b{batch}_w{world}")
                mp.spawn(_rank, args=(world, store, out, args, batch), nprocs=world, join=True)
                with np.load(out) as data:
                    results[world] = (data["seconds"].min(), data["proba"])
            base_time, base_proba = results[min(args.procs)]
            for world, (seconds, proba) in results.items():
                diff = np.abs(proba - base_proba).max()
                lines.append(
                    f"| {batch} | {world} | {seconds:.2f} | {base_time / seconds:.2f}x | "
                    f"{diff:.1e} |"
                )
    return lines


def bench_search(args) -> list[str]:
    import joblib
    from dask.distributed import Client, LocalCluster
    from sklearn.model_selection import GridSearchCV

    X, y = make_data(args.series, args.length)
    if args.data == "numpy":  # the same values without their (irregular) times
        X = np.stack([frame.to_numpy().T for frame in X])
    grid = {"r_on": [0.05, 0.2], "tau_range": [(1.0, 10.0), (1.0, 100.0)]}

    def search():
        est = PhasedLSTMClassifier(hidden_size=args.hidden, max_epochs=args.epochs, random_state=0)
        return GridSearchCV(est, grid, cv=2)

    torch.set_num_threads(1)
    search().fit(X, y)  # warm-up
    best = {}
    for _ in range(args.repeats):
        start = time.perf_counter()
        reference = search().fit(X, y)
        best[0] = min(best.get(0, np.inf), time.perf_counter() - start)
    for workers in args.workers:
        with (
            LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            ) as cluster,
            Client(cluster),
            # sent to the workers once, not with every task (pandas containers pickle slowly)
            joblib.parallel_config(backend="dask", scatter=[X, y]),
        ):
            search().fit(X, y)  # warm-up: workers import torch and load the kernel
            for _ in range(args.repeats):
                start = time.perf_counter()
                found = search().fit(X, y)
                best[workers] = min(best.get(workers, np.inf), time.perf_counter() - start)
            same = np.allclose(
                found.cv_results_["mean_test_score"], reference.cv_results_["mean_test_score"]
            )
        assert same, "the search on Dask must score like the local one"
    lines = [
        f"GridSearchCV, 4 candidates x 2 folds; each fit hidden {args.hidden}, "
        f"{args.series} series x {args.length} points ({args.data}), {args.epochs} epochs; "
        f"{_where('cpu')}, one torch thread per process; best of {args.repeats}",
        "",
        "| where | seconds | speed-up |",
        "|---|---|---|",
        f"| one process (joblib default backend, n_jobs=None) | {best[0]:.2f} | 1.00x |",
    ]
    for workers in args.workers:
        lines.append(
            f"| local Dask cluster, {workers} worker process(es) | {best[workers]:.2f} | "
            f"{best[0] / best[workers]:.2f}x |"
        )
    return lines


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["ddp", "search"])
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--series", type=int, default=2000)
    parser.add_argument("--length", type=int, default=100)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--data", choices=["frames", "numpy"], default="frames", help="search: df-list or numpy3D"
    )
    parser.add_argument("--out", help="write the markdown table to this file")
    args = parser.parse_args(argv)
    os.environ["OMP_NUM_THREADS"] = "1"
    lines = bench_ddp(args) if args.what == "ddp" else bench_search(args)
    emit_table(lines, args.out)
    return lines


if __name__ == "__main__":
    main()

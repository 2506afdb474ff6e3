"""Shared machinery of the ``reproduce_*.py`` scripts.

Each script trains the package's Phased LSTM and a plain LSTM baseline of the same size
(``_baselines.py``: same data conversion, optimiser, learning rate, batch size, epochs and
seeds; the LSTM gets the time since the previous point as an extra input) one epoch at a
time with ``partial_fit``, scores both on a held-out test set after every epoch, and
writes a results table (mean +- sd over seeds) and learning curves under ``docs/``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _common import device_name
from joblib import Parallel, delayed

DOCS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs")
OUT_DIR = os.path.join(DOCS, "reproduction")


def parser(description: str, settings: dict[str, dict]) -> argparse.ArgumentParser:
    """The command line every script shares."""
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--setting", choices=sorted(settings), default="quick")
    p.add_argument("--seeds", type=int, default=None, help="override the setting's seeds")
    p.add_argument("--epochs", type=int, default=None, help="override the setting's epochs")
    p.add_argument("--jobs", type=int, default=1, help="runs in parallel (one thread each)")
    p.add_argument("--out-dir", default=OUT_DIR, help="where tables and plots go")
    return p


def resolve(args: argparse.Namespace, settings: dict[str, dict]) -> dict:
    """The chosen setting with the command-line overrides applied."""
    setting = dict(settings[args.setting])
    if args.seeds is not None:
        setting["seeds"] = args.seeds
    if args.epochs is not None:
        setting["epochs"] = args.epochs
    return setting


def _one_run(
    factory: Callable[[int], Any],
    seed: int,
    data: tuple,
    epochs: int,
    metric: Callable[[Any, Any, Any], float],
    threads: int,
    extra: Callable[[Any, Any], dict] | None,
) -> dict:
    torch.set_num_threads(threads)
    X_train, y_train, X_test, y_test = data
    estimator = factory(seed)
    scores, seconds = [], 0.0
    for epoch in range(epochs):
        start = time.perf_counter()
        if epoch == 0:
            estimator.set_params(max_epochs=1).fit(X_train, y_train)
        else:
            estimator.partial_fit(X_train, y_train)
        seconds += time.perf_counter() - start
        scores.append(metric(estimator, X_test, y_test))
    return {"scores": scores, "seconds": seconds, **(extra(estimator, X_test) if extra else {})}


def learning_curves(
    models: dict[str, Callable[[int], Any]],
    data: tuple,
    epochs: int,
    seeds: int,
    metric: Callable[[Any, Any, Any], float],
    jobs: int = 1,
    extra: Callable[[Any, Any], dict] | None = None,
) -> dict[str, list[dict]]:
    """Train every model with every seed, scoring the test set after each epoch.

    Returns ``{model: [run per seed]}``; a run holds ``scores`` (one per epoch),
    ``seconds`` (training time) and whatever ``extra(estimator, X_test)`` adds.
    """
    tasks = [(name, seed) for name in models for seed in range(seeds)]
    threads = max(1, torch.get_num_threads() // jobs)
    runs = Parallel(n_jobs=jobs)(
        delayed(_one_run)(models[name], seed, data, epochs, metric, threads, extra)
        for name, seed in tasks
    )
    results: dict[str, list[dict]] = {name: [] for name in models}
    for (name, _), run in zip(tasks, runs):
        results[name].append(run)
    return results


def final_scores(runs: list[dict]) -> list[float]:
    """The test score after the last epoch of every run."""
    return [r["scores"][-1] for r in runs]


def mean_seconds(runs: list[dict]) -> float:
    """Mean training time of the runs, in seconds."""
    return float(np.mean([r["seconds"] for r in runs]))


def mean_sd(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean +- sd`` of ``values`` times ``scale`` (sd 0 for a single value)."""
    v = np.asarray(values, dtype=float) * scale
    sd = v.std(ddof=1) if len(v) > 1 else 0.0
    return f"{v.mean():.{digits}f} +- {sd:.{digits}f}"


def plot_curves(
    panels: dict[str, dict[str, list[dict]]], path: str, ylabel: str, scale: float = 1.0
) -> None:
    """One subplot per panel (condition), the mean test score per epoch of each model
    with a band of +- one sd over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, results) in zip(axes[0], panels.items()):
        for name, runs in results.items():
            scores = np.array([r["scores"] for r in runs]) * scale
            epochs = np.arange(1, scores.shape[1] + 1)
            mean, sd = scores.mean(0), scores.std(0)
            ax.plot(epochs, mean, label=name)
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    axes[0][0].legend()
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def invocation(script: str, argv: list[str] | None) -> str:
    """The command line that ran ``script`` (for the reports)."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python", f"benchmarks/{os.path.basename(script)}", *args])


def write_report(path: str, title: str, setting: dict, command: str, lines: list[str]) -> str:
    """Write a markdown report: what ran, where, and the table lines."""
    header = [
        f"# {title}",
        "",
        f"Produced by `{command}` on {device_name('cpu')}, torch {torch.__version__}, "
        f"{time.strftime('%Y-%m-%d')}.",
        "",
        "Setting: " + ", ".join(f"{k}={v}" for k, v in setting.items()) + ".",
        "",
    ]
    text = "\n".join(header + lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    print(text)
    return text


def publish(
    args: argparse.Namespace,
    stem: str,
    title: str,
    setting: dict,
    panels: dict[str, dict[str, list[dict]]],
    ylabel: str,
    lines: list[str],
    script: str,
    argv: list[str] | None,
) -> str:
    """Draw the learning curves to ``<stem>.png`` and write ``<stem>.md`` (the table
    ``lines`` followed by the plot) in ``args.out_dir``."""
    plot_curves(panels, os.path.join(args.out_dir, f"{stem}.png"), ylabel)
    return write_report(
        os.path.join(args.out_dir, f"{stem}.md"),
        title,
        setting,
        invocation(script, argv),
        [*lines, "", f"![learning curves]({stem}.png)"],
    )

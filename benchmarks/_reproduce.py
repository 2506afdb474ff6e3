"""Shared machinery of the ``reproduce_*.py`` scripts.

Each script trains the package's Phased LSTM and a plain LSTM baseline of the same size
(``_baselines.py``: same data conversion, optimiser, learning rate, batch size, epochs and
seeds; the LSTM gets the time since the previous point as an extra input) one epoch at a
time with ``partial_fit`` (on one training set, or with ``--fresh`` on a new one every
epoch as the authors did), scores both on a held-out test set after every epoch, and
writes a results table (mean +- sd over seeds) and learning curves under ``docs/``.
With ``--checkpoints DIR`` a long run can be stopped and rerun: it continues from the
last finished epoch.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shlex
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _common import device_name
from joblib import Parallel, delayed

#: the paper's network: gates read the times, the layers the values only, the head the final
#: state (the estimators' defaults add time and level inputs and a summary readout, and are
#: not the paper's model)
PAPER_NETWORK = {"time_inputs": False, "level_inputs": False, "readout": "last", "final_r_on": None}

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
    p.add_argument(
        "--fresh",
        action="store_true",
        help="draw a new training set every epoch, as the authors did (the setting's "
        "n_train per epoch) instead of reusing one",
    )
    p.add_argument(
        "--plstm-params",
        type=json.loads,
        default={},
        help="JSON object of Phased LSTM parameters replacing the script's "
        '(e.g. \'{"tau_range": [10, 1000], "r_on": 0.2}\'); named in the report',
    )
    p.add_argument("--name", default="", help="suffix of the report's file name")
    p.add_argument(
        "--models",
        nargs="+",
        choices=["Phased LSTM", "LSTM"],
        default=None,
        help="train only these (default: both)",
    )
    p.add_argument(
        "--checkpoints",
        default=None,
        help="directory: save every run after each epoch and continue from there on a rerun",
    )
    return p


def resolve(args: argparse.Namespace, settings: dict[str, dict]) -> dict:
    """The chosen setting with the command-line overrides applied."""
    setting = dict(settings[args.setting])
    if args.seeds is not None:
        setting["seeds"] = args.seeds
    if args.epochs is not None:
        setting["epochs"] = args.epochs
    if args.fresh:
        setting["fresh data every epoch"] = True
    if args.plstm_params:
        setting["Phased LSTM parameters"] = json.dumps(args.plstm_params)
    return setting


class FreshData:
    """Training data drawn anew for every epoch, as the authors trained.

    ``FreshData(make, n, seed=1000, **kwargs)`` calls ``make(n, random_state=seed + epoch,
    **kwargs)`` at each epoch, so every model and seed sees the same sequence of draws and
    a resumed run draws what it would have drawn.
    """

    def __init__(self, make: Callable[..., tuple], n: int, seed: int = 1000, **kwargs: Any):
        self.make, self.n, self.seed, self.kwargs = make, n, seed, kwargs

    def __call__(self, epoch: int) -> tuple:
        return self.make(self.n, random_state=self.seed + epoch, **self.kwargs)


def training_data(args: argparse.Namespace, make: Callable[..., tuple], n: int, **kwargs) -> tuple:
    """The training part of ``learning_curves``' data: ``n`` samples of ``make`` drawn once
    (seed 1000), or with ``--fresh`` a ``FreshData`` drawing them anew every epoch."""
    if args.fresh:
        return (FreshData(make, n, **kwargs),)
    return make(n, random_state=1000, **kwargs)


def report_stem(args: argparse.Namespace, name: str) -> str:
    """The reports' file stem: ``<name>_<setting>``, with ``_fresh`` for fresh data and
    ``--name`` at the end."""
    return f"{name}_{args.setting}" + ("_fresh" if args.fresh else "") + args.name


def _checkpoint_file(directory: str | None, name: str, seed: int) -> str | None:
    if directory is None:
        return None
    os.makedirs(directory, exist_ok=True)
    return os.path.join(directory, f"{name.replace(' ', '_')}_seed{seed}.pkl")


def _resume(path: str | None) -> dict | None:
    """The state a checkpointed run left (estimator, scores, seconds), or None.

    The files are the run's own pickles, written by ``_checkpoint`` in a directory the
    user named; they are not meant to be shared.
    """
    if path is None or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        return pickle.load(f)


def _checkpoint(path: str | None, state: dict) -> None:
    if path is None:
        return
    with open(path + ".tmp", "wb") as f:
        pickle.dump(state, f)
    os.replace(path + ".tmp", path)


def _one_run(
    factory: Callable[[int], Any],
    seed: int,
    data: tuple,
    epochs: int,
    metric: Callable[[Any, Any, Any], float],
    threads: int,
    extra: Callable[[Any, Any], dict] | None,
    checkpoint: str | None = None,
) -> dict:
    torch.set_num_threads(threads)
    *train, X_test, y_test = data
    draw = train[0] if len(train) == 1 else (lambda epoch: train)
    # max_epochs is the number of partial_fit calls, so that schedules over it (the gates'
    # narrowing with final_r_on, a cosine rate) run over the whole run
    state = _resume(checkpoint) or {
        "estimator": factory(seed).set_params(max_epochs=epochs),
        "scores": [],
        "seconds": 0.0,
    }
    estimator = state["estimator"]
    for epoch in range(len(state["scores"]), epochs):
        X_train, y_train = draw(epoch)
        start = time.perf_counter()
        estimator.partial_fit(X_train, y_train)
        state["seconds"] += time.perf_counter() - start
        state["scores"].append(metric(estimator, X_test, y_test))
        _checkpoint(checkpoint, state)
    return {
        "scores": state["scores"],
        "seconds": state["seconds"],
        **(extra(estimator, X_test) if extra else {}),
    }


def learning_curves(
    models: dict[str, Callable[[int], Any]],
    data: tuple,
    epochs: int,
    seeds: int,
    metric: Callable[[Any, Any, Any], float],
    jobs: int = 1,
    extra: Callable[[Any, Any], dict] | None = None,
    checkpoints: str | None = None,
) -> dict[str, list[dict]]:
    """Train every model with every seed, scoring the test set after each epoch.

    ``data`` is ``(X_train, y_train, X_test, y_test)`` for one training set reused every
    epoch, or ``(draw, X_test, y_test)`` where ``draw(epoch)`` returns that epoch's
    training set (``FreshData``). With ``checkpoints`` (a directory), every run saves
    its state after each epoch and a rerun continues from there.

    Returns ``{model: [run per seed]}``; a run holds ``scores`` (one per epoch),
    ``seconds`` (training time) and whatever ``extra(estimator, X_test)`` adds.
    """
    tasks = [(name, seed) for name in models for seed in range(seeds)]
    threads = max(1, torch.get_num_threads() // jobs)
    runs = Parallel(n_jobs=jobs)(
        delayed(_one_run)(
            models[name],
            seed,
            data,
            epochs,
            metric,
            threads,
            extra,
            _checkpoint_file(checkpoints, name, seed),
        )
        for name, seed in tasks
    )
    results: dict[str, list[dict]] = {name: [] for name in models}
    for (name, _), run in zip(tasks, runs):
        results[name].append(run)
    return results


def updates_per_unit(estimator: Any, X_test: Any, steps: float) -> float:
    """Mean updates per unit per test series, in evaluation mode; a network without time
    gates (an LSTM) updates every unit at each of the ``steps`` time points."""
    if not estimator.module_.time_gates():
        return float(steps)
    return float(estimator.update_counts(X_test).mean())


def chosen(models: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """The models that ``--models`` names (all of them without it)."""
    return {k: v for k, v in models.items() if args.models is None or k in args.models}


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
    panels: dict[str, dict[str, list[dict]]],
    path: str,
    ylabel: str,
    scale: float = 1.0,
    xlabel: str = "epoch",
    x_per_epoch: float = 1.0,
    log_y: bool = False,
) -> None:
    """One subplot per panel (condition), the mean test score per epoch of each model
    with a band of +- one sd over seeds; the x axis counts ``x_per_epoch`` per epoch
    (the iterations of an epoch, for instance)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (title, results) in zip(axes[0], panels.items()):
        for name, runs in results.items():
            scores = np.array([r["scores"] for r in runs]) * scale
            epochs = np.arange(1, scores.shape[1] + 1) * x_per_epoch
            mean, sd = scores.mean(0), scores.std(0)
            ax.plot(epochs, mean, label=name)
            ax.fill_between(epochs, mean - sd, mean + sd, alpha=0.2)
        ax.set_title(title)
        ax.set_xlabel(xlabel)
        if log_y:
            ax.set_yscale("log")
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
    return shlex.join(["python", f"benchmarks/{os.path.basename(script)}", *args])


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
    **plot: Any,
) -> str:
    """Draw the learning curves to ``<stem>.png`` (``plot``: more ``plot_curves``
    arguments) and write ``<stem>.md`` (the table ``lines`` followed by the plot) in
    ``args.out_dir``."""
    plot_curves(panels, os.path.join(args.out_dir, f"{stem}.png"), ylabel, **plot)
    return write_report(
        os.path.join(args.out_dir, f"{stem}.md"),
        title,
        setting,
        invocation(script, argv),
        [*lines, "", f"![learning curves]({stem}.png)"],
    )

"""Reproduce task 1 of the Phased LSTM paper: frequency discrimination, three samplings.

Sine waves with periods log-uniform in [1, 100] ms, half of them from the target band
[5, 6] ms; the label says whether the period is in the band. Sampling: every 1 ms
("standard"), every 0.1 ms ("high_resolution"), or 15-125 random points per wave
("asynchronous"). The package's Phased LSTM and a plain LSTM of the same size are trained
with the paper's settings (110 units, Adam, lr 1e-3, batch 32, tau ~ exp(U(1, 3)) ms,
r_on 0.05, all three gate parameters learned). Usage::

    python benchmarks/reproduce_frequency.py --setting quick|medium|full [--jobs 2]

Writes ``docs/reproduction/task1_<setting>.md`` and ``task1_<setting>.png``.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import LSTMBaselineClassifier  # noqa: E402
from _reproduce import (  # noqa: E402
    PAPER_NETWORK,
    chosen,
    final_scores,
    learning_curves,
    mean_sd,
    mean_seconds,
    parser,
    publish,
    report_stem,
    resolve,
    training_data,
)

from sk_plstm import PhasedLSTMClassifier  # noqa: E402
from sk_plstm.datasets import make_frequency_discrimination  # noqa: E402

SAMPLINGS = ["standard", "high_resolution", "asynchronous"]
SETTINGS = {
    # a few minutes on 2 CPU cores: checks that everything runs, not a result
    "quick": {"n_train": 300, "n_test": 200, "epochs": 3, "seeds": 1, "samplings": SAMPLINGS},
    # what fits in a session on 2 CPU cores
    "medium": {"n_train": 2000, "n_test": 500, "epochs": 20, "seeds": 2, "samplings": SAMPLINGS},
    # the paper's: 5000 training waves per epoch, 70 epochs, 5 seeds
    "full": {"n_train": 5000, "n_test": 500, "epochs": 70, "seeds": 5, "samplings": SAMPLINGS},
}
# the authors' published notebook: accuracy (%) after 70 epochs, mean +- sd over 5 seeds
PAPER = {
    "standard": ("99.26 +- 0.23", "98.95 +- 0.38", "89.34 +- 18.89"),
    "high_resolution": ("99.61 +- 0.28", "62.38 +- 18.63", "51.72 +- 0.71"),
    "asynchronous": ("97.89 +- 0.57", "74.30 +- 17.73", "69.02 +- 13.33"),
}
PAPER_MODEL = {
    "hidden_size": 110,
    "lr": 1e-3,
    "batch_size": 32,
    "tau_range": (float(np.e), float(np.e**3)),
    "r_on": 0.05,
    "learn_r_on": True,  # the authors learn the period, the shift and the open ratio
    **PAPER_NETWORK,
}


def models(plstm_params: dict | None = None) -> dict:
    """The two models, the Phased LSTM's parameters updated by ``plstm_params``."""
    plstm = {**PAPER_MODEL, **(plstm_params or {})}
    return {
        "Phased LSTM": lambda seed: PhasedLSTMClassifier(**plstm, random_state=seed),
        "LSTM": lambda seed: LSTMBaselineClassifier(**PAPER_MODEL, random_state=seed),
    }


def accuracy(estimator, X, y) -> float:
    return float(estimator.score(X, y))


def main(argv=None) -> dict:
    cli = parser(__doc__.splitlines()[0], SETTINGS)
    cli.add_argument("--samplings", nargs="+", choices=SAMPLINGS, default=None)
    args = cli.parse_args(argv)
    setting = resolve(args, SETTINGS)
    if args.samplings:
        setting["samplings"] = args.samplings
    panels = {}
    for sampling in setting["samplings"]:
        train = training_data(
            args, make_frequency_discrimination, setting["n_train"], sampling=sampling
        )
        test = make_frequency_discrimination(
            setting["n_test"], sampling=sampling, random_state=2000
        )
        panels[sampling] = learning_curves(
            chosen(models(args.plstm_params), args),
            (*train, *test),
            setting["epochs"],
            setting["seeds"],
            accuracy,
            args.jobs,
            checkpoints=args.checkpoints and os.path.join(args.checkpoints, sampling),
        )
    lines = [
        "Both models: " + ", ".join(f"{k}={v}" for k, v in PAPER_MODEL.items()) + " (the "
        "LSTM ignores the time-gate settings and gets the time since the previous point "
        "as an input).",
        "",
        "Test accuracy (%) after the last epoch, mean +- sd over seeds; the paper's figures "
        "are after 70 epochs over 5 seeds.",
        "",
        "| sampling | Phased LSTM (sk_plstm) | LSTM (sk_plstm baseline) | paper: Phased LSTM "
        "| paper: BN-LSTM | paper: LSTM | fit time per run (s): Phased LSTM / LSTM |",
        "|---|---|---|---|---|---|---|",
    ]
    for sampling, results in panels.items():
        cells = [
            mean_sd(final_scores(results[name]), 100) if name in results else "not run"
            for name in ("Phased LSTM", "LSTM")
        ]
        times = " / ".join(
            f"{mean_seconds(results[name]):.0f}" if name in results else "-"
            for name in ("Phased LSTM", "LSTM")
        )
        lines.append(
            f"| {sampling} | {' | '.join(cells)} | {' | '.join(PAPER[sampling])} | {times} |"
        )
    publish(
        args,
        report_stem(args, "task1"),
        "Task 1: frequency discrimination",
        setting,
        panels,
        "test accuracy",
        lines,
        __file__,
        argv,
    )
    return panels


if __name__ == "__main__":
    main()

"""Reproduce task 2 of the Phased LSTM paper: discriminating a combination of two frequencies.

Each sample is the sum of two sines observed at 100-1000 random (asynchronous) times; the
label says whether both periods are in their target bands ([5, 6] ms and [13, 15] ms).
The package's Phased LSTM and a plain LSTM of the same size are trained with the
paper's task-1 settings. Usage::

    python benchmarks/reproduce_two_frequencies.py --setting quick|medium|full [--jobs 2]

Writes ``docs/reproduction/task2_<setting>.md`` and ``task2_<setting>.png``.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _reproduce import (  # noqa: E402
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
from reproduce_frequency import accuracy, models  # noqa: E402

from sk_plstm.datasets import make_two_frequency_discrimination  # noqa: E402

SETTINGS = {
    "quick": {"n_train": 200, "n_test": 100, "epochs": 2, "seeds": 1},
    "medium": {"n_train": 1000, "n_test": 500, "epochs": 15, "seeds": 1},
    "full": {"n_train": 5000, "n_test": 500, "epochs": 70, "seeds": 5},
}


def main(argv=None) -> dict:
    args = parser(__doc__.splitlines()[0], SETTINGS).parse_args(argv)
    setting = resolve(args, SETTINGS)
    train = training_data(args, make_two_frequency_discrimination, setting["n_train"])
    test = make_two_frequency_discrimination(setting["n_test"], random_state=2000)
    results = learning_curves(
        chosen(models(args.plstm_params), args),
        (*train, *test),
        setting["epochs"],
        setting["seeds"],
        accuracy,
        args.jobs,
        checkpoints=args.checkpoints,
    )
    lines = [
        "Test accuracy (%), mean +- sd over seeds.",
        "",
        "| model | after the last epoch | best epoch | fit time per run (s) |",
        "|---|---|---|---|",
    ]
    for name, runs in results.items():
        lines.append(
            f"| {name} | {mean_sd(final_scores(runs), 100)} "
            f"| {mean_sd([max(r['scores']) for r in runs], 100)} | {mean_seconds(runs):.0f} |"
        )
    publish(
        args,
        report_stem(args, "task2"),
        "Task 2: two-frequency discrimination",
        setting,
        {"two frequencies, asynchronous": results},
        "test accuracy",
        lines,
        __file__,
        argv,
    )
    return results


if __name__ == "__main__":
    main()

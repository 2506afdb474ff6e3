"""The adding problem on long sequences, as a regression: Phased LSTM vs LSTM.

Sequences of ``length`` steps carry values and two markers; the target is the sum of the
two marked values. The package's ``PhasedLSTMRegressor`` and a plain LSTM regressor of
the same size are trained alike (110 units, Adam, lr 1e-3, batch 32; the Phased LSTM with
tau log-uniform in [2, length] steps and r_on 0.05, all gate parameters learned); the
score is the test mean squared error (predicting the mean gives about 0.167). Usage::

    python benchmarks/reproduce_adding.py --setting quick|medium|full [--jobs 2]

Writes ``docs/reproduction/adding_<setting>.md`` and ``adding_<setting>.png``.
"""

from __future__ import annotations

import os
import sys

from sklearn.metrics import mean_squared_error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import LSTMBaselineRegressor  # noqa: E402
from _reproduce import (  # noqa: E402
    final_scores,
    learning_curves,
    mean_sd,
    mean_seconds,
    parser,
    publish,
    resolve,
)

from sk_plstm import PhasedLSTMRegressor  # noqa: E402
from sk_plstm.datasets import make_adding_task  # noqa: E402

SETTINGS = {
    "quick": {"length": 100, "n_train": 300, "n_test": 200, "epochs": 3, "seeds": 1},
    "medium": {"length": 500, "n_train": 2000, "n_test": 500, "epochs": 20, "seeds": 1},
    "full": {"length": 1000, "n_train": 10000, "n_test": 1000, "epochs": 50, "seeds": 3},
}


def mse(estimator, X, y) -> float:
    return float(mean_squared_error(y, estimator.predict(X)))


def main(argv=None) -> dict:
    args = parser(__doc__.splitlines()[0], SETTINGS).parse_args(argv)
    setting = resolve(args, SETTINGS)
    length = setting["length"]
    common = {"hidden_size": 110, "lr": 1e-3, "batch_size": 32}
    gate = {"tau_range": (2.0, float(length)), "r_on": 0.05, "learn_r_on": True}
    models = {
        "Phased LSTM": lambda seed: PhasedLSTMRegressor(**common, **gate, random_state=seed),
        "LSTM": lambda seed: LSTMBaselineRegressor(**common, random_state=seed),
    }
    train = make_adding_task(setting["n_train"], length, random_state=1000)
    test = make_adding_task(setting["n_test"], length, random_state=2000)
    results = learning_curves(
        models, (*train, *test), setting["epochs"], setting["seeds"], mse, args.jobs
    )
    lines = [
        "Test mean squared error, mean +- sd over seeds (predicting the mean: about 0.167); "
        "epochs to reach MSE < 0.05 (of those run).",
        "",
        "| model | after the last epoch | best epoch | first epoch below 0.05 "
        "| fit time per run (s) |",
        "|---|---|---|---|---|",
    ]
    for name, runs in results.items():
        reached = [next((i + 1 for i, s in enumerate(r["scores"]) if s < 0.05), None) for r in runs]
        lines.append(
            f"| {name} | {mean_sd(final_scores(runs), digits=4)} "
            f"| {mean_sd([min(r['scores']) for r in runs], digits=4)} "
            f"| {', '.join('never' if e is None else str(e) for e in reached)} "
            f"| {mean_seconds(runs):.0f} |"
        )
    publish(
        args,
        f"adding_{args.setting}",
        "The adding problem",
        setting,
        {f"adding, {length} steps": results},
        "test MSE",
        lines,
        __file__,
        argv,
    )
    return results


if __name__ == "__main__":
    main()

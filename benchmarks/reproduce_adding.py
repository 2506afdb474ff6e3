"""The adding problem on long sequences, as a regression: Phased LSTM vs LSTM.

Sequences of ``length`` steps carry values and two markers; the target is the sum of the
two marked values. The package's ``PhasedLSTMRegressor`` and a plain LSTM regressor of
the same size are trained alike (110 units, Adam, lr 1e-3, batch 32, gradients clipped at
norm 10; the Phased LSTM with tau log-uniform in [2, length] steps and r_on 0.05, all gate
parameters learned, or what ``--plstm-params`` says); the score is the test mean squared
error (predicting the mean gives about 0.167), and the report gives the training
iterations each model needs to reach a low error. Usage::

    python benchmarks/reproduce_adding.py --setting quick|medium|full [--fresh] [--length N]
        [--plstm-params JSON] [--jobs 2]

Writes ``docs/reproduction/adding[<length>]_<setting>[_fresh].md`` and the ``.png`` beside it.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from sklearn.metrics import mean_squared_error

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import LSTMBaselineRegressor  # noqa: E402
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
    updates_per_unit,
)

from sk_plstm import PhasedLSTMRegressor  # noqa: E402
from sk_plstm.datasets import make_adding_task  # noqa: E402

SETTINGS = {
    "quick": {"length": 100, "n_train": 320, "n_test": 200, "epochs": 3, "seeds": 1},
    "medium": {"length": 500, "n_train": 2000, "n_test": 500, "epochs": 20, "seeds": 1},
    # with --fresh: 100 epochs of 1600 new sequences, 5000 iterations of batch 32
    "full": {"length": 1000, "n_train": 1600, "n_test": 1000, "epochs": 100, "seeds": 3},
}
#: the thresholds of "a low error" whose first crossing the report gives
THRESHOLDS = (0.1, 0.05, 0.01)
BATCH = 32


def mse(estimator, X, y) -> float:
    return float(mean_squared_error(y, estimator.predict(X)))


def updates(estimator, X_test) -> dict:
    """The share of (unit, step) pairs at which the model updates a unit on the test set,
    in evaluation mode (an LSTM: all of them)."""
    steps = X_test.shape[-1]
    return {"updates": updates_per_unit(estimator, X_test, steps) / steps}


def first_below(scores: list[float], threshold: float, per_epoch: int) -> int | None:
    """The training iterations after which the test MSE first fell below ``threshold``."""
    return next(((i + 1) * per_epoch for i, s in enumerate(scores) if s < threshold), None)


def main(argv=None) -> dict:
    cli = parser(__doc__.splitlines()[0], SETTINGS)
    cli.add_argument("--length", type=int, default=None, help="override the setting's length")
    args = cli.parse_args(argv)
    setting = resolve(args, SETTINGS)
    if args.length is not None:
        setting["length"] = args.length
    length = setting["length"]
    common = {"hidden_size": 110, "lr": 1e-3, "batch_size": BATCH, "grad_clip": 10.0}
    gate = {"tau_range": (2.0, float(length)), "r_on": 0.05, "learn_r_on": True, **PAPER_NETWORK}
    gate.update(args.plstm_params)
    models = {
        "Phased LSTM": lambda seed: PhasedLSTMRegressor(**common, **gate, random_state=seed),
        "LSTM": lambda seed: LSTMBaselineRegressor(**common, random_state=seed),
    }
    train = training_data(args, make_adding_task, setting["n_train"], length=length)
    test = make_adding_task(setting["n_test"], length, random_state=2000)
    results = learning_curves(
        chosen(models, args),
        (*train, *test),
        setting["epochs"],
        setting["seeds"],
        mse,
        args.jobs,
        extra=updates,
        checkpoints=args.checkpoints,
    )
    per_epoch = -(-setting["n_train"] // BATCH)
    lines = [
        f"Both models: {', '.join(f'{k}={v}' for k, v in common.items())}; the Phased LSTM: "
        f"{', '.join(f'{k}={v}' for k, v in gate.items())}. {per_epoch} iterations "
        "(batches) per epoch.",
        "",
        "Test mean squared error, mean +- sd over seeds (predicting the mean: about 0.167), "
        "and the training iterations after which each seed's test MSE first fell below "
        + " and ".join(str(t) for t in THRESHOLDS)
        + " (of those run).",
        "",
        "| model | after the last epoch | best epoch | "
        + " | ".join(f"iterations to MSE < {t}" for t in THRESHOLDS)
        + " | updates per unit (share of an LSTM's) | fit time per run (s) |",
        "|---|---|---|" + "---|" * len(THRESHOLDS) + "---|---|",
    ]
    for name, runs in results.items():
        reached = [
            ", ".join(str(first_below(r["scores"], t, per_epoch) or "never") for r in runs)
            for t in THRESHOLDS
        ]
        lines.append(
            f"| {name} | {mean_sd(final_scores(runs), digits=4)} "
            f"| {mean_sd([min(r['scores']) for r in runs], digits=4)} "
            f"| {' | '.join(reached)} | {np.mean([r['updates'] for r in runs]):.1%} "
            f"| {mean_seconds(runs):.0f} |"
        )
    publish(
        args,
        report_stem(args, f"adding{length}" if args.length else "adding"),
        "The adding problem",
        setting,
        {f"adding, {length} steps": results},
        "test MSE",
        lines,
        __file__,
        argv,
        xlabel="training iterations (batches of 32)",
        x_per_epoch=per_epoch,
        log_y=True,
    )
    return results


if __name__ == "__main__":
    main()

"""Keeping a regressor's predictions in the target's range: a non-negative target.

The occupied hours of room-days (``make_building_occupancy(target="hours")``, an event
table of a building's sensors, 300 training and 100 test room-days): 0 on unoccupied
days, 1-7.6 hours on occupied ones. ``PhasedLSTMRegressor`` with its defaults fits the
standardised target with a squared error and may predict negative hours. Two ways to
keep predictions in range: clip them at 0, or fit scikit-learn's
``TransformedTargetRegressor`` on ``log1p`` of the target with the inverse
``expm1(max(z, 0))`` (:func:`expm1_nonnegative`; ``expm1`` alone maps a negative ``z``
into ``(-1, 0)``: still negative). Printed: R^2, RMSE, the share of negative predictions
and the fit time, per seed and their mean; the clipped rows reuse the fit above them.

Usage::

    python benchmarks/bench_target_range.py --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import torch
from sklearn.compose import TransformedTargetRegressor
from sklearn.metrics import mean_squared_error, r2_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit_table  # noqa: E402

from sk_plstm import PhasedLSTMRegressor, from_events  # noqa: E402
from sk_plstm.datasets import make_building_occupancy  # noqa: E402


def expm1_nonnegative(z: np.ndarray) -> np.ndarray:
    """The inverse of ``log1p`` for a non-negative target: ``expm1(max(z, 0))``."""
    return np.expm1(np.maximum(z, 0.0))


def models(seed: int, epochs: int) -> dict:
    """The regressors compared, by name."""
    plain = PhasedLSTMRegressor(max_epochs=epochs, random_state=seed)
    return {
        "PhasedLSTMRegressor": plain,
        "TransformedTargetRegressor(log1p)": TransformedTargetRegressor(
            regressor=PhasedLSTMRegressor(max_epochs=epochs, random_state=seed),
            func=np.log1p,
            inverse_func=expm1_nonnegative,
            check_inverse=False,
        ),
    }


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n-train", type=int, default=300)
    parser.add_argument("--n-test", type=int, default=100)
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    train, y_train = make_building_occupancy(args.n_train, target="hours", random_state=0)
    test, y_test = make_building_occupancy(args.n_test, target="hours", random_state=1)
    X_train, X_test = from_events(train), from_events(test)
    rows = []
    for seed in args.seeds:
        for name, model in models(seed, args.epochs).items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            fit_s = time.perf_counter() - start
            pred = np.asarray(model.predict(X_test)).ravel()
            variants = [(name, pred)]
            if name == "PhasedLSTMRegressor":
                variants.append((f"{name}, clipped at 0", np.clip(pred, 0.0, None)))
            for label, values in variants:
                rows.append(
                    (
                        label,
                        seed,
                        r2_score(y_test, values),
                        mean_squared_error(y_test, values) ** 0.5,
                        float(np.mean(values < 0)),
                        fit_s,
                    )
                )
                print(rows[-1], flush=True)
    lines = [
        f"Device: {platform.processor() or platform.machine()} CPU ({os.cpu_count()} cores), "
        f"one torch thread; torch {torch.__version__}; seeds {args.seeds}.",
        "",
        "| model | R^2 | RMSE (hours) | negative predictions | fit time (s) |",
        "|---|---|---|---|---|",
    ]
    for name in dict.fromkeys(r[0] for r in rows):
        part = np.array([r[2:] for r in rows if r[0] == name])
        mean, sd = part.mean(axis=0), part.std(axis=0)
        lines.append(
            f"| {name} | {mean[0]:.3f} +- {sd[0]:.3f} | {mean[1]:.2f} | {mean[2]:.1%} "
            f"| {mean[3]:.1f} |"
        )
    emit_table(lines, args.out)
    return lines


if __name__ == "__main__":
    main()

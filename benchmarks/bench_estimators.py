"""The estimators' speed beside the same-size LSTM baseline, side by side in one process.

For BasicMotions, JapaneseVowels and ItalyPowerDemand (shipped with sktime): the warm fit
time of the default ``PhasedLSTMClassifier`` (50 epochs) and of ``LSTMBaselineClassifier``
(the same estimator with ``torch.nn.LSTM`` of the same size, ``benchmarks/_baselines.py``),
alternating, best of ``--repeats``; the time of ``predict_proba`` on the whole test set
(median of 5); and, in a fresh process, how much longer the first fit of the default
classifier takes than the second (the cost of loading the kernel and first calls).

Usage::

    python benchmarks/bench_estimators.py [--repeats 3] [--epochs 50] [--datasets ...] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import torch
from sktime.datasets import load_basic_motions, load_italy_power_demand, load_japanese_vowels

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import LSTMBaselineClassifier  # noqa: E402
from _common import device_name, emit_table, median_seconds  # noqa: E402

from sk_plstm import PhasedLSTMClassifier  # noqa: E402

DATASETS = {
    "BasicMotions": (load_basic_motions, "numpy3D"),
    "JapaneseVowels": (load_japanese_vowels, "pd-multiindex"),
    "ItalyPowerDemand": (load_italy_power_demand, "numpy3D"),
}

_FIRST_FIT = """
import sys, time
from sktime.datasets import load_basic_motions
from sk_plstm import PhasedLSTMClassifier
X, y = load_basic_motions(split="train", return_type="numpy3D")
seconds = []
for _ in range(2):
    start = time.perf_counter()
    PhasedLSTMClassifier(max_epochs=int(sys.argv[1]), random_state=0).fit(X, y)
    seconds.append(time.perf_counter() - start)
print(seconds[0], seconds[1])
"""


def first_fit_overhead(epochs: int) -> tuple[float, float]:
    """First and second fit time of the default classifier in a fresh process."""
    result = subprocess.run(
        [sys.executable, "-c", _FIRST_FIT, str(epochs)],
        capture_output=True,
        text=True,
        check=True,
    )
    first, second = map(float, result.stdout.split())
    return first, second


def main(argv: list[str] | None = None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument("--out", default=None, help="append the markdown tables to this file")
    args = parser.parse_args(argv)

    lines = [
        f"Device: {device_name('cpu')}; torch "
        f"{torch.__version__}; {args.epochs} epochs, warm, best of {args.repeats} fits "
        "alternating in one process; predict_proba on the whole test set, median of 5.",
        "",
        "| dataset | fit: sk_plstm (s) | fit: LSTM baseline (s) | ratio | predict_proba: "
        "sk_plstm (ms) | predict_proba: LSTM baseline (ms) | ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    for name in args.datasets:
        load, mtype = DATASETS[name]
        X, y = load(split="train", return_type=mtype)
        X_test, _ = load(split="test", return_type=mtype)
        models = {
            "plstm": PhasedLSTMClassifier(max_epochs=args.epochs, random_state=0),
            "lstm": LSTMBaselineClassifier(max_epochs=args.epochs, random_state=0),
        }
        fits = {key: [] for key in models}
        for model in models.values():  # warm-up
            model.fit(X, y)
        for _ in range(args.repeats):
            for key, model in models.items():
                start = time.perf_counter()
                model.fit(X, y)
                fits[key].append(time.perf_counter() - start)
        fit = {key: min(v) for key, v in fits.items()}
        predict = {
            key: median_seconds(lambda m=model, X_t=X_test: m.predict_proba(X_t), 5)
            for key, model in models.items()
        }
        lines.append(
            f"| {name} | {fit['plstm']:.3f} | {fit['lstm']:.3f} | "
            f"{fit['plstm'] / fit['lstm']:.2f}x | {predict['plstm'] * 1e3:.1f} | "
            f"{predict['lstm'] * 1e3:.1f} | {predict['plstm'] / predict['lstm']:.2f}x |"
        )
        print(lines[-1], flush=True)
    first, second = first_fit_overhead(args.epochs)
    lines += [
        "",
        f"First fit in a fresh process (BasicMotions): {first:.2f} s, the second "
        f"{second:.2f} s: {first - second:+.2f} s.",
    ]
    emit_table(lines, args.out, append=True)
    return lines


if __name__ == "__main__":
    main()

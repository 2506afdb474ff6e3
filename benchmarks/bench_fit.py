"""Fit the package's classifier on datasets that ship with sktime; print accuracy and fit time.

Usage::

    python benchmarks/bench_fit.py [--device cpu|cuda] [--epochs 50] [--cells lstm gru]
        [--out docs/fit_results.md]

With several ``--cells``, every cell is fitted on every dataset side by side (one after
the other, same seeds), so that their fit times compare.

Every dataset is loaded from sktime's bundled files (no download). The table names the
device and the torch version, so figures from different machines are not mixed up.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import torch
from sktime.datasets import load_basic_motions, load_italy_power_demand, load_japanese_vowels

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import device_name, emit_table  # noqa: E402

from sk_plstm import PhasedLSTMClassifier  # noqa: E402

DATASETS = {
    "BasicMotions (6 ch, 100 steps)": (load_basic_motions, "numpy3D"),
    "JapaneseVowels (12 ch, 7-29 steps)": (load_japanese_vowels, "pd-multiindex"),
    "ItalyPowerDemand (1 ch, 24 steps)": (load_italy_power_demand, "numpy3D"),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=50)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["lstm"])
    parser.add_argument("--out", default=None, help="append the markdown table to this file")
    args = parser.parse_args()

    rows = []
    for name, (loader, mtype) in DATASETS.items():
        X, y = loader(split="train", return_type=mtype)
        Xt, yt = loader(split="test", return_type=mtype)
        for cell in args.cells:
            scores, times = [], []
            for seed in range(args.seeds):
                clf = PhasedLSTMClassifier(
                    cell=cell, max_epochs=args.epochs, device=args.device, random_state=seed
                )
                start = time.perf_counter()
                clf.fit(X, y)
                times.append(time.perf_counter() - start)
                scores.append(clf.score(Xt, yt))
            label = name if len(args.cells) == 1 else f"{name}, cell={cell}"
            rows.append((label, len(y), len(yt), np.mean(scores), np.std(scores), np.mean(times)))
            print(
                f"{label}: accuracy {np.mean(scores):.3f} +- {np.std(scores):.3f}, "
                f"fit {np.mean(times):.1f} s",
                flush=True,
            )

    table = [
        f"Device: {device_name(args.device)}; torch {torch.__version__}; "
        f"PhasedLSTMClassifier defaults (cell {', '.join(args.cells)}), "
        f"max_epochs={args.epochs}, seeds 0..{args.seeds - 1}.",
        "",
        "| dataset | train | test | test accuracy | fit time (s) |",
        "|---|---|---|---|---|",
    ]
    table += [f"| {n} | {a} | {b} | {m:.3f} +- {s:.3f} | {t:.1f} |" for n, a, b, m, s, t in rows]
    emit_table(table, args.out, append=True)


if __name__ == "__main__":
    main()

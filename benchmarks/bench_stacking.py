"""The Phased LSTM's embedding (``transform``) stacked with boosted trees, on building data.

Fits, with the package's defaults and only ``random_state`` set, on
``make_building_occupancy`` (300 room-days to train, 100 to test, event tables read with
``from_events``; labels matched by instance id):

* ``PhasedLSTMClassifier`` alone;
* scikit-learn's ``HistGradientBoostingClassifier`` on the per-channel summary features of
  ``benchmarks/_peers.py`` (``SummaryHGBClassifier``, ``min_samples_leaf=5``);
* the pipeline ``PhasedLSTMClassifier -> HistGradientBoostingClassifier`` (the trees read
  ``transform``: the final state and the channels' summaries the network's head reads).

Usage::

    python benchmarks/bench_stacking.py [--seeds 3] [--out docs/user_guide_stacking.md]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import make_pipeline

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit_table  # noqa: E402
from _peers import SummaryHGBClassifier  # noqa: E402

from sk_plstm import PhasedLSTMClassifier, from_events  # noqa: E402
from sk_plstm.datasets import make_building_occupancy  # noqa: E402


def data(seed: int):
    """Train and test room-days: labels as a Series indexed by instance id."""
    events, y = make_building_occupancy(400, random_state=seed)
    X = from_events(events)
    ids = X.index.get_level_values(0).unique()
    labels = pd.Series(y, index=ids)
    train, test = ids[:300], ids[300:]
    pick = X.index.get_level_values(0).isin
    return X[pick(train)], labels[train], X[pick(test)], labels[test]


def models(seed: int) -> dict:
    return {
        "Phased LSTM": PhasedLSTMClassifier(random_state=seed),
        "boosted trees on summaries": SummaryHGBClassifier(min_samples_leaf=5, random_state=seed),
        "Phased LSTM -> boosted trees": make_pipeline(
            PhasedLSTMClassifier(random_state=seed),
            HistGradientBoostingClassifier(min_samples_leaf=5, random_state=seed),
        ),
    }


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    scores: dict[str, list[float]] = {}
    seconds: dict[str, list[float]] = {}
    for seed in range(args.seeds):
        X_train, y_train, X_test, y_test = data(seed)
        for name, model in models(seed).items():
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds.setdefault(name, []).append(time.perf_counter() - start)
            scores.setdefault(name, []).append(model.score(X_test, y_test))
            print(f"seed {seed} {name}: {scores[name][-1]:.3f}", file=sys.stderr)
    lines = [
        f"Device: {platform.machine()} CPU, 1 torch thread; torch {torch.__version__}; "
        f"{args.seeds} seed(s) (data and models); 300 room-days to train, 100 to test.",
        "",
        "| model | test accuracy (mean +- sd) | per seed | fit time (s) |",
        "|---|---|---|---|",
    ]
    for name, values in scores.items():
        per_seed = ", ".join(f"{v:.2f}" for v in values)
        lines.append(
            f"| {name} | {np.mean(values):.3f} +- {np.std(values):.3f} | {per_seed} | "
            f"{np.mean(seconds[name]):.1f} |"
        )
    emit_table(lines, args.out)
    return lines


if __name__ == "__main__":
    main()

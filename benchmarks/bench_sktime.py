"""Phased LSTM vs a plain LSTM vs a strong sktime classifier, on original and irregular data.

Runs sktime's ``ClassificationBenchmark`` on datasets that ship inside sktime, each in
two versions: as published, and irregularly subsampled (each series keeps a random half
of its time points with their true times, drawn independently for train and test; see
``sk_plstm.datasets.make_irregular``). Every task uses the dataset's official
train/test split. Models:

* ``PhasedLSTM``: ``sk_plstm.sktime.PhasedLSTMClassifier`` (reads the times);
* ``LSTM``: a ``torch.nn.LSTM`` of the same size trained the same way, given the time
  since the previous observation as an extra channel (``benchmarks/_baselines.py``);
* ``MiniRocket`` (needs numba) behind sktime's ``PaddingTransformer`` for unequal
  lengths, or ``SummaryClassifier`` where numba is missing; both ignore the times.

Usage::

    python benchmarks/bench_sktime.py --setting small            # CI scale, about a minute
    python benchmarks/bench_sktime.py --setting full --out docs/benchmark_sktime.md
    python benchmarks/bench_sktime.py --setting full --r-on 0.3   # wider gates
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import accuracy_score
from sklearn.model_selection import PredefinedSplit
from sktime.benchmarking.classification import ClassificationBenchmark
from sktime.datasets import (
    load_basic_motions,
    load_gunpoint,
    load_italy_power_demand,
    load_japanese_vowels,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import SktimeLSTMBaselineClassifier  # noqa: E402
from _common import device_name, emit_table  # noqa: E402

from sk_plstm.datasets import make_irregular  # noqa: E402
from sk_plstm.sktime import PhasedLSTMClassifier  # noqa: E402

SETTINGS = {
    "small": {"datasets": ["ItalyPowerDemand"], "epochs": 5, "hidden": 16, "seeds": 1},
    "full": {
        "datasets": ["BasicMotions", "JapaneseVowels", "ItalyPowerDemand", "GunPoint"],
        "epochs": 100,
        "hidden": 64,
        "seeds": 3,
    },
}
LOADERS = {
    "BasicMotions": load_basic_motions,
    "JapaneseVowels": load_japanese_vowels,
    "ItalyPowerDemand": load_italy_power_demand,
    "GunPoint": load_gunpoint,
}


def load_task(name: str, irregular: bool, seed: int = 0):
    """Train and test data stacked as one pd-multiindex, plus the predefined split."""
    parts = []
    for k, split in enumerate(("train", "test")):
        X, y = LOADERS[name](split=split, return_type="pd-multiindex")
        if irregular:
            X = make_irregular(X, keep=0.5, random_state=seed + k)
            X.columns = [f"dim_{c}" for c in range(X.shape[1])]
        parts.append((X, np.asarray(y)))
    (Xtr, ytr), (Xte, yte) = parts
    n_train = len(ytr)
    Xte = Xte.copy()
    Xte.index = Xte.index.set_levels(Xte.index.levels[0] + n_train, level=0)
    Xtr.columns = Xte.columns
    X = pd.concat([Xtr, Xte])
    y = np.concatenate([ytr, yte])
    split = PredefinedSplit(np.r_[np.full(n_train, -1), np.zeros(len(yte))])
    return X, y, split


def strong_classifier(max_length: int, seed: int):
    """MiniRocket when numba is present, else SummaryClassifier; padded to max_length."""
    from sktime.registry import all_estimators
    from sktime.transformations.panel.padder import PaddingTransformer

    registry = dict(all_estimators("classifier", as_dataframe=False))
    if importlib.util.find_spec("numba") is not None:
        name = "MiniRocket"
        clf = registry["RocketClassifier"](rocket_transform="minirocket", random_state=seed)
    else:
        name = "Summary"
        clf = registry["SummaryClassifier"](random_state=seed)
    return name, PaddingTransformer(pad_length=max(max_length, 9)) * clf


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--r-on", type=float, default=None, help="open ratio of the Phased LSTM")
    parser.add_argument(
        "--plstm-params",
        type=json.loads,
        default={},
        help="JSON of Phased LSTM parameters, e.g. '{\"learn_r_on\": false}'",
    )
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    cfg = SETTINGS[args.setting]
    plstm = dict(args.plstm_params)
    if args.r_on is not None:
        plstm["r_on"] = args.r_on

    rows = []
    for name in cfg["datasets"]:
        for irregular in (False, True):
            X, y, split = load_task(name, irregular)
            max_length = int(X.groupby(level=0).size().max())
            bench = ClassificationBenchmark()
            for seed in range(cfg["seeds"]):
                common = dict(
                    hidden_size=cfg["hidden"],
                    max_epochs=cfg["epochs"],
                    device=args.device,
                    random_state=seed,
                )
                bench.add_estimator(
                    PhasedLSTMClassifier(**{**common, **plstm}), f"PhasedLSTM-{seed}"
                )
                bench.add_estimator(SktimeLSTMBaselineClassifier(**common), f"LSTM-{seed}")
                strong_name, strong = strong_classifier(max_length, seed)
                bench.add_estimator(strong, f"{strong_name}-{seed}")
            variant = "irregular" if irregular else "original"
            bench.add_task((X, y), split, [accuracy_score], task_id=f"{name}-{variant}")
            with tempfile.TemporaryDirectory() as tmp:
                start = time.perf_counter()
                result = bench.run(os.path.join(tmp, "results.csv"))
                print(f"{name} {variant}: {time.perf_counter() - start:.0f} s", flush=True)
            for _, r in result.iterrows():
                model = r["model_id"].rsplit("-", 1)[0]
                rows.append(
                    {
                        "dataset": name,
                        "data": variant,
                        "model": model,
                        "accuracy": r["accuracy_score_fold_0_test"],
                        "fit_s": r["fit_time_fold_0_test"],
                    }
                )
    df = pd.DataFrame(rows)
    summary = df.groupby(["dataset", "data", "model"], sort=False).agg(
        acc_mean=("accuracy", "mean"),
        acc_sd=("accuracy", "std"),
        fit_s=("fit_s", "mean"),
        runs=("accuracy", "size"),
    )
    lines = [
        f"Setting `{args.setting}`: {cfg['hidden']} units, {cfg['epochs']} epochs, "
        f"Phased LSTM parameters: {json.dumps(plstm) if plstm else 'the defaults'}, "
        f"{cfg['seeds']} seed(s); device: {device_name(args.device)}; torch {torch.__version__}.",
        "",
        "| dataset | data | model | test accuracy | fit time (s) |",
        "|---|---|---|---|---|",
    ]
    for (dataset, data, model), r in summary.iterrows():
        sd = "" if r.runs < 2 else f" +- {r.acc_sd:.3f}"
        lines.append(f"| {dataset} | {data} | {model} | {r.acc_mean:.3f}{sd} | {r.fit_s:.1f} |")
    emit_table(lines, args.out)
    return summary


if __name__ == "__main__":
    main()

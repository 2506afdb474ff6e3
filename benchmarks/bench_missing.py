"""Phased LSTM vs LSTM, GRU-D and imputed MiniRocket on data with missing values.

Every channel is observed at its own times; NaN marks "not observed" and a row where
nothing was observed is absent. Tasks:

* ``JapaneseVowels`` (12 channels, unequal lengths) and ``BasicMotions`` (6 channels),
  shipped with sktime, official train/test splits, with a fraction (40%, 60%, 80% in
  the ``full`` setting) of every channel's observations removed independently per
  channel and series, true times kept, drawn independently for train and test
  (``sk_plstm.datasets.make_missing``);
* ``SensorFusion``: sensors sampled at their own rates and jittered times, the label a
  combination of every sensor's frequency (``sk_plstm.datasets.make_sensor_fusion``; a
  train set and a test set from different seeds).

Every task's data is drawn once; the seeds (3 in ``full``) vary the models. Models,
fitted and scored with plain ``fit``/``predict`` on the NaN-containing pd-multiindex
data (float times for ``SensorFusion``):

* ``PhasedLSTM``: ``sk_plstm.PhasedLSTMClassifier``, default parameters except the seed
  (the ``full`` setting's 64 units and 100 epochs are the defaults; ``--plstm-params``
  overrides any, to compare variants);
* ``LSTM``: ``torch.nn.LSTM`` of the same size trained the same way, fed the values, the
  observation masks and the time since the previous row (``benchmarks/_baselines.py``);
* ``GRU-D``: GRU-D (Che et al., 2018) of the same size trained the same way
  (``benchmarks/_baselines.py``);
* ``MiniRocket`` (needs numba; ``SummaryClassifier`` where numba is missing) behind
  sktime's imputation: ``Imputer(method="ffill")`` (forward fill within each series,
  then backward fill for leading gaps), the training mean for a channel never observed
  in a series, ``PaddingTransformer`` for unequal lengths. It reads rows as equally
  spaced steps and ignores the times.

Usage::

    python benchmarks/bench_missing.py --setting small          # CI scale, under a minute
    python benchmarks/bench_missing.py --setting full --out docs/benchmark_missing.md
    python benchmarks/bench_missing.py --setting full --models PhasedLSTM \\
        --plstm-params '{"learn_r_on": true}'                     # a variant
    python benchmarks/bench_missing.py --setting full --tasks SensorFusion --seeds 1
    python benchmarks/bench_missing.py --setting full --threads 1  # beside other jobs
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time

import numpy as np
import pandas as pd
import torch
from sklearn.impute import SimpleImputer
from sktime.datasets import load_basic_motions, load_japanese_vowels

# numba's OpenMP threading layer (its default here) next to torch's own OpenMP runtime
# made every torch fit after a MiniRocket fit in the same process 10-100x slower on a
# busy 2-core machine; numba's workqueue layer, as fast for MiniRocket, does not
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _baselines import GRUDBaselineClassifier, LSTMBaselineClassifier  # noqa: E402
from _common import device_name, emit_table  # noqa: E402
from bench_sktime import strong_classifier  # noqa: E402

from sk_plstm import PhasedLSTMClassifier  # noqa: E402
from sk_plstm.datasets import make_missing, make_sensor_fusion  # noqa: E402

SETTINGS = {
    "small": {
        "tasks": ["BasicMotions"],
        "missing": [0.6],
        "fusion_samples": 100,
        "epochs": 5,
        "hidden": 16,
        "seeds": 1,
    },
    "full": {
        "tasks": ["JapaneseVowels", "BasicMotions", "SensorFusion"],
        "missing": [0.4, 0.6, 0.8],
        "fusion_samples": 400,
        "epochs": 100,
        "hidden": 64,
        "seeds": 3,
    },
}
LOADERS = {"JapaneseVowels": load_japanese_vowels, "BasicMotions": load_basic_motions}
TASKS = [*LOADERS, "SensorFusion"]
MODELS = ["PhasedLSTM", "LSTM", "GRU-D", "MiniRocket"]


def load_task(name: str, missing: float | None, n_fusion: int = 400, seed: int = 0):
    """Train and test data of one task: pd-multiindex, NaN where not observed.

    ``missing`` is the fraction of each channel's observations removed (ignored for
    ``SensorFusion``, whose sensors are asynchronous by construction, ``n_fusion``
    series in each split). Train and test are drawn with seeds ``seed`` and ``seed + 1``.
    """
    if name == "SensorFusion":
        Xtr, ytr = make_sensor_fusion(n_fusion, random_state=seed)
        Xte, yte = make_sensor_fusion(n_fusion, random_state=seed + 1)
    else:
        parts = []
        for k, split in enumerate(("train", "test")):
            X, y = LOADERS[name](split=split, return_type="pd-multiindex")
            parts.append((make_missing(X, missing=missing, random_state=seed + k), y))
        (Xtr, ytr), (Xte, yte) = parts
    return Xtr, np.asarray(ytr), Xte, np.asarray(yte)


def as_steps(X: pd.DataFrame) -> pd.DataFrame:
    """``X`` with each series' times replaced by 0, 1, 2, ... (sktime wants integer or
    datetime times; the imputation pipeline reads rows as steps anyway)."""
    instances = X.index.get_level_values(0)
    steps = X.groupby(level=0).cumcount().to_numpy()
    X = X.copy()
    X.index = pd.MultiIndex.from_arrays([instances, steps], names=X.index.names)
    return X


def imputed_classifier(max_length: int, seed: int):
    """MiniRocket (SummaryClassifier without numba) behind sktime's imputation and padding."""
    from sktime.transformations.series.adapt import TabularToSeriesAdaptor
    from sktime.transformations.series.impute import Imputer

    name, padded = strong_classifier(max_length, seed)
    # on a panel, "ffill" fills forward then backward within each series; a channel never
    # observed in a series gets its mean over the training data (pooled over series:
    # Imputer(method="mean") takes per-series means, NaN for that channel)
    never_observed = TabularToSeriesAdaptor(SimpleImputer(strategy="mean"), pooling="global")
    return name, Imputer(method="ffill") * never_observed * padded


def make_model(model: str, args, cfg: dict, seed: int, max_length: int):
    """The estimator ``model`` for one seed: (name in the table, estimator, reads times)."""
    common = dict(
        hidden_size=cfg["hidden"], max_epochs=cfg["epochs"], device=args.device, random_state=seed
    )
    if model == "PhasedLSTM":
        return model, PhasedLSTMClassifier(**{**common, **args.plstm_params}), True
    if model == "LSTM":
        return model, LSTMBaselineClassifier(**common), True
    if model == "GRU-D":
        return model, GRUDBaselineClassifier(**common), True
    name, pipeline = imputed_classifier(max(max_length, 9), seed)
    return name, pipeline, False


def warm_up(models: list[str], args, cfg: dict, X: pd.DataFrame, y: np.ndarray) -> None:
    """One epoch of every network before the timed fits, so that one-off costs (torch's
    first passes, building or loading the compiled kernel) are not charged to the first
    model."""
    for model in models:
        if model != "MiniRocket":
            make_model(model, args, {**cfg, "epochs": 1}, 0, 0)[1].fit(X, y)


def main(argv=None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="small")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, help="run only these tasks")
    parser.add_argument("--models", nargs="+", choices=MODELS, help="run only these models")
    parser.add_argument(
        "--missing", nargs="+", type=float, help="fractions removed (override the setting)"
    )
    parser.add_argument("--seeds", type=int, default=None, help="override the setting's seeds")
    parser.add_argument("--epochs", type=int, default=None, help="override the setting's epochs")
    parser.add_argument(
        "--plstm-params",
        type=json.loads,
        default={},
        help="JSON of Phased LSTM parameters, e.g. '{\"learn_r_on\": true}'",
    )
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (1: steadier on a busy machine)"
    )
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    cfg = dict(SETTINGS[args.setting])
    for key in ("tasks", "missing", "seeds", "epochs"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if not isinstance(args.plstm_params, dict):
        parser.error("--plstm-params must be a JSON object of parameter names and values")
    # the baselines take the Phased LSTM's size, --plstm-params included
    cfg["hidden"] = args.plstm_params.get("hidden_size", cfg["hidden"])
    models = args.models or MODELS
    command = shlex.join(
        ["python", "benchmarks/bench_missing.py", *(sys.argv[1:] if argv is None else argv)]
    )

    rows = []
    for task in cfg["tasks"]:
        for missing in [None] if task == "SensorFusion" else cfg["missing"]:
            Xtr, ytr, Xte, yte = load_task(task, missing, cfg["fusion_samples"])
            label = "own rates" if missing is None else f"{missing:.0%} removed"
            nan_share = float(Xtr.isna().to_numpy().mean())
            max_length = int(max(X.groupby(level=0).size().max() for X in (Xtr, Xte)))
            if not rows:
                warm_up(models, args, cfg, Xtr, ytr)
            for seed in range(cfg["seeds"]):
                for model in models:
                    name, estimator, reads_times = make_model(model, args, cfg, seed, max_length)
                    train, test = (Xtr, Xte) if reads_times else (as_steps(Xtr), as_steps(Xte))
                    start = time.perf_counter()
                    estimator.fit(train, ytr)
                    fit_s = time.perf_counter() - start
                    accuracy = float(np.mean(np.asarray(estimator.predict(test)) == yte))
                    print(
                        f"{task} {label} {name} seed {seed}: {accuracy:.3f}, {fit_s:.1f} s",
                        flush=True,
                    )
                    rows.append(
                        {
                            "task": task,
                            "missing": label,
                            "nan_share": nan_share,
                            "model": name,
                            "accuracy": accuracy,
                            "fit_s": fit_s,
                        }
                    )
    df = pd.DataFrame(rows)
    summary = df.groupby(["task", "missing", "model"], sort=False).agg(
        nan_share=("nan_share", "first"),
        acc_mean=("accuracy", "mean"),
        acc_sd=("accuracy", "std"),
        fit_mean=("fit_s", "mean"),
        fit_sd=("fit_s", "std"),
        runs=("accuracy", "size"),
    )
    plstm = json.dumps(args.plstm_params) if args.plstm_params else "none"
    lines = [
        f"Setting `{args.setting}`: {cfg['hidden']} units, {cfg['epochs']} epochs, "
        f"--plstm-params: {plstm}, {cfg['seeds']} seed(s); "
        f"device: {device_name(args.device)}; torch {torch.__version__}.",
        "",
        f"Command: `{command}`",
        "",
        "| task | missing | NaN in train X | model | test accuracy | fit time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for (task, missing, model), r in summary.iterrows():
        acc = f"{r.acc_mean:.3f}" + ("" if r.runs < 2 else f" +- {r.acc_sd:.3f}")
        fit = f"{r.fit_mean:.1f}" + ("" if r.runs < 2 else f" +- {r.fit_sd:.1f}")
        lines.append(f"| {task} | {missing} | {r.nan_share:.0%} | {model} | {acc} | {fit} |")
    emit_table(lines, args.out)
    return summary


if __name__ == "__main__":
    main()

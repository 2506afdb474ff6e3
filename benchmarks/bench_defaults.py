"""The defaults study: candidate settings of the Phased LSTM estimators over a task suite.

Every candidate is a set of parameters of ``PhasedLSTMClassifier`` / ``Regressor`` (the
rest at their defaults of the package version that ran the study, ``base``), fitted with
3 seeds on every task of the suite; a candidate's score on a task is its mean over the
seeds (test accuracy, or test RMSE for regression), its rank on the task is its place
among all candidates (1 = best, ties share the mean place), and candidates are compared
by their **mean rank over the whole suite**, never per task.

The suite (official train/test splits; every task's data drawn once, seeds vary the
models):

* sktime's shipped classification datasets BasicMotions, JapaneseVowels,
  ItalyPowerDemand, GunPoint and ArrowHead, each as published and irregular (each series
  keeps a random 50% or 25% of its time points, true times kept,
  ``sk_plstm.datasets.make_irregular``, drawn independently for train and test);
* the regression datasets Tecator and Covid3Month, as published and irregular (50%);
* the paper's tasks: frequency discrimination with asynchronous sampling (task 1,
  300 + 300 series), the adding task (length 100, 500 + 250) and event digits
  (300 + 300 event streams of 128 channels): smaller than in the reproduction
  scripts, so that every candidate can be fitted 3 times on each;
* asynchronous channels: BasicMotions and JapaneseVowels with 60% of every channel's
  observations removed (``make_missing``), SensorFusion (``make_sensor_fusion``,
  400 + 400), and a building's sensors as an event table (``make_building_occupancy``,
  300 + 100 room-days read with ``from_events``): ``Building`` (occupied or not: the
  label needs both the temperature's rise above the room's own level and the door
  events' count) and ``BuildingHours`` (the occupied hours, a non-negative regression
  target).

OSULeaf, PLAID and ACSF1 also ship with sktime but are left out: one fit of each takes
minutes on a 2-core CPU, and the study fits every candidate 3 times on every task.

Baselines, trained through the same estimator code with the ``base`` training settings
(or, with ``--baseline-params``, others): ``LSTM`` (``torch.nn.LSTM`` of the same size
fed the time since the previous observation, and the observation masks where values are
missing; ``benchmarks/_baselines.py``) and ``MiniRocket`` (sktime's ``RocketClassifier``
/ ``RocketRegressor`` with MiniRocket features, forward-filled and padded; it reads rows
as equally spaced steps and ignores the times).

Every fit is one line of a results file (JSON lines), so the study resumes where it
stopped and candidates can be added later; ``--report`` writes the tables from it.

Peers (``--peers``, the ``peers`` extra; ``benchmarks/_peers.py``): scikit-learn's
histogram gradient boosting on per-channel summary features (``HGB-summary``), ncps'
CfC fed the time since the previous row (``CfC``), PyPOTS' GRU-D, BRITS and Raindrop on a
binned grid (classification only), each at the Phased LSTM's epoch budget.

Usage::

    python benchmarks/bench_defaults.py --setting quick                  # CI scale
    python benchmarks/bench_defaults.py --setting full --workers 2       # the study
    python benchmarks/bench_defaults.py --setting full --candidates base learn_r_on
    python benchmarks/bench_defaults.py --setting full --report --out docs/defaults.md
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shlex
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

# see bench_missing.py: numba's OpenMP layer slows torch fits in the same process
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import emit_table  # noqa: E402

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


# ------------------------------------------------------------------------------ tasks


@dataclass(frozen=True)
class Task:
    """One task of the suite: how to build its data, and how to read its score."""

    name: str
    kind: str  # "classification" or "regression"
    group: str  # "regular", "irregular" or "asynchronous"
    build: tuple  # (builder name, keyword arguments as pairs)


def _shipped(name: str):
    from sktime import datasets

    loader = {
        "BasicMotions": datasets.load_basic_motions,
        "JapaneseVowels": datasets.load_japanese_vowels,
        "ItalyPowerDemand": datasets.load_italy_power_demand,
        "GunPoint": datasets.load_gunpoint,
        "ArrowHead": datasets.load_arrow_head,
        "Tecator": datasets.load_tecator,
        "Covid3Month": datasets.load_covid_3month,
    }[name]
    splits = []
    for split in ("train", "test"):
        if name == "Covid3Month":  # no return_type: a nested_univ frame
            X, y = loader(split=split)
            from sktime.datatypes import convert_to

            X = convert_to(X, to_type="pd-multiindex")
        else:
            X, y = loader(split=split, return_type="pd-multiindex")
        splits.append((X, np.asarray(y)))
    return splits


def _irregular(name: str, keep: float | None = None, missing: float | None = None):
    from sk_plstm.datasets import make_irregular, make_missing

    parts = []
    for k, (X, y) in enumerate(_shipped(name)):
        if keep is not None:
            X = make_irregular(X, keep=keep, random_state=k)
        if missing is not None:
            X = make_missing(X, missing=missing, random_state=k)
        parts.append((X, y))
    return parts


def _generated(name: str, n_train: int, n_test: int, **kwargs):
    from sk_plstm import datasets

    if name == "SensorFusion":
        train = datasets.make_sensor_fusion(n_train, random_state=0)
        test = datasets.make_sensor_fusion(n_test, random_state=1)
        return [train, test]
    if name in ("Building", "BuildingHours"):  # an event table, read with from_events
        from sk_plstm import from_events

        target = "occupied" if name == "Building" else "hours"
        parts = []
        for n, seed in ((n_train, 0), (n_test, 1)):
            events, y = datasets.make_building_occupancy(n, target=target, random_state=seed)
            parts.append((from_events(events), y))
        return parts
    if name == "FrequencyAsync":
        X, y = datasets.make_frequency_discrimination(
            n_train + n_test, sampling="asynchronous", return_type="df-list", random_state=0
        )
    elif name == "EventDigits":
        X, y = datasets.make_event_digits(n_train + n_test, random_state=0)
    elif name == "Adding":
        X, y = datasets.make_adding_task(n_train + n_test, random_state=0, **kwargs)
    else:
        raise ValueError(name)
    y = np.asarray(y)
    return [(X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])]


def _tasks() -> dict[str, Task]:
    tasks = []
    for name in ("BasicMotions", "JapaneseVowels", "ItalyPowerDemand", "GunPoint", "ArrowHead"):
        tasks.append(Task(name, "classification", "regular", ("irregular", (("name", name),))))
        for keep in (0.5, 0.25):
            tasks.append(
                Task(
                    f"{name}-keep{keep:g}",
                    "classification",
                    "irregular",
                    ("irregular", (("name", name), ("keep", keep))),
                )
            )
    for name in ("Tecator", "Covid3Month"):
        tasks.append(Task(name, "regression", "regular", ("irregular", (("name", name),))))
        tasks.append(
            Task(
                f"{name}-keep0.5",
                "regression",
                "irregular",
                ("irregular", (("name", name), ("keep", 0.5))),
            )
        )
    generated = [
        ("FrequencyAsync", "classification", "irregular", 300, 300, ()),
        ("Adding", "regression", "regular", 500, 250, (("length", 100),)),
        ("EventDigits", "classification", "irregular", 300, 300, ()),
        ("SensorFusion", "classification", "asynchronous", 400, 400, ()),
        ("Building", "classification", "asynchronous", 300, 100, ()),
        ("BuildingHours", "regression", "asynchronous", 300, 100, ()),
    ]
    for name, kind, group, n_train, n_test, extra in generated:
        args = (("name", name), ("n_train", n_train), ("n_test", n_test), *extra)
        tasks.append(Task(name, kind, group, ("generated", args)))
    for name in ("BasicMotions", "JapaneseVowels"):
        tasks.append(
            Task(
                f"{name}-missing0.6",
                "classification",
                "asynchronous",
                ("irregular", (("name", name), ("keep", None), ("missing", 0.6))),
            )
        )
    return {task.name: task for task in tasks}


TASKS = _tasks()
QUICK_TASKS = ["ItalyPowerDemand-keep0.5", "Covid3Month"]


@functools.lru_cache(maxsize=4)
def task_data(name: str):
    """``(X_train, y_train, X_test, y_test)`` of a task (cached per process)."""
    builder, args = TASKS[name].build
    kwargs = dict(args)
    parts = _irregular(**kwargs) if builder == "irregular" else _generated(**kwargs)
    (Xtr, ytr), (Xte, yte) = parts
    return Xtr, np.asarray(ytr), Xte, np.asarray(yte)


def n_points(X) -> float:
    """Mean number of time points per series of ``X``."""
    if isinstance(X, np.ndarray):
        return float(X.shape[-1])
    if isinstance(X, pd.DataFrame):
        return float(X.groupby(level=0).size().mean())
    return float(np.mean([len(x) for x in X]))


# ------------------------------------------------------------------------- candidates

#: stage 1: one change at a time from ``base`` (the defaults when the study ran)
CANDIDATES: dict[str, dict] = {
    "base": {},
    "learn_r_on": {"learn_r_on": True},
    "r_on=0.1": {"r_on": 0.1},
    "r_on=0.1+learn": {"r_on": 0.1, "learn_r_on": True},
    "r_on=0.2": {"r_on": 0.2},
    "r_on=0.5": {"r_on": 0.5},
    "r_on=0.2+learn": {"r_on": 0.2, "learn_r_on": True},
    "grad_clip=10": {"grad_clip": 10.0},
    "lr=3e-3": {"lr": 3e-3},
    "cosine": {"lr_schedule": "cosine"},
    "early_stopping": {"early_stopping": True, "validation_fraction": 0.2},
    "hidden=128": {"hidden_size": 128},
    "tau x4": {"tau_rule": 4.0},  # periods up to 4 times the typical duration
    "mean readout": {"readout": "mean"},
    # added after the first results (wide gates win, but update often): wide gates
    # narrowed to a sparse end while training (final_r_on)
    "narrow 0.5->0.05": {"r_on": 0.5, "narrow_to": 0.05},
    "narrow 0.5->0.1": {"r_on": 0.5, "narrow_to": 0.1},
    "narrow 0.5->0.1+learn": {"r_on": 0.5, "learn_r_on": True, "narrow_to": 0.1},
    # the Phased GRU with the package's defaults (= "narrow 0.5->0.1+learn" on the LSTM cell)
    "gru": {"r_on": 0.5, "learn_r_on": True, "narrow_to": 0.1, "cell": "gru"},
    # third round (benchmarks/results/defaults_v3.jsonl), written against the defaults it
    # chose (wide gates, time and level inputs, summary readout, cosine schedule: "base");
    # it ran against the defaults before it ("round-2 defaults": gates narrowed to 0.1,
    # none of the new inputs, a constant learning rate)
    "round-2 defaults": {
        "final_r_on": 0.1,
        "time_inputs": False,
        "level_inputs": False,
        "readout": "last",
        "lr_schedule": None,
    },
    "wide": {"time_inputs": False, "level_inputs": False, "readout": "last", "lr_schedule": None},
    "wide+time": {"level_inputs": False, "readout": "last", "lr_schedule": None},
    "wide+level": {"time_inputs": False, "readout": "last", "lr_schedule": None},
    "wide+summary": {"time_inputs": False, "level_inputs": False, "lr_schedule": None},
    "constant lr": {"lr_schedule": None},
    # gates narrowed to 0.1 (sparse inference, one parameter away), constant rate
    "narrow, constant lr": {"final_r_on": 0.1, "lr_schedule": None},
}
#: what the rows of the report call the baselines of the project's own making
OWN_BASELINES = ("LSTM", "MiniRocket")
#: the peer libraries' models (``benchmarks/_peers.py``, the ``peers`` extra): PyPOTS'
#: classifiers take classification tasks only
PEERS = ("HGB-summary", "CfC", "GRU-D", "BRITS", "Raindrop")
PYPOTS = {"GRU-D": "GRUD", "BRITS": "BRITS", "Raindrop": "Raindrop"}
BASELINES = OWN_BASELINES + PEERS


def _peer(model: str, kind: str, seed: int, epochs: int):
    """A peer library's estimator, at the Phased LSTM's epoch budget."""
    import _peers

    classification = kind == "classification"
    if model == "HGB-summary":
        # leaves of 5 series: scikit-learn's 20 lets a tree split once on 40 series
        cls = _peers.SummaryHGBClassifier if classification else _peers.SummaryHGBRegressor
        return cls(min_samples_leaf=5, random_state=seed)
    if model == "CfC":
        # lr 1e-3: at the Phased LSTM's 1e-2 the CfC did not learn BasicMotions
        cls = _peers.CfCClassifier if classification else _peers.CfCRegressor
        return cls(max_epochs=epochs, lr=1e-3, random_state=seed)
    if not classification:
        raise ValueError(f"{model} (PyPOTS) has no regressor")
    return _peers.PyPOTSClassifier(model=PYPOTS[model], epochs=epochs, random_state=seed)


def n_parameters(estimator) -> int | None:
    """Trainable parameters (tree nodes for boosted trees) of a fitted estimator."""
    if hasattr(estimator, "n_parameters_"):
        return int(estimator.n_parameters_)
    module = getattr(estimator, "module_", None)
    if module is not None:
        return int(sum(p.numel() for p in module.parameters() if p.requires_grad))
    return None


def _estimator(model: str, kind: str, params: dict, seed: int, Xtr):
    """The estimator of ``model`` (a candidate or a baseline) for one seed."""
    from _baselines import LSTMBaselineClassifier, LSTMBaselineRegressor

    from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor

    classification = kind == "classification"
    params = dict(params)
    if model == "LSTM":
        cls = LSTMBaselineClassifier if classification else LSTMBaselineRegressor
        return cls(random_state=seed, **params)
    rule = params.pop("tau_rule", None)
    readout = params.pop("readout") if params.get("readout") == "mean" else None
    if "narrow_to" in params:  # the package's final_r_on (a callback of the study before)
        params["final_r_on"] = params.pop("narrow_to")
    if readout == "mean":
        from _readout import MeanReadoutClassifier, MeanReadoutRegressor

        cls = MeanReadoutClassifier if classification else MeanReadoutRegressor
    else:
        cls = PhasedLSTMClassifier if classification else PhasedLSTMRegressor
    estimator = cls(random_state=seed, **params)
    if rule is not None:
        estimator.set_params(tau_range=_tau_range(estimator, Xtr, rule))
    return estimator


def _tau_range(estimator, X, factor: float) -> tuple[float, float]:
    """The "auto" rule with its upper end (the typical duration) times ``factor``."""
    from sklearn.base import clone

    interval, duration = clone(estimator)._panel(X, reset=True).time_scale()
    return (interval, max(duration * factor, 2.0 * interval))


def _minirocket(kind: str, Xtr, Xte, seed: int):
    """MiniRocket behind forward filling and padding, on rows read as steps."""
    from bench_missing import imputed_classifier

    from sk_plstm._data import to_panel

    def panel(X):  # any input format -> pd-multiindex with steps 0, 1, ... as times
        values = to_panel(X, dtype=np.float64)[0]
        frames = [
            pd.DataFrame(values.values[i, : values.lengths[i]]).rename(columns=str)
            for i in range(len(values.lengths))
        ]
        return pd.concat(frames, keys=range(len(frames)))

    Xtr, Xte = panel(Xtr), panel(Xte)
    length = int(max(X.groupby(level=0).size().max() for X in (Xtr, Xte)))
    if kind == "classification":
        return imputed_classifier(max(length, 9), seed)[1], Xtr, Xte
    from sklearn.impute import SimpleImputer
    from sktime.regression.kernel_based import RocketRegressor
    from sktime.transformations.panel.padder import PaddingTransformer
    from sktime.transformations.series.adapt import TabularToSeriesAdaptor
    from sktime.transformations.series.impute import Imputer

    regressor = RocketRegressor(rocket_transform="minirocket", random_state=seed)
    # as the classifier's: forward then backward filling, and a channel never observed in
    # a series (a room-day without door events) gets its mean over the training data
    never_observed = TabularToSeriesAdaptor(SimpleImputer(strategy="mean"), pooling="global")
    padding = PaddingTransformer(pad_length=max(length, 9))
    pipeline = Imputer(method="ffill") * never_observed * padding * regressor
    return pipeline, Xtr, Xte


def run_one(model: str, params: dict, task: str, seed: int, threads: int = 1) -> dict:
    """Fit ``model`` with ``params`` on ``task`` with ``seed``; its scores and costs
    (or, if anything failed, the error, which the study reports and does not record)."""
    import traceback

    try:
        return _run_one(model, params, task, seed, threads)
    except Exception:
        return {
            "model": model,
            "params": params,
            "task": task,
            "seed": seed,
            "error": traceback.format_exc(),
        }


def _run_one(model: str, params: dict, task: str, seed: int, threads: int) -> dict:
    torch.set_num_threads(threads)
    import warnings

    warnings.simplefilter("ignore")
    kind = TASKS[task].kind
    Xtr, ytr, Xte, yte = task_data(task)
    if model == "MiniRocket":
        estimator, Xtr, Xte = _minirocket(kind, Xtr, Xte, seed)
    elif model in PEERS:
        estimator = _peer(model, kind, seed, params.get("max_epochs", 100))
    else:
        estimator = _estimator(model, kind, params, seed, Xtr)
    start = time.perf_counter()
    estimator.fit(Xtr, ytr)
    fit_s = time.perf_counter() - start
    prediction = np.asarray(estimator.predict(Xte))
    row = {"model": model, "params": params, "task": task, "seed": seed, "fit_s": fit_s}
    row["n_parameters"] = n_parameters(estimator)
    if kind == "classification":
        row["score"] = float(np.mean(prediction == yte))
    else:
        row["score"] = float(np.sqrt(np.mean((prediction.ravel() - yte.ravel()) ** 2)))
    if model not in BASELINES:
        row["updates"] = float(estimator.update_counts(Xte).mean() / n_points(Xte))
        row["epochs"] = int(estimator.n_iter_)
        # units closed at every training time point (they learned nothing)
        row["never_opened"] = int((estimator.training_updates_ == 0).sum())
    return row


# ---------------------------------------------------------------------------- running


def _key(model: str, params: dict, task: str, seed: int) -> tuple:
    """What identifies a fit (a job, or a row of the results)."""
    return (model, json.dumps(params, sort_keys=True), task, seed)


def read_results(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def run(jobs: list[tuple], path: Path, workers: int, threads: int) -> None:
    """Run the jobs that ``path`` does not hold yet, appending each result as it ends."""
    done = {_key(r["model"], r["params"], r["task"], r["seed"]) for r in read_results(path)}
    todo = [job for job in jobs if _key(*job) not in done]
    print(f"{len(todo)} fits to run ({len(jobs) - len(todo)} already in {path})", flush=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()

    def record(row: dict) -> None:
        if "error" in row:
            print(
                f"FAILED {row['task']} {row['model']} {row['params']}:\n{row['error']}", flush=True
            )
            return
        with path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        elapsed = time.perf_counter() - start
        print(
            f"[{elapsed:6.0f} s] {row['task']} {row['model']} seed {row['seed']}: "
            f"{row['score']:.3f} ({row['fit_s']:.1f} s)",
            flush=True,
        )

    if workers <= 1:
        for job in todo:
            record(run_one(*job, threads=threads))
        return
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        futures = [pool.submit(run_one, *job, threads) for job in todo]
        for future in as_completed(futures):
            record(future.result())


# ---------------------------------------------------------------------------- report


def _lower_is_better(task: str) -> bool:
    return TASKS[task].kind == "regression"  # RMSE; accuracy otherwise


def _mean_ranks(scores: pd.DataFrame) -> pd.DataFrame:
    """Per task, rank the candidates (1 best); scores: rows tasks, columns candidates."""
    ranks = {}
    for task, row in scores.iterrows():
        ranks[task] = row.rank(ascending=_lower_is_better(task), method="average")
    return pd.DataFrame(ranks).T


def report(
    rows: list[dict],
    params: dict[str, dict],
    tasks: list[str],
    baseline: dict,
    peer_params: dict | None = None,
) -> list[str]:
    """Markdown tables: candidates (name: parameters fitted) by mean rank, every task's scores."""
    candidates = list(params)
    df = pd.DataFrame(rows)
    df["params_key"] = df["params"].map(lambda p: json.dumps(p, sort_keys=True))
    wanted = {name: json.dumps(params[name], sort_keys=True) for name in candidates}
    blocks = []
    for name, key in wanted.items():
        part = df[(df.model == "PhasedLSTM") & (df.params_key == key)].assign(name=name)
        blocks.append(part)
    base_key = json.dumps(baseline, sort_keys=True)
    for model in BASELINES:
        key = json.dumps({}, sort_keys=True)
        if model == "LSTM":
            key = base_key
        elif model in PEERS:
            key = json.dumps(peer_params, sort_keys=True)
        blocks.append(df[(df.model == model) & (df.params_key == key)].assign(name=model))
    df = pd.concat(blocks)
    df = df[df.task.isin(tasks)]
    mean = df.pivot_table(index="task", columns="name", values="score", aggfunc="mean")
    sd = df.pivot_table(index="task", columns="name", values="score", aggfunc="std")
    runs = df.pivot_table(index="task", columns="name", values="score", aggfunc="size")
    complete = [c for c in candidates if c in mean and mean[c].notna().all()]
    tasks = [t for t in tasks if t in mean.index]
    ranks = _mean_ranks(mean.loc[tasks, complete])
    updates = df.groupby("name")["updates"].mean()
    fit = df.groupby("name")["fit_s"].mean()
    groups = pd.Series({t: TASKS[t].group for t in tasks})

    def versus_lstm(name: str) -> str:
        if "LSTM" not in mean:
            return ""
        wins = 0
        for task in tasks:
            a, b = mean.at[task, name], mean.at[task, "LSTM"]
            better = a <= b if _lower_is_better(task) else a >= b
            wins += bool(better)
        return f"{wins}/{len(tasks)}"

    lines = [
        "| candidate | changes from base | mean rank | regular | irregular | asynchronous "
        "| at or above LSTM | updates per unit | fit time (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    order = ranks.mean().sort_values().index
    for name in order:
        group_ranks = [
            f"{ranks.loc[groups[groups == g].index, name].mean():.2f}"
            for g in ("regular", "irregular", "asynchronous")
        ]
        change = ", ".join(f"{k}={v}" for k, v in params[name].items()) or "none"
        lines.append(
            f"| {name} | {change} | {ranks[name].mean():.2f} | "
            + " | ".join(group_ranks)
            + f" | {versus_lstm(name)} | {updates.get(name, float('nan')):.1%} "
            f"| {fit.get(name, float('nan')):.1f} |"
        )
    lines += ["", "Scores per task (mean +- sd over seeds; accuracy, or RMSE for regression):", ""]
    columns = [*order, *(b for b in BASELINES if b in mean)]
    lines.append("| task | group | " + " | ".join(columns) + " |")
    lines.append("|---|---|" + "---|" * len(columns))
    for task in tasks:
        cells = []
        for name in columns:
            if name not in mean or pd.isna(mean.at[task, name]):
                cells.append("")
                continue
            spread = "" if runs.at[task, name] < 2 else f" +- {sd.at[task, name]:.3f}"
            cells.append(f"{mean.at[task, name]:.3f}{spread}")
        lines.append(f"| {task} | {groups[task]} | " + " | ".join(cells) + " |")
    others = [b for b in BASELINES if b in mean]
    if others and len(order):
        lines += _versus_baselines(order[0], df, mean, tasks, groups, others, updates, fit)
    return lines


def _better_or_equal(task: str, a: float, b: float) -> bool:
    return a <= b if _lower_is_better(task) else a >= b


def _versus_baselines(name, df, mean, tasks, groups, others, updates, fit) -> list[str]:
    """The first candidate against every baseline and peer: sizes, times, the targets."""
    n_params = df.groupby("name")["n_parameters"].median() if "n_parameters" in df else {}
    lines = [
        "",
        f"`{name}` (the first candidate) beside the baselines and peers: parameters (median "
        "over tasks; tree nodes for the boosted trees), mean fit time, and the tasks where "
        f"`{name}` scores at least as well (at most, for RMSE):",
        "",
        "| model | parameters | fit time (s) | tasks fitted | "
        f"`{name}` at or above | irregular and asynchronous: `{name}` at or above |",
        "|---|---|---|---|---|---|",
    ]
    for model in [name, *others]:
        fitted = [t for t in tasks if not pd.isna(mean.at[t, model])]
        wins = [t for t in fitted if _better_or_equal(t, mean.at[t, name], mean.at[t, model])]
        hard = [t for t in fitted if groups[t] != "regular"]
        hard_wins = [t for t in hard if t in wins]
        count = n_params.get(model, float("nan")) if hasattr(n_params, "get") else float("nan")
        shown = "" if pd.isna(count) else f"{int(count):,}"
        lines.append(
            f"| {model} | {shown} | {fit.get(model, float('nan')):.1f} | {len(fitted)} | "
            f"{len(wins)}/{len(fitted)} | {len(hard_wins)}/{len(hard)} |"
        )
    best_of = [b for b in ("MiniRocket", "HGB-summary") if b in mean]
    if best_of:
        lines += [
            "",
            f"Classification tasks: `{name}` against the best of {' and '.join(best_of)} "
            "(accuracy points; negative: behind):",
            "",
            "| task | group | best | its score | " + f"`{name}` | difference |",
            "|---|---|---|---|---|---|",
        ]
        within = total = 0
        for task in tasks:
            if TASKS[task].kind != "classification":
                continue
            scores = mean.loc[task, best_of].dropna()
            if scores.empty:
                continue
            best = scores.idxmax()
            gap = 100 * (mean.at[task, name] - scores[best])
            within += gap >= -2.0
            total += 1
            lines.append(
                f"| {task} | {groups[task]} | {best} | {scores[best]:.3f} | "
                f"{mean.at[task, name]:.3f} | {gap:+.1f} |"
            )
        lines += ["", f"Within 2 points of the best of them or ahead: {within} of {total} tasks."]
    return lines


# ------------------------------------------------------------------------------ main

SETTINGS = {
    "quick": {"tasks": QUICK_TASKS, "seeds": 1, "params": {"hidden_size": 8, "max_epochs": 3}},
    "full": {"tasks": list(TASKS), "seeds": 3, "params": {}},
}


def main(argv=None) -> list[str]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", choices=sorted(SETTINGS), default="quick")
    parser.add_argument("--candidates", nargs="+", choices=sorted(CANDIDATES))
    parser.add_argument("--tasks", nargs="+", choices=sorted(TASKS))
    parser.add_argument("--seeds", type=int, default=None, help="override the setting's seeds")
    parser.add_argument("--no-baselines", action="store_true", help="candidates only")
    parser.add_argument(
        "--peers",
        nargs="*",
        choices=PEERS,
        default=[],
        help="peer libraries' models to fit too (the peers extra: pypots, ncps)",
    )
    parser.add_argument(
        "--baseline-params", type=json.loads, default={}, help="JSON: the LSTM's settings"
    )
    parser.add_argument("--workers", type=int, default=1, help="parallel fits (processes)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per fit")
    parser.add_argument("--results", default=None, help="JSON-lines file of the fits")
    parser.add_argument("--report", action="store_true", help="only write the tables")
    parser.add_argument("--out", default=None, help="write the report to this file")
    args = parser.parse_args(argv)
    cfg = dict(SETTINGS[args.setting])
    if args.seeds is not None:
        cfg["seeds"] = args.seeds
    candidates = args.candidates or list(CANDIDATES)
    tasks = args.tasks or cfg["tasks"]
    path = Path(args.results or RESULTS / f"defaults_{args.setting}.jsonl")
    common = cfg["params"]
    # what each candidate fits with: the setting's common parameters, then its own
    params = {name: {**common, **CANDIDATES[name]} for name in candidates}
    jobs = []  # seed by seed, so that a partial study already covers every task
    for seed in range(cfg["seeds"]):
        for task in tasks:
            for name in candidates:
                jobs.append(("PhasedLSTM", params[name], task, seed))
            if not args.no_baselines:
                jobs.append(("LSTM", {**common, **args.baseline_params}, task, seed))
                jobs.append(("MiniRocket", {}, task, seed))
            for peer in args.peers:
                if peer in PYPOTS and TASKS[task].kind != "classification":
                    continue  # PyPOTS has classifiers only
                jobs.append((peer, common, task, seed))
    if not args.report:
        run(jobs, path, args.workers, args.threads)
    rows = [r for r in read_results(path) if r["seed"] < cfg["seeds"]]
    command = shlex.join(
        ["python", "benchmarks/bench_defaults.py", *(sys.argv[1:] if argv is None else argv)]
    )
    shown = path.relative_to(HERE.parent) if path.is_relative_to(HERE.parent) else path
    lines = [
        f"Setting `{args.setting}`: {cfg['seeds']} seed(s), {len(tasks)} tasks; "
        f"device: {platform.processor() or platform.machine()} CPU ({os.cpu_count()} cores), "
        f"{args.threads} torch thread(s) per fit, {args.workers} fit(s) at a time; "
        f"torch {torch.__version__}.",
        "",
        f"Command: `{command}`; results: `{shown}`.",
        "",
        *report(rows, params, tasks, {**common, **args.baseline_params}, common),
    ]
    emit_table(lines, args.out)
    return lines


if __name__ == "__main__":
    main()

"""Event streams at N-MNIST scale: input by index against dense one-hot rows, and the Phased
LSTM against an LSTM of the same size.

Two parts:

``speed``
    Memory and time of one training epoch and of prediction on ``--streams`` streams of
    ``sk_plstm.datasets.make_sensor_digits`` (34 x 34 x 2 = 2,312 channels, about 4,000
    to 6,000 events in 300 ms), input by index against the same events as dense one-hot
    rows; events per second in training and in streaming inference. Each configuration
    runs in a fresh process, whose peak resident memory is read from the kernel
    (``VmHWM``); one batch runs before the clock starts. Dense rows of the whole set do
    not fit in memory (the script says how much they would take): the dense run
    densifies one batch at a time and is timed on ``--dense-batches`` batches, scaled to
    the epoch.
``accuracy``
    The Phased LSTM (``PhasedLSTMClassifier`` on event streams) against an LSTM of the
    same size trained alike (``benchmarks/_baselines.py``: the same network and kernel
    with every gate always open, which is exactly an LSTM, given the time since the
    previous step as one more input), on the N-MNIST-scale
    generator (``--task sensor``) or the 8 x 8 event digits (``--task digits``): test
    accuracy, updates per unit per stream (the Phased LSTM's open steps; every step for
    the LSTM) and fit time, shaped like the paper's N-MNIST table.

Usage::

    python benchmarks/bench_events.py speed --streams 1000 --dense-batches 2
    python benchmarks/bench_events.py accuracy --task sensor --train 1000 --test 500 \\
        --epochs 20 --seeds 2

Results are appended to ``benchmarks/results/events.jsonl`` (``--results``) and printed
as markdown; ``python benchmarks/bench_events.py report`` writes the accuracy rows there
as ``docs/reproduction/events_<task>.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
RESULTS = os.path.join(HERE, "results", "events.jsonl")
SENSOR = (34, 34, 2)


def _peak_mib() -> float:
    """This process's peak resident memory (VmHWM), MiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _machine() -> str:
    return (
        f"{platform.machine()} CPU, {os.cpu_count()} cores, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}"
    )


def _record(row: dict, path: str) -> None:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "a") as out:
        out.write(json.dumps(row) + "\n")


# ------------------------------------------------------------------------------ speed
def _panel(streams: int, seed: int = 0):
    from sk_plstm import EventStreams
    from sk_plstm._event_streams import event_panel
    from sk_plstm.datasets import make_sensor_digits

    events, labels = make_sensor_digits(streams, sensor_size=SENSOR, random_state=seed)
    panel, _ = event_panel(EventStreams.from_structured(events, sensor_size=SENSOR))
    return panel, labels, int(sum(len(e) for e in events))


def _model(channels: int, hidden: int):
    from sk_plstm.nn import PhasedLSTM

    torch.manual_seed(0)
    # times in ms (the panel's are in microseconds); N-MNIST-like periods
    layer = PhasedLSTM(channels, hidden, tau_range=(1.0, 300.0), r_on=0.05)
    head = torch.nn.Linear(hidden, 10)
    return layer, head


def _batch_inputs(panel, rows, dense: bool):
    from sk_plstm.nn import EventInput

    steps = int(panel.lengths[rows].max())
    events = EventInput(
        torch.from_numpy(panel.indices[rows, :steps]),
        panel.n_channels,
        torch.from_numpy(panel.values[rows, :steps]),
    )
    times = torch.from_numpy(panel.times[rows, :steps] / 1000.0)
    lengths = torch.from_numpy(panel.lengths[rows])
    return (events.to_dense() if dense else events), times, lengths


def speed_child(args) -> dict:
    """One configuration (``--input``, ``--phase``), in this process; returns its row."""
    torch.set_num_threads(args.threads)
    panel, labels, n_events = _panel(args.streams)
    layer, head = _model(panel.n_channels, args.hidden)
    dense = args.input == "dense"
    n = len(panel)
    batches = [np.arange(i, min(n, i + args.batch_size)) for i in range(0, n, args.batch_size)]
    timed = batches[: args.dense_batches] if dense else batches
    rss_data = _peak_mib()
    optimizer = torch.optim.Adam([*layer.parameters(), *head.parameters()], lr=1e-3)
    clock = {}

    def warmed_up():
        """One batch before the clock starts (the kernel loads, the first buffers are made)."""
        yield batches[-1]
        clock["start"] = time.perf_counter()
        yield from timed

    if args.phase == "train":
        layer.train()
        for rows in warmed_up():
            x, times, lengths = _batch_inputs(panel, rows, dense)
            _, (h_n, _) = layer(x, times, lengths)
            loss = torch.nn.functional.cross_entropy(head(h_n[-1]), torch.from_numpy(labels[rows]))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    else:
        layer.eval()
        with torch.no_grad():
            for rows in warmed_up():
                x, times, lengths = _batch_inputs(panel, rows, dense)
                _, (h_n, _) = layer(x, times, lengths)
                head(h_n[-1])
    seconds = time.perf_counter() - clock["start"]
    streams_timed = sum(len(r) for r in timed)
    per_epoch = seconds * n / streams_timed
    return {
        "part": "speed",
        "input": args.input,
        "phase": args.phase,
        "streams": n,
        "streams_timed": streams_timed,
        "events": n_events,
        "steps": int(panel.lengths.sum()),
        "hidden": args.hidden,
        "batch_size": args.batch_size,
        "seconds": seconds,
        "seconds_per_epoch": per_epoch,
        "events_per_second": n_events / per_epoch,
        "peak_mib": _peak_mib(),
        "data_mib": rss_data,
        "dense_set_gib": n * panel.times.shape[1] * panel.n_channels * 4 / 2**30,
        "machine": _machine(),
    }


def streaming_child(args) -> dict:
    """Events per second of streaming inference (one call per time, and per millisecond)."""
    torch.set_num_threads(args.threads)
    panel, _, _ = _panel(args.stream_count, seed=1)
    layer, _ = _model(panel.n_channels, args.hidden)
    layer.eval()
    rows = {}
    for mode in ("per time", "per ms"):
        events = 0
        start = time.perf_counter()
        for i in range(len(panel)):
            steps = int(panel.lengths[i])
            valid = panel.indices[i, :steps] >= 0
            times = np.repeat(panel.times[i, :steps] / 1000.0, valid.sum(axis=1))
            channels = panel.indices[i, :steps][valid]
            stream = layer.stream()
            if mode == "per time":
                cuts = np.flatnonzero(np.diff(times)) + 1
            else:
                cuts = np.flatnonzero(np.diff(np.floor(times))) + 1
            for t, c in zip(np.split(times, cuts), np.split(channels, cuts)):
                stream.update_events(t, c)
            events += len(times)
        seconds = time.perf_counter() - start
        rows[mode] = events / seconds
    return {
        "part": "streaming",
        "streams": len(panel),
        "hidden": args.hidden,
        "events_per_second_per_time": rows["per time"],
        "events_per_second_per_ms": rows["per ms"],
        "machine": _machine(),
    }


def speed(args) -> list[dict]:
    rows = []
    for phase in ("train", "predict"):
        for kind in ("index", "dense"):
            command = [
                sys.executable, __file__, "_child", "--input", kind, "--phase", phase,
                "--streams", str(args.streams), "--hidden", str(args.hidden),
                "--batch-size", str(args.batch_size), "--threads", str(args.threads),
                "--dense-batches", str(args.dense_batches),
            ]  # fmt: skip
            found = subprocess.run(command, capture_output=True, text=True, check=True)
            row = json.loads(found.stdout.strip().splitlines()[-1])
            rows.append(row)
            print(json.dumps(row), flush=True)
    command = [
        sys.executable, __file__, "_streaming", "--stream-count", str(args.stream_count),
        "--hidden", str(args.hidden), "--threads", str(args.threads),
    ]  # fmt: skip
    found = subprocess.run(command, capture_output=True, text=True, check=True)
    rows.append(json.loads(found.stdout.strip().splitlines()[-1]))
    print(json.dumps(rows[-1]), flush=True)
    for row in rows:
        _record(row, args.results)
    print(speed_table(rows))
    return rows


def speed_table(rows: list[dict]) -> str:
    by = {(r["phase"], r["input"]): r for r in rows if r["part"] == "speed"}
    first = next(iter(by.values()))
    lines = [
        f"{first['streams']} streams, {first['events']:,} events in {first['steps']:,} steps "
        f"(times), 2,312 channels; {first['hidden']} units, batches of {first['batch_size']}; "
        f"{first['machine']}. Dense rows of the whole set would take "
        f"{first['dense_set_gib']:.1f} GiB.",
        "",
        "| phase | input | time per epoch (s) | events / s | peak memory (MiB) | timed on |",
        "|---|---|---|---|---|---|",
    ]
    for phase in ("train", "predict"):
        for kind in ("index", "dense"):
            r = by.get((phase, kind))
            if r is None:
                continue
            scaled = "" if r["streams_timed"] == r["streams"] else " (scaled)"
            lines.append(
                f"| {phase} | {kind} | {r['seconds_per_epoch']:.1f}{scaled} | "
                f"{r['events_per_second']:,.0f} | {r['peak_mib']:,.0f} | "
                f"{r['streams_timed']} streams |"
            )
        if (phase, "index") in by and (phase, "dense") in by:
            ratio = (
                by[(phase, "dense")]["seconds_per_epoch"]
                / by[(phase, "index")]["seconds_per_epoch"]
            )
            lines.append(f"| {phase} | dense / index | {ratio:.1f}x | | | |")
    for r in rows:
        if r["part"] == "streaming":
            lines += [
                "",
                f"Streaming inference ({r['streams']} streams, `LayerStream.update_events`): "
                f"{r['events_per_second_per_time']:,.0f} events/s fed one time at a time, "
                f"{r['events_per_second_per_ms']:,.0f} events/s fed one millisecond at a time.",
            ]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- accuracy
def _task(name: str, n: int, seed: int = 0):
    from sk_plstm import EventStreams
    from sk_plstm.datasets import make_event_digits, make_sensor_digits

    if name == "sensor":
        events, labels = make_sensor_digits(n, sensor_size=SENSOR, random_state=seed)
        return EventStreams.from_structured(events, sensor_size=SENSOR), labels, 1000.0
    frames, labels = make_event_digits(n, random_state=seed)  # one-hot rows of 128 channels
    times = [f.index.to_numpy(dtype=float) for f in frames]
    channels = [f.to_numpy().argmax(axis=1) for f in frames]
    return EventStreams(times, channels, 128), labels, 1.0


def accuracy(args) -> list[dict]:
    from _baselines import LSTMBaselineClassifier
    from sklearn.model_selection import train_test_split

    from sk_plstm import PhasedLSTMClassifier

    streams, labels, ms = _task(args.task, args.train + args.test)
    train, test = train_test_split(
        np.arange(len(streams)), test_size=args.test, stratify=labels, random_state=0
    )
    X_train, X_test, y_train, y_test = streams[train], streams[test], labels[train], labels[test]
    gate = {
        "tau_range": (args.tau[0] * ms, args.tau[1] * ms),
        "r_on": args.r_on,
        "learn_r_on": args.learn_r_on,
        "final_r_on": None,
    }
    common = {
        "hidden_size": args.hidden,
        "lr": args.lr,
        "batch_size": args.batch_size,
        "max_epochs": args.epochs,
        "early_stopping": False,
        "validation_fraction": None,
        "verbose": 0,
    }
    models = {
        "Phased LSTM": lambda seed: PhasedLSTMClassifier(**common, **gate, random_state=seed),
        "LSTM": lambda seed: LSTMBaselineClassifier(**common, random_state=seed),
    }
    steps = float(np.mean([len(np.unique(t)) for t in X_test.times]))
    events = float(np.mean(X_test.n_events))
    rows = []
    for name in args.models:
        for seed in range(args.seeds):
            model = models[name](seed)
            start = time.perf_counter()
            model.fit(X_train, y_train)
            seconds = time.perf_counter() - start
            score = float(model.score(X_test, y_test))
            if name == "LSTM":
                updates = steps
            else:
                updates = float(model.update_counts(X_test).mean())
            row = {
                "part": "accuracy",
                "task": args.task,
                "model": name,
                "seed": seed,
                "train": len(train),
                "test": len(test),
                "epochs": args.epochs,
                "hidden": args.hidden,
                "lr": args.lr,
                "gate": gate if name != "LSTM" else None,
                "accuracy": score,
                "updates_per_unit": updates,
                "steps_per_stream": steps,
                "events_per_stream": events,
                "fit_seconds": seconds,
                "machine": _machine(),
                "command": args.command,
            }
            rows.append(row)
            _record(row, args.results)
            print(json.dumps(row), flush=True)
    print(accuracy_table(rows))
    return rows


def _label(row: dict) -> str:
    """The model and, for the Phased LSTM, its gate's open ratio."""
    gate = row["gate"]
    if gate is None:
        return row["model"]
    return f"{row['model']}, r_on={gate['r_on']}" + (" learned" if gate["learn_r_on"] else "")


def accuracy_table(rows: list[dict], label=lambda row: row["model"]) -> str:
    lines = [
        "| model | accuracy (%) | updates per unit per stream | share of the LSTM's | "
        "fit time (s) |",
        "|---|---|---|---|---|",
    ]
    steps = rows[0]["steps_per_stream"]
    for name in dict.fromkeys(label(r) for r in rows):
        mine = [r for r in rows if label(r) == name]
        acc = np.array([r["accuracy"] for r in mine]) * 100
        upd = np.array([r["updates_per_unit"] for r in mine])
        lines.append(
            f"| {name} | {acc.mean():.2f} +- {acc.std():.2f} | {upd.mean():,.0f} | "
            f"{upd.mean() / steps:.1%} | {np.mean([r['fit_seconds'] for r in mine]):.0f} |"
        )
    return "\n".join(lines)


def report(args) -> list[str]:
    """Reports of the accuracy rows in ``--results``, one per task, under docs/reproduction.

    Each gives the commands that made its rows, the machine and the table (mean +- sd
    over seeds of each model and gate setting).
    """
    with open(args.results) as found:
        rows = [json.loads(line) for line in found if line.strip()]
    rows = [r for r in rows if r["part"] == "accuracy"]
    written = []
    for task in dict.fromkeys(r["task"] for r in rows):
        mine = [r for r in rows if r["task"] == task]
        first = mine[0]
        lines = [
            f"# Event streams by index: the {task} task",
            "",
            "Produced by:",
            "",
            *[f"    python {command}" for command in dict.fromkeys(r["command"] for r in mine)],
            "",
            f"{first['train']} training and {first['test']} test streams of "
            f"{first['events_per_stream']:.0f} events in {first['steps_per_stream']:.0f} "
            f"steps on average; {first['machine']}. Accuracy mean +- sd over seeds; "
            "updates per unit per test stream.",
            "",
            accuracy_table(mine, _label),
            "",
        ]
        path = os.path.join(args.out_dir, f"events_{task}.md")
        with open(path, "w") as out:
            out.write("\n".join(lines))
        written.append(path)
    return written


def arguments(argv=None) -> argparse.Namespace:
    """The command line's arguments (``argv``: a list of strings; the process's when None)."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("part", choices=["speed", "accuracy", "report", "_child", "_streaming"])
    cli.add_argument("--streams", type=int, default=1000)
    cli.add_argument("--stream-count", type=int, default=20, help="streams fed one by one")
    cli.add_argument("--dense-batches", type=int, default=2)
    cli.add_argument("--input", choices=["index", "dense"], default="index")
    cli.add_argument("--phase", choices=["train", "predict"], default="train")
    cli.add_argument("--hidden", type=int, default=64)
    cli.add_argument("--batch-size", type=int, default=32)
    cli.add_argument("--threads", type=int, default=torch.get_num_threads())
    cli.add_argument("--task", choices=["sensor", "digits"], default="sensor")
    cli.add_argument("--train", type=int, default=1000)
    cli.add_argument("--test", type=int, default=500)
    cli.add_argument("--epochs", type=int, default=20)
    cli.add_argument("--seeds", type=int, default=1)
    cli.add_argument("--lr", type=float, default=1e-2)
    cli.add_argument("--r-on", type=float, default=0.05)
    cli.add_argument("--learn-r-on", action="store_true")
    cli.add_argument("--tau", type=float, nargs=2, default=(1.0, 300.0), help="ms")
    cli.add_argument("--models", nargs="+", default=["Phased LSTM", "LSTM"])
    cli.add_argument("--results", default=RESULTS, help="the JSON-lines file rows go to")
    cli.add_argument(
        "--out-dir", default=os.path.join(os.path.dirname(HERE), "docs", "reproduction")
    )
    args = cli.parse_args(argv)
    given = sys.argv[1:] if argv is None else list(argv)
    args.command = shlex.join(["benchmarks/bench_events.py", *given])
    return args


def main(argv=None) -> None:
    args = arguments(argv)
    if args.part == "_child":
        print(json.dumps(speed_child(args)))
    elif args.part == "_streaming":
        print(json.dumps(streaming_child(args)))
    elif args.part == "speed":
        speed(args)
    elif args.part == "report":
        print("\n".join(report(args)))
    else:
        accuracy(args)


if __name__ == "__main__":
    main()

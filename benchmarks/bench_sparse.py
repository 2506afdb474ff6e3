"""Inference speed: dense vs event-driven (sparse) updates of sk_plstm.nn.PhasedLSTM.

In evaluation mode a unit whose time gate is closed keeps its state exactly, so the
``"sparse"`` implementation computes only the open units. This script times, side by side
in one run, the dense kernel (``implementation="kernel"``) and the sparse path on the same
layer and inputs, checks that their outputs agree, and reports the updates per unit of
both (the dense path, like an LSTM, updates every unit at every step).

Settings: streaming (batch 1, one event per call, the state carried between calls: by
calling the layer, and through ``layer.stream()`` with each event an input row and a float
time, as a stream's user has them), whole sequences at batch 1, and batched
sequences with irregular, per-sample times. Usage::

    python benchmarks/bench_sparse.py [--quick] [--repeats N] [--out FILE]
"""

from __future__ import annotations

import argparse
import functools
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import device_name, emit_table, median_seconds  # noqa: E402

from sk_plstm.nn import PhasedLSTM, kernel_available  # noqa: E402

# (mode, batch, events, hidden, r_on)
CASES = [
    ("stream", 1, 300, 256, 0.05),
    ("stream", 1, 300, 512, 0.05),
    ("stream", 1, 300, 1024, 0.05),
    ("sequence", 1, 1000, 1024, 0.05),
    ("batched", 32, 200, 256, 0.05),
    ("batched", 32, 200, 1024, 0.05),
    ("stream", 1, 300, 1024, 0.2),
    ("batched", 32, 200, 256, 0.2),
]
QUICK = [("stream", 1, 20, 64, 0.05), ("batched", 4, 30, 64, 0.05)]


def _events(x: torch.Tensor, times: torch.Tensor) -> list[list[tuple[torch.Tensor, float]]]:
    """Per sample, its events as a stream's user gets them: an input row and a float time."""
    return [list(zip(x[b].unbind(0), times[b].tolist())) for b in range(x.shape[0])]


def _stream(layer: PhasedLSTM, events: list[list[tuple[torch.Tensor, float]]]) -> torch.Tensor:
    """The events of each sample (from :func:`_events`) fed one by one to a ``LayerStream``."""
    outputs = []
    for sample in events:
        stream = layer.stream()
        outputs.append(torch.stack([stream.update(row, time) for row, time in sample]))
    return torch.stack(outputs)[:, :, 0]


def _run(layer: PhasedLSTM, mode: str, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        if mode != "stream":
            return layer(x, times)[0]
        outputs, state = [], None
        for t in range(x.shape[1]):
            out, state = layer(x[:, t : t + 1], times[:, t : t + 1], state=state)
            outputs.append(out)
        return torch.cat(outputs, dim=1)


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    if not kernel_available():
        raise SystemExit("the sparse path needs the compiled CPU kernel, which is not available")
    torch.manual_seed(0)
    rows = []
    for mode, batch, events, hidden, r_on in QUICK if args.quick else CASES:
        layer = PhasedLSTM(2, hidden, tau_range=(1.0, 1000.0), r_on=r_on).eval()
        x = torch.randn(batch, events, 2)
        # irregular times, a different sampling for every sample
        times = torch.cumsum(torch.rand(batch, events, dtype=torch.float64) * 2.0, dim=1)
        seconds, outputs = {}, {}
        for implementation in ("kernel", "sparse"):
            layer.implementation = implementation
            outputs[implementation] = _run(layer, mode, x, times)
            seconds[implementation] = median_seconds(
                functools.partial(_run, layer, mode, x, times), args.repeats
            )
        streamed = None
        if mode == "stream":  # the same events through layer.stream() (LayerStream)
            fed = _events(x, times)
            outputs["stream"] = _stream(layer, fed)
            streamed = median_seconds(functools.partial(_stream, layer, fed), args.repeats)
        updates = layer.update_counts(times)[0].mean().item()
        row = {
            "mode": mode,
            "size": (batch, events, hidden, r_on),
            "dense": seconds["kernel"],
            "sparse": seconds["sparse"],
            "stream": streamed,
            "updates": updates,
            "events": events,
            "max_diff": max(
                (outputs["kernel"] - out).abs().max().item()
                for name, out in outputs.items()
                if name != "kernel"
            ),
        }
        rows.append(row)
        print(
            f"{mode} {row['size']}: dense {row['dense'] * 1e3:.2f} ms, sparse "
            f"{row['sparse'] * 1e3:.2f} ms, {row['dense'] / row['sparse']:.1f}x, "
            f"updates/unit {updates:.1f} of {events}",
            flush=True,
        )
    lines = [
        f"Device: {device_name('cpu')}; torch {torch.__version__}; median of {args.repeats} "
        "runs after a warm-up; 2 input channels, tau log-uniform in [1, 1000], mean time "
        "step 1; times per event in microseconds.",
        "",
        "| mode | batch, events, hidden, r_on | dense (us/event) | sparse (us/event) "
        "| speed-up | LayerStream (us/event) | updates per unit: sparse / dense | max abs diff |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        per_event = 1e6 / r["events"]
        stream = "-" if r["stream"] is None else f"{r['stream'] * per_event:.1f}"
        lines.append(
            f"| {r['mode']} | {', '.join(map(str, r['size']))} | {r['dense'] * per_event:.1f} "
            f"| {r['sparse'] * per_event:.1f} | {r['dense'] / r['sparse']:.1f}x | {stream} "
            f"| {r['updates']:.1f} / {r['events']} ({r['updates'] / r['events']:.1%}) "
            f"| {r['max_diff']:.1e} |"
        )
    emit_table(lines, args.out)
    return rows


if __name__ == "__main__":
    main()

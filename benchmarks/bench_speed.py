"""Training-step speed: sk_plstm.nn.PhasedLSTM vs a straightforward loop vs torch.nn.LSTM.

Times one training step (forward and backward of the summed outputs) of one layer of
each, side by side in one run on one device, at the sizes of the speed targets, and prints
the ratios to ``torch.nn.LSTM``. With ``--cell gru``: ``sk_plstm.nn.PhasedGRU`` against
``torch.nn.GRU``, the reference loop being the layer's own ``"autograd"`` backend.
``--sizes estimators`` times the sizes the estimators run (their default 64 units on the
shipped datasets, and long sequences). Usage::

    python benchmarks/bench_speed.py [--device cpu|cuda] [--cell lstm|gru]
        [--sizes targets|estimators] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import device_name, emit_table, median_seconds  # noqa: E402
from _reference import ReferencePhasedLSTM  # noqa: E402

from sk_plstm.nn import PhasedGRU, PhasedLSTM  # noqa: E402
from sk_plstm.nn.backends import select  # noqa: E402

# (batch, steps, hidden, input)
SIZES = [(32, 200, 110, 1), (256, 784, 32, 1), (256, 784, 128, 2), (128, 1000, 256, 8)]
#: what the estimators run: BasicMotions, GunPoint, JapaneseVowels, ItalyPowerDemand at
#: the default size, and long sequences at small batch
ESTIMATOR_SIZES = [
    (32, 100, 64, 6),
    (32, 150, 64, 1),
    (32, 29, 64, 12),
    (32, 24, 64, 1),
    (8, 1000, 64, 2),
    (1, 1000, 128, 2),
]
QUICK = [(8, 20, 16, 1), (16, 30, 32, 2)]


def _models(cell: str, inputs: int, hidden: int, device: torch.device):
    """The package's layer, the reference loop and torch's layer of one size."""
    if cell == "gru":
        layer = PhasedGRU(inputs, hidden, tau_range=(1.0, 1000.0)).to(device).train()
        reference = PhasedGRU(inputs, hidden, implementation="autograd").to(device).train()
        return layer, reference, torch.nn.GRU(inputs, hidden, batch_first=True).to(device)
    layer = PhasedLSTM(inputs, hidden, tau_range=(1.0, 1000.0)).to(device).train()
    reference = ReferencePhasedLSTM(inputs, hidden).to(device).train()
    return layer, reference, torch.nn.LSTM(inputs, hidden, batch_first=True).to(device)


def step_fn(model, *inputs):
    """One training step of ``model`` on ``inputs``: forward, sum of outputs, backward."""

    def run():
        model.zero_grad(set_to_none=True)
        out = model(*inputs)
        (out[0] if isinstance(out, tuple) else out).sum().backward()

    return run


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--sizes", choices=["targets", "estimators"], default="targets")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    rows = []
    twin = "nn.GRU" if args.cell == "gru" else "nn.LSTM"
    sizes = QUICK if args.quick else ESTIMATOR_SIZES if args.sizes == "estimators" else SIZES
    for batch, steps, hidden, inputs in sizes:
        x = torch.randn(batch, steps, inputs, device=device)
        times = torch.cumsum(torch.rand(batch, steps, device=device, dtype=torch.float64), 1)
        layer, reference, torch_layer = _models(args.cell, inputs, hidden, device)
        reference_times = times if args.cell == "gru" else times.float()
        seconds = {
            "sk_plstm": median_seconds(step_fn(layer, x, times), args.repeats, device),
            "reference loop": median_seconds(
                step_fn(reference, x, reference_times), args.repeats, device
            ),
            twin: median_seconds(step_fn(torch_layer, x), args.repeats, device),
        }
        row = {"size": (batch, steps, hidden, inputs), **seconds}
        rows.append(row)
        print(
            f"{row['size']}: sk_plstm {seconds['sk_plstm'] * 1e3:.1f} ms, reference "
            f"{seconds['reference loop'] * 1e3:.1f} ms, {twin} {seconds[twin] * 1e3:.1f} ms",
            flush=True,
        )
    cell = layer.cells[0]
    state = (x.new_zeros(batch, hidden),) * len(cell.state_names)
    backend = select("auto", cell, x.transpose(0, 1), state).name
    lines = [
        f"Device: {device_name(device)}; torch {torch.__version__}; median of {args.repeats} "
        f"training steps (forward + backward) after a warm-up; sk_plstm: "
        f"{type(layer).__name__}, backend {backend!r}.",
        "",
        f"| batch, steps, hidden, input | sk_plstm (ms) | reference loop (ms) | {twin} (ms) "
        f"| sk_plstm / {twin} | reference / {twin} |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lstm = r[twin]
        lines.append(
            f"| {', '.join(map(str, r['size']))} | {r['sk_plstm'] * 1e3:.1f} | "
            f"{r['reference loop'] * 1e3:.1f} | {lstm * 1e3:.1f} | {r['sk_plstm'] / lstm:.1f}x | "
            f"{r['reference loop'] / lstm:.1f}x |"
        )
    emit_table(lines, args.out)
    return rows


if __name__ == "__main__":
    main()

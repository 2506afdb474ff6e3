"""Training-step speed: sk_plstm.nn.PhasedLSTM vs a straightforward loop vs torch.nn.LSTM.

Times one training step (forward and backward of the summed outputs) of one layer of
each, side by side in one run on one device, at the sizes of the speed targets, and prints
the ratios to ``torch.nn.LSTM``. Usage::

    python benchmarks/bench_speed.py [--device cpu|cuda] [--quick] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import device_name, emit_table, median_seconds  # noqa: E402
from _reference import ReferencePhasedLSTM  # noqa: E402

from sk_plstm.nn import PhasedLSTM, kernel_available  # noqa: E402

# (batch, steps, hidden, input)
SIZES = [(32, 200, 110, 1), (256, 784, 32, 1), (256, 784, 128, 2), (128, 1000, 256, 8)]
QUICK = [(8, 20, 16, 1), (16, 30, 32, 2)]


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
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    rows = []
    for batch, steps, hidden, inputs in QUICK if args.quick else SIZES:
        x = torch.randn(batch, steps, inputs, device=device)
        times = torch.cumsum(torch.rand(batch, steps, device=device, dtype=torch.float64), 1)
        plstm = PhasedLSTM(inputs, hidden, tau_range=(1.0, 1000.0)).to(device).train()
        reference = ReferencePhasedLSTM(inputs, hidden).to(device).train()
        lstm = torch.nn.LSTM(inputs, hidden, batch_first=True).to(device).train()
        seconds = {
            "sk_plstm": median_seconds(step_fn(plstm, x, times), args.repeats, device),
            "reference loop": median_seconds(
                step_fn(reference, x, times.float()), args.repeats, device
            ),
            "nn.LSTM": median_seconds(step_fn(lstm, x), args.repeats, device),
        }
        row = {"size": (batch, steps, hidden, inputs), **seconds}
        rows.append(row)
        print(
            f"{row['size']}: sk_plstm {seconds['sk_plstm'] * 1e3:.1f} ms, reference "
            f"{seconds['reference loop'] * 1e3:.1f} ms, nn.LSTM {seconds['nn.LSTM'] * 1e3:.1f} ms",
            flush=True,
        )
    lines = [
        f"Device: {device_name(device)}; torch {torch.__version__}; median of {args.repeats} "
        "training steps (forward + backward) after a warm-up; sk_plstm implementation: "
        f"{'kernel' if device.type == 'cpu' and kernel_available() else 'torch'}.",
        "",
        "| batch, steps, hidden, input | sk_plstm (ms) | reference loop (ms) | nn.LSTM (ms) "
        "| sk_plstm / nn.LSTM | reference / nn.LSTM |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lstm = r["nn.LSTM"]
        lines.append(
            f"| {', '.join(map(str, r['size']))} | {r['sk_plstm'] * 1e3:.1f} | "
            f"{r['reference loop'] * 1e3:.1f} | {lstm * 1e3:.1f} | {r['sk_plstm'] / lstm:.1f}x | "
            f"{r['reference loop'] / lstm:.1f}x |"
        )
    emit_table(lines, args.out)
    return rows


if __name__ == "__main__":
    main()

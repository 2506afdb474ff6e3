"""Training-step speed: sk_plstm.nn.PhasedLSTM vs a straightforward loop vs torch.nn.LSTM.

Times one training step (forward and backward of the summed outputs) of one layer of
each, side by side in one run on one device, at the sizes of the speed targets, and prints
the ratios to ``torch.nn.LSTM``. With ``--cell gru``: ``sk_plstm.nn.PhasedGRU`` against
``torch.nn.GRU``, the reference loop being the layer's own ``"autograd"`` backend.
``--sizes estimators`` times the sizes the estimators run (their default 64 units on the
shipped datasets, and long sequences). Usage::

    python benchmarks/bench_speed.py [--device cpu|cuda] [--cell lstm|gru]
        [--sizes targets|estimators | --grid] [--backends torch ...] [--inference]
        [--no-reference] [--quick] [--out FILE]

``--grid`` times the whole grid of the speed targets (batch 1, 8, 32, 256 x hidden 32, 64,
128, 256 x steps 24, 100, 1000) and prints the worst ratio; ``--backends`` adds columns
for other backends by name (``--device cuda --backends torch``: the Triton kernel beside
the torch implementation and cuDNN); on a GPU the peak memory of a step is given too.
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


#: the grid of the speed targets: batch x hidden x steps, inputs by sequence length
GRID_BATCH, GRID_HIDDEN, GRID_STEPS = (1, 8, 32, 256), (32, 64, 128, 256), (24, 100, 1000)
GRID_INPUTS = {24: 12, 100: 6, 1000: 2}


def grid_sizes() -> list[tuple[int, int, int, int]]:
    """Every (batch, steps, hidden, input) of the grid."""
    return [
        (batch, steps, hidden, GRID_INPUTS[steps])
        for batch in GRID_BATCH
        for hidden in GRID_HIDDEN
        for steps in GRID_STEPS
    ]


def _timed(fn, repeats, device) -> tuple[float, float | None]:
    """Median seconds and, on a GPU, the peak memory (MiB) of one call."""
    if device.type != "cuda":
        return median_seconds(fn, repeats, device), None
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    base = torch.cuda.memory_allocated(device)
    seconds = median_seconds(fn, repeats, device)
    return seconds, (torch.cuda.max_memory_allocated(device) - base) / 2**20


def _inference_fn(model, *inputs):
    """Forward only, in evaluation mode without gradients."""

    def run():
        with torch.no_grad():
            model(*inputs)

    model.eval()
    return run


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (for tests)")
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--sizes", choices=["targets", "estimators"], default="targets")
    parser.add_argument("--grid", action="store_true", help="the whole grid of the targets")
    parser.add_argument(
        "--backends", nargs="*", default=[], help="more sk_plstm backends to time by name"
    )
    parser.add_argument("--inference", action="store_true", help="time forward passes only")
    parser.add_argument("--no-reference", action="store_true", help="skip the reference loop")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="write the markdown table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    torch.manual_seed(0)
    twin = "nn.GRU" if args.cell == "gru" else "nn.LSTM"
    if args.quick:
        sizes = QUICK
    elif args.grid:
        sizes = grid_sizes()
    else:
        sizes = ESTIMATOR_SIZES if args.sizes == "estimators" else SIZES
    make = _inference_fn if args.inference else step_fn
    rows = []
    for batch, steps, hidden, inputs in sizes:
        x = torch.randn(batch, steps, inputs, device=device)
        times = torch.cumsum(torch.rand(batch, steps, device=device, dtype=torch.float64), 1)
        layer, reference, torch_layer = _models(args.cell, inputs, hidden, device)
        models = {"sk_plstm": (layer, (x, times))}
        for name in args.backends:
            other, _, _ = _models(args.cell, inputs, hidden, device)
            other.load_state_dict(layer.state_dict())
            other.implementation = name
            models[f"sk_plstm[{name}]"] = (other, (x, times))
        if not args.no_reference:
            reference_times = times if args.cell == "gru" else times.float()
            models["reference loop"] = (reference, (x, reference_times))
        models[twin] = (torch_layer, (x,))
        row = {"size": (batch, steps, hidden, inputs)}
        for name, (model, model_inputs) in models.items():
            row[name], row[f"{name} MiB"] = _timed(make(model, *model_inputs), args.repeats, device)
        rows.append(row)
        print(
            f"{row['size']}: "
            + ", ".join(f"{name} {row[name] * 1e3:.1f} ms" for name in models)
            + f" ({row['sk_plstm'] / row[twin]:.2f}x)",
            flush=True,
        )
    cell = layer.cells[0]
    state = (x.new_zeros(batch, hidden),) * len(cell.state_names)
    with torch.set_grad_enabled(not args.inference):
        cell.train(not args.inference)
        backend = select("auto", cell, x.transpose(0, 1), state).name
    names = [n for n in models if n != twin]
    memory = device.type == "cuda"
    what = (
        "forward passes (evaluation, no gradients)"
        if args.inference
        else ("training steps (forward + backward)")
    )
    lines = [
        f"Device: {device_name(device)}; torch {torch.__version__}; median of {args.repeats} "
        f"{what} after a warm-up; sk_plstm: {type(layer).__name__}, backend {backend!r}"
        + (" (auto)." if not args.backends else f" (auto), and {', '.join(args.backends)}."),
        "",
        "| batch, steps, hidden, input | "
        + " | ".join(f"{n} (ms)" for n in [*names, twin])
        + " | "
        + " | ".join(f"{n} / {twin}" for n in names)
        + (" | peak MiB sk_plstm / " + twin if memory else "")
        + " |",
        "|---|" + "---|" * (2 * len(names) + 1 + memory),
    ]
    for r in rows:
        base = r[twin]
        cells = [f"{r[n] * 1e3:.1f}" for n in [*names, twin]]
        cells += [f"{r[n] / base:.2f}x" for n in names]
        if memory:
            cells.append(f"{r['sk_plstm MiB']:.0f} / {r[f'{twin} MiB']:.0f}")
        lines.append(f"| {', '.join(map(str, r['size']))} | " + " | ".join(cells) + " |")
    worst = max(rows, key=lambda r: r["sk_plstm"] / r[twin])
    lines += [
        "",
        f"Worst ratio sk_plstm / {twin}: {worst['sk_plstm'] / worst[twin]:.2f}x at "
        f"{worst['size']}; best: {min(r['sk_plstm'] / r[twin] for r in rows):.2f}x.",
    ]
    emit_table(lines, args.out)
    return rows


if __name__ == "__main__":
    main()

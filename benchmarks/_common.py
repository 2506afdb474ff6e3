"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import platform
import time
from collections.abc import Callable

import torch


def device_name(device: str | torch.device) -> str:
    """The device in words, for the tables: the GPU's name, or the CPU and its threads."""
    device = torch.device(device)
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"


def emit_table(lines: list[str], out: str | None, append: bool = False) -> str:
    """Print a markdown table and, if ``out`` is given, write (or append) it there."""
    table = "\n".join(lines) + "\n"
    print(table)
    if out:
        with open(out, "a" if append else "w") as f:
            f.write(("\n" if append else "") + table)
    return table


def median_seconds(
    fn: Callable[[], object], repeats: int, device: torch.device | None = None
) -> float:
    """Median wall time of ``fn`` over ``repeats`` calls after one warm-up call.

    On a CUDA ``device`` the GPU is synchronised around every call.
    """

    def sync() -> None:
        if device is not None and torch.device(device).type == "cuda":
            torch.cuda.synchronize(device)

    fn()
    sync()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        samples.append(time.perf_counter() - start)
    return sorted(samples)[len(samples) // 2]

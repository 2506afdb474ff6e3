"""Helpers shared by the benchmark scripts."""

from __future__ import annotations

import platform

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

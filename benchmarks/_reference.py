"""A straightforward Phased LSTM, as public ports write it: an ``nn.LSTMCell`` stepped in a
Python loop, with the time gate computed and the states blended after every step.

Kept as the speed baseline for ``bench_speed.py``; same parameters and maths as
``sk_plstm.nn.PhasedLSTM`` (one layer, one direction).
"""

from __future__ import annotations

import torch
from torch import nn


class ReferencePhasedLSTM(nn.Module):
    def __init__(self, input_size: int, hidden_size: int, r_on: float = 0.05, leak: float = 1e-3):
        super().__init__()
        self.cell = nn.LSTMCell(input_size, hidden_size)
        self.tau = nn.Parameter(torch.exp(torch.empty(hidden_size).uniform_(0.0, 6.9)))
        self.shift = nn.Parameter(torch.rand(hidden_size) * self.tau.detach())
        self.r_on = nn.Parameter(torch.full((hidden_size,), r_on), requires_grad=False)
        self.leak = leak

    def forward(self, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        batch, steps, _ = x.shape
        h = x.new_zeros(batch, self.cell.hidden_size)
        c = x.new_zeros(batch, self.cell.hidden_size)
        outputs = []
        for t in range(steps):
            phi = torch.remainder(times[:, t : t + 1] - self.shift, self.tau) / self.tau
            up = 2 * phi / self.r_on
            k = torch.where(phi < 0.5 * self.r_on, up, 2 - up)
            k = torch.where(phi < self.r_on, k, self.leak * phi)
            h_new, c_new = self.cell(x[:, t], (h, c))
            c = k * c_new + (1 - k) * c
            h = k * h_new + (1 - k) * h
            outputs.append(h)
        return torch.stack(outputs, dim=1)

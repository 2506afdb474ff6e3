"""What the network sees beyond the values: time gaps, levels, channel summaries (pure torch).

The estimators feed a network the standardised values of ``n_channels`` channels (0 where
unobserved) and, for data with missing values, their observation masks after them. From
these and the timestamps, the functions here compute, step by step and continuing from a
state (so that streaming gives what a whole series gives):

* :class:`InputEncoding`: extra input channels for the recurrent layers: the log time
  since the previous row and, with masks, since each channel's last observation (GRU-D's
  ``delta``), and each channel's value relative to its first observation in the series;
* :func:`channel_summary`: per-channel statistics of the observations so far (log count,
  mean, standard deviation, minimum, maximum, last value) for the head, beside the
  recurrent state.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

__all__ = ["InputEncoding", "SummaryState", "channel_summary", "split_inputs"]


def split_inputs(values: torch.Tensor, n_channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The values and the observation masks of the estimators' network input.

    Parameters
    ----------
    values : torch.Tensor of shape (batch, steps, n_channels) or (batch, steps, 2 * n_channels)
        Values (0 where unobserved), then the masks where the data had missing values.
    n_channels : int

    Returns
    -------
    x, m : torch.Tensor of shape (batch, steps, n_channels)
        The values and the masks (all ones without masks).
    """
    x = values[..., :n_channels]
    if values.shape[-1] == 2 * n_channels:
        return x, values[..., n_channels:]
    return x, torch.ones_like(x)


class EncodingState(NamedTuple):
    """What :class:`InputEncoding` carries from one call to the next, per series."""

    start: torch.Tensor  # (batch,) time of the first row
    last_time: torch.Tensor  # (batch,) time of the previous row
    channel_time: torch.Tensor  # (batch, C) time of each channel's last observation, -inf: none
    count: torch.Tensor  # (batch, C) observations of each channel so far
    first: torch.Tensor  # (batch, C) each channel's first observed value (0: none yet)


class InputEncoding(nn.Module):
    """Extra input channels computed from the values, masks and times.

    The output is the input (values, then masks if any), followed, with ``gaps``, by
    ``log(1 + dt)`` with ``dt`` the time since the previous row (0 at the first) and, with
    masks, ``log(1 + delta_c)`` with ``delta_c`` the time since channel ``c`` was last
    observed before this row (since the first row if never), and, with ``level``, every
    channel's value minus its first observed value in the series (0 where unobserved).
    Times are the network's internal times (in units of the typical sampling interval
    for the estimators), so the gaps are of order one.

    Parameters
    ----------
    n_channels : int
        Channels of the data (without masks).
    masked : bool
        Whether the input holds masks after the values.
    gaps : bool
        Add the log time gaps.
    level : bool
        Add the values relative to each channel's first observation.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import InputEncoding
    >>> enc = InputEncoding(2, masked=False, gaps=True, level=True)
    >>> out, state = enc(torch.randn(3, 5, 2), torch.arange(5.0).expand(3, 5))
    >>> out.shape, enc.out_size
    (torch.Size([3, 5, 5]), 5)
    """

    def __init__(self, n_channels: int, masked: bool, gaps: bool, level: bool) -> None:
        super().__init__()
        self.n_channels, self.masked, self.gaps, self.level = n_channels, masked, gaps, level

    @property
    def in_size(self) -> int:
        """Width of the input it reads."""
        return self.n_channels * (2 if self.masked else 1)

    @property
    def out_size(self) -> int:
        """Width of the input it writes."""
        extra = (1 + (self.n_channels if self.masked else 0)) if self.gaps else 0
        return self.in_size + extra + (self.n_channels if self.level else 0)

    def initial_state(self, values: torch.Tensor, times: torch.Tensor) -> EncodingState:
        """The state before the first row of a batch.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, in_size)
        times : torch.Tensor of shape (batch, steps)

        Returns
        -------
        EncodingState
        """
        batch, c = values.shape[0], self.n_channels
        start = times[:, 0].double()
        zeros = values.new_zeros(batch, c)
        never = torch.full((batch, c), -torch.inf, dtype=torch.float64, device=values.device)
        return EncodingState(start, start, never, zeros, zeros)

    def forward(
        self, values: torch.Tensor, times: torch.Tensor, state: EncodingState | None = None
    ) -> tuple[torch.Tensor, EncodingState]:
        """The encoded input of every row, continuing from ``state``.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, in_size)
        times : torch.Tensor of shape (batch, steps)
        state : EncodingState, optional
            Returned by the previous call on the same series; none at a series' start.

        Returns
        -------
        torch.Tensor of shape (batch, steps, out_size)
        EncodingState
        """
        if values.shape[1] == 0:
            return values.new_zeros(*values.shape[:2], self.out_size), state
        if state is None:
            state = self.initial_state(values, times)
        x, m = split_inputs(values, self.n_channels)
        t = times.double()
        parts = [values]
        observed = torch.where(m > 0, t.unsqueeze(-1), -torch.inf)
        seen = torch.cat([state.channel_time.unsqueeze(1), observed], dim=1).cummax(dim=1).values
        if self.gaps:
            previous = torch.cat([state.last_time.unsqueeze(1), t[:, :-1]], dim=1)
            parts.append(torch.log1p((t - previous).clamp(min=0)).to(values.dtype).unsqueeze(-1))
            if self.masked:
                before = seen[:, :-1]
                before = torch.where(torch.isinf(before), state.start[:, None, None], before)
                delta = (t.unsqueeze(-1) - before).clamp(min=0)
                parts.append(torch.log1p(delta).to(values.dtype))
        counts = state.count.unsqueeze(1) + torch.cumsum(m, dim=1)
        firsts = (m > 0) & (counts == 1)
        first = state.first.unsqueeze(1) + torch.cumsum(x * firsts, dim=1)
        if self.level:
            parts.append(m * (x - first))
        new_state = EncodingState(state.start, t[:, -1], seen[:, -1], counts[:, -1], first[:, -1])
        return torch.cat(parts, dim=-1), new_state


class SummaryState(NamedTuple):
    """What :func:`channel_summary` carries from one call to the next, per series."""

    count: torch.Tensor  # (batch, C)
    total: torch.Tensor  # (batch, C) sum of observed values
    squares: torch.Tensor  # (batch, C) sum of their squares
    high: torch.Tensor  # (batch, C) maximum so far (-inf: none)
    low: torch.Tensor  # (batch, C) minimum so far (inf: none)
    last: torch.Tensor  # (batch, C) last observed value (0: none)


#: statistics per channel in :func:`channel_summary`
SUMMARY_STATS = ("log_count", "mean", "std", "min", "max", "last")


def channel_summary(
    values: torch.Tensor,
    n_channels: int,
    lengths: torch.Tensor | None = None,
    state: SummaryState | None = None,
) -> tuple[torch.Tensor, SummaryState]:
    """Per-channel statistics of the observations up to every row.

    For every channel: ``log(1 + count)``, mean, standard deviation, minimum, maximum and
    last value of its observations so far (each 0 before the first observation).

    Parameters
    ----------
    values : torch.Tensor of shape (batch, steps, n_channels) or (batch, steps, 2 * n_channels)
        The estimators' network input (values, then masks if any).
    n_channels : int
    lengths : torch.Tensor of shape (batch,), optional
        Valid steps of each series; later steps count no observation.
    state : SummaryState, optional
        Returned by the previous call on the same series.

    Returns
    -------
    torch.Tensor of shape (batch, steps, 6 * n_channels)
        The statistics after each row, grouped by statistic (:data:`SUMMARY_STATS`).
    SummaryState

    Examples
    --------
    One channel observed at rows 0 and 2 (values 1 and 3), then its statistics after the
    last row:

    >>> import torch
    >>> from sk_plstm.nn import channel_summary
    >>> values = torch.tensor([[[1.0, 1.0], [0.0, 0.0], [3.0, 1.0]]])  # value, mask
    >>> stats, state = channel_summary(values, n_channels=1)
    >>> [round(v, 3) for v in stats[0, -1].tolist()]  # log count, mean, sd, min, max, last
    [1.099, 2.0, 1.0, 1.0, 3.0, 3.0]
    """
    x, m = split_inputs(values, n_channels)
    if lengths is not None:
        valid = torch.arange(x.shape[1], device=x.device) < lengths.to(x.device)[:, None]
        m = m * valid.unsqueeze(-1).to(m.dtype)
    batch = x.shape[0]
    if state is None:
        zeros = x.new_zeros(batch, n_channels)
        inf = torch.full_like(zeros, torch.inf)
        state = SummaryState(zeros, zeros, zeros, -inf, inf, zeros)
    if x.shape[1] == 0:
        return x.new_zeros(batch, 0, 6 * n_channels), state
    obs = m > 0
    count = state.count.unsqueeze(1) + torch.cumsum(m, dim=1)
    total = state.total.unsqueeze(1) + torch.cumsum(x * m, dim=1)
    squares = state.squares.unsqueeze(1) + torch.cumsum(x * x * m, dim=1)
    high = torch.cat([state.high.unsqueeze(1), torch.where(obs, x, -torch.inf)], 1).cummax(1)
    low = torch.cat([state.low.unsqueeze(1), torch.where(obs, x, torch.inf)], 1).cummin(1)
    high, low = high.values[:, 1:], low.values[:, 1:]
    steps = torch.arange(x.shape[1], device=x.device)[None, :, None]
    at = torch.where(obs, steps, -1).cummax(dim=1).values
    picked = torch.gather(x, 1, at.clamp(min=0))
    last = torch.where(at >= 0, picked, state.last.unsqueeze(1))
    n = count.clamp(min=1)
    mean = total / n
    std = torch.sqrt((squares / n - mean * mean).clamp(min=0))
    some = count > 0
    stats = [
        torch.log1p(count),
        mean,
        std,
        torch.where(some, low, 0.0),
        torch.where(some, high, 0.0),
        torch.where(some, last, 0.0),
    ]
    new_state = SummaryState(
        count[:, -1], total[:, -1], squares[:, -1], high[:, -1], low[:, -1], last[:, -1]
    )
    return torch.cat(stats, dim=-1), new_state

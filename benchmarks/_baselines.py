"""Baselines for the benchmarks: a plain LSTM and GRU-D, trained exactly like the Phased LSTM.

``LSTMBaselineClassifier`` is :class:`sk_plstm.PhasedLSTMClassifier` with its network
swapped for ``torch.nn.LSTM`` of the same size: same data conversion, standardisation,
optimiser, epochs, batch size and seeding. Because an LSTM has no notion of time, it
receives the time since the previous observation (divided by the median sampling
interval of the training data) as an extra input channel, the usual way to give an
LSTM irregular timing; when the data has missing values it also receives the
observation masks the estimators add (unobserved values are 0 after standardisation).
``LSTMBaselineRegressor`` does the same for the regressor, and
``SktimeLSTMBaselineClassifier`` wraps the classifier for sktime.

``GRUDBaselineClassifier`` swaps in GRU-D (Che et al., "Recurrent neural networks for
multivariate time series with missing values", Scientific Reports 2018): a GRU whose
inputs decay towards the channel mean, and whose hidden state decays, with the time
since each channel was last observed.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from sktime.classification.base import BaseClassifier
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm.nn import EstimatorNetwork, PhasedLSTMNet
from sk_plstm.sktime._delegate import COMMON_TAGS, DelegatingEstimator


class LSTMNet(EstimatorNetwork):
    """``torch.nn.LSTM`` over the values and the scaled time since the previous step.

    ``values`` is what the estimators feed their network: the standardised values and,
    when the training data has missing values, the observation masks after them (so
    ``input_size`` counts both). The LSTM also gets the time since the previous step,
    that is since the last observation of any channel, divided by ``time_scale``.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            input_size + 1,
            hidden_size,
            num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
            bidirectional=bidirectional,
        )
        self.directions = 2 if bidirectional else 1
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size * self.directions, output_size)
        self.time_scale = time_scale
        self.output_size, self.bidirectional = output_size, bidirectional

    def forward(self, values, times, lengths):
        dt = torch.diff(times, dim=1, prepend=times[:, :1]) / self.time_scale
        x = torch.cat([values, dt.to(values.dtype).unsqueeze(-1)], dim=-1)
        if self.directions == 1:
            # right-padded input: the state after the last valid step is the output there
            # (packing would take torch's slow, unfused path: 50x slower on long sequences)
            out, _ = self.lstm(x)
            last = (lengths.to(out.device) - 1).clamp(min=0)
            summary = out[torch.arange(out.shape[0], device=out.device), last]
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            _, (h_n, _) = self.lstm(packed)
            summary = torch.cat(list(h_n[-self.directions :]), dim=-1)
        return self.head(self.dropout(summary))


class EventLSTMNet(PhasedLSTMNet):
    """An LSTM over events by index: the estimators' network with every gate always open.

    Each time gate gets a period of 1e30, a shift of minus half of it and ``r_on = 1``,
    none of them learned: the phase is then exactly 0.5 at every time the data can hold,
    so the openness is exactly 1 and every step is an ordinary LSTM step
    (``c = f c + i g``, ``h = o tanh(c)``), computed by the same kernel from the same input
    by index as the Phased LSTM's. Like :class:`LSTMNet`, it also gets the time since the
    previous step, divided by ``time_scale``: one more channel, whose value at every step
    is that gap.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__(
            input_size + 1, output_size, hidden_size, num_layers, bidirectional, dropout,
            r_on=1.0, learn_tau=False, learn_shift=False, learn_r_on=False,
        )  # fmt: skip
        for gate in self.time_gates():
            gate.set_(tau=1e30)
            gate.set_(shift=-gate.tau.detach().double() / 2)  # the phase is 0.5: k = 1
        self.n_events, self.time_scale = input_size, time_scale

    def forward(self, values, times, lengths=None, indices=None):
        gap = torch.diff(times, dim=1, prepend=times[:, :1]) / self.time_scale
        indices = torch.cat([indices, torch.full_like(indices[..., :1], self.n_events)], -1)
        values = torch.cat([values, gap.to(values.dtype).unsqueeze(-1)], -1)
        return super().forward(values, times, lengths, indices)


class GRUDNet(EstimatorNetwork):
    """GRU-D (Che et al., 2018) over values with observation masks, read at their times.

    ``values`` is what the estimators feed their network: the standardised values of the
    ``n_channels`` channels (0 where unobserved), then, when the training data has missing
    values (``input_size == 2 * n_channels``), their observation masks (1 observed, 0 not).
    Without masks (``input_size == n_channels``: complete data) every value is observed.

    For every channel ``d`` and step ``t``, ``delta`` is the time since the channel's last
    observation before ``t`` (since the first step if none), divided by ``time_scale``.
    Unobserved inputs decay from the last observed value towards the channel mean, 0
    after standardisation (towards 0 also with ``standardize=False``):
    ``x_hat = m x + (1 - m) gamma_x x_last`` with
    ``gamma_x = exp(-relu(w_x delta + b_x))`` (one weight per channel); the hidden state
    decays by ``gamma_h = exp(-relu(W_h delta + b_h))`` before each step of a GRU cell
    that reads ``x_hat`` and the masks. The state after each series' last valid step
    feeds a linear head.
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        n_channels: int | None = None,
        time_scale: float = 1.0,
    ) -> None:
        super().__init__()
        if num_layers != 1 or bidirectional:
            raise ValueError("GRU-D is one forward layer: num_layers=1, bidirectional=False.")
        n_channels = input_size if n_channels is None else n_channels
        if input_size not in (n_channels, 2 * n_channels):
            raise ValueError(
                f"input_size {input_size} must be n_channels ({n_channels}) for complete data "
                f"or 2 * n_channels (values, then masks) for data with missing values."
            )
        self.n_channels = n_channels
        self.masked = input_size == 2 * n_channels
        self.time_scale = time_scale
        # the input decay's diagonal weight, initialised like a Linear(n_channels, n_channels)
        bound = 1.0 / math.sqrt(n_channels)
        self.input_decay_weight = nn.Parameter(torch.empty(n_channels).uniform_(-bound, bound))
        self.input_decay_bias = nn.Parameter(torch.empty(n_channels).uniform_(-bound, bound))
        self.hidden_decay = nn.Linear(n_channels, hidden_size)
        self.cell = nn.GRUCell(input_size, hidden_size)  # x_hat, and the masks if any
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, output_size)
        self.output_size = output_size

    def forward(self, values, times, lengths):
        n = self.n_channels
        x = values[..., :n]
        m = values[..., n:] if self.masked else torch.ones_like(x)
        steps = torch.arange(x.shape[1], device=x.device)
        # each channel's latest observed step at or before every step (-1: none yet) ...
        seen = torch.where(m > 0, steps[:, None], -1).cummax(dim=1).values
        # ... and strictly before it, for delta (in float64: times can be large)
        before = F.pad(seen[:, :-1], (0, 0, 1, 0), value=-1).clamp(min=0)
        times = times.to(device=x.device, dtype=torch.float64)
        last_time = torch.gather(times.unsqueeze(-1).expand_as(before), 1, before)
        delta = ((times.unsqueeze(-1) - last_time) / self.time_scale).to(x.dtype)
        x_last = torch.gather(x, 1, seen.clamp(min=0)) * (seen >= 0)
        gamma_x = torch.exp(-torch.relu(delta * self.input_decay_weight + self.input_decay_bias))
        x_hat = m * x + (1 - m) * gamma_x * x_last
        gamma_h = torch.exp(-torch.relu(self.hidden_decay(delta)))
        inputs = torch.cat([x_hat, m], dim=-1) if self.masked else x_hat
        h = x.new_zeros(x.shape[0], self.cell.hidden_size)
        states = []
        for t in range(x.shape[1]):
            h = self.cell(inputs[:, t], gamma_h[:, t] * h)
            states.append(h)
        last = (lengths.to(x.device) - 1).clamp(min=0)
        summary = torch.stack(states, dim=1)[torch.arange(x.shape[0], device=x.device), last]
        return self.head(self.dropout(summary))


class _LSTMModule:
    """Swaps the estimators' network for :class:`LSTMNet` of the same size.

    (:class:`EventLSTMNet` for a fit on event streams by index.)
    """

    network = LSTMNet

    def _module_spec(self, output_size):
        network = self.network
        if getattr(self, "event_input_", False):
            if network is not LSTMNet:
                raise ValueError(f"{network.__name__} takes no events by index.")
            network = EventLSTMNet
        return network, {
            **self._network_size(output_size),
            "time_scale": self.tau_range_[0] / self.time_scale_,  # network's time unit
        }


class _GRUDModule(_LSTMModule):
    """Swaps the estimators' network for :class:`GRUDNet` of the same size."""

    network = GRUDNet

    def _module_spec(self, output_size):
        module, kwargs = super()._module_spec(output_size)
        return module, {**kwargs, "n_channels": self.n_channels_}  # values vs masks


class LSTMBaselineClassifier(_LSTMModule, PhasedLSTMClassifier):
    """A plain LSTM trained like :class:`sk_plstm.PhasedLSTMClassifier` (time-gate
    parameters are ignored)."""


class LSTMBaselineRegressor(_LSTMModule, PhasedLSTMRegressor):
    """A plain LSTM trained like :class:`sk_plstm.PhasedLSTMRegressor` (time-gate
    parameters are ignored)."""


class GRUDBaselineClassifier(_GRUDModule, PhasedLSTMClassifier):
    """GRU-D trained like :class:`sk_plstm.PhasedLSTMClassifier` (one layer; time-gate
    parameters are ignored)."""


class SktimeLSTMBaselineClassifier(DelegatingEstimator, BaseClassifier):
    """sktime wrapper of :class:`LSTMBaselineClassifier`."""

    _estimator_class = LSTMBaselineClassifier
    _tags = {**COMMON_TAGS, "capability:predict_proba": True}

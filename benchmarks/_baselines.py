"""Baselines for the benchmarks: a plain LSTM trained exactly like the Phased LSTM.

``LSTMBaselineClassifier`` is :class:`sk_plstm.PhasedLSTMClassifier` with its network
swapped for ``torch.nn.LSTM`` of the same size: same data conversion, standardisation,
optimiser, epochs, batch size and seeding. Because an LSTM has no notion of time, it
receives the time since the previous observation (divided by the median sampling
interval of the training data) as an extra input channel, the usual way to give an
LSTM irregular timing. ``LSTMBaselineRegressor`` does the same for the regressor, and
``SktimeLSTMBaselineClassifier`` wraps the classifier for sktime.
"""

from __future__ import annotations

import torch
from sktime.classification.base import BaseClassifier
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm.sktime._delegate import COMMON_TAGS, DelegatingEstimator


class LSTMNet(nn.Module):
    """``torch.nn.LSTM`` over the values and the scaled time since the previous step."""

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


class _LSTMModule:
    """Swaps the estimators' network for :class:`LSTMNet` of the same size."""

    def _module_spec(self, output_size):
        return LSTMNet, {
            **self._network_size(output_size),
            "time_scale": self.tau_range_[0] / self.time_scale_,  # network's time unit
        }


class LSTMBaselineClassifier(_LSTMModule, PhasedLSTMClassifier):
    """A plain LSTM trained like :class:`sk_plstm.PhasedLSTMClassifier` (time-gate
    parameters are ignored)."""


class LSTMBaselineRegressor(_LSTMModule, PhasedLSTMRegressor):
    """A plain LSTM trained like :class:`sk_plstm.PhasedLSTMRegressor` (time-gate
    parameters are ignored)."""


class SktimeLSTMBaselineClassifier(DelegatingEstimator, BaseClassifier):
    """sktime wrapper of :class:`LSTMBaselineClassifier`."""

    _estimator_class = LSTMBaselineClassifier
    _tags = {**COMMON_TAGS, "capability:predict_proba": True}

"""A readout candidate for the defaults study: the mean of the hidden states over time.

The estimators' network reads the last hidden state; ``MeanReadoutNet`` reads the mean
of the last layer's hidden states over each series' valid steps instead (a closed unit
holds its state, so this is the state averaged over the time points). The estimators
below are the package's with only the network swapped, for the study.
"""

from __future__ import annotations

import torch

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm.nn import PhasedLSTMNet


class MeanReadoutNet(PhasedLSTMNet):
    """:class:`sk_plstm.nn.PhasedLSTMNet` with the head on the mean hidden state."""

    def forward(self, values, times, lengths=None):
        if lengths is None:
            lengths = torch.full((values.shape[0],), values.shape[1], device=values.device)
        steps = int(lengths.max()) if values.shape[1] > 0 else 0
        values, times = values[:, :steps], times[:, :steps]
        output, _ = self.plstm(values, times, lengths)
        valid = (
            torch.arange(steps, device=output.device)[None, :] < lengths.to(output.device)[:, None]
        )
        total = (output * valid.unsqueeze(-1)).sum(dim=1)
        summary = total / valid.sum(dim=1, keepdim=True).clamp(min=1)
        return self.head(self.dropout(summary))


class _MeanReadout:
    def _module_spec(self, output_size):
        _, kwargs = super()._module_spec(output_size)
        return MeanReadoutNet, kwargs


class MeanReadoutClassifier(_MeanReadout, PhasedLSTMClassifier):
    """:class:`sk_plstm.PhasedLSTMClassifier` with the mean-state readout."""


class MeanReadoutRegressor(_MeanReadout, PhasedLSTMRegressor):
    """:class:`sk_plstm.PhasedLSTMRegressor` with the mean-state readout."""

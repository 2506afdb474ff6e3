"""The network used by the estimators: phased recurrent layers and an output head (pure torch)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ._contract import EstimatorNetwork, NetworkStream
from ._events import EventInput
from ._features import SUMMARY_STATS, InputEncoding, channel_summary
from ._layer import PhasedGRU, PhasedLSTM, PhasedRNNBase

__all__ = ["CELLS", "READOUTS", "PhasedLSTMNet"]

#: the estimators' ``cell`` values and the sequence layers they build
CELLS: dict[str, type[PhasedRNNBase]] = {"lstm": PhasedLSTM, "gru": PhasedGRU}
#: what the head reads: the final state, or the final state and per-channel statistics
READOUTS = ("last", "summary")


class PhasedLSTMNet(EstimatorNetwork):
    """Phased LSTM (or Phased GRU) layers followed by a linear head on the final hidden state.

    The estimators' network; it implements :class:`EstimatorNetwork`.

    The final hidden state of the last layer (both directions when
    bidirectional) summarises each sequence; for the forward direction it is the
    state after the last valid step, since padded steps leave it untouched.

    Parameters
    ----------
    input_size : int
        Number of input channels.
    output_size : int
        Number of outputs (classes for a classifier, targets for a regressor).
    hidden_size : int, default=64
        Units per layer and direction.
    num_layers : int, default=1
        Number of stacked layers.
    cell : {"lstm", "gru"}, default="lstm"
        The recurrent cell: :class:`PhasedLSTM` or :class:`PhasedGRU` layers.
    bidirectional : bool, default=False
        Whether to add a backward direction.
    dropout : float, default=0.0
        Dropout between layers and before the head, in training mode.
    n_channels : int, optional
        Channels of the data when ``values`` holds masks after them (``input_size`` is
        then ``2 * n_channels``); ``input_size`` by default (no masks).
    time_inputs : bool, default=False
        Feed the recurrent layers the log time gaps (:class:`InputEncoding`).
    level_inputs : bool, default=False
        Feed them each channel's value relative to its first observation too.
    readout : {"last", "summary"}, default="last"
        What the head reads: the final hidden state, or the final hidden state and
        per-channel statistics of the observations (:func:`channel_summary`).
    **gate_kwargs
        Time-gate settings passed to :class:`PhasedLSTM` (``tau_range``,
        ``r_on``, ``leak``, ``learn_tau``, ``learn_shift``, ``learn_r_on``).

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import PhasedLSTMNet
    >>> net = PhasedLSTMNet(input_size=3, output_size=2, hidden_size=8)
    >>> values = torch.randn(5, 20, 3)
    >>> times = torch.arange(20, dtype=torch.float64).expand(5, 20)
    >>> net(values, times, torch.full((5,), 20)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        input_size: int,
        output_size: int,
        hidden_size: int = 64,
        num_layers: int = 1,
        bidirectional: bool = False,
        dropout: float = 0.0,
        cell: str = "lstm",
        n_channels: int | None = None,
        time_inputs: bool = False,
        level_inputs: bool = False,
        readout: str = "last",
        **gate_kwargs,
    ) -> None:
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"cell must be one of {tuple(CELLS)}, got {cell!r}.")
        if readout not in READOUTS:
            raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}.")
        n_channels = input_size if n_channels is None else n_channels
        if input_size not in (n_channels, 2 * n_channels):
            raise ValueError(
                f"input_size {input_size} must be n_channels ({n_channels}) or twice it "
                "(values, then masks)."
            )
        self.cell, self.n_channels, self.readout = cell, n_channels, readout
        self.encoding = None
        if time_inputs or level_inputs:
            masked = input_size == 2 * n_channels
            self.encoding = InputEncoding(n_channels, masked, time_inputs, level_inputs)
        layer_input = input_size if self.encoding is None else self.encoding.out_size
        # the attribute keeps its name for either cell: model files store its parameters
        self.plstm = CELLS[cell](
            layer_input,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
            **gate_kwargs,
        )
        self.dropout = nn.Dropout(dropout)
        features = hidden_size * self.plstm.num_directions
        if readout == "summary":
            features += len(SUMMARY_STATS) * n_channels
        self.head = nn.Linear(features, output_size)
        self.output_size = output_size
        self.bidirectional = bidirectional

    def forward(
        self,
        values: torch.Tensor,
        times: torch.Tensor,
        lengths: torch.Tensor | None = None,
        indices: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Outputs for a batch of sequences.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
            Right-padded inputs; with ``indices``, (batch, steps, k): the values of
            events given by index.
        times : torch.Tensor of shape (batch, steps)
            Timestamps (float64 recommended).
        lengths : torch.Tensor of shape (batch,), optional
            Number of valid steps of each sequence; all steps when omitted.
        indices : torch.Tensor of shape (batch, steps, k), optional
            Input by index (:class:`EventInput`): each step's channels (``-1``: none),
            whose ``values`` are given. The network must then have no input encoding
            and the ``"last"`` readout (both read dense channels).

        Returns
        -------
        torch.Tensor of shape (batch, output_size)
            Logits (classification) or predictions (regression).
        """
        state, summary = self._final_features(values, times, lengths, indices)
        features = self.dropout(state)
        if summary is not None:
            features = torch.cat([features, summary], dim=-1)
        return self._head(features)

    def embed(
        self,
        values: torch.Tensor,
        times: torch.Tensor,
        lengths: torch.Tensor | None = None,
        indices: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """What the head reads for each series: the final state and the channels' summary.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
            Or (batch, steps, k) with ``indices`` (see :meth:`forward`).
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional
        indices : torch.Tensor of shape (batch, steps, k), optional

        Returns
        -------
        torch.Tensor of shape (batch, hidden_size * num_directions [+ 6 * n_channels])
            The last layer's final hidden state (forward then backward), followed for
            ``readout="summary"`` by each channel's log count, mean, standard deviation,
            minimum, maximum and last value (channel by channel); no dropout.
        """
        state, summary = self._final_features(values, times, lengths, indices)
        return state if summary is None else torch.cat([state, summary], dim=-1)

    def _final_features(
        self,
        values: torch.Tensor,
        times: torch.Tensor,
        lengths: torch.Tensor | None,
        indices: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The last layer's final hidden state, and the channels' summary for that readout."""
        if lengths is not None and values.shape[1] > 0:
            # steps past the longest sequence of this batch are all padding: skip them
            steps = int(lengths.max())
            values, times = values[:, :steps], times[:, :steps]
            indices = None if indices is None else indices[:, :steps]
        if indices is not None:
            inputs = self._events(values, indices)
        else:
            inputs, _ = self._encoded(values, times)
        _, (h_n, *_) = self.plstm._forward(inputs, times, lengths, None, outputs=False)
        directions = self.plstm.num_directions
        state = torch.cat(list(h_n[-directions:]), dim=-1)
        if self.readout != "summary":
            return state, None
        stats, _ = channel_summary(values, self.n_channels, lengths)
        if lengths is None:
            final = stats[:, -1]
        else:
            last = (lengths.to(stats.device) - 1).clamp(min=0)
            final = stats[torch.arange(stats.shape[0], device=stats.device), last]
        return state, final.to(state.dtype)

    def _head(self, features: torch.Tensor) -> torch.Tensor:
        """The linear head; in inference, each row's outputs from its own products only.

        A matrix product rounds a row differently with the batch around it (another
        blocking for another batch size); in inference the head is therefore a sum of
        products per row, so that a series gets the same prediction whatever it is
        predicted with. Training keeps the matrix product.
        """
        if self.training or torch.is_grad_enabled():
            return self.head(features)
        return self._head_rows(features)

    def _head_rows(self, features: torch.Tensor) -> torch.Tensor:
        """The linear head as a sum of products per row (``features`` (..., in_features))."""
        outputs = (features.unsqueeze(-2) * self.head.weight).sum(-1)
        return outputs if self.head.bias is None else outputs + self.head.bias

    def step_outputs(
        self,
        values: torch.Tensor,
        times: torch.Tensor,
        state: tuple[torch.Tensor, ...] | None = None,
        indices: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...]]:
        """Outputs after every step, continuing from ``state`` (for streaming).

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
        times : torch.Tensor of shape (batch, steps)
        state : tuple, optional
            The state returned by the previous call: the layers' state (``(h, c)`` for
            the LSTM cell, ``(h,)`` for the GRU cell, each of shape (num_layers, batch,
            hidden_size)), with the input encoding's and the summary's where the
            network has them; zeros when omitted.
        indices : torch.Tensor of shape (batch, steps, k), optional
            Input by index, as in :meth:`forward`.

        Returns
        -------
        outputs : torch.Tensor of shape (batch, steps, output_size)
            The head applied to the last layer's hidden state at every step; the
            last step's equals :meth:`forward` on the whole series so far.
        state : tuple of torch.Tensor
            The state after the last step, to pass to the next call.
        """
        if self.plstm.bidirectional:
            raise ValueError("step_outputs needs a unidirectional network.")
        layers, encoding, summary = _NetState.of(state)
        if indices is not None:
            inputs = self._events(values, indices)
        else:
            inputs, encoding = self._encoded(values, times, encoding)
        out, layers = self.plstm._forward(inputs, times, None, layers)
        out, summary = self._with_summary(out, values, summary)
        if self.encoding is None and self.readout == "last":
            return self._head(out), layers
        return self._head(out), _NetState(layers, encoding, summary)

    def _events(self, values: torch.Tensor, indices: torch.Tensor) -> EventInput:
        """The layers' input for events by index (``values``, ``indices`` (batch, steps, k))."""
        self._check_event_input()
        return EventInput(indices, self.plstm.input_size, values)

    def _check_event_input(self) -> None:
        if self.encoding is not None or self.readout != "last":
            raise ValueError(
                "events by index need a network without input encoding (time_inputs, "
                "level_inputs) and with readout='last': both read dense channels."
            )

    def _encoded(self, values: torch.Tensor, times: torch.Tensor, state=None) -> tuple:
        """The layers' input for ``values`` and the encoding's new state.

        ``values`` (batch, steps, input_size) as they are without an encoding.
        """
        if self.encoding is None:
            return values, state
        return self.encoding(values, times, state)

    def _with_summary(self, out: torch.Tensor, values: torch.Tensor, state=None) -> tuple:
        """``out`` (batch, steps, features) and, for a summary readout, the statistics.

        The channels' statistics after every step go beside ``out``; returned with the
        summary's new state.
        """
        if self.readout != "summary":
            return out, state
        stats, state = channel_summary(values, self.n_channels, None, state)
        return torch.cat([out, stats.to(out.dtype)], dim=-1), state

    def stream(self) -> NetworkStream:
        """A stream through the network: the layers' :class:`LayerStream`, then the head.

        The layers run event by event in the compiled kernel where they can (a Phased
        LSTM of float32 on the CPU), with the state kept there.

        Returns
        -------
        NetworkStream
        """
        if self.plstm.bidirectional:
            raise ValueError("stream needs a unidirectional network.")
        return _LayersAndHead(self)

    def time_gates(self) -> list:
        """The time gate of every cell, layer by layer, forward before backward."""
        return [cell.gate for cell in self.plstm.cells]

    def update_counts(
        self, times: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Updates of every unit, averaged over the batch (:meth:`PhasedLSTM.update_counts`).

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional

        Returns
        -------
        torch.Tensor of shape (num_layers * num_directions, hidden_size)
        """
        return self.plstm.update_counts(times, lengths)

    def gate_openness(
        self, times: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Openness of every unit at every step (:meth:`PhasedLSTM.gate_openness`).

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional

        Returns
        -------
        torch.Tensor of shape (num_layers * num_directions, batch, steps, hidden_size)
        """
        return self.plstm.gate_openness(times, lengths)


class _NetState(tuple):
    """The state of :meth:`PhasedLSTMNet.step_outputs` with encoding or summaries.

    ``(layers, encoding, summary)``.
    """

    def __new__(cls, layers, encoding, summary):
        return super().__new__(cls, (layers, encoding, summary))

    @classmethod
    def of(cls, state):
        """``(layers, encoding, summary)`` of a state (the layers' state alone, or None)."""
        if isinstance(state, _NetState):
            return tuple(state)
        return state, None, None


class _LayersAndHead(NetworkStream):
    """:class:`PhasedLSTMNet` streamed: its layers' :class:`LayerStream`, then its head.

    Neither depends on the network's mode (the layers' stream runs them as in evaluation
    mode), so the network is left in its mode.
    """

    def __init__(self, network: PhasedLSTMNet) -> None:
        super().__init__(network)
        self._layers = network.plstm.stream()
        self._encoding = self._summary = None

    def update(self, values: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The outputs after each new step (:meth:`NetworkStream.update`)."""
        network = self.network
        with torch.no_grad():
            inputs, self._encoding = network._encoded(values[None], times[None], self._encoding)
            out = self._layers.update(inputs[0], times)
            out, self._summary = network._with_summary(out[None], values[None], self._summary)
            return network._head_rows(out[0])

    def update_events(self, times: torch.Tensor, channels: Any, values: Any = None) -> torch.Tensor:
        """The outputs after each new step of events by index (:meth:`LayerStream.update_events`).

        Parameters
        ----------
        times : array-like of shape (events,)
            In the network's time.
        channels : array-like of shape (events,)
        values : array-like of shape (events,), optional

        Returns
        -------
        torch.Tensor of shape (steps, output_size)
        """
        network = self.network
        network._check_event_input()
        with torch.no_grad():
            out = self._layers.update_events(times, channels, values)
            return network._head_rows(out)

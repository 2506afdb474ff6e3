"""The network contract: what the estimators may use of the network they train.

The estimators, model files, inspection and streaming reach a network only through
:class:`EstimatorNetwork`. A network written to it (another cell, another head, a
baseline without time gates) trains, saves, inspects and streams through the estimators
without their knowing its internals.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

import torch
from torch import nn

from ._gate import TimeGate

__all__ = ["EstimatorNetwork", "NetworkStream"]


class EstimatorNetwork(nn.Module, metaclass=ABCMeta):
    """Base class of the networks the estimators train.

    A subclass sets :attr:`output_size` and :attr:`bidirectional` in its constructor
    and implements :meth:`forward`. A network with time gates returns them from
    :meth:`time_gates`, and then also answers :meth:`update_counts` and
    :meth:`gate_openness`; a unidirectional one that can run step by step implements
    :meth:`step_outputs` for streaming (and may override :meth:`stream` with a faster
    way); :meth:`embed` gives the estimators' ``transform``. Nothing else of a network is
    used outside ``sk_plstm.nn``: its parameters and
    ``state_dict`` are torch's.

    Attributes
    ----------
    output_size : int
        Outputs per series: classes (logits) for a classifier, targets for a regressor.
    bidirectional : bool
        Whether the network reads each series backwards too (it then cannot stream).

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import EstimatorNetwork, PhasedLSTMNet
    >>> net = PhasedLSTMNet(input_size=3, output_size=2, hidden_size=8, num_layers=2)
    >>> isinstance(net, EstimatorNetwork), net.output_size, len(net.time_gates())
    (True, 2, 2)
    """

    output_size: int
    bidirectional: bool = False

    def __init__(self) -> None:
        super().__init__()

    @abstractmethod
    def forward(
        self, values: torch.Tensor, times: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Outputs for a batch of right-padded series.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
            The inputs, right-padded.
        times : torch.Tensor of shape (batch, steps)
            Timestamps, in the network's time units.
        lengths : torch.Tensor of shape (batch,), optional
            Valid steps of each series; all steps when omitted.

        Returns
        -------
        torch.Tensor of shape (batch, output_size)
            Logits (classification) or predictions (regression).
        """

    def time_gates(self) -> list[TimeGate]:
        """The network's time gates, one per layer and direction, in the cells' order.

        Returns
        -------
        list of TimeGate
            Empty for a network without time gates.
        """
        return [m for m in self.modules() if isinstance(m, TimeGate)]

    @property
    def device(self) -> torch.device:
        """The device of the network's parameters (the CPU for one without)."""
        for parameter in self.parameters():
            return parameter.device
        return torch.device("cpu")

    def embed(
        self, values: torch.Tensor, times: torch.Tensor, lengths: torch.Tensor | None = None
    ) -> torch.Tensor:
        """What the output layer reads for each series: a fixed-length embedding.

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional

        Returns
        -------
        torch.Tensor of shape (batch, n_features)
            The features the head maps to the outputs (no dropout).
        """
        raise NotImplementedError(f"{type(self).__name__} gives no embedding (transform).")

    def step_outputs(
        self, values: torch.Tensor, times: torch.Tensor, state: Any = None
    ) -> tuple[torch.Tensor, Any]:
        """Outputs after every step, continuing from ``state`` (for streaming).

        Parameters
        ----------
        values : torch.Tensor of shape (batch, steps, input_size)
        times : torch.Tensor of shape (batch, steps)
        state : optional
            What the previous call returned, passed back unchanged (its layout is the
            network's own); ``None`` starts from the initial state.

        Returns
        -------
        outputs : torch.Tensor of shape (batch, steps, output_size)
            The output after every step; the last one equals :meth:`forward` on the
            whole series so far.
        state
            The state after the last step, for the next call.
        """
        raise NotImplementedError(f"{type(self).__name__} cannot run step by step (stream).")

    def stream(self) -> NetworkStream:
        """A stream through the network: one series fed in pieces, its state kept.

        Built on :meth:`step_outputs`; a network with a faster way overrides it.

        Returns
        -------
        NetworkStream
        """
        return NetworkStream(self)

    def update_counts(self, times: torch.Tensor, lengths: torch.Tensor | None = None):
        """Updates of every unit (time points where its gate is open), per series mean.

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional

        Returns
        -------
        torch.Tensor of shape (n_gates, hidden_size)
            One row per time gate, in the order of :meth:`time_gates`.
        """
        raise NotImplementedError(f"{type(self).__name__} has no time gates.")

    def gate_openness(self, times: torch.Tensor, lengths: torch.Tensor | None = None):
        """Openness of every unit at every step.

        Parameters
        ----------
        times : torch.Tensor of shape (batch, steps)
        lengths : torch.Tensor of shape (batch,), optional

        Returns
        -------
        torch.Tensor of shape (n_gates, batch, steps, hidden_size)
            One block per time gate, in the order of :meth:`time_gates`.
        """
        raise NotImplementedError(f"{type(self).__name__} has no time gates.")


class NetworkStream:
    """One series fed to a network in pieces (:meth:`EstimatorNetwork.stream`).

    Each :meth:`update` continues from the state the previous one left, in inference
    (evaluation mode for the call, no gradients; the network's mode is left as it was).

    Parameters
    ----------
    network : EstimatorNetwork
        A unidirectional network that implements :meth:`EstimatorNetwork.step_outputs`.

    Examples
    --------
    >>> import torch
    >>> from sk_plstm.nn import NetworkStream, PhasedLSTMNet
    >>> net = PhasedLSTMNet(input_size=2, output_size=3, hidden_size=8)
    >>> values, times = torch.randn(10, 2), torch.arange(10, dtype=torch.float64)
    >>> stream = NetworkStream(net)  # the generic stream; net.stream() is the fast one
    >>> first, rest = stream.update(values[:4], times[:4]), stream.update(values[4:], times[4:])
    >>> pieces = torch.cat([first, rest])
    >>> with torch.no_grad():
    ...     whole = net.eval()(values[None], times[None])
    >>> pieces.shape, bool(torch.allclose(pieces[-1], whole[0], atol=1e-6))
    (torch.Size([10, 3]), True)
    """

    def __init__(self, network: EstimatorNetwork) -> None:
        self.network = network
        self._state: Any = None

    def update(self, values: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
        """The outputs after each new step.

        Parameters
        ----------
        values : torch.Tensor of shape (steps, input_size)
        times : torch.Tensor of shape (steps,)
            After the last step fed.

        Returns
        -------
        torch.Tensor of shape (steps, output_size)
        """
        network = self.network
        was_training = network.training
        if was_training:
            network.eval()
        try:
            with torch.no_grad():
                outputs, self._state = network.step_outputs(values[None], times[None], self._state)
        finally:
            if was_training:
                network.train()
        return outputs[0]

"""Pure torch Phased LSTM and Phased GRU.

Time gate, cells, sequence layers, recurrence backends and the estimators' network.

This subpackage imports torch only.
"""

from ._cell import PhasedCellBase, PhasedGRUCell, PhasedLSTMCell
from ._contract import EstimatorNetwork, NetworkStream
from ._events import EventInput
from ._features import InputEncoding, channel_summary
from ._gate import TimeGate, time_gate
from ._init import init_lstm_weights_, init_time_gate_
from ._layer import IMPLEMENTATIONS, PhasedGRU, PhasedLSTM, PhasedRNNBase, lengths_to_mask
from ._net import PhasedLSTMNet
from ._streaming import LayerStream
from .backends import kernel_available

__all__ = [
    "EstimatorNetwork",
    "EventInput",
    "IMPLEMENTATIONS",
    "InputEncoding",
    "kernel_available",
    "LayerStream",
    "NetworkStream",
    "PhasedCellBase",
    "PhasedGRU",
    "PhasedGRUCell",
    "PhasedLSTM",
    "PhasedLSTMCell",
    "PhasedLSTMNet",
    "PhasedRNNBase",
    "TimeGate",
    "channel_summary",
    "init_lstm_weights_",
    "init_time_gate_",
    "lengths_to_mask",
    "time_gate",
]

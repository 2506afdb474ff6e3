"""Pure torch Phased LSTM: time gate, cell, sequence layer and network.

This subpackage imports torch only.
"""

from ._cell import PhasedLSTMCell
from ._contract import EstimatorNetwork
from ._fused import kernel_available
from ._gate import TimeGate, time_gate
from ._init import init_lstm_weights_, init_time_gate_
from ._layer import IMPLEMENTATIONS, PhasedLSTM, lengths_to_mask
from ._net import PhasedLSTMNet

__all__ = [
    "EstimatorNetwork",
    "IMPLEMENTATIONS",
    "kernel_available",
    "PhasedLSTM",
    "PhasedLSTMCell",
    "PhasedLSTMNet",
    "TimeGate",
    "init_lstm_weights_",
    "init_time_gate_",
    "lengths_to_mask",
    "time_gate",
]

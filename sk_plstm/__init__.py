"""Phased LSTM for scikit-learn and sktime.

Classifier and regressor for regularly and irregularly sampled, asynchronous and
event-based time series, built on a pure torch Phased LSTM (:mod:`sk_plstm.nn`)
and trained through skorch.
"""

from ._classifier import PhasedLSTMClassifier
from ._data import from_events, to_events
from ._event_streams import EventStreams
from ._inspect import ModelDescription
from ._persistence import load
from ._regressor import PhasedLSTMRegressor
from ._stream import PhasedLSTMStream
from ._training import TrainingDivergedError
from ._version import __version__

__all__ = [
    "EventStreams",
    "ModelDescription",
    "PhasedLSTMClassifier",
    "PhasedLSTMRegressor",
    "PhasedLSTMStream",
    "TrainingDivergedError",
    "__version__",
    "from_events",
    "load",
    "to_events",
]

"""sktime-native Phased LSTM estimators (``BaseClassifier`` / ``BaseRegressor``).

Requires sktime (``pip install sktime``, or from a checkout ``pip install -e ".[sktime]"``).
Discover them with skbase's lookup, for example
``skbase.lookup.all_objects(package_name="sk_plstm", object_types=BaseClassifier)``.
"""

from ._classifier import PhasedLSTMClassifier
from ._evaluate import evaluate
from ._regressor import PhasedLSTMRegressor

__all__ = ["PhasedLSTMClassifier", "PhasedLSTMRegressor", "evaluate"]

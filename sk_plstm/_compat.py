"""The one place that imports private scikit-learn helpers, so an upgrade touches one file."""

from typing import Any

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = ["Interval", "StrOptions", "_fit_context", "check_sample_weight"]


def check_sample_weight(sample_weight: Any, n_samples: int) -> np.ndarray:
    """``sample_weight`` checked as scikit-learn checks it: float64, ``(n_samples,)``.

    Finite, non-negative, not all zero; a scalar gives every series that weight.
    """
    return _check_sample_weight(
        sample_weight, np.empty((n_samples, 0)), dtype=np.float64, ensure_non_negative=True
    )

"""The one place that imports private scikit-learn helpers, so an upgrade touches one file."""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions

__all__ = ["Interval", "StrOptions", "_fit_context"]

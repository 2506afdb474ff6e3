"""Shared sktime glue: tags and delegation to the package's scikit-learn estimators."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._base import PhasedLSTMParams

#: Inner containers: every one keeps the input's time index, so sktime passes irregular
#: times to the estimator unchanged (numpy3D input has no time index to keep).
X_INNER_MTYPES = ["pd-multiindex", "nested_univ", "df-list", "numpy3D"]

COMMON_TAGS = {
    "authors": ["sk_plstm developers"],
    "maintainers": ["sk_plstm developers"],
    "python_dependencies": ["torch", "skorch"],
    "X_inner_mtype": X_INNER_MTYPES,
    "capability:multivariate": True,
    "capability:unequal_length": True,
    "capability:missing_values": True,
    "capability:categorical_in_X": False,
    "capability:random_state": True,
}


class DelegatingEstimator(PhasedLSTMParams):
    """sktime ``_fit`` / ``_predict`` that delegate to a package estimator.

    Subclasses set ``_estimator_class``; the fitted package estimator is ``estimator_``.
    """

    _estimator_class: type

    def _fit(self, X: Any, y: np.ndarray):
        self.estimator_ = self._estimator_class(**self.get_params()).fit(X, y)
        return self

    def _predict(self, X: Any) -> np.ndarray:
        return self.estimator_.predict(X)

    def describe(self, X: Any = None) -> Any:
        """Sizes, learned periods and open fractions of the fitted model.

        Parameters
        ----------
        X : sktime panel container or numpy array, optional
            Series on which to measure how often the units update.

        Returns
        -------
        sk_plstm.ModelDescription
            A printable summary; see :meth:`sk_plstm.PhasedLSTMClassifier.describe`.
        """
        self.check_is_fitted()
        return self.estimator_.describe(X)

    def time_gates(self, initial: bool = False) -> Any:
        """Every unit's period, phase shift and open ratio (before training if ``initial``).

        Parameters
        ----------
        initial : bool, default=False
            The values before training instead of the learned ones.

        Returns
        -------
        pandas.DataFrame
            One row per unit; see :meth:`sk_plstm.PhasedLSTMClassifier.time_gates`.
        """
        self.check_is_fitted()
        return self.estimator_.time_gates(initial=initial)

    def gate_openness(self, X: Any) -> tuple[np.ndarray, np.ndarray]:
        """How open every unit's time gate is at every time point of ``X``.

        Parameters
        ----------
        X : sktime panel container or numpy array
            Series in any format the estimator accepts.

        Returns
        -------
        openness : numpy.ndarray of shape (n_series, max_length, n_gate_layers, hidden_size)
            The openness ``k`` in ``[0, 1]``, NaN after the end of a shorter series.
        times : numpy.ndarray of shape (n_series, max_length)
            The time of each point; see :meth:`sk_plstm.PhasedLSTMClassifier.gate_openness`.
        """
        self.check_is_fitted()
        return self.estimator_.gate_openness(X)

    @classmethod
    def get_test_params(cls, parameter_set: str = "default") -> list[dict]:
        """Cheap settings for sktime's conformance checks.

        Parameters
        ----------
        parameter_set : str, default="default"
            Name of the set (only one is defined).

        Returns
        -------
        list of dict
        """
        return [
            {"hidden_size": 4, "max_epochs": 2, "random_state": 0},
            {
                "hidden_size": 3,
                "num_layers": 2,
                "bidirectional": True,
                "tau_range": (1.0, 10.0),
                "r_on": 0.2,
                "max_epochs": 1,
                "batch_size": 8,
                "random_state": 1,
            },
        ]

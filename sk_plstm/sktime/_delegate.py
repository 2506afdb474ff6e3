"""Shared sktime glue: tags and delegation to the package's scikit-learn estimators."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .._params import PhasedLSTMParams
from .._persistence import load, load_bytes, model_bytes, write_model
from ._persistence import is_model_file, wrapper, zip_path

#: the package's safe model format, the default of ``save``
SAFE_FORMAT = "sk_plstm"

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

    def save(self, path: str | Path | None = None, serialization_format: str = SAFE_FORMAT) -> Any:
        """Save the fitted estimator, by default in the package's safe format.

        With the default ``serialization_format="sk_plstm"`` nothing is pickled: the
        file holds the hyperparameters, fitted attributes and sktime's fitted state as
        JSON and the weights as tensors, under a checksum. Both :func:`sk_plstm.load`
        (which runs no code from the file) and ``sktime.base.load`` read it.
        ``serialization_format="pickle"`` or ``"cloudpickle"`` writes sktime's own
        pickle-based format instead, which only ``sktime.base.load`` reads.

        Parameters
        ----------
        path : str or pathlib.Path, optional
            As for sktime's ``save``: ``"dir/model"`` writes ``dir/model.zip`` (a path
            that already ends in ``.zip`` is used as it is); replaced atomically. Without
            a path, the serialised estimator is returned in memory.
        serialization_format : {"sk_plstm", "pickle", "cloudpickle"}, default="sk_plstm"
            The package's safe format, or one of sktime's.

        Returns
        -------
        zipfile.ZipFile or tuple
            With a path, the written file (as sktime returns it); without one,
            ``(type(self), data)`` for ``sktime.base.load``.

        Examples
        --------
        >>> import os, tempfile
        >>> import sk_plstm
        >>> from sktime.datasets import load_unit_test
        >>> from sk_plstm.sktime import PhasedLSTMClassifier
        >>> X, y = load_unit_test(split="train", return_type="numpy3D")
        >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, y)
        >>> path = os.path.join(tempfile.mkdtemp(), "model")
        >>> clf.save(path).close()
        >>> same = sk_plstm.load(path + ".zip")
        >>> bool((same.predict_proba(X) == clf.predict_proba(X)).all())
        True
        """
        if serialization_format != SAFE_FORMAT:
            return super().save(path, serialization_format=serialization_format)
        self.check_is_fitted()
        saved = wrapper(self)  # refuses what the format cannot hold
        inner = self.estimator_
        if path is None:
            return type(self), model_bytes(inner, inner.net_, saved)
        path = zip_path(path)
        write_model(inner, inner.net_, path, saved)
        return zipfile.ZipFile(path)

    @classmethod
    def load_from_serial(cls, serial: Any) -> Any:
        """Load what ``save()`` returned in memory (called by ``sktime.base.load``).

        Parameters
        ----------
        serial : bytes
            The second element of ``save()``'s result.

        Returns
        -------
        sk_plstm.sktime estimator
        """
        if isinstance(serial, (bytes, bytearray)) and bytes(serial[:2]) == b"PK":
            return cls._loaded(load_bytes(serial))
        return super().load_from_serial(serial)  # sktime's pickle format

    @classmethod
    def load_from_path(cls, serial: Any) -> Any:
        """Load a file written by ``save(path)`` (called by ``sktime.base.load``).

        Parameters
        ----------
        serial : str or pathlib.Path
            The ``.zip`` file.

        Returns
        -------
        sk_plstm.sktime estimator
        """
        if is_model_file(serial):
            return cls._loaded(load(serial))
        return super().load_from_path(serial)  # sktime's pickle format

    @classmethod
    def _loaded(cls, estimator: Any) -> Any:
        if not isinstance(estimator, cls):
            raise ValueError(
                f"The model holds a {type(estimator).__module__}.{type(estimator).__name__}, "
                f"not a {cls.__name__}."
            )
        return estimator

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
            Name of the set (only one is defined): a small model, a stacked
            bidirectional one and a Phased GRU.

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
            {"hidden_size": 4, "cell": "gru", "max_epochs": 2, "random_state": 2},
        ]

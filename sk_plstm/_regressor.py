"""PhasedLSTMRegressor: scikit-learn regressor glue around the Phased LSTM network."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_array, check_is_fitted

from ._base import PhasedLSTMBase, score_doc, steps_doc
from ._compat import _fit_context
from ._registry import loadable

__all__ = ["PhasedLSTMRegressor"]


def _targets(y: Any, n_samples: int) -> np.ndarray:
    """``y`` as a float64 array of ``n_samples`` rows, 1-D or 2-D, checked."""
    try:
        y = check_array(y, ensure_2d=False, dtype=np.float64, input_name="y")
    except ValueError as exc:
        if "could not convert" not in str(exc):
            raise
        raise ValueError(
            f"y must hold numbers for a regressor ({exc}); for class labels use "
            "PhasedLSTMClassifier."
        ) from None
    if y.ndim not in (1, 2):
        raise ValueError(f"y must be 1-D or 2-D, got {y.ndim} dimensions.")
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} targets, but X has {n_samples} series.")
    return y


@loadable("estimator")
class PhasedLSTMRegressor(RegressorMixin, PhasedLSTMBase):
    """Phased LSTM regressor for regular, irregular and event-based time series.

    The same model as :class:`PhasedLSTMClassifier`, trained with the mean squared
    error. Targets are standardised for training (statistics in ``y_mean_`` and
    ``y_std_``) and predictions mapped back to the original scale. Several targets
    (a 2-D ``y``) are predicted jointly.

    Parameters
    ----------
    hidden_size, num_layers, cell, bidirectional, dropout, tau_range, r_on, leak, \
learn_tau, learn_shift, learn_r_on, final_r_on, time_unit, missing, standardize, \
time_inputs, level_inputs, readout, max_epochs, batch_size, \
lr, optimizer, weight_decay, grad_clip, validation_fraction, early_stopping, \
n_iter_no_change, tol, lr_schedule, checkpoint_dir, checkpoint_every, callbacks, device, \
distributed, random_state, verbose
        As for :class:`PhasedLSTMClassifier`.

    Attributes
    ----------
    y_mean_, y_std_ : ndarray of shape (n_targets,)
        Target standardisation statistics.
    y_ndim_ : int
        Dimensions of the ``y`` given to ``fit`` (1 or 2); ``predict`` returns the same.
    n_channels_, n_features_in_, feature_names_in_, channel_names_, mask_inputs_, \
tau_range_, time_origin_, channel_mean_, channel_std_, net_, n_iter_, interrupted_, seed_, \
time_scale_, best_epoch_, initial_gates_
        As for :class:`PhasedLSTMClassifier`.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(40, 2, 30))
    >>> y = X[:, 0, -5:].mean(axis=1)
    >>> reg = PhasedLSTMRegressor(hidden_size=8, max_epochs=3, random_state=0).fit(X, y)
    >>> reg.predict(X).shape
    (40,)
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _criterion(self) -> type[torch.nn.Module]:
        return torch.nn.MSELoss

    @staticmethod
    def _epoch_score(y_true: np.ndarray, outputs: np.ndarray) -> float:
        """R^2 of the standardised targets (the same as of the original ones)."""
        return float(r2_score(y_true, outputs))

    def _prepare_targets(
        self, y: Any, n_samples: int, classes: Any = None
    ) -> tuple[np.ndarray, int]:
        if y is None:
            raise ValueError(
                "PhasedLSTMRegressor requires y to be passed, but the target y is None."
            )
        y = _targets(y, n_samples)
        self.y_ndim_ = y.ndim
        y2 = y.reshape(n_samples, -1)
        with np.errstate(over="ignore", invalid="ignore"):
            self.y_mean_ = y2.mean(axis=0)
            std = y2.std(axis=0)
        if not (np.isfinite(self.y_mean_).all() and np.isfinite(std).all()):
            raise ValueError(
                "y has values too large: their mean or standard deviation overflows float64; "
                "rescale y."
            )
        self.y_std_ = np.where(std > 1e-12, std, 1.0)
        return self._partial_targets(y, n_samples), y2.shape[1]

    def _partial_targets(self, y: Any, n_samples: int) -> np.ndarray:
        y2 = _targets(y, n_samples).reshape(n_samples, -1)
        if y2.shape[1] != len(self.y_mean_):
            raise ValueError(
                f"y has {y2.shape[1]} targets per sample, but the model predicts "
                f"{len(self.y_mean_)}."
            )
        return ((y2 - self.y_mean_) / self.y_std_).astype(np.float32)

    def _transform_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """Predictions from standardised outputs of shape (..., n_targets)."""
        out = outputs * self.y_std_ + self.y_mean_
        return out[..., 0] if self.y_ndim_ == 1 else out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        y, sample_weight = self._aligned(X, y, sample_weight)
        return RegressorMixin.score(self, X, y, sample_weight=sample_weight)

    score.__doc__ = score_doc(
        "R²",
        "array-like of shape (n_samples,) or (n_samples, n_targets)\n        True targets.",
    )

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> PhasedLSTMRegressor:
        """Train for one more epoch on ``X, y``, keeping the current model.

        The first call on an unfitted estimator fixes what later calls must match:
        the number of targets, the target standardisation, the channels, the time
        origin, the input standardisation and ``tau_range_``.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets (a pandas Series or DataFrame indexed by instance ids is matched to
            ``X``'s series by id, as in :meth:`fit`).
        sample_weight : array-like of shape (n_samples,), optional
            A weight per series in the loss (matched by id like ``y``): a series of
            weight 2 counts as much as two of weight 1. Weights are relative (scaled to
            mean 1 over the call's series); validation loss and early stopping are
            weighted too.

        Returns
        -------
        self : PhasedLSTMRegressor
        """
        return self._partial_fit(X, y, sample_weight=sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PhasedLSTMRegressor:
        """Train on series with real-valued targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, \
n_timepoints), or an sktime panel container
            Training series; see the user guide for the accepted formats.
        y : array-like of shape (n_samples,) or (n_samples, n_targets)
            Targets. A pandas Series or DataFrame indexed by ``X``'s instance ids (the ids
            of a ``pd-multiindex`` or ``nested_univ`` frame, or of
            :func:`sk_plstm.from_events`' output) is matched to the series by id; arrays
            and lists by position.
        sample_weight : array-like of shape (n_samples,), optional
            A weight per series in the loss (matched by id like ``y``): a series of
            weight 2 counts as much as two of weight 1. Weights are relative (scaled to
            mean 1 over the call's series); validation loss and early stopping are
            weighted too.

        Returns
        -------
        self : PhasedLSTMRegressor
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def predict_steps(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "net_")
        names = (
            ["prediction"]
            if self.y_ndim_ == 1
            else [f"prediction{j}" for j in range(len(np.atleast_1d(self.y_mean_)))]
        )
        return self._step_frame(X, names)

    predict_steps.__doc__ = steps_doc(
        "Predicted targets after every time point of each series.",
        "predict",
        "the column ``prediction`` (``prediction0``, ``prediction1``, ... for several targets)",
    )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted targets.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,) or (n_samples, n_targets)
            The shape follows the ``y`` given to :meth:`fit`.
        """
        return self._transform_outputs(self._forward(X))

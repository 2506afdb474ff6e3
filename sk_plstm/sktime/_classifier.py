"""sktime-native Phased LSTM classifier."""

from __future__ import annotations

from typing import Any

import numpy as np
from sktime.classification.base import BaseClassifier

from .._classifier import PhasedLSTMClassifier as _PhasedLSTMClassifier
from .._registry import loadable
from ._delegate import COMMON_TAGS, DelegatingEstimator

__all__ = ["PhasedLSTMClassifier"]


@loadable("sktime")
class PhasedLSTMClassifier(DelegatingEstimator, BaseClassifier):
    """Phased LSTM classifier as an sktime estimator.

    A ``BaseClassifier`` with the parameters of :class:`sk_plstm.PhasedLSTMClassifier`,
    to which it delegates (the fitted one is ``estimator_``). Use it in sktime's
    benchmarking, pipelines and tuning. Inputs reach the model with their time index:
    ``pd-multiindex``, ``nested_univ`` and ``df-list`` are passed on unconverted.
    sktime's own input checks accept integer, datetime and period time indexes in every
    container, and float time indexes in ``nested_univ`` only; for float times in
    ``pd-multiindex`` or ``df-list``, use :class:`sk_plstm.PhasedLSTMClassifier`
    directly, or convert to ``nested_univ``.

    Parameters
    ----------
    hidden_size, num_layers, cell, bidirectional, dropout, tau_range, r_on, leak, \
learn_tau, learn_shift, learn_r_on, final_r_on, time_unit, missing, standardize, \
time_inputs, level_inputs, readout, max_epochs, batch_size, \
lr, optimizer, weight_decay, grad_clip, validation_fraction, early_stopping, \
n_iter_no_change, tol, lr_schedule, checkpoint_dir, checkpoint_every, callbacks, device, \
distributed, random_state, verbose, class_weight
        As for :class:`sk_plstm.PhasedLSTMClassifier`.

    Attributes
    ----------
    estimator_ : sk_plstm.PhasedLSTMClassifier
        The fitted estimator.
    classes_ : ndarray of shape (n_classes,)
        Class labels.

    Examples
    --------
    >>> from sktime.datasets import load_unit_test
    >>> from sk_plstm.sktime import PhasedLSTMClassifier
    >>> X, y = load_unit_test(split="train", return_type="pd-multiindex")
    >>> clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=3, random_state=0)
    >>> clf.fit(X, y).predict(X).shape
    (20,)
    """

    _estimator_class = _PhasedLSTMClassifier
    _extra_params = _PhasedLSTMClassifier._extra_params
    _tags = {**COMMON_TAGS, "capability:predict_proba": True}

    def _predict_proba(self, X: Any) -> np.ndarray:
        return self.estimator_.predict_proba(X)

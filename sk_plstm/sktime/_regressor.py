"""sktime-native Phased LSTM regressor."""

from __future__ import annotations

from sktime.regression.base import BaseRegressor

from .._registry import loadable
from .._regressor import PhasedLSTMRegressor as _PhasedLSTMRegressor
from ._delegate import COMMON_TAGS, DelegatingEstimator

__all__ = ["PhasedLSTMRegressor"]


@loadable("sktime")
class PhasedLSTMRegressor(DelegatingEstimator, BaseRegressor):
    """Phased LSTM regressor as an sktime estimator.

    A ``BaseRegressor`` with the parameters of :class:`sk_plstm.PhasedLSTMRegressor`,
    to which it delegates (the fitted one is ``estimator_``). Inputs and time indexes
    are handled as described for :class:`sk_plstm.sktime.PhasedLSTMClassifier`.

    Parameters
    ----------
    hidden_size, num_layers, cell, bidirectional, dropout, tau_range, r_on, leak, \
learn_tau, learn_shift, learn_r_on, final_r_on, time_unit, missing, standardize, \
time_inputs, level_inputs, readout, max_epochs, batch_size, \
lr, optimizer, weight_decay, grad_clip, validation_fraction, early_stopping, \
n_iter_no_change, tol, lr_schedule, checkpoint_dir, checkpoint_every, callbacks, device, \
distributed, random_state, verbose
        As for :class:`sk_plstm.PhasedLSTMRegressor`.

    Attributes
    ----------
    estimator_ : sk_plstm.PhasedLSTMRegressor
        The fitted estimator.

    Examples
    --------
    >>> from sktime.datasets import load_tecator
    >>> from sk_plstm.sktime import PhasedLSTMRegressor
    >>> X, y = load_tecator(return_type="nested_univ")
    >>> reg = PhasedLSTMRegressor(hidden_size=8, max_epochs=2, random_state=0)
    >>> reg.fit(X[:30], y[:30]).predict(X[:5]).shape
    (5,)
    """

    _estimator_class = _PhasedLSTMRegressor
    _tags = {**COMMON_TAGS, "capability:multioutput": True, "y_inner_mtype": ["numpy2D", "numpy1D"]}

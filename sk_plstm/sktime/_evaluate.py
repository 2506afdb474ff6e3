"""Cross-validation of the sktime classes on their data as it is, nothing converted."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.exceptions import FitFailedWarning
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import KFold

from .._data import align_to_instances, instance_ids, select_series

__all__ = ["evaluate"]


def _classifies(estimator: Any) -> bool:
    """Whether ``estimator`` is a classifier (sktime's tag, or scikit-learn's)."""
    get_tag = getattr(estimator, "get_tag", None)
    if get_tag is not None:
        kind = get_tag("object_type", None, raise_error=False)
        if kind is not None:
            return kind == "classifier"
    try:
        return is_classifier(estimator)
    except AttributeError:
        return False


def evaluate(
    estimator: Any,
    cv: Any = None,
    X: Any = None,
    y: Any = None,
    scoring: Callable | None = None,
    return_data: bool = False,
    error_score: str | float = np.nan,
) -> pd.DataFrame:
    """Cross-validate an sktime classifier or regressor on ``X`` as given.

    sktime's ``evaluate`` for classifiers and regressors converts ``X`` to
    ``pd-multiindex`` before it splits it: a ``nested_univ`` frame with float times is
    then refused, and one whose channels have their own times loses the values that do
    not fall on the first channel's times. This function takes the same arguments and
    returns the same table, but splits the series in whatever container they come
    (:func:`sk_plstm._data.select_series`) and passes each fold to the estimator
    unconverted. It works with any estimator that has ``fit`` and ``predict``.

    Parameters
    ----------
    estimator : sktime or scikit-learn classifier or regressor
        Cloned for every fold.
    cv : int or scikit-learn splitter, optional
        Splits of the series; an int is that many shuffled folds; default 3 shuffled
        folds (as sktime's). Stratified splitters get ``y``.
    X : sktime panel container or any input the estimator takes
        ``n_series`` series.
    y : array-like of shape (n_series,)
        Labels or targets; a pandas Series indexed by ``X``'s instance ids is matched by id.
    scoring : callable, optional
        ``scoring(y_true, y_pred)``; default accuracy for classifiers, mean squared
        error for regressors.
    return_data : bool, default=False
        Also return each fold's ``y_train``, ``y_test`` and ``y_pred``.
    error_score : "raise" or float, default=nan
        The score of a fold whose fit or prediction fails (with a ``FitFailedWarning``),
        or ``"raise"`` to raise the error.

    Returns
    -------
    pandas.DataFrame
        One row per fold: ``test_{scoring name}``, ``fit_time``, ``pred_time``,
        ``len_y_train`` (and the data with ``return_data``).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from sk_plstm.sktime import PhasedLSTMClassifier, evaluate
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"a": [pd.Series(rng.normal(size=8), index=np.sort(rng.uniform(0, 5, 8)))
    ...                         for _ in range(12)]})  # float times: nested_univ
    >>> results = evaluate(PhasedLSTMClassifier(hidden_size=4, max_epochs=1), cv=2,
    ...                    X=X, y=np.arange(12) % 2)
    >>> list(results.columns)
    ['test_accuracy_score', 'fit_time', 'pred_time', 'len_y_train']
    """
    ids = instance_ids(X)
    y = np.asarray(align_to_instances(y, ids, "y"))
    n = len(ids) if ids is not None else len(X)
    if len(y) != n:
        raise ValueError(f"y has {len(y)} entries, but X has {n} series.")
    if cv is None or isinstance(cv, int):
        cv = KFold(n_splits=3 if cv is None else cv, shuffle=True)
    if scoring is None:
        scoring = accuracy_score if _classifies(estimator) else mean_squared_error
    name = f"test_{getattr(scoring, '__name__', 'score')}"
    rows = []
    for train, test in cv.split(np.zeros((n, 1)), y):
        train, test = np.sort(train), np.sort(test)
        row = {name: np.nan, "fit_time": np.nan, "pred_time": np.nan, "len_y_train": len(train)}
        y_pred = None
        try:
            start = time.perf_counter()
            fitted = clone(estimator).fit(select_series(X, train), y[train])
            row["fit_time"] = time.perf_counter() - start
            start = time.perf_counter()
            y_pred = fitted.predict(select_series(X, test))
            row["pred_time"] = time.perf_counter() - start
            row[name] = scoring(y[test], y_pred)
        except Exception as exc:  # as sktime's and scikit-learn's error_score
            if error_score == "raise":
                raise
            row[name] = error_score
            warnings.warn(
                f"A fold failed ({type(exc).__name__}: {exc}); its score is {error_score}.",
                FitFailedWarning,
                stacklevel=2,
            )
        if return_data:
            row.update(y_train=y[train], y_test=y[test], y_pred=y_pred)
        rows.append(row)
    return pd.DataFrame(rows)

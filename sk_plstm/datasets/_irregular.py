"""Turn a regularly sampled dataset into an irregularly sampled one."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._data import Panel, from_panel, to_panel

__all__ = ["make_irregular"]


def make_irregular(
    X: Any,
    keep: float = 0.5,
    *,
    min_points: int = 2,
    return_type: str = "pd-multiindex",
    time_unit: str = "s",
    random_state: int | np.random.RandomState | None = None,
) -> Any:
    """Randomly subsample the time points of each series, keeping their true times.

    Each series keeps a random subset of ``round(keep * length)`` of its time points
    (at least ``min_points``, at most all), chosen independently per series; the
    kept points keep their original timestamps, so the result is unequally spaced
    and, in general, of unequal length.

    Parameters
    ----------
    X : array-like or sktime panel container
        Series in any format the estimators accept, for example a 3-D array
        ``(n_samples, n_channels, n_timepoints)`` (sampled at ``0, 1, 2, ...``).
    keep : float, default=0.5
        Fraction of the time points kept, in ``(0, 1]``.
    min_points : int, default=2
        Fewest points kept per series (a series shorter than this is kept whole).
    return_type : {"pd-multiindex", "nested_univ", "df-list"}, default="pd-multiindex"
        Container of the result. Integer times stay integers (so sktime's own checks
        accept the result in every container); datetime times stay datetimes.
    time_unit : str, default="s"
        Unit used internally for datetime indexes (it does not change the result).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of time points.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
        The subsampled series, in the order of ``X``, channels named ``dim_0, ...``.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm.datasets import make_irregular
    >>> X = np.arange(20.0).reshape(2, 1, 10)
    >>> Xi = make_irregular(X, keep=0.3, random_state=0)
    >>> Xi.index.get_level_values(0).value_counts().tolist()
    [3, 3]
    """
    if not 0 < keep <= 1:
        raise ValueError(f"keep must be in (0, 1], got {keep!r}.")
    if int(min_points) != min_points or min_points < 1:
        raise ValueError(f"min_points must be a positive integer, got {min_points!r}.")
    panel, origin = to_panel(X, time_unit=time_unit, dtype=np.float64)
    rng = check_random_state(random_state)
    picks = []
    for length in panel.lengths:
        n_keep = min(int(length), max(int(min_points), int(round(keep * length))))
        picks.append(np.sort(rng.choice(int(length), n_keep, replace=False)))
    max_len = max(len(p) for p in picks)
    values = np.zeros((len(panel), max_len, panel.n_channels), dtype=panel.values.dtype)
    times = np.zeros((len(panel), max_len))
    for i, p in enumerate(picks):
        values[i, : len(p)] = panel.values[i, p]
        times[i, : len(p)] = panel.times[i, p]
        times[i, len(p) :] = panel.times[i, p[-1]]
    lengths = np.array([len(p) for p in picks], dtype=np.int64)
    return from_panel(Panel(values, times, lengths), origin, return_type)

"""Make a complete multichannel dataset asynchronous by removing observations."""

from __future__ import annotations

from numbers import Real
from typing import Any

import numpy as np
from sklearn.utils import check_random_state

from .._data import absolute_index, to_panel
from ._fusion import _check_return_type, _write

__all__ = ["make_missing"]


def make_missing(
    X: Any,
    missing: float = 0.6,
    *,
    return_type: str = "pd-multiindex",
    random_state: int | np.random.RandomState | None = None,
) -> Any:
    """Remove a fraction of each channel's observations, keeping the true times.

    The recipe Raindrop (Zhang et al., "Graph-guided network for irregularly sampled
    multivariate time series", ICLR 2022) used to make the PAMAP2 dataset irregular:
    in every series, each channel independently loses ``round(missing * n)`` of its
    ``n`` observations, chosen at random (independently per channel and per series),
    but always keeps at least one. The remaining observations keep their original
    times and values, so the channels of a series are observed at different times;
    removed entries are NaN.

    Parameters
    ----------
    X : array-like or sktime panel container
        Complete series in any format the estimators accept, for example a 3-D array
        ``(n_samples, n_channels, n_timepoints)`` (sampled at ``0, 1, 2, ...``) or a
        pd-multiindex DataFrame.
    missing : float, default=0.6
        Fraction of each channel's observations removed, in ``[0, 1)``.
    return_type : {"pd-multiindex", "df-list", "nested_univ", "events"}, \
default="pd-multiindex"
        Container of the result. ``"pd-multiindex"`` and ``"df-list"`` have a row for
        every time point where at least one channel kept its observation (time points
        where none did are dropped), NaN at the removed entries. ``"nested_univ"``
        holds in every cell a pandas Series of only that channel's kept observations,
        indexed by their times. ``"events"`` is a long DataFrame with columns
        ``instance, time, channel, value``, one row per kept observation. Integer times
        stay integers; datetime times stay datetimes.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of the removed observations.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
        The series, in the order of ``X``, channels named ``dim_0, dim_1, ...``; every
        channel of every series has at least one observation.

    Raises
    ------
    ValueError
        If ``missing`` is not in ``[0, 1)``, ``return_type`` is unknown, or ``X`` cannot
        be read.

    See Also
    --------
    make_irregular : Remove whole time points (every channel at once) instead.
    make_sensor_fusion : A task whose channels are asynchronous by design.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm.datasets import make_missing
    >>> X = np.arange(40.0).reshape(2, 2, 10)
    >>> Xm = make_missing(X, missing=0.6, random_state=0)
    >>> Xm.notna().groupby(level=0).sum().to_numpy().tolist()
    [[4, 4], [4, 4]]
    >>> bool(Xm.notna().any(axis=1).all()), Xm.index.get_level_values(1).dtype.kind
    (True, 'i')
    """
    if isinstance(missing, bool) or not isinstance(missing, Real) or not 0 <= missing < 1:
        raise ValueError(f"missing must be a number in [0, 1), got {missing!r}.")
    _check_return_type(return_type)
    panel, origin = to_panel(X, dtype=np.float64)
    rng = check_random_state(random_state)
    channels = [f"dim_{c}" for c in range(panel.n_channels)]
    series = []
    for i, length in enumerate(panel.lengths):
        index = absolute_index(panel.times[i, :length], origin).to_numpy()
        values = panel.values[i, :length]
        observed = []
        for c in range(panel.n_channels):
            present = np.flatnonzero(np.isfinite(values[:, c]))
            n_keep = min(len(present), max(1, len(present) - int(round(missing * len(present)))))
            keep = np.sort(rng.choice(present, n_keep, replace=False))
            observed.append((index[keep], values[keep, c]))
        series.append(observed)
    return _write(series, channels, return_type)

"""The synthetic tasks of the Phased LSTM paper (Neil, Pfeiffer & Liu, 2016), generated.

Every generator is seeded by ``random_state`` and returns data that the package's
estimators take directly; times are in milliseconds where the task has a time axis.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state

from .._data import Panel, TimeOrigin, from_panel

__all__ = [
    "make_adding_task",
    "make_event_digits",
    "make_frequency_discrimination",
    "make_two_frequency_discrimination",
]

SAMPLINGS = ("standard", "high_resolution", "asynchronous")


def _check_n_samples(n_samples: int) -> int:
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < 2:
        raise ValueError(f"n_samples must be an integer >= 2, got {n_samples!r}.")
    return int(n_samples)


def _pack(series: list[tuple[np.ndarray, np.ndarray]], return_type: str) -> Any:
    """(times, values (n, channels)) per sample -> a container of the package's formats."""
    lengths = np.array([len(t) for t, _ in series], dtype=np.int64)
    n_channels = series[0][1].shape[1]
    values = np.zeros((len(series), lengths.max(), n_channels), dtype=np.float32)
    times = np.zeros((len(series), lengths.max()))
    for i, (t, v) in enumerate(series):
        values[i, : len(t)] = v
        times[i, : len(t)] = t
        times[i, len(t) :] = t[-1]
    return from_panel(Panel(values, times, lengths), TimeOrigin("numeric", 0.0), return_type)


def _sample_times(
    rng: np.random.RandomState, sampling: str, start: float, duration: float, points: tuple
) -> np.ndarray:
    if sampling == "standard":
        return start + np.arange(0.0, duration, 1.0)
    if sampling == "high_resolution":
        return start + np.arange(0.0, duration, 0.1)
    n = rng.randint(points[0], points[1] + 1)
    # distinct, sorted random times in [start, start + duration)
    return start + np.unique(rng.uniform(0.0, duration, n))


def _frequency_task(
    n_samples: int,
    bands: list[tuple[float, float]],
    sampling: str,
    points: tuple[int, int],
    period_range: tuple[float, float],
    duration_range: tuple[float, float],
    return_type: str,
    random_state: Any,
) -> tuple[Any, np.ndarray]:
    n_samples = _check_n_samples(n_samples)
    if sampling not in SAMPLINGS:
        raise ValueError(f"sampling must be one of {SAMPLINGS}, got {sampling!r}.")
    rng = check_random_state(random_state)
    log_lo, log_hi = np.log(period_range[0]), np.log(period_range[1])
    in_band = np.zeros(n_samples, dtype=bool)
    in_band[: n_samples // 2] = True  # the first half is drawn from the target bands
    rng.shuffle(in_band)
    series, labels = [], np.zeros(n_samples, dtype=np.int64)
    for i in range(n_samples):
        duration = rng.uniform(*duration_range)
        start = rng.uniform(0.0, duration_range[1] - duration)
        times = _sample_times(rng, sampling, start, duration, points)
        wave = np.zeros_like(times)
        hits = []
        for low, high in bands:
            if in_band[i]:
                period = rng.uniform(low, high)
            else:
                period = np.exp(rng.uniform(log_lo, log_hi))
            shift = rng.uniform(0.0, duration)
            wave += np.sin(2.0 * np.pi * times / period - shift)
            hits.append(low <= period <= high)
        labels[i] = int(all(hits))
        series.append((times, wave[:, None]))
    return _pack(series, return_type), labels


def make_frequency_discrimination(
    n_samples: int = 1000,
    *,
    sampling: str = "standard",
    return_type: str = "nested_univ",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, np.ndarray]:
    """Frequency discrimination (task 1 of the paper): is a sine's period in [5, 6] ms.

    Each sample is ``sin(2 pi t / T - shift)`` over a window of duration uniform in
    [15, 125] ms starting uniformly in ``[0, 125 - duration]`` ms, with ``shift``
    uniform in ``[0, duration]``. Half of the samples have ``T`` uniform in the target
    band [5, 6] ms; the other half ``T`` log-uniform in [1, 100] ms (which falls in the
    band about 4% of the time). The label is 1 when ``T`` is in the band.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    sampling : {"standard", "high_resolution", "asynchronous"}, default="standard"
        Every 1 ms, every 0.1 ms, or 15 to 125 random time points per sample.
    return_type : {"nested_univ", "pd-multiindex", "df-list"}, default="nested_univ"
        Container of ``X``; the time index holds the times in ms (float). sktime's own
        checks accept float time indexes in ``"nested_univ"`` only.
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    X : pandas.DataFrame or list of pandas.DataFrame
        ``n_samples`` univariate series of 15 to 1250 points.
    y : numpy.ndarray of shape (n_samples,)
        1 where the period is in [5, 6] ms, else 0 (about 52% ones).

    Examples
    --------
    >>> from sk_plstm.datasets import make_frequency_discrimination
    >>> X, y = make_frequency_discrimination(8, sampling="asynchronous", random_state=0)
    >>> X.shape, y.shape
    ((8, 1), (8,))
    """
    return _frequency_task(
        n_samples,
        [(5.0, 6.0)],
        sampling,
        (15, 125),
        (1.0, 100.0),
        (15.0, 125.0),
        return_type,
        random_state,
    )


def make_two_frequency_discrimination(
    n_samples: int = 1000,
    *,
    return_type: str = "nested_univ",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, np.ndarray]:
    """Frequency discrimination with two frequencies (task 2 of the paper).

    Each sample is the sum of two sines, ``sin(2 pi t / T1 - s1) + sin(2 pi t / T2 - s2)``,
    observed at 100 to 1000 random (asynchronous) time points over a window of duration
    uniform in [15, 125] ms. Half of the samples have ``T1`` uniform in [5, 6] ms and
    ``T2`` uniform in [13, 15] ms; the other half draw both log-uniformly in [1, 100] ms.
    The label is 1 when both periods are in their bands.

    Parameters
    ----------
    n_samples : int, default=1000
        Number of samples.
    return_type : {"nested_univ", "pd-multiindex", "df-list"}, default="nested_univ"
        Container of ``X`` (times in ms, float).
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    X : pandas.DataFrame or list of pandas.DataFrame
        ``n_samples`` univariate series of 100 to 1000 points.
    y : numpy.ndarray of shape (n_samples,)
        1 where both periods are in their bands, else 0 (about 50% ones).

    Examples
    --------
    >>> from sk_plstm.datasets import make_two_frequency_discrimination
    >>> X, y = make_two_frequency_discrimination(6, random_state=0)
    >>> int(X.iloc[0, 0].size) >= 100
    True
    """
    return _frequency_task(
        n_samples,
        [(5.0, 6.0), (13.0, 15.0)],
        "asynchronous",
        (100, 1000),
        (1.0, 100.0),
        (15.0, 125.0),
        return_type,
        random_state,
    )


def make_adding_task(
    n_samples: int = 1000,
    length: int = 500,
    *,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The adding problem: add the two marked values of a long sequence (regression).

    Channel 0 holds values uniform in [0, 1); channel 1 marks two steps with 1, one in
    the first half of the sequence and one in the second. The target is the sum of the
    two marked values (predicting the mean, 1, gives a mean squared error of about 1/6).

    Parameters
    ----------
    n_samples : int, default=1000
        Number of sequences.
    length : int, default=500
        Steps per sequence (sampled at ``0, 1, 2, ...``), at least 2.
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    X : numpy.ndarray of shape (n_samples, 2, length)
        Values and markers, in the package's 3-D layout.
    y : numpy.ndarray of shape (n_samples,)
        Sum of the two marked values, in [0, 2).

    Examples
    --------
    >>> from sk_plstm.datasets import make_adding_task
    >>> X, y = make_adding_task(4, length=50, random_state=0)
    >>> X.shape, X[:, 1].sum(axis=1).tolist()
    ((4, 2, 50), [2.0, 2.0, 2.0, 2.0])
    """
    n_samples = _check_n_samples(n_samples)
    if isinstance(length, bool) or int(length) != length or length < 2:
        raise ValueError(f"length must be an integer >= 2, got {length!r}.")
    rng = check_random_state(random_state)
    half = length // 2
    X = np.zeros((n_samples, 2, length))
    X[:, 0] = rng.uniform(0.0, 1.0, (n_samples, length))
    rows = np.arange(n_samples)
    first = rng.randint(0, half, n_samples)
    second = rng.randint(half, length, n_samples)
    X[rows, 1, first] = 1.0
    X[rows, 1, second] = 1.0
    return X, X[rows, 0, first] + X[rows, 0, second]


def make_event_digits(
    n_samples: int | None = None,
    *,
    duration: float = 100.0,
    rate: float = 0.005,
    return_type: str = "df-list",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, np.ndarray]:
    """Event streams from scikit-learn's 8 x 8 digits, in the spirit of N-MNIST.

    Each image is shown for the first half of ``duration`` and removed for the second:
    while shown, every pixel emits ON events as a Poisson process with rate
    ``rate * intensity`` per ms (intensity 0 to 16); after removal it emits OFF events at
    the same rate. An event is one time point whose channels one-hot encode its pixel
    and polarity: channel ``pixel`` for ON, ``64 + pixel`` for OFF (128 channels). With
    the defaults a sample has about 100-220 events at irregular times.

    Parameters
    ----------
    n_samples : int or None, default=None
        Number of images used, drawn without replacement; all 1797 when None.
    duration : float, default=100.0
        Length of each stream in ms.
    rate : float, default=0.005
        Events per ms per unit of pixel intensity.
    return_type : {"df-list", "pd-multiindex", "nested_univ"}, default="df-list"
        Container of ``X`` (times in ms, float).
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of images and the event times.

    Returns
    -------
    X : list of pandas.DataFrame or pandas.DataFrame
        ``n_samples`` streams of 128 channels.
    y : numpy.ndarray of shape (n_samples,)
        The digit, 0 to 9.

    Examples
    --------
    >>> from sk_plstm.datasets import make_event_digits
    >>> X, y = make_event_digits(3, random_state=0)
    >>> len(X), X[0].shape[1], sorted(set(X[0].to_numpy().sum(axis=1).tolist()))
    (3, 128, [1.0])
    """
    digits = load_digits()
    rng = check_random_state(random_state)
    total = len(digits.target)
    if n_samples is None:
        n_samples = total
    n_samples = _check_n_samples(n_samples)
    if n_samples > total:
        raise ValueError(f"n_samples must be at most {total} (the digits available).")
    if not duration > 0 or not rate > 0:
        raise ValueError(f"duration and rate must be positive, got {duration!r} and {rate!r}.")
    chosen = rng.choice(total, n_samples, replace=False)
    half = duration / 2.0
    series = []
    for image in digits.images[chosen]:
        intensity = image.ravel()
        channels, times = [], []
        for polarity, offset in ((0, 0.0), (1, half)):
            counts = rng.poisson(rate * intensity * half)
            for pixel in np.flatnonzero(counts):
                times.append(offset + rng.uniform(0.0, half, counts[pixel]))
                channels.append(np.full(counts[pixel], 64 * polarity + pixel))
        t = np.concatenate(times)
        c = np.concatenate(channels)
        t, first = np.unique(t, return_index=True)  # distinct times (ties are negligible)
        onehot = np.zeros((len(t), 128))
        onehot[np.arange(len(t)), c[first]] = 1.0
        series.append((t, onehot))
    return _pack(series, return_type), digits.target[chosen].astype(np.int64)

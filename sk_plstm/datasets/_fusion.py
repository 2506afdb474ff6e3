"""Sensor fusion: a task whose label needs every one of several asynchronous sensors.

Each sensor is sampled at its own rate and at its own jittered times; a time point where
one sensor was observed is, in general, a time point where the others were not. The
containers are built with pandas, NaN marking "not observed".
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._data import to_events

__all__ = ["make_sensor_fusion"]

#: Containers the asynchronous generators can write.
RETURN_TYPES = ("pd-multiindex", "df-list", "nested_univ", "events")
LABELS = ("combination", "parity")


def _check_return_type(return_type: str) -> None:
    if return_type not in RETURN_TYPES:
        raise ValueError(f"return_type must be one of {RETURN_TYPES}, got {return_type!r}.")


def _write(
    series: list[list[tuple[np.ndarray, np.ndarray]]], channels: list[str], return_type: str
) -> Any:
    """Per series, per channel ``(times, values)`` -> the container ``return_type``.

    Parameters
    ----------
    series : list of list of (numpy.ndarray of shape (n_obs,), numpy.ndarray of shape \
(n_obs,))
        For every series, the observations of every channel (in the order of
        ``channels``): strictly increasing times (numbers, datetime64 or timedelta64)
        and their values.
    channels : list of str
        Channel names.
    return_type : {"pd-multiindex", "df-list", "nested_univ", "events"}
        ``"pd-multiindex"`` and ``"df-list"`` put the union of the channels' times in
        the rows, NaN where a channel was not observed; ``"nested_univ"`` keeps each
        channel's own index; ``"events"`` is one row per observation.

    Returns
    -------
    pandas.DataFrame or list of pandas.DataFrame
    """
    _check_return_type(return_type)
    if return_type in ("nested_univ", "events"):
        nested = pd.DataFrame(
            {
                name: [
                    pd.Series(
                        np.asarray(observed[c][1], dtype=np.float64), pd.Index(observed[c][0])
                    ).rename(name)
                    for observed in series
                ]
                for c, name in enumerate(channels)
            }
        )
        # events: one row per observation, by instance, time and channel (the data module's)
        return nested if return_type == "nested_univ" else to_events(nested)
    # the union of the channels' times in the rows, NaN where a channel was not observed
    unions, tables = [], []
    for observed in series:
        union, where = np.unique(np.concatenate([t for t, _ in observed]), return_inverse=True)
        table = np.full((len(union), len(channels)), np.nan)
        start = 0
        for c, (t, v) in enumerate(observed):
            table[where[start : start + len(t)], c] = v
            start += len(t)
        unions.append(union)
        tables.append(table)
    if return_type == "df-list":
        return [pd.DataFrame(v, pd.Index(t), list(channels)) for t, v in zip(unions, tables)]
    ids = np.repeat(np.arange(len(series)), [len(t) for t in unions])
    index = pd.MultiIndex.from_arrays([ids, np.concatenate(unions)])
    return pd.DataFrame(np.concatenate(tables), index, list(channels))


def _check_positive_number(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}.")
    return float(value)


def _check_duration(duration: Any) -> tuple[float, float]:
    if np.ndim(duration) == 0:
        low = high = _check_positive_number(duration, "duration")
    else:
        if len(duration) != 2:
            raise ValueError(f"duration must be a number or a pair (low, high), got {duration!r}.")
        low = _check_positive_number(duration[0], "duration")
        high = _check_positive_number(duration[1], "duration")
        if low > high:
            raise ValueError(f"duration must have low <= high, got {duration!r}.")
    return low, high


def _check_counts(n_observations: Any, n_sensors: int) -> np.ndarray:
    if n_observations is None:  # geometric from 64 down to 32
        return np.round(64.0 * 0.5 ** (np.arange(n_sensors) / (n_sensors - 1))).astype(int)
    if np.ndim(n_observations) != 1 or len(n_observations) != n_sensors:
        raise ValueError(
            f"n_observations must hold {n_sensors} counts, one per sensor; got {n_observations!r}."
        )
    for count in n_observations:
        if isinstance(count, bool) or int(count) != count or count < 4:
            raise ValueError(f"n_observations must be integers >= 4, got {n_observations!r}.")
    return np.array(n_observations, dtype=int)


def _grid_times(rng: np.random.RandomState, n: int, duration: float, jitter: float) -> np.ndarray:
    """``n`` strictly increasing times in ``[0, duration]``, one in each ``1/n`` of it.

    Point ``j`` sits at the middle of its slot, moved by up to ``jitter / 2`` of the
    spacing; for ``jitter <= 1`` the points stay in their slots, so they are in order.
    """
    steps = np.arange(n) + 0.5 + jitter * (rng.uniform(0.0, 1.0, n) - 0.5)
    times = steps * (duration / n)
    return np.unique(times)  # sorted; equal neighbours have probability zero


# fast oscillations are log-uniform in [1.15, 1.7] times a sensor's threshold frequency,
# slow ones in [1 / 1.7, 1 / 1.15] times it
_BAND = (1.15, 1.7)
# a sensor's threshold frequency: one cycle per this many of its observations, in a
# window of typical duration
_OBSERVATIONS_PER_CYCLE = 10.0


def make_sensor_fusion(
    n_samples: int = 400,
    *,
    n_sensors: int = 2,
    n_observations: tuple[int, ...] | None = None,
    duration: float | tuple[float, float] = (2.0, 10.0),
    rate_spread: float = 1.5,
    jitter: float = 0.5,
    noise: float = 0.3,
    labels: str = "combination",
    return_type: str = "pd-multiindex",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, np.ndarray]:
    """Classify by the frequencies of several sensors, each sampled at its own rate.

    Every sample is a window of ``D`` seconds, starting at time 0, with ``D``
    log-uniform in ``duration``. In it each sensor ``k`` records a noisy sine, ``a
    sin(2 pi f t + phi) + b + noise * e`` (amplitude ``a`` uniform in [0.5, 1.5], phase
    ``phi`` uniform, offset ``b`` normal with standard deviation 0.5, ``e`` standard
    normal). Its frequency ``f`` carries one bit, slow (0) or fast (1): fast
    frequencies are log-uniform in ``[1.15, 1.7] * f_k``, slow ones in ``[1 / 1.7,
    1 / 1.15] * f_k``, around the sensor's threshold ``f_k = n_k / (10 sqrt(D_low
    D_high))`` Hz (one cycle per 10 of its observations in a window of typical
    duration). The bits of the sensors are independent, drawn so that the classes are
    balanced, and the label combines all of them: no sensor alone tells the class (it
    tells at most one bit).

    Each sensor is sampled at its own rate and its own times: sensor ``k`` takes about
    ``n_k = n_observations[k]`` observations per sample (times a factor log-uniform in
    ``[1 / sqrt(rate_spread), sqrt(rate_spread)]``, drawn per sample and sensor), one in
    each equal slot of the window, moved off the slot's middle by up to ``jitter / 2``
    of the spacing. Its rate in a sample is its count divided by ``D``: the sensors keep
    their ratio of rates, but a short window is sampled faster than a long one. As
    neither the counts nor the order of the observations depend on ``D``, the sequence
    of values without its times only tells the number of cycles in the window, ``f D``;
    the frequency itself needs the times (with a fixed ``duration`` it does not).

    Parameters
    ----------
    n_samples : int, default=400
        Number of samples; at least 2 and at least the number of classes.
    n_sensors : int, default=2
        Number of sensors, at least 2. Channels are named ``sensor_0, sensor_1, ...``.
    n_observations : tuple of int or None, default=None
        Typical number of observations of each sensor per sample (at least 4 each);
        None spaces them geometrically from 64 down to 32 (``(64, 32)`` for two
        sensors).
    duration : float or (float, float), default=(2.0, 10.0)
        Duration of each sample's window in seconds, or the range it is drawn from
        (log-uniformly).
    rate_spread : float, default=1.5
        Ratio of the highest to the lowest count of a sensor's observations, at least 1
        (1: sensor ``k`` always takes ``n_observations[k]``).
    jitter : float, default=0.5
        How far each time moves off the middle of its slot, in ``[0, 1]`` (fractions of
        the spacing, total width); 0 samples each sensor regularly.
    noise : float, default=0.3
        Standard deviation of the Gaussian noise on every observation, at least 0.
    labels : {"combination", "parity"}, default="combination"
        ``"combination"``: the class is the sensors' bits read as a binary number,
        ``y = sum_k bit_k 2**k`` (``2**n_sensors`` classes; for two sensors, 0: both
        slow, 1: sensor 0 fast, 2: sensor 1 fast, 3: both fast). ``"parity"``: the
        class is the parity of the number of fast sensors (2 classes, the XOR of all
        the bits).
    return_type : {"pd-multiindex", "df-list", "nested_univ", "events"}, \
default="pd-multiindex"
        Container of ``X``, times in seconds (float). ``"pd-multiindex"`` (levels:
        sample, time) and ``"df-list"`` have one row per time where at least one sensor
        was observed (the union of the sensors' times), with NaN in the sensors not
        observed then. ``"nested_univ"`` holds in every cell a pandas Series of only
        that sensor's observations, indexed by its own times (the sensors of a sample
        have different indexes). ``"events"`` is a long DataFrame with columns
        ``instance, time, channel, value``, one row per observation, sorted by instance
        and time.
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    X : pandas.DataFrame or list of pandas.DataFrame
        ``n_samples`` series of ``n_sensors`` channels; every container holds the same
        observations.
    y : numpy.ndarray of shape (n_samples,)
        The class, int64; every class occurs ``n_samples // n_classes`` times or once
        more.

    Raises
    ------
    ValueError
        If an argument is out of range or of the wrong kind.

    See Also
    --------
    make_missing : Make a complete dataset asynchronous by removing observations.

    Examples
    --------
    >>> from sk_plstm.datasets import make_sensor_fusion
    >>> X, y = make_sensor_fusion(8, random_state=0)
    >>> list(X.columns), sorted(set(y.tolist()))
    (['sensor_0', 'sensor_1'], [0, 1, 2, 3])
    >>> first = X.loc[0]
    >>> bool(first.notna().any(axis=1).all()), bool(first.isna().any(axis=None))
    (True, True)
    >>> events, _ = make_sensor_fusion(8, return_type="events", random_state=0)
    >>> list(events.columns), len(events) == int(X.notna().sum().sum())
    (['instance', 'time', 'channel', 'value'], True)
    """
    if isinstance(n_sensors, bool) or int(n_sensors) != n_sensors or n_sensors < 2:
        raise ValueError(f"n_sensors must be an integer >= 2, got {n_sensors!r}.")
    n_sensors = int(n_sensors)
    if labels not in LABELS:
        raise ValueError(f"labels must be one of {LABELS}, got {labels!r}.")
    n_classes = 2**n_sensors if labels == "combination" else 2
    if isinstance(n_samples, bool) or int(n_samples) != n_samples or n_samples < n_classes:
        raise ValueError(
            f"n_samples must be an integer >= the number of classes ({n_classes}), "
            f"got {n_samples!r}."
        )
    n_samples = int(n_samples)
    counts = _check_counts(n_observations, n_sensors)
    low, high = _check_duration(duration)
    spread = _check_positive_number(rate_spread, "rate_spread")
    if spread < 1:
        raise ValueError(f"rate_spread must be >= 1, got {rate_spread!r}.")
    if isinstance(jitter, bool) or not 0 <= jitter <= 1:
        raise ValueError(f"jitter must be in [0, 1], got {jitter!r}.")
    if isinstance(noise, bool) or not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}.")
    _check_return_type(return_type)

    rng = check_random_state(random_state)
    # balanced classes: every combination of bits equally often, in random order (the
    # parities of 0, 1, 2, ... differ within each pair (2j, 2j + 1), so they balance too)
    codes = (np.arange(n_samples) % 2**n_sensors)[rng.permutation(n_samples)]
    bits = (codes[:, None] >> np.arange(n_sensors)) & 1
    thresholds = counts / (_OBSERVATIONS_PER_CYCLE * np.sqrt(low * high))
    band = np.log(_BAND)
    half_spread = np.log(spread) / 2.0
    series = []
    for i in range(n_samples):
        length = np.exp(rng.uniform(np.log(low), np.log(high)))
        observed = []
        for k in range(n_sensors):
            n = max(2, int(round(counts[k] * np.exp(rng.uniform(-half_spread, half_spread)))))
            times = _grid_times(rng, n, length, float(jitter))
            sign = 1.0 if bits[i, k] else -1.0
            frequency = thresholds[k] * np.exp(sign * rng.uniform(band[0], band[1]))
            amplitude = rng.uniform(0.5, 1.5)
            phase = rng.uniform(0.0, 2.0 * np.pi)
            offset = rng.normal(0.0, 0.5)
            values = amplitude * np.sin(2.0 * np.pi * frequency * times + phase) + offset
            values = values + noise * rng.standard_normal(len(times))
            observed.append((times, values))
        series.append(observed)
    y = codes if labels == "combination" else bits.sum(axis=1) % 2
    channels = [f"sensor_{k}" for k in range(n_sensors)]
    return _write(series, channels, return_type), y.astype(np.int64)

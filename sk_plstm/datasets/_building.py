"""Building occupancy: room-days of asynchronous sensors, as they come from a database.

Every series is one room on one working day: a temperature sensor reporting about every
ten minutes, a humidity sensor reporting at random times and a door contact that logs an
event of value 1 whenever the door opens. The label (was the room occupied, or for how
many hours) needs the temperature's rise over the room's own level and the door events
together: days without people can have a warm spell (sun, heating) or a busy door
(corridor traffic, deliveries), but not both.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._data import from_events
from ._fusion import _check_return_type

__all__ = ["make_building_occupancy"]

TARGETS = ("occupied", "hours")
#: The channels, in the (sorted) order ``from_events`` puts them in.
CHANNELS = ("door", "humidity", "temperature")
#: The first date of every room (a Monday); each room's days are the working days after.
FIRST_DAY = "2026-03-02"

# the kinds of room-day: occupied, and three kinds of empty day (neither a warm spell nor
# a busy door alone tells an occupied day); of the empty days, this share is quiet, and
# the rest are split evenly between warm spells and busy doors
_QUIET_SHARE = 0.2
_OCCUPIED, _QUIET, _WARM, _BUSY = 0, 1, 2, 3

_HOUR = 3600.0
_TEMPERATURE_STEP = 600.0  # seconds between temperature readings
_TEMPERATURE_JITTER = 30.0  # seconds, either way
_HUMIDITY_PER_DAY = 36.0  # mean number of humidity readings (a Poisson process)


def _check_time_zone(time_zone: Any) -> None:
    problem = not isinstance(time_zone, (str, datetime.tzinfo))
    if not problem:
        try:
            pd.Timestamp(FIRST_DAY).tz_localize(time_zone)
        except Exception:  # pandas raises several kinds for an unknown zone
            problem = True
    if problem:
        raise ValueError(
            "time_zone must be a time zone name such as 'Europe/Berlin' or a tzinfo, "
            f"got {time_zone!r}."
        )


def _local_day(date: pd.Timestamp, time_zone: Any) -> tuple[pd.Timestamp, float]:
    """Local midnight of ``date`` and the seconds to the next one.

    24 hours, or 23 / 25 on a day the clocks change. Where a midnight occurs twice, the
    first counts; where the clocks skip it, the first time after it.
    """
    start, end = (
        pd.Timestamp(day).tz_localize(time_zone, ambiguous=True, nonexistent="shift_forward")
        for day in (date, date + pd.Timedelta(days=1))
    )
    return start, float((end - start).total_seconds())


def _blocks(rng: np.random.RandomState) -> np.ndarray:
    """One to three blocks ``(start, end)`` in hours after midnight, each 1 to 3.5 h long.

    The first starts between 7:00 and 10:00, the next ones 0.5 to 2.5 h after the end of
    the previous one, and a block that would end after 19:00 is left out.
    """
    blocks = []
    start = rng.uniform(7.0, 10.0)
    for _ in range(rng.randint(1, 4)):
        end = start + rng.uniform(1.0, 3.5)
        if end > 19.0:
            break
        blocks.append((start, end))
        start = end + rng.uniform(0.5, 2.5)
    return np.array(blocks) * _HOUR


def _response(times: np.ndarray, blocks: np.ndarray, delay: float, tau: float) -> np.ndarray:
    """A first-order lag's response to a unit input during each block, at ``times``.

    The input starts ``delay`` seconds after each block begins and stops ``delay`` after
    it ends; the output rises towards 1 with time constant ``tau`` seconds while it is
    on and decays towards 0 after.
    """
    out = np.zeros(len(times))
    for start, end in blocks:
        on, off = start + delay, end + delay
        reached = 1.0 - np.exp(-(off - on) / tau)
        during = (times >= on) & (times < off)
        out[during] += 1.0 - np.exp(-(times[during] - on) / tau)
        after = times >= off
        out[after] += reached * np.exp(-(times[after] - off) / tau)
    return out


def _doors(rng: np.random.RandomState, blocks: np.ndarray, day: float) -> np.ndarray:
    """Door events, in whole seconds after midnight.

    People coming and going during each block, and a few at random between 6:00 and
    21:00 (cleaning, someone passing).
    """
    times = [rng.uniform(6.0 * _HOUR, 21.0 * _HOUR, rng.poisson(rng.uniform(1.0, 4.0)))]
    for start, end in blocks:
        arriving = 2 + rng.poisson(4.0)
        leaving = 2 + rng.poisson(4.0)
        times.append(start + rng.exponential(300.0, arriving) - 120.0)
        times.append(end - rng.exponential(300.0, leaving) + 120.0)
        rate = rng.uniform(2.0, 6.0) / _HOUR
        times.append(rng.uniform(start, end, rng.poisson(rate * (end - start))))
    times = np.round(np.concatenate(times))
    return np.unique(times[(times >= 0) & (times < day)])


def make_building_occupancy(
    n_series: int = 400,
    *,
    target: str = "occupied",
    return_type: str = "events",
    time_zone: Any = "Europe/Berlin",
    random_state: int | np.random.RandomState | None = None,
) -> tuple[Any, np.ndarray]:
    """Tell occupied room-days from a building's temperature, humidity and door sensors.

    Each series is one room on one working day, from midnight to midnight local time,
    as a building's database holds it: time-zone aware timestamps to the second, and
    three channels, each observed at its own times:

    - ``temperature`` (degrees Celsius, 0.01 resolution): every 10 minutes from a random
      phase, each reading up to 30 s early or late (about 144 a day). Every room has its
      own level, uniform in [18, 24] (and moved by a few tenths from day to day), so
      the absolute temperature says little; on top of it a slow drift over the day (up
      to 0.2 degrees) and noise (standard deviation 0.05).
    - ``humidity`` (percent relative humidity, 0.1 resolution): at random times, a
      Poisson process of 36 readings a day on average; the room's level (uniform in [35,
      50], moved by a few percent from day to day), a slow drift (up to 3) and noise
      (standard deviation 0.8).
    - ``door``: one event of value 1 each time the door opens (the value never changes:
      the information is in the times and the counts); 1 to 4 a day on average at random
      between 6:00 and 21:00 (cleaning, someone passing).

    Half of the days (``n_series // 2``) are occupied: one to three blocks of 1 to 3.5 h
    each between 7:00 and 19:00 (a meeting, a working session), with a burst of door
    events as people arrive and leave (2 + Poisson(4) each) and 2 to 6 an hour in
    between. Some minutes after people arrive the temperature rises, as a first-order
    lag (time constant 30 to 50 minutes), towards 1.4 to 2.3 degrees over the room's
    level, and decays after they leave; the humidity rises mildly (1 to 3 percent) with
    the same lag. Of the empty days, 40% have the same temperature rise from the sun or
    the heating (but only the random door events), 40% the same door traffic from
    deliveries or a corridor (but no rise) and 20% neither. So the temperature rise alone
    or the number of door events alone tells the class of about 80% of the days, and the
    two together of nearly all.

    Parameters
    ----------
    n_series : int, default=400
        Number of room-days, at least 2. They are spread over ``ceil(sqrt(n_series))``
        rooms, each observed on consecutive working days from Monday 2 March 2026.
    target : {"occupied", "hours"}, default="occupied"
        ``"occupied"``: 1 when the room was occupied for at least an hour that day, else
        0 (balanced classes). ``"hours"``: the number of hours the room was occupied (a
        float, 0 on every day it was not, 1 to about 9 on the others). The series are
        the same for both.
    return_type : {"events", "pd-multiindex", "df-list", "nested_univ"}, \
default="events"
        Container of ``X``. ``"events"`` is a long DataFrame with columns ``instance,
        time, channel, value``, one row per observation, sorted by instance, time and
        channel: the layout :func:`sk_plstm.from_events` reads. The others are what
        ``from_events(X, return_type=...)`` makes of it: ``"pd-multiindex"`` (levels:
        instance, time) and ``"df-list"`` have one row per time where at least one
        channel was observed, NaN in the others; ``"nested_univ"`` holds in every cell a
        pandas Series of only that channel's observations.
    time_zone : str or tzinfo, default="Europe/Berlin"
        Time zone of the timestamps; the days run from local midnight to local midnight
        (23 or 25 hours on a day the clocks change).
    random_state : int, RandomState instance or None, default=None
        Seeds every draw.

    Returns
    -------
    X : pandas.DataFrame or list of pandas.DataFrame
        ``n_series`` series of the channels ``door, humidity, temperature``. Instance ids
        are strings ``"room07_2026-03-02"`` (room, then the local date), generated in
        sorted order, so that :func:`sk_plstm.from_events` (which orders the series by
        id) keeps the order of ``y``. Times are ``datetime64[ns, time_zone]``.
    y : numpy.ndarray of shape (n_series,)
        ``y[i]`` belongs to the ``i``-th instance id in sorted order: int64 in {0, 1}
        (``n_series // 2`` ones) for ``target="occupied"``, float64 hours >= 0 for
        ``target="hours"``.

    Raises
    ------
    ValueError
        If an argument is out of range or of the wrong kind.

    See Also
    --------
    make_sensor_fusion : Asynchronous sensors whose label needs each of them.
    sk_plstm.from_events : Read an event table into the estimators' containers.

    Examples
    --------
    >>> from sk_plstm import from_events
    >>> from sk_plstm.datasets import make_building_occupancy
    >>> events, y = make_building_occupancy(8, random_state=0)
    >>> events.head(3)
                instance                      time      channel  value
    0  room00_2026-03-02 2026-03-02 00:04:08+01:00  temperature  21.69
    1  room00_2026-03-02 2026-03-02 00:13:19+01:00  temperature  21.65
    2  room00_2026-03-02 2026-03-02 00:14:04+01:00     humidity  49.30
    >>> counts = events.groupby(["instance", "channel"]).size().unstack()
    >>> counts.head(3)  # doctest: +NORMALIZE_WHITESPACE
    channel            door  humidity  temperature
    instance
    room00_2026-03-02     3        46          144
    room00_2026-03-03    55        34          144
    room00_2026-03-04    43        32          144
    >>> y.tolist()
    [0, 1, 1, 0, 1, 1, 0, 0]
    >>> _, hours = make_building_occupancy(8, target="hours", random_state=0)
    >>> hours.round(1).tolist()
    [0.0, 5.6, 3.9, 0.0, 4.9, 1.8, 0.0, 0.0]
    >>> X = from_events(events)  # y[i] is the i-th series of X
    >>> list(X.columns), X.index.get_level_values(0).unique()[:2].tolist()
    (['door', 'humidity', 'temperature'], ['room00_2026-03-02', 'room00_2026-03-03'])
    """
    if isinstance(n_series, bool) or not isinstance(n_series, (int, np.integer)) or n_series < 2:
        raise ValueError(f"n_series must be an integer >= 2, got {n_series!r}.")
    n_series = int(n_series)
    if target not in TARGETS:
        raise ValueError(f"target must be one of {TARGETS}, got {target!r}.")
    _check_return_type(return_type)
    _check_time_zone(time_zone)

    rng = check_random_state(random_state)
    # balanced classes; the empty days split into quiet, warm and busy ones
    n_occupied = n_series // 2
    n_empty = n_series - n_occupied
    n_quiet = int(round(_QUIET_SHARE * n_empty))
    n_warm = (n_empty - n_quiet + 1) // 2
    n_busy = n_empty - n_quiet - n_warm
    kinds = np.repeat([_OCCUPIED, _QUIET, _WARM, _BUSY], [n_occupied, n_quiet, n_warm, n_busy])
    kinds = kinds[rng.permutation(n_series)]

    # rooms and working days: ids in generation order are in sorted order
    n_rooms = int(np.ceil(np.sqrt(n_series)))
    n_days = int(np.ceil(n_series / n_rooms))
    width = max(2, len(str(n_rooms - 1)))
    dates = pd.bdate_range(FIRST_DAY, periods=n_days)
    days = [_local_day(date, time_zone) for date in dates]
    room_temperature = rng.uniform(18.0, 24.0, n_rooms)
    room_humidity = rng.uniform(35.0, 50.0, n_rooms)

    ids, parts, hours = [], [], np.zeros(n_series)
    for i in range(n_series):
        room, d = divmod(i, n_days)
        ids.append(f"room{room:0{width}d}_{dates[d]:%Y-%m-%d}")
        midnight, day = days[d]
        kind = kinds[i]
        blocks = _blocks(rng)  # occupancy, or the warm spell, or the door traffic
        if kind == _OCCUPIED:
            hours[i] = float(np.sum(blocks[:, 1] - blocks[:, 0])) / _HOUR
        heat = blocks if kind in (_OCCUPIED, _WARM) else blocks[:0]
        people = blocks if kind == _OCCUPIED else blocks[:0]
        traffic = blocks if kind in (_OCCUPIED, _BUSY) else blocks[:0]
        delay = rng.uniform(300.0, 1200.0)
        tau = rng.uniform(1800.0, 3000.0)

        # temperature: a jittered 10-minute grid
        phase = rng.uniform(0.0, _TEMPERATURE_STEP)
        grid = np.arange(phase, day, _TEMPERATURE_STEP)
        t_temp = np.round(grid + rng.uniform(-1.0, 1.0, len(grid)) * _TEMPERATURE_JITTER)
        t_temp = np.unique(t_temp[(t_temp >= 0) & (t_temp < day)])
        level = room_temperature[room] + rng.normal(0.0, 0.3)
        drift = rng.uniform(0.0, 0.2) * np.sin(2 * np.pi * (t_temp / day - rng.uniform()))
        rise = rng.uniform(1.4, 2.3) * _response(t_temp, heat, delay, tau)
        v_temp = level + drift + rise + rng.normal(0.0, 0.05, len(t_temp))

        # humidity: at random times
        t_hum = np.round(rng.uniform(0.0, day, rng.poisson(_HUMIDITY_PER_DAY)))
        t_hum = np.unique(t_hum[t_hum < day])
        level = room_humidity[room] + rng.normal(0.0, 2.0)
        drift = rng.uniform(0.0, 3.0) * np.sin(2 * np.pi * (t_hum / day - rng.uniform()))
        moist = rng.uniform(1.0, 3.0) * _response(t_hum, people, delay, tau)
        v_hum = level + drift + moist + rng.normal(0.0, 0.8, len(t_hum))

        t_door = _doors(rng, traffic, day)
        times = np.concatenate([t_door, t_hum, t_temp])
        values = np.concatenate([np.ones(len(t_door)), np.round(v_hum, 1), np.round(v_temp, 2)])
        channels = np.repeat(np.arange(3), [len(t_door), len(t_hum), len(t_temp)])
        order = np.lexsort((channels, times))
        parts.append((midnight.value, times[order], channels[order], values[order]))

    counts = [len(t) for _, t, _, _ in parts]
    nanoseconds = np.concatenate([m + t.astype(np.int64) * 10**9 for m, t, _, _ in parts])
    events = pd.DataFrame(
        {
            "instance": np.repeat(np.array(ids, dtype=object), counts),
            "time": pd.to_datetime(nanoseconds, unit="ns", utc=True).tz_convert(time_zone),
            "channel": np.array(CHANNELS, dtype=object)[
                np.concatenate([c for _, _, c, _ in parts])
            ],
            "value": np.concatenate([v for _, _, _, v in parts]),
        }
    )
    y = (kinds == _OCCUPIED).astype(np.int64) if target == "occupied" else hours
    if return_type == "events":
        return events, y
    return from_events(events, channels=list(CHANNELS), return_type=return_type), y

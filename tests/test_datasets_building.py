"""make_building_occupancy: room-days of a building's sensors, as a database holds them.

The event table is checked for its layout (string ids in sorted order, time-zone aware
times, each channel at its own times and rate), the labels for balance and for agreeing
with the hours, the containers against ``from_events``, and the task's design against
simple features: the temperature rise alone or the door count alone tells about 80% of
the days, the two together nearly all.
"""

import datetime
import re

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, from_events, to_events
from sk_plstm.datasets import make_building_occupancy

CHANNELS = ["door", "humidity", "temperature"]


@pytest.fixture(scope="module")
def building():
    """The default: 400 room-days (20 rooms on 20 working days), occupied or not."""
    return make_building_occupancy(random_state=0)


def _counts(events):
    """Observations per instance (rows, in order) and channel (columns)."""
    ids = events["instance"].unique()
    table = events.groupby(["instance", "channel"]).size().unstack(fill_value=0)
    return table.reindex(index=ids, columns=CHANNELS, fill_value=0)


def _features(events):
    """Per room-day: temperature rise (max minus first-hour mean), door count, and the
    humidity's rise (max minus median), in the order of the instances."""
    ids = events["instance"].unique()
    by = {c: events[events["channel"] == c].groupby("instance") for c in CHANNELS}
    temperature = events[events["channel"] == "temperature"]
    start = temperature.groupby("instance")["time"].transform("min")
    first_hour = temperature[temperature["time"] < start + pd.Timedelta(hours=1)]
    rise = by["temperature"]["value"].max() - first_hour.groupby("instance")["value"].mean()
    humidity = by["humidity"]["value"].max() - by["humidity"]["value"].median()
    return pd.DataFrame(
        {
            "rise": rise.reindex(ids),
            "doors": by["door"].size().reindex(ids, fill_value=0),
            "humidity": humidity.reindex(ids),
        }
    )


def test_event_table_layout_ids_and_balanced_classes(building):
    events, y = building
    assert list(events.columns) == ["instance", "time", "channel", "value"]
    assert str(events["time"].dt.tz) == "Europe/Berlin" and events["value"].dtype == np.float64
    assert set(events["channel"]) == set(CHANNELS)
    ordered = events.sort_values(["instance", "time", "channel"], ignore_index=True)
    pd.testing.assert_frame_equal(ordered, events)
    ids = events["instance"].unique().tolist()
    assert len(ids) == 400 and ids == sorted(ids)  # generated in the order from_events uses
    assert all(re.fullmatch(r"room\d{2}_\d{4}-\d{2}-\d{2}", i) for i in ids)
    rooms = pd.Series(ids).str[:6]
    dates = pd.to_datetime(pd.Series(ids).str[7:])
    assert rooms.nunique() == 20 and dates.nunique() == 20
    assert dates.groupby(rooms).nunique().eq(20).all()  # one room on 20 different dates
    assert dates.min() == pd.Timestamp("2026-03-02") and (dates.dt.dayofweek < 5).all()
    # every observation lies in its local day
    assert (events["time"].dt.strftime("%Y-%m-%d") == events["instance"].str[7:]).all()
    assert y.shape == (400,) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [200, 200]
    _, y_odd = make_building_occupancy(7, random_state=0)
    assert np.bincount(y_odd).tolist() == [4, 3]


def test_channels_have_their_own_rates_times_and_values(building):
    events, y = building
    counts = _counts(events)
    assert counts["temperature"].between(143, 145).all()  # every ~10 minutes
    assert counts["humidity"].between(12, 70).all() and 30 < counts["humidity"].mean() < 42
    doors = counts["door"].to_numpy()
    assert np.median(doors[y == 1]) > 3 * max(1, np.median(doors[y == 0]))
    assert (events.loc[events["channel"] == "door", "value"] == 1.0).all()
    for instance in counts.index[:20]:
        one = events[events["instance"] == instance]
        seconds = {
            c: one.loc[one["channel"] == c, "time"].astype("int64").to_numpy() / 1e9
            for c in CHANNELS
        }
        step = np.diff(seconds["temperature"])
        assert np.all(np.abs(step - 600) <= 60) and step.std() > 5  # jittered 10-min grid
        step = np.diff(seconds["humidity"])
        assert np.all(step > 0) and step.std() > 0.5 * step.mean()  # random times
    # each channel at its own times: hardly any row of the union has two channels
    X = from_events(events)
    assert X.notna().sum(axis=1).gt(1).mean() < 0.01
    # every room has its own temperature level: the absolute level says little
    temperature = events[events["channel"] == "temperature"]
    night = temperature[temperature["time"].dt.hour < 1].groupby("instance")["value"].mean()
    by_room = night.groupby(night.index.str[:6])
    assert by_room.mean().max() - by_room.mean().min() > 3.0
    assert by_room.std().max() < 1.0


def test_hours_is_zero_exactly_on_unoccupied_days(building):
    events, y = building
    same, hours = make_building_occupancy(target="hours", random_state=0)
    pd.testing.assert_frame_equal(same, events)  # the same series for either target
    assert hours.shape == (400,) and hours.dtype == np.float64
    assert np.all(hours >= 0) and np.array_equal(hours == 0, y == 0)
    assert hours[y == 1].min() >= 1.0 and hours.max() < 12.0
    doors = _counts(events)["door"].to_numpy()
    assert np.corrcoef(hours[y == 1], doors[y == 1])[0, 1] > 0.5  # more hours, more doors


def test_neither_signal_alone_tells_occupancy_but_both_do(building):
    events, y = building
    features = _features(events)
    features["doors"] = np.log1p(features["doors"])

    def accuracy(columns):
        return cross_val_score(LogisticRegression(), features[columns], y, cv=5).mean()

    rise, doors, both = accuracy(["rise"]), accuracy(["doors"]), accuracy(["rise", "doors"])
    assert both >= 0.95, both
    assert rise <= 0.85 and doors <= 0.85, (rise, doors)
    # the humidity (mildly higher with people) does not replace the doors
    assert accuracy(["rise", "humidity"]) <= 0.85
    # nor is the temperature's absolute level informative
    level = events[events["channel"] == "temperature"].groupby("instance")["value"].mean()
    features["level"] = level.reindex(features.index)
    assert accuracy(["level"]) <= 0.65


def test_seeding():
    a, ya = make_building_occupancy(12, random_state=3)
    b, yb = make_building_occupancy(12, random_state=3)
    pd.testing.assert_frame_equal(a, b)
    np.testing.assert_array_equal(ya, yb)
    c, yc = make_building_occupancy(12, random_state=4)
    assert not a["time"].equals(c["time"]) and not np.array_equal(ya, yc)
    rng = np.random.RandomState(3)
    pd.testing.assert_frame_equal(make_building_occupancy(12, random_state=rng)[0], a)


@pytest.mark.parametrize("return_type", ["pd-multiindex", "df-list", "nested_univ"])
def test_containers_are_what_from_events_makes(return_type):
    events, y = make_building_occupancy(12, random_state=1)
    X, y2 = make_building_occupancy(12, return_type=return_type, random_state=1)
    np.testing.assert_array_equal(y, y2)
    pd.testing.assert_frame_equal(to_events(X), events)
    ids = events["instance"].unique().tolist()
    if return_type == "pd-multiindex":
        assert X.index.get_level_values(0).unique().tolist() == ids
        assert list(X.columns) == CHANNELS and str(X.index.levels[1].tz) == "Europe/Berlin"
    elif return_type == "df-list":
        assert [frame.attrs["instance"] for frame in X] == ids
    else:
        assert X.index.tolist() == ids and list(X.columns) == CHANNELS
        assert not X.loc[ids[0], "temperature"].index.equals(X.loc[ids[0], "humidity"].index)


def test_events_round_trip_through_from_events():
    events, _ = make_building_occupancy(10, random_state=2)
    pd.testing.assert_frame_equal(to_events(from_events(events)), events)


def test_time_zones_keep_the_local_clock():
    berlin, y = make_building_occupancy(9, random_state=5)  # 2 to 4 March 2026
    for zone, hours_behind in [("America/New_York", 6), ("UTC", 1), (datetime.timezone.utc, 1)]:
        other, y2 = make_building_occupancy(9, time_zone=zone, random_state=5)
        np.testing.assert_array_equal(y, y2)
        assert other["time"].dt.tz is not None
        # the days run from local midnight: the same local clock times in any zone
        local = other["time"].dt.tz_localize(None)
        pd.testing.assert_series_equal(local, berlin["time"].dt.tz_localize(None))
        assert (other["time"] - berlin["time"]).eq(pd.Timedelta(hours=hours_behind)).all()
        pd.testing.assert_series_equal(other["value"], berlin["value"])
    assert str(other["time"].dt.tz) == "UTC"


def test_short_fits_read_the_data():
    events, y = make_building_occupancy(16, random_state=0)
    X = from_events(events)
    clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    assert clf.predict(X).shape == (16,) and set(clf.classes_) == {0, 1}
    X, hours = make_building_occupancy(16, target="hours", return_type="nested_univ")
    reg = PhasedLSTMRegressor(hidden_size=8, max_epochs=2, random_state=0).fit(X, hours)
    assert np.isfinite(reg.predict(X)).all()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_series": 1}, "n_series"),
        ({"n_series": 2.5}, "n_series"),
        ({"n_series": True}, "n_series"),
        ({"n_series": "many"}, "n_series"),
        ({"target": "count"}, "target"),
        ({"return_type": "numpy3D"}, "return_type"),
        ({"time_zone": "Mars/Olympus_Mons"}, "time_zone"),
        ({"time_zone": None}, "time_zone"),
        ({"time_zone": 5}, "time_zone"),
    ],
)
def test_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        make_building_occupancy(**{"n_series": 8, **kwargs})

"""Event streams by index in the estimators: the layouts they take (EventStreams, tonic-style
structured arrays, (times, channels, values) tuples, event tables), what a fit on them
records, prediction, model search, files, streaming and the messages."""

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import GridSearchCV, cross_val_score

from sk_plstm import EventStreams, PhasedLSTMClassifier, PhasedLSTMRegressor, load
from sk_plstm._event_streams import event_panel, is_event_data

DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
SENSOR = (12, 10, 2)


def _streams(n=24, events=60, seed=0):
    """Two classes of streams: events on the left or on the right half of a small sensor."""
    rng = np.random.default_rng(seed)
    arrays, labels = [], []
    for i in range(n):
        label = i % 2
        e = np.zeros(events, dtype=DTYPE)
        e["t"] = np.sort(rng.integers(0, 50_000, events))
        e["x"] = rng.integers(0, 6, events) + 6 * label
        e["y"] = rng.integers(0, SENSOR[1], events)
        e["p"] = rng.integers(0, 2, events)
        arrays.append(e)
        labels.append(label)
    return arrays, np.array(labels)


def _channels(e):
    w, h, _ = SENSOR
    return e["x"].astype(int) + w * (e["y"].astype(int) + h * e["p"].astype(int))


@pytest.fixture(scope="module")
def fitted():
    arrays, y = _streams()
    streams = EventStreams.from_structured(arrays, sensor_size=SENSOR)
    clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=10, random_state=0).fit(streams, y)
    return clf, streams, arrays, y


# ------------------------------------------------------------------ the container
def test_structured_arrays_map_pixels_and_polarities_to_channels():
    arrays, _ = _streams(2)
    streams = EventStreams.from_structured(arrays, sensor_size=SENSOR)
    assert streams.n_channels == 240 and streams.sensor_size == SENSOR
    np.testing.assert_array_equal(streams.channels[1], _channels(arrays[1]))
    np.testing.assert_array_equal(streams.times[0], arrays[0]["t"].astype(float))
    assert streams.values[0].dtype == np.float32 and (streams.values[0] == 1).all()


def test_signed_polarities_and_one_dimensional_sensors():
    e = np.zeros(3, dtype=[("t", "i8"), ("x", "i2"), ("p", "i1")])
    e["t"], e["x"], e["p"] = [0, 1, 2], [4, 4, 699], [-1, 1, 1]
    streams = EventStreams.from_structured([e], sensor_size=(700, 1, 2))
    assert streams.channels[0].tolist() == [4, 704, 1399]
    spikes = np.zeros(2, dtype=[("t", "i8"), ("x", "i2"), ("p", "i1")])
    spikes["x"] = [3, 699]
    assert EventStreams.from_structured([spikes], sensor_size=(700, 1, 1)).n_channels == 700


def test_sensor_size_is_read_off_the_events_when_not_given():
    arrays, _ = _streams(6)
    streams = EventStreams.from_structured(arrays)
    assert streams.sensor_size == (12, 10, 2)


def test_an_event_table_becomes_one_stream_per_instance():
    table = pd.DataFrame(
        {
            "instance": ["b", "a", "b", "a"],
            "time": [5.0, 1.0, 2.0, 1.0],
            "channel": [3, 1, 0, 2],
            "value": [0.5, 1.0, 2.0, -1.0],
        }
    )
    streams = EventStreams.from_table(table, value="value", n_channels=5)
    assert len(streams) == 2 and streams.n_channels == 5
    assert streams.times[0].tolist() == [2.0, 5.0] and streams.channels[0].tolist() == [0, 3]
    assert streams.values[1].tolist() == [1.0, -1.0]


def test_indexing_gives_a_stream_or_a_subset():
    arrays, _ = _streams(5)
    streams = EventStreams.from_structured(arrays, sensor_size=SENSOR)
    t, c, v = streams[2]
    assert len(t) == len(c) == len(v) == 60
    subset = streams[np.array([4, 0])]
    assert isinstance(subset, EventStreams) and len(subset) == 2 and subset.n_channels == 240
    np.testing.assert_array_equal(subset.channels[1], streams.channels[0])
    assert streams[1:3, ...].shape == (2,)


def test_events_at_one_time_form_one_step():
    streams = EventStreams([[0.0, 0.0, 3.0]], [[1, 2, 1]], 4, [[1.0, 2.0, 3.0]])
    panel, _ = event_panel(streams)
    assert panel.lengths.tolist() == [2] and panel.times.tolist() == [[0.0, 3.0]]
    assert panel.indices[0].tolist() == [[1, 2], [1, -1]]


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: EventStreams([[0.0]], [[4]], 4), ValueError, r"channels must lie in \[0, 4\)"),
        (lambda: EventStreams([[1.0, 0.0]], [[0, 1]], 4), ValueError, "non-decreasing"),
        (lambda: EventStreams([[0.0]], [[0]], 0), ValueError, "n_channels must be >= 1"),
        (lambda: EventStreams([[0.0]], [[0]], 2.5), TypeError, "n_channels must be an integer"),
        (lambda: EventStreams([], [], 3), ValueError, "at least one stream"),
        (lambda: EventStreams([["a"]], [[0]], 3), ValueError, "times must be numbers"),
        (
            lambda: EventStreams.from_structured([np.zeros(2, dtype=[("x", "i2")])]),
            ValueError,
            "fields 't' and 'x'",
        ),
        (
            lambda: EventStreams.from_structured(_streams(1)[0], sensor_size=(5, 10, 2)),
            ValueError,
            r"x must lie in \[0, 5\)",
        ),
        (
            lambda: EventStreams.from_structured(_streams(1)[0], sensor_size=(12, 10)),
            ValueError,
            "sensor_size must be three positive integers",
        ),
        (
            lambda: EventStreams.from_table(pd.DataFrame({"instance": [0], "time": [0.0]})),
            ValueError,
            "no column 'channel'",
        ),
        (
            lambda: EventStreams.from_table(
                pd.DataFrame({"instance": [0], "time": [0.0], "channel": [0.5]})
            ),
            ValueError,
            "integer channel indices",
        ),
    ],
)
def test_bad_event_streams_are_refused_with_a_message(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_what_counts_as_event_data():
    arrays, _ = _streams(2)
    assert is_event_data(arrays) and is_event_data([(np.zeros(2), np.zeros(2, int))])
    assert not is_event_data(np.zeros((2, 3, 4))) and not is_event_data([np.zeros((5, 2))])


# ------------------------------------------------------------------ the estimators
def test_a_fit_on_events_learns_the_task_and_records_the_sensor(fitted):
    clf, streams, arrays, y = fitted
    assert clf.event_input_ and clf.n_channels_ == 240 and clf.sensor_size_ == SENSOR
    assert clf.module_.plstm.input_size == 240
    assert not hasattr(clf, "channel_mean_")
    assert clf.score(streams, y) >= 0.9


def test_every_layout_of_the_same_events_gives_the_same_predictions(fitted):
    clf, streams, arrays, _ = fitted
    expected = clf.predict_proba(streams)
    np.testing.assert_array_equal(clf.predict_proba(arrays), expected)  # the fitted sensor
    tuples = [(e["t"], _channels(e)) for e in arrays]
    np.testing.assert_allclose(clf.predict_proba(tuples), expected, atol=1e-6)
    table = pd.DataFrame(
        [(i, t, c) for i, e in enumerate(arrays) for t, c in zip(e["t"], _channels(e))],
        columns=["instance", "time", "channel"],
    )
    from_table = EventStreams.from_table(table, n_channels=240)
    np.testing.assert_allclose(clf.predict_proba(from_table), expected, atol=1e-6)


def test_a_stream_predicts_alike_whatever_streams_surround_it(fitted):
    clf, streams, _, _ = fitted
    alone = clf.predict_proba(streams[[3]])
    np.testing.assert_allclose(clf.predict_proba(streams)[3], alone[0], atol=1e-6)


def test_per_step_outputs_end_at_the_prediction(fitted):
    clf, streams, _, _ = fitted
    steps = clf.predict_proba_steps(streams[:2])
    last = steps.groupby(level=0).tail(1).to_numpy()
    np.testing.assert_allclose(last, clf.predict_proba(streams[:2]), atol=1e-6)
    assert steps.index.get_level_values(1)[0] == streams.times[0][0]


def test_streaming_events_by_index_gives_the_prediction(fitted):
    clf, streams, _, _ = fitted
    t, c, _ = streams[0]
    cut = int(np.searchsorted(t, t[25]))
    stream = clf.stream()
    stream.update_events(t[:cut], c[:cut])
    out = stream.update_events(t[cut:], c[cut:])
    np.testing.assert_allclose(out[-1], clf.predict_proba(streams[[0]])[0], atol=1e-6)
    assert stream.n_events == len(t)
    with pytest.raises(ValueError, match="must come after the last one fed"):
        stream.update_events(t[-1:], c[-1:])
    with pytest.raises(TypeError, match="update_events"):
        stream.update(np.zeros((1, 240)), times=[1e9])


def test_updates_embeddings_and_description(fitted):
    clf, streams, _, _ = fitted
    counts = clf.update_counts(streams[:4])
    assert counts.shape == (1, 8) and (counts > 0).all()
    assert clf.transform(streams[:3]).shape == (3, 8)
    assert "240 channel(s)" in str(clf.describe(streams[:3]))


def test_a_model_file_keeps_the_event_input(fitted, tmp_path):
    clf, streams, arrays, _ = fitted
    clf.save(tmp_path / "events.plstm")
    loaded = load(tmp_path / "events.plstm")
    assert loaded.event_input_ and loaded.sensor_size_ == SENSOR
    np.testing.assert_array_equal(loaded.predict_proba(arrays), clf.predict_proba(arrays))


def test_model_search_and_cross_validation_split_event_streams():
    arrays, y = _streams(16, events=30)
    streams = EventStreams.from_structured(arrays, sensor_size=SENSOR)
    scores = cross_val_score(
        PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0), streams, y, cv=2
    )
    assert scores.shape == (2,)
    search = GridSearchCV(
        PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0),
        {"r_on": [0.05, 0.5]},
        cv=2,
    ).fit(streams, y)
    assert search.best_estimator_.event_input_


def test_a_regressor_fits_events_with_their_values():
    rng = np.random.default_rng(1)
    times = [np.sort(rng.uniform(0, 10, 20)) for _ in range(12)]
    channels = [rng.integers(0, 50, 20) for _ in range(12)]
    values = [rng.normal(size=20) for _ in range(12)]
    X = [(t, c, v) for t, c, v in zip(times, channels, values)]
    target = np.array([v.sum() for v in values])
    reg = PhasedLSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(X, target)
    assert reg.n_channels_ == max(c.max() for c in channels) + 1
    assert reg.predict(X).shape == (12,)


def test_the_fitted_input_kind_is_kept_at_prediction(fitted):
    clf, streams, arrays, _ = fitted
    with pytest.raises(TypeError, match="fitted on event streams by index"):
        clf.predict(np.zeros((2, 3, 5)))
    values = PhasedLSTMClassifier(hidden_size=4, max_epochs=1).fit(np.zeros((4, 2, 5)), [0, 1] * 2)
    with pytest.raises(TypeError, match="fitted on series of values"):
        values.predict(streams)
    with pytest.raises(ValueError, match=r"channels must lie in \[0, 240\)"):
        clf.predict([(np.zeros(2), np.array([0, 300]))])
    with pytest.raises(ValueError, match="events of 300 channels, but the model was fitted on 240"):
        clf.predict(EventStreams([[0.0]], [[0]], 300))
    wide = np.zeros(1, dtype=DTYPE)
    wide["x"] = 20
    with pytest.raises(ValueError, match=r"x must lie in \[0, 12\)"):
        clf.predict([wide])


def test_a_refit_on_values_forgets_the_events(fitted):
    clf, streams, _, y = fitted
    from sklearn.base import clone

    model = clone(clf).set_params(max_epochs=1).fit(streams, y)
    model.fit(np.random.default_rng(0).normal(size=(6, 2, 5)), [0, 1] * 3)
    assert not hasattr(model, "event_input_") and not hasattr(model, "sensor_size_")


def test_a_stream_without_events_is_refused():
    with pytest.raises(ValueError, match="stream 1 has no events"):
        X = [(np.zeros(2), np.zeros(2, int)), (np.zeros(0), np.zeros(0, int))]
        PhasedLSTMClassifier(max_epochs=1).fit(X, [0, 1])

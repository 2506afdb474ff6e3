"""make_sensor_digits: N-MNIST-like event-camera recordings of scikit-learn's digits.

The streams are checked for the layout of ``tonic`` (dtype, ranges, order), N-MNIST's
event counts, the three saccades, the geometry on small and large sensors, the sensor
model (closed path: every pixel's ON and OFF events balance; noise alone at its rate),
seeding, validation, and that the events carry the digit (a nearest-centroid classifier
on event-count images beats chance by far).
"""

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.neighbors import NearestCentroid

from sk_plstm.datasets._sensor import make_sensor_digits

DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])


@pytest.fixture(scope="module")
def default_streams():
    """50 streams with the defaults (34 x 34 sensor, 300 ms)."""
    return make_sensor_digits(50, random_state=0)


@pytest.fixture(scope="module")
def clean_streams():
    """20 streams without background noise: every event comes from the digit's motion."""
    return make_sensor_digits(20, noise_rate=0.0, random_state=1)


def _count_image(stream, width=34, height=34):
    return np.bincount(
        stream["y"].astype(np.int64) * width + stream["x"], minlength=width * height
    ).reshape(height, width)


# -- layout -------------------------------------------------------------------------------


def test_layout_dtype_ranges_and_order(default_streams):
    events, y = default_streams
    assert isinstance(events, list) and len(events) == 50
    assert isinstance(y, np.ndarray) and y.shape == (50,) and y.dtype == np.int64
    assert set(y.tolist()) <= set(range(10))
    for stream in events:
        assert isinstance(stream, np.ndarray) and stream.ndim == 1
        assert stream.dtype == DTYPE
        assert stream["x"].min() >= 0 and stream["x"].max() < 34
        assert stream["y"].min() >= 0 and stream["y"].max() < 34
        assert stream["t"].min() >= 0 and stream["t"].max() < 300_000
        assert set(np.unique(stream["p"]).tolist()) == {0, 1}
        assert np.all(np.diff(stream["t"]) >= 0)


def test_event_counts_in_the_range_of_n_mnist(default_streams):
    counts = np.array([len(stream) for stream in default_streams[0]])
    # measured over 200 streams: mean ~4,990, 5th / 95th percentiles ~4,200-4,300 / ~5,700
    assert 3_500 < counts.mean() < 6_500
    assert np.mean((counts > 3_500) & (counts < 6_500)) > 0.9
    # ON and OFF events balance (the image returns to where it started)
    on = np.array([stream["p"].mean() for stream in default_streams[0]])
    assert np.all(np.abs(on - 0.5) < 0.05)


def test_three_saccades_cover_the_duration(clean_streams):
    for stream in clean_streams[0]:
        third = np.minimum(stream["t"] // 100_000, 2)
        share = np.bincount(third, minlength=3) / len(stream)
        assert np.all(share > 0.2), share


def test_events_lie_on_the_digit(clean_streams):
    for stream in clean_streams[0]:
        on = stream[stream["p"] == 1]
        # spanning more than 15 pixels in x or y (the digit is 28 pixels high; a narrow
        # "1" still spans its height)
        spans = [on[c].max() - on[c].min() for c in ("x", "y")]
        assert max(spans) > 15
        # the digit (28 x 28 pixels, centred) and its saccades stay inside the sensor: the
        # outermost ring of pixels sees nothing, and most events are in the digit's box
        for c in ("x", "y"):
            assert stream[c].min() >= 1 and stream[c].max() <= 32
        image = _count_image(stream)
        assert image[3:31, 3:31].sum() > 0.85 * len(stream)


def test_every_pixel_balances_on_and_off(clean_streams):
    # a pixel's reference moves by one threshold per event and ends within one threshold
    # of its log intensity, which is the initial one again: |ON - OFF| <= 1
    for stream in clean_streams[0]:
        net = np.zeros((34, 34), dtype=np.int64)
        np.add.at(net, (stream["y"], stream["x"]), 2 * stream["p"].astype(np.int64) - 1)
        assert np.abs(net).max() <= 1


def test_duration_and_fractional_duration():
    events, _ = make_sensor_digits(3, duration=30_000.5, noise_rate=0.0, random_state=0)
    for stream in events:
        assert stream["t"].max() <= 30_000
        assert len(np.unique(stream["t"] // 10_000)) == 3
    # the counts hardly depend on the speed of the saccades
    slow = [len(s) for s in make_sensor_digits(3, noise_rate=0.0, random_state=0)[0]]
    fast = [len(s) for s in events]
    assert np.allclose(fast, slow, rtol=0.1)


# -- sensor size, threshold and noise --------------------------------------------------


def test_larger_sensor_uses_the_larger_coordinates():
    events, _ = make_sensor_digits(3, sensor_size=(64, 64, 2), noise_rate=0.0, random_state=0)
    counts = np.array([len(stream) for stream in events])
    assert counts.mean() > 2.5 * 4_000  # the counts grow with the area (about 3.5 times)
    for stream in events:
        assert stream["x"].max() < 64 and stream["y"].max() < 64
        assert stream["x"].max() > 50 and stream["y"].max() > 50
        assert stream["x"].min() < 14 and stream["y"].min() < 14


def test_rectangular_sensor():
    events, _ = make_sensor_digits(2, sensor_size=(48, 32, 2), noise_rate=0.0, random_state=0)
    for stream in events:
        assert stream["x"].max() < 48 and stream["y"].max() < 32
        # the digit is centred: columns 0 to 7 and 40 to 47 are outside it
        assert stream["x"].min() > 4 and stream["x"].max() < 43


def test_lower_threshold_gives_more_events():
    low = make_sensor_digits(5, threshold=0.2, noise_rate=0.0, random_state=0)[0]
    high = make_sensor_digits(5, threshold=0.5, noise_rate=0.0, random_state=0)[0]
    assert all(len(a) > 1.5 * len(b) for a, b in zip(low, high))


def test_noise_alone_at_its_rate():
    # a threshold far beyond the range of log intensities (about 3): only background
    # activity remains
    events, _ = make_sensor_digits(20, threshold=1e6, noise_rate=10.0, random_state=0)
    counts = np.array([len(stream) for stream in events])
    expected = 10.0 * 34 * 34 * 0.3
    assert abs(counts.mean() - expected) < 5 * np.sqrt(expected / 20)
    merged = np.concatenate(events)
    assert abs(merged["p"].mean() - 0.5) < 0.02
    # uniform over the pixels and the time
    assert merged["x"].min() == 0 and merged["x"].max() == 33
    thirds = np.bincount(merged["t"] // 100_000, minlength=3)
    assert np.all(np.abs(thirds / len(merged) - 1 / 3) < 0.02)


def test_no_events_at_all_gives_empty_streams():
    events, y = make_sensor_digits(3, threshold=1e6, noise_rate=0.0, random_state=0)
    assert len(events) == 3 and y.shape == (3,)
    for stream in events:
        assert stream.dtype == DTYPE and stream.shape == (0,)


def test_single_sample_and_numpy_integers():
    events, y = make_sensor_digits(np.int64(1), sensor_size=np.array([20, 24, 2]), random_state=3)
    assert len(events) == 1 and y.shape == (1,)
    assert events[0]["x"].max() < 20 and events[0]["y"].max() < 24


# -- labels and seeding ----------------------------------------------------------------


def test_labels_are_the_drawn_digits(default_streams):
    chosen = np.random.RandomState(0).choice(1797, 50, replace=False)
    np.testing.assert_array_equal(default_streams[1], load_digits().target[chosen])


def test_all_digits_in_order_when_n_samples_is_none():
    # a small sensor and short recording keep this fast
    events, y = make_sensor_digits(
        sensor_size=(16, 16, 2), duration=3_000.0, noise_rate=0.0, random_state=0
    )
    assert len(events) == 1797
    np.testing.assert_array_equal(y, load_digits().target)


def test_deterministic_for_a_seed_and_different_across_seeds():
    a, ya = make_sensor_digits(4, random_state=7)
    b, yb = make_sensor_digits(4, random_state=7)
    c, yc = make_sensor_digits(4, random_state=np.random.RandomState(7))
    d, _ = make_sensor_digits(4, random_state=8)
    np.testing.assert_array_equal(ya, yb)
    np.testing.assert_array_equal(ya, yc)
    for s, t, u in zip(a, b, c):
        np.testing.assert_array_equal(s, t)
        np.testing.assert_array_equal(s, u)
    assert any(len(s) != len(t) or np.any(s != t) for s, t in zip(a, d))


# -- the events carry the digit ---------------------------------------------------------


def test_nearest_centroid_on_event_counts_beats_chance():
    events, y = make_sensor_digits(300, random_state=0)
    X = np.stack([_count_image(stream).ravel() / len(stream) for stream in events])
    accuracy = NearestCentroid().fit(X[:200], y[:200]).score(X[200:], y[200:])
    assert accuracy > 0.5  # chance: 0.1 (measured: 0.86)


# -- validation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 0}, "n_samples must be from 1 to 1797"),
        ({"n_samples": 1798}, "n_samples must be from 1 to 1797"),
        ({"n_samples": 2.0}, "n_samples must be an integer"),
        ({"n_samples": "3"}, "n_samples must be an integer"),
        ({"n_samples": True}, "n_samples must be an integer"),
        ({"sensor_size": (34, 34, 1)}, "sensor_size must be three integers"),
        ({"sensor_size": (34, 34)}, "sensor_size must be three integers"),
        ({"sensor_size": (15, 34, 2)}, "sensor_size must be three integers"),
        ({"sensor_size": (34.0, 34, 2)}, "sensor_size must be three integers"),
        ({"sensor_size": 34}, "sensor_size must be three integers"),
        ({"duration": 0.0}, "duration must be a positive number"),
        ({"duration": -1.0}, "duration must be a positive number"),
        ({"duration": float("inf")}, "duration must be a positive number"),
        ({"threshold": 0.0}, "threshold must be a positive number"),
        ({"threshold": "0.3"}, "threshold must be a positive number"),
        ({"noise_rate": -0.1}, "noise_rate must be a number >= 0"),
        ({"noise_rate": float("nan")}, "noise_rate must be a number >= 0"),
    ],
)
def test_validation(kwargs, match):
    kwargs = {"n_samples": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        make_sensor_digits(**kwargs)

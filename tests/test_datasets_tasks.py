"""The paper's task generators: shapes, labels, balance, time ranges, determinism, and a
short end-to-end fit that beats chance."""

import numpy as np
import pandas as pd
import pytest

from sk_plstm import PhasedLSTMClassifier
from sk_plstm.datasets import (
    make_adding_task,
    make_event_digits,
    make_frequency_discrimination,
    make_two_frequency_discrimination,
)


def _series(X):
    """(times, values) of every sample of a nested_univ frame or a df-list."""
    if isinstance(X, list):
        return [(f.index.to_numpy(), f.to_numpy()) for f in X]
    return [(s.index.to_numpy(), s.to_numpy()[:, None]) for s in X.iloc[:, 0]]


@pytest.mark.parametrize(
    "sampling, step, points",
    [
        ("standard", 1.0, (15, 125)),
        ("high_resolution", 0.1, (150, 1250)),
        ("asynchronous", None, (15, 125)),
    ],
)
def test_frequency_discrimination_samplings(sampling, step, points):
    X, y = make_frequency_discrimination(300, sampling=sampling, random_state=0)
    assert isinstance(X, pd.DataFrame) and X.shape == (300, 1) and y.shape == (300,)
    assert set(np.unique(y)) == {0, 1}
    assert 0.45 < y.mean() < 0.6  # half from the band, plus the log-uniform draws that hit it
    for times, values in _series(X):
        assert points[0] <= len(times) <= points[1] + 1
        assert np.all(np.diff(times) > 0) and times[0] >= 0 and times[-1] <= 125
        assert np.all(np.abs(values) <= 1)
        if step is not None:
            np.testing.assert_allclose(np.diff(times), step, rtol=1e-6, atol=1e-9)


def test_frequency_labels_follow_the_period():
    # a wave in the band repeats every 5-6 ms; check the label against the spectrum peak
    X, y = make_frequency_discrimination(200, sampling="high_resolution", random_state=3)
    for (_, values), label in zip(_series(X), y):
        v = values[:, 0]
        if len(v) < 600:  # too short to resolve the period with an FFT
            continue
        spectrum = np.abs(np.fft.rfft(v * np.hanning(len(v))))
        freqs = np.fft.rfftfreq(len(v), d=0.1)
        period = 1.0 / freqs[1:][np.argmax(spectrum[1:])]
        if 4.8 < period < 6.2:
            assert label == 1 or abs(period - 5) < 0.3 or abs(period - 6) < 0.3
        elif period < 4.0 or period > 7.5:
            assert label == 0


def test_generators_are_deterministic_and_seed_dependent():
    a = make_frequency_discrimination(20, sampling="asynchronous", random_state=1)
    b = make_frequency_discrimination(20, sampling="asynchronous", random_state=1)
    c = make_frequency_discrimination(20, sampling="asynchronous", random_state=2)
    np.testing.assert_array_equal(a[1], b[1])
    for (ta, va), (tb, vb) in zip(_series(a[0]), _series(b[0])):
        np.testing.assert_array_equal(ta, tb)
        np.testing.assert_array_equal(va, vb)
    assert any(len(s) != len(t) for (s, _), (t, _) in zip(_series(a[0]), _series(c[0])))
    np.testing.assert_array_equal(
        make_adding_task(5, 20, random_state=0)[0], make_adding_task(5, 20, random_state=0)[0]
    )
    d1, d2 = make_event_digits(5, random_state=4), make_event_digits(5, random_state=4)
    np.testing.assert_array_equal(d1[1], d2[1])
    pd.testing.assert_frame_equal(d1[0][0], d2[0][0])


def test_two_frequency_discrimination():
    X, y = make_two_frequency_discrimination(200, random_state=0)
    assert X.shape == (200, 1) and 0.45 < y.mean() < 0.55
    lengths = [len(t) for t, _ in _series(X)]
    assert 100 <= min(lengths) and max(lengths) <= 1000
    assert all(np.abs(v).max() <= 2 for _, v in _series(X))


def test_adding_task():
    X, y = make_adding_task(50, length=40, random_state=0)
    assert X.shape == (50, 2, 40) and y.shape == (50,)
    assert np.all(X[:, 1].sum(axis=1) == 2)
    first = X[:, 1, :20].argmax(axis=1)
    second = 20 + X[:, 1, 20:].argmax(axis=1)
    np.testing.assert_allclose(y, X[np.arange(50), 0, first] + X[np.arange(50), 0, second])
    assert np.all((X[:, 0] >= 0) & (X[:, 0] < 1))


@pytest.mark.heavy
def test_event_digits():
    X, y = make_event_digits(60, random_state=0)
    assert len(X) == 60 and set(y) <= set(range(10))
    for frame in X:
        assert frame.shape[1] == 128
        assert np.all(frame.to_numpy().sum(axis=1) == 1)  # one event per time point
        t = frame.index.to_numpy()
        assert np.all(np.diff(t) > 0) and 0 <= t[0] and t[-1] < 100
        on = frame.to_numpy()[:, :64].sum(axis=1) == 1
        assert np.all(t[on] < 50) and np.all(t[~on] >= 50)  # ON while shown, OFF after
        assert 40 < len(frame) < 400
    assert len(make_event_digits(random_state=0)[1]) == 1797


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_frequency_discrimination(1), "n_samples"),
        (lambda: make_frequency_discrimination(10, sampling="fast"), "sampling"),
        (lambda: make_adding_task(10, length=1), "length"),
        (lambda: make_event_digits(5000), "at most 1797"),
        (lambda: make_event_digits(10, rate=0), "positive"),
    ],
)
def test_bad_arguments_are_rejected(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.heavy
def test_short_fit_on_frequency_discrimination_beats_chance():
    X, y = make_frequency_discrimination(600, sampling="standard", random_state=0)
    X_test, y_test = make_frequency_discrimination(300, sampling="standard", random_state=1)
    clf = PhasedLSTMClassifier(
        hidden_size=32, tau_range=(2.0, 20.0), r_on=0.1, max_epochs=12, random_state=0
    )
    accuracy = clf.fit(X, y).score(X_test, y_test)
    majority = max(y_test.mean(), 1 - y_test.mean())
    assert accuracy > majority + 0.1, accuracy

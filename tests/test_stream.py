"""Streaming inference gives the same outputs as feeding whole series."""

import numpy as np
import pandas as pd
import pytest

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, PhasedLSTMStream

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 3, 25))
Y = (X[:, 0, -5:].mean(axis=1) > 0).astype(int)


@pytest.fixture(scope="module", params=["lstm", "gru"])
def clf(request):
    return PhasedLSTMClassifier(
        hidden_size=8, num_layers=2, cell=request.param, r_on=0.3, max_epochs=3, random_state=0
    ).fit(X, Y)


def _irregular_frame(i, offset=0.0):
    times = np.cumsum(RNG.uniform(0.2, 2.0, size=25)) + offset
    return pd.DataFrame(X[i].T, index=times)


@pytest.mark.parametrize("chunks", [[25], [1] * 25, [3, 10, 12], [24, 1]])
def test_chunked_equals_whole_classifier(clf, chunks):
    stream = clf.stream()
    outputs, start = [], 0
    for size in chunks:
        part = X[4, :, start : start + size].T
        outputs.append(stream.update(part, times=np.arange(start, start + size)))
        start += size
    outputs = np.concatenate(outputs)
    assert outputs.shape == (25, 2) and stream.n_events == 25
    for step in (0, 9, 24):  # the prediction on the prefix so far
        expected = clf.predict_proba(X[4:5, :, : step + 1])[0]
        np.testing.assert_allclose(outputs[step], expected, rtol=1e-5, atol=1e-6)
    assert stream.predict() == clf.predict(X[4:5])[0]
    np.testing.assert_allclose(stream.predict_proba(), outputs[-1])


def test_single_events_and_dataframes_with_irregular_times():
    frames = [_irregular_frame(i, offset=1e9) for i in range(len(X))]  # epoch-like times
    clf = PhasedLSTMClassifier(hidden_size=6, r_on=0.3, max_epochs=2, random_state=0)
    clf.fit(frames, Y)
    stream = clf.stream()
    for t, row in frames[7].iterrows():
        out = stream.update(row.to_numpy(), times=[t])
    np.testing.assert_allclose(out[-1], clf.predict_proba(frames[7:8])[0], rtol=1e-5, atol=1e-6)
    again = clf.stream()
    again.update(frames[7].iloc[:10])
    again.update(frames[7].iloc[10:])
    np.testing.assert_allclose(again.predict_proba(), stream.predict_proba(), rtol=1e-6)


def test_regressor_multi_output_and_reset():
    Y2 = np.column_stack([X[:, 0, -1], X[:, 1, :].mean(axis=1)])
    reg = PhasedLSTMRegressor(hidden_size=6, max_epochs=2, random_state=0).fit(X, Y2)
    stream = reg.stream()
    stream.update(X[2, :, :12].T, times=np.arange(12))
    out = stream.update(X[2, :, 12:].T, times=np.arange(12, 25))
    assert out.shape == (13, 2)
    np.testing.assert_allclose(out[-1], reg.predict(X[2:3])[0], rtol=1e-5, atol=1e-6)
    stream.reset()
    assert stream.n_events == 0 and stream.last_time is None
    first = stream.update(X[2, :, :1].T, times=[0])
    np.testing.assert_allclose(first[0], reg.predict(X[2:3, :, :1])[0], rtol=1e-5, atol=1e-6)


def test_datetime_and_steps_models():
    frames = []
    for i in range(len(X)):
        index = pd.date_range("2026-01-01", periods=25, freq="10s", tz="UTC") + pd.Timedelta(
            hours=i
        )
        frames.append(pd.DataFrame(X[i].T, index=index))
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(frames, Y)
    stream = clf.stream()
    stream.update(frames[3].iloc[:5])
    out = stream.update(frames[3].iloc[5:].to_numpy(), times=frames[3].index[5:])
    np.testing.assert_allclose(out[-1], clf.predict_proba(frames[3:4])[0], rtol=1e-5, atol=1e-6)
    # an event out of order is reported at its timestamp, in the time zone of the fit
    utc, berlin = frames[3].index, frames[3].index.tz_convert("Europe/Berlin")
    with pytest.raises(ValueError) as info:
        stream.update(frames[3].to_numpy()[:1], times=berlin[:1])
    assert str(info.value).endswith(f"(at {utc[-1]}), got one at {utc[0]}."), info.value
    steps = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, time_unit="steps", random_state=0)
    steps.fit(frames, Y)
    s = steps.stream()
    s.update(X[3, :, :5].T)
    out = s.update(X[3, :, 5:].T)
    np.testing.assert_allclose(out[-1], steps.predict_proba(frames[3:4])[0], rtol=1e-5, atol=1e-6)


def test_stream_of_unfitted_or_bidirectional_model():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PhasedLSTMClassifier().stream()
    bi = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, bidirectional=True).fit(X, Y)
    with pytest.raises(ValueError, match="bidirectional model cannot stream"):
        bi.stream()


@pytest.mark.parametrize(
    "values, times, message",
    [
        (np.zeros((3, 3)), None, "times are required"),
        (np.zeros((3, 3)), [0, 1], "values has 3 events but times has 2"),
        (np.zeros((3, 2)), [0, 1, 2], "values has 2 channels, but the estimator was fitted on 3"),
        (np.zeros((2, 2, 3)), [0, 1], "values must have shape"),
        (np.array([[0, 0, np.inf]]), [0], "contains infinity"),
        (np.array([[np.nan] * 3]), [0], "has no observed value"),
        (np.zeros((2, 3)), [1, 1], "not strictly increasing"),
    ],
)
def test_bad_chunks(clf, values, times, message):
    with pytest.raises(ValueError, match=message):
        clf.stream().update(values, times=times)


def test_time_must_move_forward_between_chunks(clf):
    stream = clf.stream()
    stream.update(np.zeros((2, 3)), times=[5, 6])
    with pytest.raises(
        ValueError, match=r"must come after the last one fed \(at 6\), got one at 6\.$"
    ):
        stream.update(np.zeros((1, 3)), times=[6])
    with pytest.raises(ValueError, match="No events fed yet"):
        clf.stream().predict()


def test_stream_is_the_documented_class(clf):
    assert isinstance(clf.stream(), PhasedLSTMStream)


def test_width_errors_on_a_model_with_named_channels():
    X = [
        pd.DataFrame(np.random.default_rng(i).normal(size=(5, 2)), columns=["a", "b"])
        for i in range(6)
    ]
    named = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, [0, 1] * 3)
    with pytest.raises(ValueError, match="values has 3 channels, but the estimator was fitted"):
        named.stream().update(np.zeros((2, 3)), times=[0, 1])
    with pytest.raises(ValueError, match="values has 1 channels, but the estimator was fitted"):
        named.stream().update(pd.Series([1.0, 2.0], index=[0, 1]))
    with pytest.raises(ValueError, match="not both"):
        named.stream().update(pd.Series([1.0], index=[0]), times=[0])
    rows = named.stream().update(X[0].to_numpy(), times=X[0].index)  # arrays: by position
    np.testing.assert_allclose(rows[-1], named.predict_proba(X[:1])[0], atol=1e-6)


def test_a_pickled_stream_goes_on_where_it_was(clf):
    import pickle

    stream = clf.stream()
    stream.update(X[2, :, :10].T, times=np.arange(10))
    again = pickle.loads(pickle.dumps(stream))
    assert (again.n_events, again.last_time) == (10, stream.last_time)
    np.testing.assert_allclose(
        again.update(X[2, :, 10:].T, times=np.arange(10, 25)),
        stream.update(X[2, :, 10:].T, times=np.arange(10, 25)),
    )

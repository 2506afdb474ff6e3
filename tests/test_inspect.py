"""time_gates, gate_openness and describe: what a fitted estimator learned."""

import numpy as np
import pandas as pd
import pytest
from sklearn.exceptions import NotFittedError

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor

RNG = np.random.default_rng(0)
X = RNG.normal(size=(30, 2, 40))
Y = (X[:, 0, -5:].mean(axis=1) > 0).astype(int)


def _frames(scale):
    """Unequal-length, irregular series as a df-list with float times times ``scale``."""
    rng = np.random.default_rng(1)
    frames = []
    for i in range(30):
        n = 20 + i
        t = np.cumsum(rng.uniform(0.5, 1.5, size=n)) * scale
        frames.append(pd.DataFrame(rng.normal(size=(n, 2)), index=pd.Index(t)))
    return frames


@pytest.fixture(scope="module")
def fitted():
    return PhasedLSTMClassifier(
        hidden_size=6,
        num_layers=2,
        bidirectional=True,
        max_epochs=3,
        random_state=0,
        r_on=0.05,
        learn_r_on=False,
        final_r_on=None,  # fixed open ratios, as tested below
    ).fit(X, Y)


def test_time_gates_table_before_and_after(fitted):
    before, after = fitted.time_gates(initial=True), fitted.time_gates()
    assert len(before) == len(after) == 2 * 2 * 6
    assert list(after["direction"].unique()) == ["forward", "backward"]
    low, high = fitted.tau_range_
    assert before["tau"].between(low * (1 - 1e-6), high * (1 + 1e-6)).all()
    assert (before["shift"] >= 0).all() and (before["shift"] < before["tau"]).all()
    assert not np.allclose(before["tau"], after["tau"])  # learn_tau
    np.testing.assert_array_equal(before["r_on"], after["r_on"])  # learn_r_on=False
    np.testing.assert_allclose(after["r_on"], 0.05, rtol=1e-6)


def test_time_gates_are_in_the_time_index_units():
    small = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
    large = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
    small.fit(_frames(1.0), Y)
    large.fit(_frames(1024.0), Y)
    a, b = small.time_gates(), large.time_gates()
    np.testing.assert_allclose(b["tau"], 1024.0 * a["tau"], rtol=1e-6)
    np.testing.assert_allclose(b["shift"], 1024.0 * a["shift"], rtol=1e-5, atol=1e-6)


def test_gate_openness_follows_the_reported_gates_and_pads_with_nan():
    clf = PhasedLSTMClassifier(hidden_size=5, max_epochs=2, r_on=0.3, random_state=0)
    frames = _frames(1.0)
    openness, times = clf.fit(frames, Y).gate_openness(frames[:3])
    assert openness.shape == (3, 22, 1, 5) and times.shape == (3, 22)
    assert np.isnan(times[0, 20:]).all() and np.isnan(openness[0, 20:]).all()
    origin = min(f.index[0] for f in frames)  # the earliest training time
    assert clf.time_origin_.value == origin
    np.testing.assert_allclose(times[2], frames[2].index)  # the times as given
    # the paper's formula from the reported tau, shift (from the origin), r_on
    gates = clf.time_gates()
    since = times[..., None] - origin
    phi = np.mod(since - gates["shift"].to_numpy(), gates["tau"].to_numpy())
    phi /= gates["tau"].to_numpy()
    r_on = gates["r_on"].to_numpy()
    k = np.where(phi < r_on / 2, 2 * phi / r_on, np.where(phi < r_on, 2 - 2 * phi / r_on, 0.0))
    k[np.isnan(times)] = np.nan
    np.testing.assert_allclose(openness[:, :, 0, :], k, atol=1e-5)


def test_gate_openness_counts_match_update_counts(fitted):
    openness, _ = fitted.gate_openness(X)
    counts = np.nansum(openness > 0, axis=1).mean(axis=0)
    np.testing.assert_allclose(counts, fitted.update_counts(X), rtol=1e-6)


def test_describe(fitted):
    info = fitted.describe(X)
    s = info.summary
    assert (s["n_channels"], s["n_outputs"], s["hidden_size"], s["num_layers"]) == (2, 2, 6, 2)
    assert s["n_parameters"] == sum(p.numel() for p in fitted.module_.parameters())
    assert s["n_iter"] == 3 and s["time_unit"] == "time index units"
    table = info.layers
    assert list(table["direction"]) == ["forward", "backward"] * 2
    gates = fitted.time_gates()
    for row, (_, group) in zip(
        table.itertuples(), gates.groupby(["layer", "direction"], sort=False)
    ):
        assert row.tau_min == pytest.approx(group["tau"].min())
        assert row.tau_max == pytest.approx(group["tau"].max())
        assert row.tau_median == pytest.approx(group["tau"].median())
    np.testing.assert_allclose(table["open_fraction"], 0.05, rtol=1e-6)
    expected = fitted.update_counts(X).mean(axis=1) / X.shape[2]
    np.testing.assert_allclose(table["updates_fraction"], expected, rtol=1e-6)
    text = str(info)
    assert "PhasedLSTMClassifier: 2 channel(s) -> 2 layer(s) x 6 units x 2 directions" in text
    assert "updates_fraction: on 30 series" in text
    assert "<table" in info._repr_html_()
    assert "updates_fraction" not in fitted.describe().layers


def test_describe_names_the_gru_cell_and_inspects_its_gates():
    gru = PhasedLSTMClassifier(cell="gru", hidden_size=5, max_epochs=2, random_state=0)
    info = gru.fit(X, Y).describe(X)
    assert info.summary["cell"] == "gru"
    assert str(info).startswith("PhasedLSTMClassifier (Phased GRU cells): 2 channel(s)")
    assert info.summary["n_parameters"] == sum(p.numel() for p in gru.module_.parameters())
    assert gru.time_gates().shape[0] == 5 and gru.update_counts(X).shape == (1, 5)
    assert PhasedLSTMClassifier(max_epochs=1).fit(X, Y).describe().summary["cell"] == "lstm"


def test_describe_regressor_with_early_stopping_and_datetime_index():
    index = pd.date_range("2024-01-01", periods=40, freq="min")
    frames = [pd.DataFrame(RNG.normal(size=(40, 1)), index=index) for _ in range(40)]
    y = np.array([f.iloc[-5:, 0].mean() for f in frames])
    reg = PhasedLSTMRegressor(
        hidden_size=4, max_epochs=3, early_stopping=True, time_unit="min", random_state=0
    ).fit(frames, y)
    s = reg.describe().summary
    assert s["n_outputs"] == 1 and s["time_unit"] == "min" and s["best_epoch"] == reg.best_epoch_
    assert "kept" in str(reg.describe())
    assert reg.time_gates()["tau"].between(0.5, 80).all()  # minutes: 1 min spacing, 39 min long


def test_saved_model_keeps_gates_and_best_epoch(tmp_path):
    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=4, early_stopping=True, random_state=0
    ).fit(X, Y)
    clf.save(tmp_path / "m.plstm")
    loaded = sk_plstm.load(tmp_path / "m.plstm")
    pd.testing.assert_frame_equal(loaded.time_gates(initial=True), clf.time_gates(initial=True))
    pd.testing.assert_frame_equal(loaded.time_gates(), clf.time_gates())
    assert loaded.best_epoch_ == clf.best_epoch_
    assert str(loaded.describe(X)) == str(clf.describe(X))


def test_model_without_initial_gates_explains(tmp_path, fitted):
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0).fit(X, Y)
    del clf.initial_gates_  # as a model saved before they were recorded
    with pytest.raises(AttributeError, match="no initial gates"):
        clf.time_gates(initial=True)


def test_unfitted_estimator_raises():
    clf = PhasedLSTMClassifier()
    for call in (clf.time_gates, clf.describe, lambda: clf.gate_openness(X)):
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize("zone", [None, "Europe/Berlin"])
def test_gate_openness_gives_datetimes_as_given(zone):
    start = pd.Timestamp("2026-05-23 08:00", tz=zone)
    frames = [
        pd.DataFrame(
            {"a": np.sin(np.arange(n) + k)},
            index=start + pd.to_timedelta(np.cumsum(np.full(n, 90.0)) + 3600 * k, unit="s"),
        )
        for k, n in enumerate([6, 4, 5, 6])
    ]
    clf = PhasedLSTMClassifier(hidden_size=3, max_epochs=1, random_state=0)
    openness, times = clf.fit(frames, [0, 1, 0, 1]).gate_openness(frames[:2])
    assert times.shape == (2, 6)
    if zone is None:
        assert times.dtype == "datetime64[ns]" and np.isnat(times[1, 4:]).all()
        np.testing.assert_array_equal(times[1, :4], frames[1].index.to_numpy())
    else:
        assert times.dtype == object and all(t is pd.NaT for t in times[1, 4:])
        assert list(times[1, :4]) == list(frames[1].index)
        assert str(times[1, 0].tz) == zone
    assert np.isnan(openness[1, 4:]).all() and not np.isnan(openness[1, :4]).any()


@pytest.mark.heavy
def test_no_unit_dies_with_learned_open_ratios_on_long_durations():
    # room-days of sensors (24 h in seconds), learned r_on narrowed to 0.1 while training
    # with Adam at lr 1e-2: with r_on clamped at 1e-6 (before the parametrisation) 2 of
    # these 16 units fell to the clamp and never opened again (1 with random_state=1)
    from sk_plstm import from_events
    from sk_plstm.datasets import make_building_occupancy

    events, y = make_building_occupancy(160, random_state=0)
    X_days = from_events(events)
    clf = PhasedLSTMClassifier(
        hidden_size=16, max_epochs=100, final_r_on=0.1, learn_r_on=True, random_state=0
    ).fit(X_days, y)
    assert clf.training_updates_.shape == (1, 16)
    assert (clf.training_updates_ > 0).all()  # every unit opens on the training data
    r_on = clf.time_gates()["r_on"]
    assert (r_on >= 0.01 - 1e-7).all() and (r_on <= 0.1 + 1e-7).all()
    # the training data's counts, as update_counts gives them
    np.testing.assert_allclose(clf.training_updates_, clf.update_counts(X_days), rtol=1e-6)
    info = clf.describe()
    assert list(info.layers["never_opened"]) == [0]
    assert "never_opened:" not in str(info)


def test_describe_reports_units_that_never_opened(fitted):
    before = (fitted.training_updates_ == 0).sum(axis=1)  # fixed r_on=0.05: some may be
    dead = fitted.training_updates_.copy()
    dead[0, :] = 0.0
    fitted.training_updates_ = dead
    info = fitted.describe()
    assert list(info.layers["never_opened"]) == [6, *before[1:]]
    total = 6 + before[1:].sum()
    assert f"never_opened: {total} unit(s) closed at every training time point" in str(info)
    assert "tau initialised in (" in str(info) and "99999" not in str(info)

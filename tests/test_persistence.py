import json
import os
import pickle
import sys
import zipfile
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest
import torch

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm._persistence import FORMAT_VERSION

DATA = np.random.default_rng(0).normal(size=(24, 2, 12))
LABELS = np.array(["walk", "run", "sit"])[np.arange(24) % 3]
CUDA_MODEL = __import__("pathlib").Path(__file__).parent / "data" / "cuda_classifier.plstm"


@pytest.fixture
def fitted():
    return PhasedLSTMClassifier(hidden_size=6, max_epochs=3, random_state=0).fit(DATA, LABELS)


def _rewrite(src, dst, meta_change=None, weights=None, checksum=True):
    """A crafted file: ``src`` with its metadata or weights changed, and (by default)
    a recomputed checksum, as someone who knows the format would write it."""
    from sk_plstm._persistence import _checksum

    with zipfile.ZipFile(src) as archive:
        meta = json.loads(archive.read("meta.json"))
        payload = archive.read("weights.pt")
    if meta_change:
        meta_change(meta)
    meta_bytes = json.dumps(meta).encode()
    payload = payload if weights is None else weights
    with zipfile.ZipFile(dst, "w") as archive:
        archive.writestr("meta.json", meta_bytes)
        archive.writestr("weights.pt", payload)
        if checksum:
            archive.writestr("sha256", _checksum(meta_bytes, payload))


def test_round_trip_gives_identical_predictions(fitted, tmp_path):
    path = tmp_path / "model.plstm"
    fitted.save(path)
    loaded = sk_plstm.load(path)
    assert type(loaded) is PhasedLSTMClassifier
    assert loaded.get_params() == fitted.get_params()
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    np.testing.assert_array_equal(loaded.predict_proba(DATA), fitted.predict_proba(DATA))
    assert loaded.tau_range_ == fitted.tau_range_ and loaded.time_origin_ == fitted.time_origin_
    assert repr(loaded.tau_range_) == repr(fitted.tau_range_)  # printed rounded after load too
    assert loaded.history_[-1, "train_loss"] == fitted.history_[-1, "train_loss"]


def test_round_trip_of_a_phased_gru(tmp_path):
    gru = PhasedLSTMClassifier(
        hidden_size=5, num_layers=2, cell="gru", max_epochs=2, random_state=0
    ).fit(DATA, LABELS)
    gru.save(tmp_path / "gru.plstm")
    loaded = sk_plstm.load(tmp_path / "gru.plstm")
    assert loaded.cell == "gru" and type(loaded.module_.plstm).__name__ == "PhasedGRU"
    np.testing.assert_array_equal(loaded.predict_proba(DATA), gru.predict_proba(DATA))


def test_round_trip_with_input_encoding_summary_readout_and_training_updates(tmp_path):
    missing = DATA.copy()
    missing[::4, 1, ::3] = np.nan
    clf = PhasedLSTMClassifier(
        hidden_size=5,
        max_epochs=2,
        time_inputs=True,
        level_inputs=True,
        readout="summary",
        random_state=0,
    ).fit(missing, LABELS)
    clf.save(tmp_path / "m.plstm")
    loaded = sk_plstm.load(tmp_path / "m.plstm")
    assert (loaded.time_inputs, loaded.level_inputs, loaded.readout) == (True, True, "summary")
    np.testing.assert_array_equal(loaded.training_updates_, clf.training_updates_)
    np.testing.assert_array_equal(loaded.predict_proba(missing), clf.predict_proba(missing))


def test_round_trip_regressor_multi_output_datetime_and_optimizer_class(tmp_path):
    frames = []
    for i, series in enumerate(DATA):
        times = pd.date_range("2026-03-01", periods=12, freq="37s", tz="Europe/Paris")
        frames.append(pd.DataFrame(series.T, index=times + pd.Timedelta(minutes=i)))
    y = np.column_stack([DATA[:, 0, -1], DATA[:, 1, :].mean(axis=1)])
    reg = PhasedLSTMRegressor(
        hidden_size=5,
        num_layers=2,
        max_epochs=2,
        optimizer=torch.optim.SGD,
        time_unit="min",
        random_state=0,
    ).fit(frames, y)
    path = tmp_path / "reg.plstm"
    reg.save(path)
    loaded = sk_plstm.load(path)
    assert loaded.optimizer is torch.optim.SGD
    np.testing.assert_array_equal(loaded.predict(frames), reg.predict(frames))
    assert loaded.predict(frames).shape == (24, 2)


def test_pickle_and_joblib_still_work(fitted, tmp_path):
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(fitted)).predict_proba(DATA), fitted.predict_proba(DATA)
    )
    joblib.dump(fitted, tmp_path / "m.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "m.joblib").predict_proba(DATA), fitted.predict_proba(DATA)
    )


def test_loaded_model_keeps_training(fitted, tmp_path):
    fitted.save(tmp_path / "m.plstm")
    loaded = sk_plstm.load(tmp_path / "m.plstm")
    loaded.partial_fit(DATA, LABELS)
    assert loaded.n_iter_ == 4


def test_load_leaves_the_global_generator_alone(fitted, tmp_path):
    fitted.save(tmp_path / "m.plstm")
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    sk_plstm.load(tmp_path / "m.plstm")
    torch.testing.assert_close(torch.rand(2), expected)


def test_truncated_file(fitted, tmp_path):
    path = tmp_path / "m.plstm"
    fitted.save(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated or corrupt"):
        sk_plstm.load(path)


def test_not_a_model_file(tmp_path):
    path = tmp_path / "m.plstm"
    path.write_text("hello")
    with pytest.raises(ValueError, match="not a readable sk_plstm model file"):
        sk_plstm.load(path)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("meta.json", json.dumps({"format": "something-else"}))
        archive.writestr("weights.pt", b"")
    with pytest.raises(ValueError, match="not an sk_plstm model file"):
        sk_plstm.load(path)


def test_tampered_weights(fitted, tmp_path):
    path, bad = tmp_path / "m.plstm", tmp_path / "bad.plstm"
    fitted.save(path)
    state = {k: v + 1 for k, v in fitted.module_.state_dict().items()}
    import io

    buffer = io.BytesIO()
    torch.save(state, buffer)
    _rewrite(path, bad, weights=buffer.getvalue(), checksum=False)
    with pytest.raises(ValueError, match="checksum"):
        sk_plstm.load(bad)


def test_pickled_code_in_the_weights_is_never_run(fitted, tmp_path):
    import hashlib
    import io

    class Evil:
        def __reduce__(self):
            return (exec, ("raise SystemExit('code from the file ran')",))

    buffer = io.BytesIO()
    torch.save({"x": Evil()}, buffer)
    payload = buffer.getvalue()
    path, bad = tmp_path / "m.plstm", tmp_path / "bad.plstm"
    fitted.save(path)

    def matching_checksum(meta):
        meta["weights_sha256"] = hashlib.sha256(payload).hexdigest()

    _rewrite(path, bad, meta_change=matching_checksum, weights=payload)
    with pytest.raises(ValueError, match="invalid model"):
        sk_plstm.load(bad)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m.update(format_version=FORMAT_VERSION + 1), "format version"),
        (lambda m: m.update(estimator="os.system"), "unknown estimator class"),
        (lambda m: m["params"].update(optimizer={"__optimizer__": "Evil"}), "unknown optimizer"),
        (lambda m: m["params"].update(hidden_size=7), "invalid model"),
    ],
)
def test_tampered_or_foreign_metadata(fitted, tmp_path, change, message):
    path, bad = tmp_path / "m.plstm", tmp_path / "bad.plstm"
    fitted.save(path)
    _rewrite(path, bad, meta_change=change)
    with pytest.raises(ValueError, match=message):
        sk_plstm.load(bad)


def test_unsavable_settings_are_reported(tmp_path):
    from skorch.callbacks import Callback

    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, callbacks=[Callback()])
    clf.fit(DATA, LABELS)
    with pytest.warns(UserWarning, match="callbacks are not saved"):
        clf.save(tmp_path / "m.plstm")
    assert sk_plstm.load(tmp_path / "m.plstm").callbacks is None

    class MyAdam(torch.optim.Adam):
        pass

    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, optimizer=MyAdam).fit(DATA, LABELS)
    with pytest.raises(ValueError, match="not a torch.optim class"):
        clf.save(tmp_path / "m2.plstm")


def test_save_needs_a_fitted_model(tmp_path):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        PhasedLSTMClassifier().save(tmp_path / "m.plstm")


@pytest.mark.skipif(not CUDA_MODEL.exists(), reason="fixture written on a GPU machine")
def test_model_saved_on_cuda_loads_on_cpu():
    expected = np.load(CUDA_MODEL.with_suffix(".npz"))
    if torch.cuda.is_available():
        model = sk_plstm.load(CUDA_MODEL)
        assert next(model.module_.parameters()).is_cuda
    else:
        with pytest.warns(UserWarning, match="loaded on the CPU"):
            model = sk_plstm.load(CUDA_MODEL)
        assert model.device == "cpu"
    np.testing.assert_allclose(model.predict_proba(expected["X"]), expected["proba"], atol=1e-5)
    cpu = sk_plstm.load(CUDA_MODEL, device="cpu")
    np.testing.assert_allclose(cpu.predict_proba(expected["X"]), expected["proba"], atol=1e-5)


FIXTURES = CUDA_MODEL.parent


@pytest.mark.parametrize("name", ["classifier_v3", "regressor_v3", "sktime_classifier_v3"])
def test_models_saved_by_an_earlier_version_load_and_predict_alike(name):
    # written by tests/data/make_model_fixtures.py before the network was reorganised:
    # every later version must read them and give the same predictions
    expected = np.load(FIXTURES / "model_fixtures.npz")
    if name.startswith("sktime"):
        from sktime.base import load as sktime_load

        model = sk_plstm.load(FIXTURES / f"{name}.zip")
        np.testing.assert_allclose(
            sktime_load(FIXTURES / f"{name}.zip").predict_proba(expected["X"]),
            expected[name],
            atol=1e-5,
        )
    else:
        model = sk_plstm.load(FIXTURES / f"{name}.plstm")
    predict = model.predict_proba if hasattr(model, "predict_proba") else model.predict
    np.testing.assert_allclose(predict(expected["X"]), expected[name], atol=1e-5)


# ---------------------------------------------------------------- fuzzing and hostile files
@pytest.fixture(scope="module")
def fuzzer():
    import importlib

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        yield importlib.import_module("fuzz_files")
    finally:
        sys.path.remove(str(bench))


@pytest.mark.heavy
@pytest.mark.parametrize("kind", ["bytes", "meta", "checkpoint", "sktime"])
def test_fuzzed_files_load_identically_or_are_refused_clearly(fuzzer, kind):
    outcomes, failures = fuzzer.fuzz(120, kinds=[kind], seed=1)
    assert not failures, failures[:5]
    assert outcomes[(kind, "refused")] > 0 and sum(outcomes.values()) == 120


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda p: p.mkdir(), "not a regular file"),
        (lambda p: os.mkfifo(p), "not a regular file"),
    ],
)
def test_only_regular_files_are_read(tmp_path, make, message):
    path = tmp_path / "m.plstm"
    make(path)
    with pytest.raises(ValueError, match=message):
        sk_plstm.load(path)


def test_dev_zero_is_refused():
    with pytest.raises(ValueError, match="not a regular file"):
        sk_plstm.load("/dev/zero")


@pytest.mark.heavy
def test_a_decompression_bomb_is_refused(fitted, tmp_path):
    path, bomb = tmp_path / "m.plstm", tmp_path / "bomb.plstm"
    fitted.save(path)
    with zipfile.ZipFile(path) as archive:
        meta = archive.read("meta.json")
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", meta)
        archive.writestr("weights.pt", b"\0" * (200 * 2**20))  # 200 MiB of zeros
        archive.writestr("sha256", "0" * 64)
    assert bomb.stat().st_size < 2**20
    with pytest.raises(ValueError, match="inflate"):
        sk_plstm.load(bomb)
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", b" " * (65 * 2**20))
        archive.writestr("weights.pt", b"")
    with pytest.raises(ValueError, match="inflate"):
        sk_plstm.load(bomb)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["attributes"].update(fit=1), r"unknown fitted attributes \['fit'\]"),
        (lambda m: m["attributes"].pop("time_origin_"), r"missing fitted attributes"),
        (lambda m: m["attributes"].update(time_scale_=-1.0), "time_scale_ has an invalid"),
        (lambda m: m["attributes"].update(time_scale_=64.0), "time_scale_ does not match"),
        (lambda m: m["attributes"].update(n_channels_=True), "n_channels_ has an invalid"),
        (lambda m: m["attributes"].update(classes_="ab"), "classes_ has an invalid"),
        (lambda m: m["attributes"]["classes_"]["__ndarray__"].pop(), "cannot reshape"),
        (lambda m: m.update(output_size=5), "classes_ does not match"),
        (lambda m: m["params"].update(num_layers=10**7), "cells"),
        (lambda m: m["params"].update(hidden_size=True), "hidden_size"),
        (lambda m: m.update(format_version=True), "format version"),
    ],
)
def test_crafted_metadata_is_validated(fitted, tmp_path, change, message):
    path, bad = tmp_path / "m.plstm", tmp_path / "bad.plstm"
    fitted.save(path)
    _rewrite(path, bad, meta_change=change)  # the checksum recomputed: only validation helps
    with pytest.raises(ValueError, match=message):
        sk_plstm.load(bad)


def test_any_edit_without_the_checksum_is_refused(fitted, tmp_path):
    path, bad = tmp_path / "m.plstm", tmp_path / "bad.plstm"
    fitted.save(path)

    def reverse_classes(meta):
        meta["attributes"]["classes_"]["__ndarray__"].reverse()

    _rewrite(path, bad, meta_change=reverse_classes, checksum=False)
    with pytest.raises(ValueError, match="checksum"):
        sk_plstm.load(bad)


def test_concurrent_saves_to_one_path_leave_a_readable_file(fitted, tmp_path):
    import threading

    path = tmp_path / "m.plstm"
    errors = []

    def save():
        try:
            for _ in range(15):
                fitted.save(path)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=save) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    np.testing.assert_array_equal(
        sk_plstm.load(path).predict_proba(DATA), fitted.predict_proba(DATA)
    )
    assert [p.name for p in tmp_path.iterdir()] == ["m.plstm"]  # no temporary file left


def test_an_sktime_pickle_file_is_recognised(tmp_path):
    pytest.importorskip("sktime")
    from sk_plstm.sktime import PhasedLSTMClassifier as SktimePLSTM

    clf = SktimePLSTM(hidden_size=4, max_epochs=1, random_state=0).fit(DATA, LABELS)
    clf.save(tmp_path / "sktime_model", serialization_format="pickle")
    with pytest.raises(ValueError, match="written by sktime's save.*serialization_format='sk_pl"):
        sk_plstm.load(tmp_path / "sktime_model.zip")
    clf.save(tmp_path / "safe")  # the safe way, as the message says
    safe = sk_plstm.load(tmp_path / "safe.zip")
    np.testing.assert_array_equal(safe.predict_proba(DATA), clf.predict_proba(DATA))

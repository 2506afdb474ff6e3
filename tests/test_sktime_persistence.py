"""The sktime estimators in the package's safe model file (sk_plstm/sktime/_persistence.py)."""

import json
import pickle
import zipfile

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("sktime")

from sktime.base import load as sktime_load  # noqa: E402
from sktime.datasets import load_unit_test  # noqa: E402

import sk_plstm  # noqa: E402
from sk_plstm import PhasedLSTMClassifier as PlainClassifier  # noqa: E402
from sk_plstm._persistence import _checksum  # noqa: E402
from sk_plstm.sktime import PhasedLSTMClassifier, PhasedLSTMRegressor  # noqa: E402

X, Y = load_unit_test(split="train", return_type="pd-multiindex")
PARAMS = dict(hidden_size=4, max_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def classifier():
    return PhasedLSTMClassifier(**PARAMS).fit(X, pd.Series(Y, name="label"))


@pytest.fixture(scope="module")
def regressor():
    y = pd.DataFrame({"a": Y.astype(float), "b": -Y.astype(float) * 3})
    return PhasedLSTMRegressor(**PARAMS).fit(X, y)


def _assert_equal(other, value, name):
    assert type(other) is type(value) or isinstance(value, np.bool_), name
    if isinstance(value, (np.ndarray, pd.Index)):
        np.testing.assert_array_equal(other, value)
        assert other.dtype == value.dtype, name
    elif isinstance(value, dict):
        assert set(other) == set(value), name
        for key in value:
            _assert_equal(other[key], value[key], f"{name}[{key!r}]")
    elif isinstance(value, list):
        assert len(other) == len(value), name
        for a, b in zip(other, value):
            _assert_equal(a, b, name)
    else:
        assert other == value, name


def _same_state(loaded, original):
    """Every attribute the fit set is there, equal (the package estimator by predictions)."""
    assert set(vars(loaded)) == set(vars(original))
    for name, value in vars(original).items():
        if name != "estimator_":
            _assert_equal(getattr(loaded, name), value, name)


def test_save_writes_the_safe_format_that_both_loaders_read(classifier, tmp_path):
    classifier.save(tmp_path / "model").close()
    assert [p.name for p in tmp_path.iterdir()] == ["model.zip"]  # sktime's naming
    with zipfile.ZipFile(tmp_path / "model.zip") as archive:
        assert set(archive.namelist()) == {"meta.json", "weights.pt", "sha256", "_metadata"}
    for loaded in (sk_plstm.load(tmp_path / "model.zip"), sktime_load(str(tmp_path / "model"))):
        assert type(loaded) is PhasedLSTMClassifier
        np.testing.assert_array_equal(loaded.predict_proba(X), classifier.predict_proba(X))
        np.testing.assert_array_equal(loaded.predict(X), classifier.predict(X))
        _same_state(loaded, classifier)


def test_in_memory_save_is_the_safe_format_too(classifier, regressor):
    for estimator in (classifier, regressor):
        cls, data = estimator.save()
        assert cls is type(estimator) and data[:2] == b"PK"
        loaded = sktime_load((cls, data))
        _same_state(loaded, estimator)
        pd.testing.assert_frame_equal(
            pd.DataFrame(loaded.predict(X)), pd.DataFrame(estimator.predict(X))
        )


def test_regressor_keeps_its_output_columns(regressor, tmp_path):
    path = tmp_path / "reg.zip"  # a path ending in .zip is used as it is
    regressor.save(path).close()
    loaded = sk_plstm.load(path)
    prediction = loaded.predict(X)
    assert isinstance(prediction, pd.DataFrame) and list(prediction.columns) == ["a", "b"]
    pd.testing.assert_frame_equal(prediction, regressor.predict(X))


def test_configuration_and_tags_are_kept(tmp_path):
    clf = PhasedLSTMClassifier(**PARAMS).fit(X, Y)
    clf.set_config(warnings="off")
    clf.set_tags(authors=["someone"])
    clf.save(tmp_path / "m").close()
    loaded = sk_plstm.load(tmp_path / "m.zip")
    assert loaded.get_config()["warnings"] == "off"
    assert loaded.get_tag("authors") == ["someone"]


def test_sktimes_pickle_format_is_still_there_on_request(classifier, tmp_path):
    classifier.save(tmp_path / "pickled", serialization_format="pickle").close()
    loaded = sktime_load(str(tmp_path / "pickled"))
    np.testing.assert_array_equal(loaded.predict_proba(X), classifier.predict_proba(X))
    cls, data = classifier.save(serialization_format="pickle")
    assert type(sktime_load((cls, data))) is PhasedLSTMClassifier


def test_unfitted_and_vectorized_estimators_are_refused(tmp_path):
    with pytest.raises(Exception, match="not been fitted|NotFitted|fitted"):
        PhasedLSTMClassifier(**PARAMS).save(tmp_path / "m")
    two_columns = pd.DataFrame({"a": Y, "b": Y[::-1]})
    clf = PhasedLSTMClassifier(**PARAMS).fit(X, two_columns)  # sktime: one model per column
    with pytest.raises(ValueError, match="several label columns.*serialization_format='pickle'"):
        clf.save(tmp_path / "m")
    assert not list(tmp_path.iterdir())
    with pytest.raises(TypeError, match="path must be"):
        PhasedLSTMClassifier(**PARAMS).fit(X, Y).save(42)


def test_a_package_estimator_file_is_not_taken_for_an_sktime_one(tmp_path):
    plain = PlainClassifier(**PARAMS).fit(X, Y)
    plain.save(tmp_path / "plain.zip")
    assert type(sk_plstm.load(tmp_path / "plain.zip")) is PlainClassifier
    with pytest.raises(ValueError, match="not a PhasedLSTMClassifier"):
        PhasedLSTMClassifier.load_from_path(tmp_path / "plain.zip")
    with pytest.raises(ValueError, match="not a PhasedLSTMRegressor"):
        PhasedLSTMRegressor.load_from_serial((tmp_path / "plain.zip").read_bytes())


def _crafted(src, dst, change=None, reference=None):
    """``src`` with its metadata or class reference changed, the checksum recomputed."""
    with zipfile.ZipFile(src) as archive:
        meta = json.loads(archive.read("meta.json"))
        weights = archive.read("weights.pt")
        reference = archive.read("_metadata") if reference is None else reference
    if change:
        change(meta)
    meta_bytes = json.dumps(meta).encode()
    with zipfile.ZipFile(dst, "w") as archive:
        archive.writestr("meta.json", meta_bytes)
        archive.writestr("weights.pt", weights)
        archive.writestr("_metadata", reference)
        archive.writestr("sha256", _checksum(meta_bytes, weights, reference))


class _Planted:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_the_class_reference_is_checked_never_unpickled(classifier, tmp_path):
    classifier.save(tmp_path / "m").close()
    planted = tmp_path / "code_ran"
    for reference, message in [
        (pickle.dumps(_Planted(planted)), "does not name"),
        (pickle.dumps(PhasedLSTMRegressor, protocol=4), "does not name"),
        (pickle.dumps(print), "does not name"),
        (b"garbage", "not a class reference"),
    ]:
        _crafted(tmp_path / "m.zip", tmp_path / "bad.zip", reference=reference)
        with pytest.raises(ValueError, match=message):
            sk_plstm.load(tmp_path / "bad.zip")
        assert not planted.exists()
    # without the recomputed checksum any change is caught by it
    with (
        zipfile.ZipFile(tmp_path / "m.zip") as src,
        zipfile.ZipFile(tmp_path / "b2.zip", "w") as dst,
    ):
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, pickle.dumps(print) if name == "_metadata" else data)
    with pytest.raises(ValueError, match="checksum"):
        sk_plstm.load(tmp_path / "b2.zip")


def _state(meta):
    return meta["sktime"]["state"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["sktime"].update(estimator="Evil"), "unknown sktime estimator class"),
        (lambda m: m["sktime"].update(estimator="PhasedLSTMRegressor"), "does not hold a"),
        (lambda m: _state(m).pop("_y_metadata"), "expected fields"),
        (lambda m: _state(m).update(extra=1), "expected fields"),
        (lambda m: _state(m)["_y_metadata"].update(mtype="pickle"), "_y_metadata is invalid"),
        (
            lambda m: _state(m)["_y_metadata"].update(feature_names=["a", "b"]),
            "does not match the model's outputs",
        ),
        (lambda m: _state(m).update(_y_inner_mtype="pd-multiindex"), "_y_inner_mtype"),
        (lambda m: _state(m).update(fit_time_=-3), "fit_time_"),
        (lambda m: _state(m).update(fit_time_=True), "fit_time_"),
        (lambda m: _state(m)["_converter_store_y"].update(x=1), "_converter_store_y"),
        (
            lambda m: _state(m)["_converter_store_y"].update(columns={"__reduce__": 1}),
            "unknown entry",
        ),
        (
            lambda m: _state(m)["_converter_store_y"].update(
                columns={"__index__": [["x"]], "dtype": "object"}
            ),
            "index of unknown labels",
        ),
        (
            lambda m: _state(m)["_converter_store_y"].update(
                columns={"__index__": ["a"], "dtype": "no such dtype"}
            ),
            "invalid model",
        ),
        (lambda m: _state(m).update(_X_metadata=[1]), "_X_metadata"),
        (lambda m: _state(m).update(config=5), "config"),
        (lambda m: m.pop("sktime"), "sktime"),
    ],
)
def test_crafted_sktime_state_is_refused(classifier, tmp_path, change, message):
    classifier.save(tmp_path / "m").close()
    _crafted(tmp_path / "m.zip", tmp_path / "bad.zip", change)
    with pytest.raises(ValueError, match=message):
        sk_plstm.load(tmp_path / "bad.zip")


def test_an_older_format_cannot_claim_an_sktime_estimator(classifier, tmp_path):
    classifier.save(tmp_path / "m").close()
    _crafted(tmp_path / "m.zip", tmp_path / "bad.zip", lambda m: m.update(format_version=2))
    with pytest.raises(ValueError, match="format 2 does not have"):
        sk_plstm.load(tmp_path / "bad.zip")


def test_an_sktime_file_without_sktime_says_what_to_install(classifier, tmp_path, monkeypatch):
    import sys

    classifier.save(tmp_path / "m").close()
    monkeypatch.setitem(sys.modules, "sk_plstm.sktime._persistence", None)  # import fails
    with pytest.raises(ValueError, match="needs sktime.*pip install sktime"):
        sk_plstm.load(tmp_path / "m.zip")

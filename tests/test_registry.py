"""The registry of the classes that model files may name."""

import pytest

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm._registry import _CLASSES, loadable, loadable_classes, restorer


def test_the_package_estimators_are_registered_by_their_modules():
    classes = loadable_classes("estimator")
    assert classes == {
        "PhasedLSTMClassifier": PhasedLSTMClassifier,
        "PhasedLSTMRegressor": PhasedLSTMRegressor,
    }
    classes.clear()  # a copy: the registry is not changed through it
    assert loadable_classes("estimator")


def test_a_registered_class_is_loadable_and_others_are_not():
    @loadable("estimator")
    class Probe:
        pass

    try:
        assert loadable_classes("estimator")["Probe"] is Probe
    finally:
        del _CLASSES["estimator"]["Probe"]
    assert "Probe" not in loadable_classes("estimator")


def test_the_sktime_restorer_is_found_by_name():
    pytest.importorskip("sktime")
    from sk_plstm.sktime._persistence import restore

    assert restorer("sktime") is restore
    assert set(loadable_classes("sktime")) == {"PhasedLSTMClassifier", "PhasedLSTMRegressor"}

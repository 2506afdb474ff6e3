"""Every public class and function has a complete numpydoc docstring with an example.

The public objects are discovered from the ``__all__`` of ``sk_plstm`` and of each of its
public submodules (``sk_plstm.nn``, ``sk_plstm.sktime``, ``sk_plstm.datasets``, ...), so a
new object or module is checked as soon as it is exported. The examples themselves run
through pytest's ``--doctest-modules`` (pyproject's ``addopts``).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil

import pytest
from numpydoc import validate as numpydoc_validate

import sk_plstm

# checks of numpydoc.validate that every public class and function must pass
OBJECT_CHECKS = {
    "GL08": "no docstring",
    "SS01": "no summary",
    "SS02": "summary does not start with a capital letter",
    "SS03": "summary does not end with a period",
    "PR01": "parameters not documented",
    "PR02": "unknown parameters documented",
    "EX01": "no Examples section",
}
FUNCTION_CHECKS = {**OBJECT_CHECKS, "RT01": "no Returns section"}
# the public methods and properties that sk_plstm itself defines
METHOD_CHECKS = {
    "GL08": "no docstring",
    "PR01": "parameters not documented",
    "PR02": "unknown parameters documented",
}


def _public_modules() -> list[str]:
    """``sk_plstm`` and its submodules whose names do not start with an underscore."""
    names = ["sk_plstm"]
    for info in pkgutil.iter_modules(sk_plstm.__path__, prefix="sk_plstm."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            names.append(info.name)
    return names


def _needs(module: str) -> str | None:
    """Optional dependency a public module imports, if any."""
    return {"sk_plstm.sktime": "sktime", "sk_plstm.plotting": "matplotlib"}.get(module)


def _public_objects() -> list[tuple[str, object]]:
    """``(import path, object)`` of every class and function in a public ``__all__``."""
    found = []
    for name in _public_modules():
        needs = _needs(name)
        if needs is not None and importlib.util.find_spec(needs) is None:
            continue  # an optional dependency that is not installed
        module = importlib.import_module(name)
        assert hasattr(module, "__all__"), f"{name} has no __all__"
        for attr in module.__all__:
            obj = getattr(module, attr)
            if inspect.isclass(obj) or inspect.isfunction(obj):
                found.append((f"{name}.{attr}", obj))
    return found


def _own_members(cls: type) -> list[str]:
    """Public methods and properties of ``cls`` that are written in sk_plstm.

    Members inherited from scikit-learn, torch or sktime are those projects' concern, and
    so are the ``set_*_request`` methods scikit-learn generates on the class.
    """
    names = []
    for klass in cls.__mro__:
        if not klass.__module__.startswith("sk_plstm"):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in names:
                continue
            if isinstance(member, (classmethod, staticmethod)):
                member = member.__func__
            if isinstance(member, property) or inspect.isfunction(member):
                names.append(name)
    return sorted(names)


def _failures(import_path: str, checks: dict[str, str]) -> list[str]:
    result = numpydoc_validate.validate(import_path)
    return [f"{code} ({checks[code]}): {msg}" for code, msg in result["errors"] if code in checks]


PUBLIC = _public_objects()
MEMBERS = [
    (f"{path}.{name}", path)
    for path, obj in PUBLIC
    if inspect.isclass(obj)
    for name in _own_members(obj)
]


def test_public_objects_are_found():
    paths = {path for path, _ in PUBLIC}
    assert {
        "sk_plstm.PhasedLSTMClassifier",
        "sk_plstm.PhasedLSTMRegressor",
        "sk_plstm.PhasedLSTMStream",
        "sk_plstm.TrainingDivergedError",
        "sk_plstm.load",
        "sk_plstm.nn.PhasedLSTM",
        "sk_plstm.datasets.make_irregular",
    } <= paths
    assert "sk_plstm.PhasedLSTMClassifier.fit" in {path for path, _ in MEMBERS}


@pytest.mark.parametrize("path, obj", PUBLIC, ids=[path for path, _ in PUBLIC])
def test_public_docstring(path, obj):
    checks = OBJECT_CHECKS if inspect.isclass(obj) else FUNCTION_CHECKS
    problems = _failures(path, checks)
    doc = inspect.getdoc(obj) or ""
    examples = doc.partition("\nExamples\n--------\n")[2]
    if examples and ">>>" not in examples:
        problems.append("Examples section has no '>>>' line")
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path, owner", MEMBERS, ids=[path for path, _ in MEMBERS])
def test_public_method_docstring(path, owner):
    problems = _failures(path, METHOD_CHECKS)
    assert not problems, f"{path}:\n  " + "\n  ".join(problems)

"""The sktime estimators in the package's safe model file.

An ``sk_plstm.sktime`` estimator is its package estimator (``estimator_``, saved as any
package estimator is) plus sktime's own fitted state: what ``y`` looked like in ``fit``
(``_y_metadata``, ``_converter_store_y``, ``_y_inner_mtype``), what ``X`` looked like
(``_X_metadata``), the fit time and the configuration and tags set on the estimator.
That state is written as plain JSON data and checked field by field when it is read;
the class labels are the package estimator's.

The file also holds the member ``_metadata`` that ``sktime.base.load`` unpickles to find
the class, so that sktime's loader reads the file too. ``sk_plstm.load`` never unpickles
it: it reads its opcodes and accepts only a reference to the named class.
"""

from __future__ import annotations

import pickle
import pickletools
import zipfile
from enum import IntEnum
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._persistence import META, Wrapper
from .._registry import loadable_classes, register_restorer

__all__ = ["class_reference", "restore", "wrapper", "zip_path"]

#: the pickle protocol of the class reference (fixed, so the bytes are the same everywhere)
PROTOCOL = 4
#: the opcodes of a pickled reference to a class, and nothing else
REFERENCE_OPS = {
    "PROTO",
    "FRAME",
    "SHORT_BINUNICODE",
    "BINUNICODE",
    "MEMOIZE",
    "STACK_GLOBAL",
    "STOP",
}
#: sktime's fitted state that the file holds (the class labels come from ``estimator_``)
STATE = ("_y_metadata", "_y_inner_mtype", "_converter_store_y", "_X_metadata", "fit_time_")
TABLE_MTYPES = (
    "numpy1D",
    "numpy2D",
    "pd_Series_Table",
    "pd_DataFrame_Table",
    "list_of_dict",
    "polars_eager_table",
    "polars_lazy_table",
)


def _classes() -> dict[str, type]:
    return loadable_classes("sktime")


# ------------------------------------------------------------------ plain data both ways


def _plain(value: Any, name: str) -> Any:
    """``value`` as JSON-ready data, or a ValueError naming what cannot be saved."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, IntEnum):  # sktime's DtypeKind of each column
        return {"__kind__": int(value)}
    if isinstance(value, np.generic):
        return _plain(value.item(), name)
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, pd.Index) and not isinstance(value, pd.MultiIndex):
        return {"__index__": [_plain(v, name) for v in value.tolist()], "dtype": str(value.dtype)}
    if isinstance(value, (list, tuple)):
        return [_plain(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _plain(v, name) for k, v in value.items()}
    raise ValueError(
        f"sktime's fitted state {name} holds a {type(value).__name__}, which the safe model "
        "format cannot store; save with serialization_format='pickle' (sktime's format) "
        "if you need it."
    )


def _kind(value: int) -> Any:
    try:
        from sktime.datatypes._dtypekind import DtypeKind
    except ImportError:  # an sktime without column kinds: keep the number
        return value
    return DtypeKind(value)


def _unplain(value: Any, name: str, depth: int = 0) -> Any:
    """The inverse of :func:`_plain`, refusing anything it does not write."""
    if depth > 8:
        raise ValueError(f"{name} is nested too deeply")
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, list):
        return [_unplain(v, name, depth + 1) for v in value]
    if not isinstance(value, dict):
        raise ValueError(f"{name} holds a {type(value).__name__}")
    if set(value) == {"__kind__"}:
        kind = value["__kind__"]
        if not isinstance(kind, int) or isinstance(kind, bool):
            raise ValueError(f"{name} holds an invalid column kind")
        return _kind(kind)
    if set(value) == {"__index__", "dtype"}:
        items = value["__index__"]
        if not isinstance(items, list) or not isinstance(value["dtype"], str):
            raise ValueError(f"{name} holds an invalid index")
        if not all(isinstance(v, (str, int, float, bool)) or v is None for v in items):
            raise ValueError(f"{name} holds an index of unknown labels")
        dtype = pd.api.types.pandas_dtype(value["dtype"])  # a name, never code
        return pd.Index(items, dtype=dtype)
    if any(k.startswith("__") for k in value):
        raise ValueError(f"{name} holds an unknown entry {sorted(value)}")
    return {k: _unplain(v, name, depth + 1) for k, v in value.items()}


# ----------------------------------------------------------------------------- writing


def class_reference(cls: type) -> bytes:
    """The ``_metadata`` member that ``sktime.base.load`` unpickles: the class alone."""
    return pickle.dumps(cls, protocol=PROTOCOL)


def wrapper(estimator: Any) -> Wrapper:
    """What the model file holds of a fitted ``sk_plstm.sktime`` estimator beyond ``estimator_``.

    Parameters
    ----------
    estimator : sk_plstm.sktime.PhasedLSTMClassifier or PhasedLSTMRegressor
        A fitted estimator.

    Returns
    -------
    sk_plstm._persistence.Wrapper

    Raises
    ------
    ValueError
        If its state cannot be stored as plain data (for example, an estimator fitted
        on several label columns, which sktime splits into one estimator per column).
    """
    if getattr(estimator, "_is_vectorized", False):
        raise ValueError(
            f"This {type(estimator).__name__} was fitted on several label columns, one "
            "estimator per column (sktime's vectorization); the safe model format stores "
            "one estimator. Save it with serialization_format='pickle'."
        )
    classes = getattr(estimator, "classes_", None)
    if classes is not None and not np.array_equal(classes, estimator.estimator_.classes_):
        raise ValueError("the estimator's classes_ differ from those of its estimator_")
    state = {name: _plain(getattr(estimator, name), name) for name in STATE}
    state["config"] = _plain(estimator._config_dynamic, "the configuration")
    state["tags"] = _plain(estimator._tags_dynamic, "the tags")
    cls = type(estimator)
    return Wrapper(cls.__name__, state, class_reference(cls))


def zip_path(path: str | Path) -> Path:
    """Where sktime's ``save(path)`` puts its file: ``path`` with ``.zip`` appended."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or a pathlib.Path, not {type(path).__name__}.")
    path = Path(path)
    return path if path.suffix == ".zip" else path.with_name(path.name + ".zip")


def is_model_file(path: str | Path) -> bool:
    """Whether a zip file is in the package's model format (not sktime's pickle)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return META in archive.namelist()
    except (OSError, zipfile.BadZipFile):
        return False


# ----------------------------------------------------------------------------- reading


def _check_reference(reference: bytes | None, name: str) -> None:
    """The class reference must name ``sk_plstm.sktime``'s class ``name`` and do nothing else."""
    if reference is None:
        raise ValueError("the sktime class reference is missing")
    try:
        ops = list(pickletools.genops(reference))
    except Exception:
        raise ValueError("the sktime class reference is not a class reference") from None
    strings = [arg for op, arg, _ in ops if op.name in ("SHORT_BINUNICODE", "BINUNICODE")]
    if (
        {op.name for op, _, _ in ops} - REFERENCE_OPS
        or len(strings) != 2
        or not strings[0].startswith("sk_plstm.sktime")
        or strings[1] != name
    ):
        raise ValueError(f"the sktime class reference does not name sk_plstm.sktime.{name}")


def _check_state(state: Any, cls: type, inner: Any) -> dict:
    if not isinstance(state, dict) or set(state) != {*STATE, "config", "tags"}:
        raise ValueError("the sktime state does not hold the expected fields")
    decoded = {name: _unplain(value, name) for name, value in state.items()}
    y_meta = decoded["_y_metadata"]
    if not (
        isinstance(y_meta, dict)
        and y_meta.get("mtype") in TABLE_MTYPES
        and y_meta.get("scitype") == "Table"
        and isinstance(y_meta.get("is_univariate"), bool)
        and isinstance(y_meta.get("feature_names"), list)
    ):
        raise ValueError("the sktime state _y_metadata is invalid")
    outputs = 1 if hasattr(inner, "classes_") else int(np.size(inner.y_mean_))
    names = y_meta["feature_names"]
    if len(names) != outputs or y_meta["is_univariate"] != (outputs == 1):
        raise ValueError("the sktime state _y_metadata does not match the model's outputs")
    inner_mtypes = cls.get_class_tag("y_inner_mtype")
    inner_mtypes = [inner_mtypes] if isinstance(inner_mtypes, str) else list(inner_mtypes)
    if decoded["_y_inner_mtype"] not in inner_mtypes:
        raise ValueError("the sktime state _y_inner_mtype is invalid")
    store = decoded["_converter_store_y"]
    if not isinstance(store, dict) or not set(store) <= {"columns"}:
        raise ValueError("the sktime state _converter_store_y is invalid")
    if "columns" in store and (
        not isinstance(store["columns"], pd.Index) or len(store["columns"]) != outputs
    ):
        raise ValueError("the sktime state _converter_store_y does not match the outputs")
    if not isinstance(decoded["_X_metadata"], dict):
        raise ValueError("the sktime state _X_metadata is invalid")
    fit_time = decoded["fit_time_"]
    if not isinstance(fit_time, int) or isinstance(fit_time, bool) or fit_time < 0:
        raise ValueError("the sktime state fit_time_ is invalid")
    for name in ("config", "tags"):
        if not isinstance(decoded[name], dict):
            raise ValueError(f"the sktime {name} are invalid")
    return decoded


def restore(inner: Any, saved: Any, reference: bytes | None) -> Any:
    """The ``sk_plstm.sktime`` estimator around a loaded package estimator.

    Parameters
    ----------
    inner : sk_plstm.PhasedLSTMClassifier or PhasedLSTMRegressor
        The loaded, fitted package estimator.
    saved : dict
        The file's ``sktime`` entry: the class name and sktime's state.
    reference : bytes
        The file's ``_metadata`` member (checked, never unpickled).

    Returns
    -------
    sk_plstm.sktime.PhasedLSTMClassifier or PhasedLSTMRegressor
        Fitted, predicting as the saved one.

    Raises
    ------
    ValueError
        If anything in the entry is missing, unknown or inconsistent with the model.
    """
    classes = _classes()
    if not isinstance(saved, dict) or saved.get("estimator") not in classes:
        name = saved.get("estimator") if isinstance(saved, dict) else None
        raise ValueError(f"unknown sktime estimator class {name!r}")
    cls = classes[saved["estimator"]]
    if cls._estimator_class is not type(inner):
        raise ValueError(f"{cls.__name__} does not hold a {type(inner).__name__}")
    _check_reference(reference, cls.__name__)
    state = _check_state(saved.get("state"), cls, inner)
    estimator = cls(**inner.get_params())
    if state["config"]:
        estimator.set_config(**state["config"])
    if state["tags"]:
        estimator.set_tags(**state["tags"])
    for name in STATE:
        setattr(estimator, name, state[name])
    if hasattr(inner, "classes_"):
        estimator.classes_ = inner.classes_.copy()
        estimator.n_classes_ = len(inner.classes_)
        estimator._class_dictionary = {label: i for i, label in enumerate(estimator.classes_)}
    estimator.estimator_ = inner
    estimator._is_vectorized = False
    estimator._is_fitted = True
    return estimator


register_restorer("sktime", restore)

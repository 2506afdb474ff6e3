"""Saving and loading fitted estimators without pickle.

A model file is a zip archive with two members:

* ``meta.json``: format name and version, package version, estimator class,
  hyperparameters, fitted attributes (classes, channel count, time origin,
  standardisation statistics, ...), training history and a SHA-256 of the weights;
* ``weights.pt``: the torch module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``.

Loading parses JSON and tensors only: nothing in the file is executed, the estimator
class comes from a fixed list, and an optimiser class from ``torch.optim`` only.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from skorch.history import History

from ._data import TimeOrigin, TimeRange

__all__ = ["FORMAT_VERSION", "load", "write_model"]

FORMAT = "sk_plstm-model"
FORMAT_VERSION = 1


# ---------------------------------------------------------------------------- JSON coding


def _encode(value: Any, name: str) -> Any:
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, np.generic):
        return value
    if isinstance(value, np.generic):
        return _encode(value.item(), name)
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            raise TypeError
        return {
            "__ndarray__": [_encode(v, name) for v in value.ravel().tolist()],
            "dtype": value.dtype.str if value.dtype.kind != "O" else "object",
            "shape": list(value.shape),
        }
    if isinstance(value, TimeOrigin):
        fields = [value.kind, value.value, value.unit_ns]
        return {"__time_origin__": fields + ([value.tz] if value.tz is not None else [])}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, name) for v in value]}
    if isinstance(value, list):
        return [_encode(v, name) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v, name) for k, v in value.items()}
    raise TypeError


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__ndarray__" in value:
        dtype = object if value["dtype"] == "object" else np.dtype(value["dtype"])
        items = [_decode(v) for v in value["__ndarray__"]]
        array = np.empty(len(items), dtype=dtype)
        array[:] = items
        return array.reshape(value["shape"])
    if "__time_origin__" in value:
        return TimeOrigin(*value["__time_origin__"])  # a time zone is the optional 4th
    if "__tuple__" in value:
        return tuple(_decode(v) for v in value["__tuple__"])
    return {k: _decode(v) for k, v in value.items()}


def _saved_params(estimator: Any) -> dict[str, Any]:
    params = {}
    for name, value in estimator.get_params(deep=False).items():
        if name == "optimizer" and isinstance(value, type):
            if getattr(torch.optim, value.__name__, None) is not value:
                raise ValueError(
                    f"optimizer {value!r} is not a torch.optim class and cannot be saved "
                    "safely; use pickle or joblib for this model."
                )
            params[name] = {"__optimizer__": value.__name__}
        elif name == "callbacks" and value:
            warnings.warn(
                "callbacks are not saved (they are training-time objects); the loaded model "
                "has callbacks=None.",
                UserWarning,
                stacklevel=3,
            )
            params[name] = None
        elif name == "random_state" and isinstance(value, np.random.RandomState):
            warnings.warn(
                "random_state is a RandomState instance, which is not saved; the loaded model "
                "has random_state=None.",
                UserWarning,
                stacklevel=3,
            )
            params[name] = None
        elif isinstance(value, torch.device):
            params[name] = str(value)
        else:
            try:
                params[name] = _encode(value, name)
            except TypeError:
                raise ValueError(
                    f"The parameter {name}={value!r} cannot be saved as JSON; use pickle or "
                    "joblib for this model."
                ) from None
    return params


def _fitted_attributes(estimator: Any) -> dict[str, Any]:
    attributes = {}
    for name, value in vars(estimator).items():
        if name == "net_" or not (name.endswith("_") or name == "_y_ndim"):
            continue
        if name.startswith("__"):
            continue
        try:
            attributes[name] = _encode(value, name)
        except TypeError:
            raise ValueError(
                f"The fitted attribute {name} ({type(value).__name__}) cannot be saved as JSON; "
                "use pickle or joblib for this model."
            ) from None
    return attributes


# ---------------------------------------------------------------------------- save / load


def write_model(estimator: Any, net: Any, path: str | Path) -> Path:
    """Write a fitted estimator (with its skorch net) to ``path``.

    Parameters
    ----------
    estimator : PhasedLSTMClassifier or PhasedLSTMRegressor
        The estimator whose parameters and fitted attributes are saved.
    net : skorch.NeuralNet
        Its trained net (``estimator.net_``, or the net of a fit in progress).
    path : str or pathlib.Path
        Destination file; written atomically (a temporary file, then renamed).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.module_.state_dict().items()}, buffer)
    weights = buffer.getvalue()
    output_size = net.module_.head.out_features
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sk_plstm_version": _package_version(),
        "estimator": type(estimator).__name__,
        "params": _saved_params(estimator),
        "attributes": _fitted_attributes(estimator),
        "output_size": output_size,
        "history": _encode(net.history.to_list(), "history"),
        "weights_sha256": hashlib.sha256(weights).hexdigest(),
    }
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", json.dumps(meta, allow_nan=True))
        archive.writestr("weights.pt", weights)
    tmp.replace(path)
    return path


def _package_version() -> str:
    from . import __version__

    return __version__


def _estimator_classes() -> dict[str, type]:
    from ._classifier import PhasedLSTMClassifier
    from ._regressor import PhasedLSTMRegressor

    return {cls.__name__: cls for cls in (PhasedLSTMClassifier, PhasedLSTMRegressor)}


def _read(path: Path) -> tuple[dict, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("meta.json"))
            weights = archive.read("weights.pt")
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise ValueError(
            f"{path} is not a readable sk_plstm model file (truncated or corrupt?): {exc}"
        ) from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an sk_plstm model file.")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path} has model format version {meta.get('format_version')!r} (written by "
            f"sk_plstm {meta.get('sk_plstm_version')}); this sk_plstm "
            f"({_package_version()}) reads format version {FORMAT_VERSION}."
        )
    if hashlib.sha256(weights).hexdigest() != meta.get("weights_sha256"):
        raise ValueError(f"{path}: the weights do not match their checksum (tampered or corrupt).")
    return meta, weights


def load(path: str | Path, device: str | None = None) -> Any:
    """Load an estimator saved with ``save``, without unpickling anything.

    Parameters
    ----------
    path : str or pathlib.Path
        A file written by :meth:`PhasedLSTMClassifier.save` or
        :meth:`PhasedLSTMRegressor.save`.
    device : str, optional
        Where to put the model. By default the device it was saved from, or the CPU
        (with a warning) when that device is a GPU and none is available here.

    Returns
    -------
    PhasedLSTMClassifier or PhasedLSTMRegressor
        The fitted estimator, predicting exactly as the saved one.

    Raises
    ------
    ValueError
        If the file is truncated, corrupt, tampered with, of another format version, or
        names an unknown estimator class.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> import sk_plstm
    >>> X = np.random.default_rng(0).normal(size=(20, 2, 8)); y = np.arange(20) % 2
    >>> clf = sk_plstm.PhasedLSTMClassifier(hidden_size=4, max_epochs=2).fit(X, y)
    >>> path = os.path.join(tempfile.mkdtemp(), "model.plstm")
    >>> clf.save(path)
    >>> same = sk_plstm.load(path)
    >>> bool(np.array_equal(same.predict_proba(X), clf.predict_proba(X)))
    True
    """
    path = Path(path)
    meta, weights = _read(path)
    classes = _estimator_classes()
    if meta.get("estimator") not in classes:
        raise ValueError(f"{path} names an unknown estimator class {meta.get('estimator')!r}.")
    try:
        params = {}
        for name, value in meta["params"].items():
            if isinstance(value, dict) and "__optimizer__" in value:
                optimizer = getattr(torch.optim, str(value["__optimizer__"]), None)
                if not (
                    isinstance(optimizer, type) and issubclass(optimizer, torch.optim.Optimizer)
                ):
                    raise ValueError(f"unknown optimizer {value['__optimizer__']!r}")
                params[name] = optimizer
            else:
                params[name] = _decode(value)
        estimator = classes[meta["estimator"]](**params)
        if device is None:
            device = params.get("device", "cpu")
            if torch.device(device).type == "cuda" and not torch.cuda.is_available():
                warnings.warn(
                    f"{path} was saved from device {device!r}; CUDA is not available, so it "
                    "is loaded on the CPU.",
                    UserWarning,
                    stacklevel=2,
                )
                device = "cpu"
        estimator.set_params(device=device)
        for name, value in meta["attributes"].items():
            value = _decode(value)
            if name == "tau_range_":  # printed rounded, as after fit
                value = TimeRange(value)
            setattr(estimator, name, value)
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        net = estimator._build_net(int(meta["output_size"]))
        with torch.random.fork_rng(devices=[]):  # initialisation must not touch the global RNG
            net.initialize()
        net.module_.load_state_dict(state)
        net.history = History(_decode(meta["history"]))
    except ValueError:
        raise
    except Exception as exc:
        raise ValueError(
            f"{path} holds an invalid model: {exc.__class__.__name__}: {exc}"
        ) from None
    estimator.net_ = net
    return estimator

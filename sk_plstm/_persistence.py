"""Saving and loading fitted estimators without pickle.

A model file is a zip archive with these members:

* ``meta.json``: format name and version, package version, estimator class,
  hyperparameters, fitted attributes (classes, channel count, time origin,
  standardisation statistics, ...), training history and, for an estimator of
  ``sk_plstm.sktime``, the sktime estimator's own fitted state (as plain data);
* ``weights.pt``: the torch module's ``state_dict``, read back with
  ``torch.load(weights_only=True)``;
* ``sha256``: a SHA-256 of every other member;
* ``_metadata`` (files of the ``sk_plstm.sktime`` estimators only): the reference to the
  estimator class that ``sktime.base.load`` expects, so that sktime's loader reads the
  file too. ``sk_plstm.load`` never unpickles it: it checks that the bytes are exactly
  those the writer puts there for the named class.

Loading parses JSON and tensors only: nothing in the file is executed, the estimator
class comes from a fixed list, and an optimiser class from ``torch.optim`` only.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from skorch.history import History

from ._data import TimeOrigin, TimeRange
from ._registry import loadable_classes, restorer
from ._version import __version__
from .nn._init import check_tau_range

__all__ = ["FORMAT_VERSION", "Wrapper", "load", "load_bytes", "model_bytes", "write_model"]

FORMAT = "sk_plstm-model"
#: 3: may hold an sktime estimator (its state and sktime's class reference);
#: 2: a checksum member covers the whole file (1: the weights only); both still read
FORMAT_VERSION = 3
READABLE_VERSIONS = (1, 2, 3)
META, WEIGHTS, CHECKSUM, SKTIME_CLASS = "meta.json", "weights.pt", "sha256", "_metadata"
#: what a model file may inflate to: the metadata (parameters, attributes, history) and
#: the weights (at least 64 MiB, or 200 times their compressed size: float weights barely
#: compress, so a larger ratio is a decompression bomb)
META_LIMIT = 64 * 2**20
WEIGHTS_FLOOR, WEIGHTS_RATIO = 64 * 2**20, 200


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
    if isinstance(value, dict):  # keys of any encodable kind (class_weight's labels)
        return {"__items__": [[_encode(k, name), _encode(v, name)] for k, v in value.items()]}
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
    if "__items__" in value:
        return {_decode(k): _decode(v) for k, v in value["__items__"]}
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
    for name, value in estimator._fitted_state().items():
        if name == "net_":
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


class Wrapper(NamedTuple):
    """An estimator of ``sk_plstm.sktime`` around the package estimator that is saved.

    Attributes
    ----------
    name : str
        Its class name in ``sk_plstm.sktime``.
    state : dict
        Its own fitted state (beyond the package estimator), as JSON-ready data.
    class_reference : bytes
        The ``_metadata`` member that ``sktime.base.load`` unpickles to find the class.
    """

    name: str
    state: dict
    class_reference: bytes


def model_bytes(estimator: Any, net: Any, wrapper: Wrapper | None = None) -> bytes:
    """The model file of a fitted estimator (with its skorch net), as bytes.

    Parameters
    ----------
    estimator : PhasedLSTMClassifier or PhasedLSTMRegressor
        The estimator whose parameters and fitted attributes are saved.
    net : skorch.NeuralNet
        Its trained net (``estimator.net_``, or the net of a fit in progress).
    wrapper : Wrapper, optional
        The ``sk_plstm.sktime`` estimator that holds ``estimator``, saved with it.

    Returns
    -------
    bytes
        What :func:`load_bytes` reads (and :func:`load`, once written to a file).
    """
    buffer = io.BytesIO()
    torch.save({k: v.detach().cpu() for k, v in net.module_.state_dict().items()}, buffer)
    weights = buffer.getvalue()
    output_size = net.module_.output_size
    meta = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "sk_plstm_version": _package_version(),
        "estimator": type(estimator).__name__,
        "params": _saved_params(estimator),
        "attributes": _fitted_attributes(estimator),
        "output_size": output_size,
        "history": _encode(net.history.to_list(), "history"),
    }
    if wrapper is not None:
        meta["sktime"] = {"estimator": wrapper.name, "state": wrapper.state}
    meta_bytes = json.dumps(meta, allow_nan=True).encode()
    extra = wrapper.class_reference if wrapper is not None else b""
    archive_bytes = io.BytesIO()
    with zipfile.ZipFile(archive_bytes, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(META, meta_bytes)
        archive.writestr(WEIGHTS, weights)
        if wrapper is not None:
            archive.writestr(SKTIME_CLASS, extra)
        archive.writestr(CHECKSUM, _checksum(meta_bytes, weights, extra))
    return archive_bytes.getvalue()


def write_model(estimator: Any, net: Any, path: str | Path, wrapper: Wrapper | None = None) -> Path:
    """Write :func:`model_bytes` of a fitted estimator to ``path``, atomically.

    Parameters
    ----------
    estimator, net, wrapper
        As for :func:`model_bytes`.
    path : str or pathlib.Path
        Destination file; written atomically (a temporary file, then renamed).

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    data = model_bytes(estimator, net, wrapper)
    replace_atomically(path, lambda tmp: Path(tmp).write_bytes(data))
    return path


def _checksum(meta: bytes, weights: bytes, extra: bytes = b"") -> str:
    digest = hashlib.sha256(len(meta).to_bytes(8, "little"))
    digest.update(meta)
    digest.update(weights)
    if extra:  # the sktime class reference (format 3), after its length and the weights'
        digest.update(len(weights).to_bytes(8, "little") + len(extra).to_bytes(8, "little"))
        digest.update(extra)
    return digest.hexdigest()


def replace_atomically(path: str | Path, write: Any) -> None:
    """Write ``path`` through ``write(tmp)`` on a temporary file of its own, then rename.

    Each writer gets a unique temporary file in the destination's folder, so that
    concurrent writers (threads, processes) never share one: the last rename wins and
    every reader sees a complete file.

    Parameters
    ----------
    path : str or pathlib.Path
        The destination.
    write : callable
        ``write(tmp)`` writes the whole content to the file named ``tmp``.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _package_version() -> str:
    return __version__


class _SktimeFile(ValueError):
    """An sktime save() archive given to sk_plstm.load."""


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    if info.file_size > limit:
        raise ValueError(f"its member {info.filename} would inflate to {info.file_size} bytes")
    with archive.open(info) as member:  # the declared size may lie: read at most limit + 1
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"its member {info.filename} inflates beyond {limit} bytes")
    return data


def check_regular_file(path: Path, what: str) -> None:
    """Refuse what is not a regular file (a FIFO would block, a device never end)."""
    mode = os.stat(path).st_mode  # FileNotFoundError and PermissionError pass through
    if not stat.S_ISREG(mode):
        raise ValueError(f"{path} is not a regular file; {what} must be one.")


def _read(path: Path | str, data: bytes | None = None) -> tuple[dict, bytes, bytes | None]:
    """The metadata, the weights and the sktime class reference of a model file.

    ``path`` names the file, or (with ``data``) only the bytes in the messages.
    """
    if data is None:
        check_regular_file(Path(path), "a model file")
    broken = f"{path} is not a readable sk_plstm model file (truncated or corrupt?)"
    try:
        with zipfile.ZipFile(path if data is None else io.BytesIO(data)) as archive:
            members = {info.filename: info for info in archive.infolist()}
            if set(members) == {SKTIME_CLASS, "_obj"}:
                raise _SktimeFile(
                    f"{path} was written by sktime's save() with a pickle serialization "
                    "format, which stores the estimator as a pickle; sk_plstm.load reads "
                    "only sk_plstm's own format, which runs no code from the file. Load it "
                    "with sktime.base.load only if you trust its source; est.save(path) "
                    "with the default serialization_format='sk_plstm' writes the safe "
                    "format, which both sk_plstm.load and sktime.base.load read."
                )
            allowed = {META, WEIGHTS, CHECKSUM, SKTIME_CLASS}
            if not {META, WEIGHTS} <= members.keys() <= allowed:
                raise ValueError(f"it holds the members {sorted(members)}")
            meta_bytes = _read_member(archive, members[META], META_LIMIT)
            compressed = members[WEIGHTS].compress_size
            limit = max(WEIGHTS_FLOOR, WEIGHTS_RATIO * compressed)
            weights = _read_member(archive, members[WEIGHTS], limit)
            checksum, reference = (
                _read_member(archive, members[name], 1024) if name in members else None
                for name in (CHECKSUM, SKTIME_CLASS)
            )
        meta = json.loads(meta_bytes)
    except (FileNotFoundError, _SktimeFile):
        raise
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        KeyError,
        EOFError,
        OSError,
        ValueError,  # JSON errors, UnicodeDecodeError, and the member checks above
        RuntimeError,  # encrypted members; RecursionError of deeply nested JSON
        NotImplementedError,  # compression methods zipfile cannot read
        MemoryError,
        OverflowError,
    ) as exc:
        raise ValueError(f"{broken}: {exc.__class__.__name__}: {exc}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{path} is not an sk_plstm model file.")
    version = meta.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        raise ValueError(
            f"{path} has model format version {version!r} (written by "
            f"sk_plstm {meta.get('sk_plstm_version')}); this sk_plstm "
            f"({_package_version()}) reads format versions {list(READABLE_VERSIONS)}."
        )
    if version >= 2:
        expected = _checksum(meta_bytes, weights, reference or b"")
        if checksum is None or checksum.decode("ascii", "replace") != expected:
            raise ValueError(f"{path} does not match its checksum (tampered or corrupt).")
    elif hashlib.sha256(weights).hexdigest() != meta.get("weights_sha256"):
        raise ValueError(f"{path}: the weights do not match their checksum (tampered or corrupt).")
    if (reference is not None or "sktime" in meta) and version < 3:
        raise ValueError(f"{path} holds sktime members, which format {version} does not have.")
    return meta, weights, reference


# ------------------------------------------------------------ what a model file may hold


def _is_int(value: Any, low: int = 0) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


def _finite_array(value: Any, shape: tuple | None = None, positive: bool = False) -> bool:
    if not isinstance(value, np.ndarray) or value.dtype.kind not in "iuf":
        return False
    if shape is not None and value.shape != shape:
        return False
    finite = bool(np.isfinite(value).all())
    return finite and (not positive or bool((value > 0).all()))


def _check_origin(origin: Any) -> bool:
    if not isinstance(origin, TimeOrigin):
        return False
    if origin.kind not in ("numeric", "datetime", "timedelta", "steps"):
        return False
    if not _is_int(origin.unit_ns, 1) or not (origin.tz is None or isinstance(origin.tz, str)):
        return False
    if origin.kind in ("datetime", "timedelta"):
        return isinstance(origin.value, int) and not isinstance(origin.value, bool)
    number = isinstance(origin.value, (int, float)) and not isinstance(origin.value, bool)
    return number and bool(np.isfinite(origin.value))


def _check_range(value: Any) -> bool:
    if not (isinstance(value, tuple) and all(isinstance(v, float) for v in value)):
        return False
    try:
        check_tau_range(value)
    except ValueError:
        return False
    return True


def _check_gates(value: Any) -> bool:
    if not (isinstance(value, dict) and set(value) == {"tau", "shift", "r_on"}):
        return False
    shapes = {v.shape if isinstance(v, np.ndarray) else None for v in value.values()}
    return len(shapes) == 1 and all(_finite_array(v) and v.ndim == 2 for v in value.values())


#: every fitted attribute a model file may set, with the check of its value
ATTRIBUTES = {
    "time_origin_": _check_origin,
    "n_channels_": lambda v: _is_int(v, 1),
    "n_features_in_": lambda v: _is_int(v, 1),
    "feature_names_in_": lambda v: (
        isinstance(v, np.ndarray) and v.ndim == 1 and all(isinstance(n, str) for n in v)
    ),
    "channel_names_": lambda v: (
        isinstance(v, tuple) and all(isinstance(n, str) for n in v) and len(set(v)) == len(v)
    ),
    "mask_inputs_": lambda v: isinstance(v, bool),
    "interrupted_": lambda v: isinstance(v, bool),
    "channel_mean_": lambda v: _finite_array(v) and v.ndim == 1,
    "channel_std_": lambda v: _finite_array(v, positive=True) and v.ndim == 1,
    "classes_": lambda v: (
        isinstance(v, np.ndarray) and v.ndim == 1 and len(v) >= 2 and len(set(v.tolist())) == len(v)
    ),
    "y_mean_": lambda v: _finite_array(v) and v.ndim == 1,
    "y_std_": lambda v: _finite_array(v, positive=True) and v.ndim == 1,
    "y_ndim_": lambda v: v in (1, 2) and not isinstance(v, bool),
    "tau_range_": _check_range,
    "time_scale_": lambda v: isinstance(v, float) and np.isfinite(v) and v > 0,
    "seed_": lambda v: _is_int(v),
    "n_iter_": lambda v: _is_int(v),
    "best_epoch_": lambda v: _is_int(v, 1),
    "initial_gates_": _check_gates,
    "training_updates_": lambda v: _finite_array(v) and v.ndim == 2 and bool((v >= 0).all()),
    "event_input_": lambda v: isinstance(v, bool),
    "sensor_size_": lambda v: (
        isinstance(v, tuple) and len(v) == 3 and all(_is_int(s, 1) for s in v)
    ),
}
REQUIRED = {
    "PhasedLSTMClassifier": {"classes_"},
    "PhasedLSTMRegressor": {"y_mean_", "y_std_", "y_ndim_"},
}
#: parameters added since the first format version, with the value that builds the model
#: a file without them describes (their defaults may differ)
ADDED_PARAMS = {"time_inputs": False, "level_inputs": False, "readout": "last"}
#: fitted attributes renamed since an earlier version: {old name: new name}
RENAMED = {"_y_ndim": "y_ndim_"}
# n_iter_ is absent from the best model written during a fit (it is the history's length)
COMMON = {"time_origin_", "n_channels_", "tau_range_", "time_scale_", "seed_"}


def _check_attributes(attributes: dict, estimator: Any, output_size: Any) -> dict:
    """Decoded fitted attributes, each known and valid, consistent with each other.

    Raises
    ------
    ValueError
        Naming the first attribute that is unknown, missing or invalid.
    """
    attributes = {RENAMED.get(name, name): value for name, value in attributes.items()}
    unknown = sorted(set(attributes) - set(ATTRIBUTES))
    if unknown:
        raise ValueError(f"unknown fitted attributes {unknown}")
    required = COMMON | REQUIRED[type(estimator).__name__]
    if estimator.standardize and not attributes.get("event_input_", False):
        required = required | {"channel_mean_", "channel_std_"}  # events: values as given
    estimator = type(estimator).__name__
    missing = sorted(required - set(attributes))
    if missing:
        raise ValueError(f"missing fitted attributes {missing}")
    decoded = {name: _decode(value) for name, value in attributes.items()}
    if "tau_range_" in decoded and isinstance(decoded["tau_range_"], tuple):
        decoded["tau_range_"] = TimeRange(decoded["tau_range_"])  # printed rounded
    for name, value in decoded.items():
        if not ATTRIBUTES[name](value):
            raise ValueError(f"the fitted attribute {name} has an invalid value")
    channels = decoded["n_channels_"]
    for name in ("channel_mean_", "channel_std_"):
        if name in decoded and decoded[name].shape != (channels,):
            raise ValueError(f"{name} does not have one value per channel ({channels})")
    if "channel_names_" in decoded and len(decoded["channel_names_"]) != channels:
        raise ValueError(f"channel_names_ does not name {channels} channels")
    low = decoded["tau_range_"][0]
    if decoded["time_scale_"] != float(2.0 ** np.round(np.log2(low))):
        raise ValueError("time_scale_ does not match tau_range_")
    if not _is_int(output_size, 1):
        raise ValueError("output_size is not a positive integer")
    if estimator == "PhasedLSTMClassifier" and output_size != len(decoded["classes_"]):
        raise ValueError("classes_ does not match the network's outputs")
    if estimator == "PhasedLSTMRegressor" and decoded["y_mean_"].shape != (output_size,):
        raise ValueError("y_mean_ does not match the network's outputs")
    if estimator == "PhasedLSTMRegressor" and decoded["y_std_"].shape != (output_size,):
        raise ValueError("y_std_ does not match the network's outputs")
    if decoded.get("best_epoch_", 0) > decoded.get("n_iter_", float("inf")):
        raise ValueError("best_epoch_ is after the last epoch")
    return decoded


def _check_sizes(estimator: Any, state: dict) -> None:
    """The network the parameters describe must be the one the weights hold."""
    if not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError("the weights are not a dictionary of tensors")
    cells = {key.split(".")[2] for key in state if key.startswith("plstm.cells.")}
    expected = estimator.num_layers * (2 if estimator.bidirectional else 1)
    if len(cells) != expected:
        raise ValueError(f"the weights hold {len(cells)} cells, the parameters {expected}")
    hh = state.get("plstm.cells.0.weight_hh")
    if hh is None or hh.ndim != 2 or hh.shape[1] != estimator.hidden_size:
        raise ValueError("the weights do not have hidden_size units")


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
        The fitted estimator, predicting exactly as the saved one: of
        ``sk_plstm.sktime`` when one of those was saved (its ``save(path)``).

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
    return _load(path, _read(path), device)


def load_bytes(data: bytes, device: str | None = None, name: str = "the model bytes") -> Any:
    """Load an estimator from the bytes of a model file (as :func:`load` reads a file).

    Parameters
    ----------
    data : bytes
        The content of a model file (as :func:`model_bytes` makes it).
    device : str, optional
        As for :func:`load`.
    name : str, default="the model bytes"
        What the error messages call the data.

    Returns
    -------
    estimator
        The fitted estimator.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"{name} must be bytes, not {type(data).__name__}.")
    return _load(name, _read(name, bytes(data)), device)


def _load(path: Path | str, content: tuple[dict, bytes, bytes | None], device: str | None) -> Any:
    meta, weights, reference = content
    classes = loadable_classes("estimator")
    if meta.get("estimator") not in classes:
        raise ValueError(f"{path} names an unknown estimator class {meta.get('estimator')!r}.")
    restore = None
    if reference is not None or "sktime" in meta:
        try:
            restore = restorer("sktime")
        except ImportError as exc:
            raise ValueError(
                f"{path} holds an sk_plstm.sktime estimator, which needs sktime ({exc}); "
                'install it with `pip install sktime` (or `pip install -e ".[sktime]"`).'
            ) from None
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
        for name, earlier in ADDED_PARAMS.items():  # files written before they existed
            params.setdefault(name, earlier)
        estimator = classes[meta["estimator"]](**params)
        if device is None:
            device = params.get("device", "cpu")
            if torch.device(device).type == "cuda" and not torch.cuda.is_available():
                warnings.warn(
                    f"{path} was saved from device {device!r}; CUDA is not available, so it "
                    "is loaded on the CPU.",
                    UserWarning,
                    stacklevel=3,
                )
                device = "cpu"
        estimator.set_params(device=device)
        estimator._validate_params()  # types and ranges, as fit checks them
        attributes = _check_attributes(meta["attributes"], estimator, meta["output_size"])
        state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise ValueError("the weights are not a state dict")
        _check_sizes(estimator, state)
        estimator.__dict__.update(attributes)
        net = estimator._build_net(meta["output_size"])
        with torch.random.fork_rng(devices=[]):  # initialisation must not touch the global RNG
            net.initialize()
        net.module_.load_state_dict(state)
        net.history = History(_decode(meta["history"]))
        estimator.net_ = net
        if restore is not None:
            estimator = restore(estimator, meta.get("sktime"), reference)
    except ValueError as exc:
        raise ValueError(f"{path} holds an invalid model: {exc}") from None
    except Exception as exc:
        raise ValueError(
            f"{path} holds an invalid model: {exc.__class__.__name__}: {exc}"
        ) from None
    return estimator

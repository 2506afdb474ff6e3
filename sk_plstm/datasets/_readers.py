"""Readers (and fixture writers) for two neuromorphic datasets, in tonic's event layout.

* **N-MNIST** (Orchard et al., "Converting static image datasets to spiking neuromorphic
  datasets using saccades", Frontiers in Neuroscience 2015): one binary ``.bin`` file per
  sample, 5 bytes per event. :func:`read_nmnist` reads one file, :func:`read_nmnist_folder`
  the extracted dataset (``<digit>/<file>.bin``, optionally under ``Train/`` and
  ``Test/``), :func:`write_nmnist` writes the format (for fixtures and tests).
* **Spiking Heidelberg Digits** (SHD; Cramer et al., "The Heidelberg spiking data sets for
  the systematic evaluation of spiking neural networks", IEEE TNNLS 2020): one HDF5 file
  per split with ragged ``spikes/times`` (seconds) and ``spikes/units`` (channels
  ``0..699``) per sample and ``labels``. :func:`read_shd` reads it and :func:`write_shd`
  writes it; both need the optional dependency ``h5py``.

Events come back as numpy structured arrays, as the ``tonic`` package holds them:
``NMNIST_DTYPE`` (fields ``x, y, t, p``) and ``SHD_DTYPE`` (fields ``x, t, p``; tonic
orders the SHD fields ``t, x, p``, access by field name is the same). Times are integer
microseconds. Nothing here touches the network.

The N-MNIST timestamp-overflow records
--------------------------------------
The 5-byte record holds a 23-bit timestamp. The ATIS recordings mark a timestamp overflow
with a special record whose ``y`` byte is 240 (no real N-MNIST pixel has ``y = 240``; the
sensor is 34 x 34). The reference Python reader (Orchard's ``eventvision.py``, which
tonic's ``read_mnist_file`` adapts) adds ``2**13`` microseconds to the timestamps of that
record and of every record after it, once per overflow record, and then drops the overflow
records; :func:`read_nmnist` does the same. (Orchard's MATLAB ``Read_Ndataset.m`` does not
handle overflow records at all: it would return them as ordinary events.) The distributed
N-MNIST samples last about 0.3 s, well below ``2**23`` microseconds, so they hold no
overflow records; :func:`write_nmnist` emits them only for times of ``2**23`` microseconds
or more, so that its files read back to the same times here and in tonic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "NMNIST_DTYPE",
    "SHD_DTYPE",
    "read_nmnist",
    "read_nmnist_folder",
    "read_shd",
    "write_nmnist",
    "write_shd",
]

PathType = str | os.PathLike

#: Events of one N-MNIST sample: pixel ``x, y``, time ``t`` (µs), polarity ``p`` (1 = ON).
NMNIST_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
#: Spikes of one SHD sample: channel ``x`` (0..699), time ``t`` (µs), polarity ``p`` (= 1).
SHD_DTYPE = np.dtype([("x", np.int16), ("t", np.int64), ("p", np.int8)])

_RECORD_BYTES = 5
_TS_BITS = 23
_TS_MAX = 2**_TS_BITS - 1
_OVERFLOW_Y = 240
_OVERFLOW_STEP = 2**13
_SHD_DATASETS = ("spikes/times", "spikes/units", "labels")
_H5PY_HINT = "`pip install h5py`"


# --------------------------------------------------------------------------- N-MNIST


def _decode_nmnist(raw: np.ndarray) -> np.ndarray:
    """Events of a flat uint8 buffer of whole 5-byte records (overflow records applied)."""
    records = raw.reshape(-1, _RECORD_BYTES).astype(np.int64)
    x = records[:, 0]
    y = records[:, 1]
    p = records[:, 2] >> 7
    t = ((records[:, 2] & 0x7F) << 16) | (records[:, 3] << 8) | records[:, 4]
    overflow = y == _OVERFLOW_Y
    if overflow.any():
        # each overflow record shifts itself and every later record by 2**13 µs
        t = t + np.cumsum(overflow, dtype=np.int64) * _OVERFLOW_STEP
        keep = ~overflow
        x, y, t, p = x[keep], y[keep], t[keep], p[keep]
    events = np.empty(x.shape[0], dtype=NMNIST_DTYPE)
    events["x"] = x
    events["y"] = y
    events["t"] = t
    events["p"] = p
    return events


def read_nmnist(path: PathType) -> np.ndarray:
    """Read the events of one N-MNIST sample from its binary ``.bin`` file.

    Each event is a 5-byte big-endian record: bits 39-32 hold ``x``, bits 31-24 ``y``,
    bit 23 the polarity (1 = ON) and bits 22-0 the timestamp in microseconds. Records with
    ``y == 240`` are timestamp-overflow markers: as in the reference reader (Orchard's
    ``eventvision.py``, adapted by tonic), each adds ``2**13`` µs to the timestamps of
    all records from it on, and is then dropped.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.bin`` file of one sample.

    Returns
    -------
    numpy.ndarray of shape (n_events,) and dtype ``NMNIST_DTYPE``
        Structured array with fields ``x`` (int16), ``y`` (int16), ``t`` (int64,
        microseconds) and ``p`` (int8, 0 = OFF, 1 = ON), in the order of the file
        (increasing time in the distributed dataset). An empty file gives an empty array.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the size of the file is not a multiple of 5 bytes.

    See Also
    --------
    read_nmnist_folder : Read every sample of the extracted dataset, with its label.
    write_nmnist : Write events in this format.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_plstm.datasets._readers import NMNIST_DTYPE, read_nmnist, write_nmnist
    >>> events = np.array([(3, 5, 10, 1), (33, 0, 10, 0), (0, 33, 2500, 1)],
    ...                   dtype=NMNIST_DTYPE)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "00002.bin")
    ...     write_nmnist(path, events)
    ...     print(os.path.getsize(path))
    ...     back = read_nmnist(path)
    15
    >>> back.dtype.names, back["t"].tolist(), back["p"].tolist()
    (('x', 'y', 't', 'p'), [10, 10, 2500], [1, 0, 1])
    >>> bool(np.array_equal(back, events))
    True
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"N-MNIST file not found: {path!r}")
    size = os.path.getsize(path)
    if size % _RECORD_BYTES:
        raise ValueError(
            f"N-MNIST file {path!r} has {size} bytes, which is not a multiple of "
            f"{_RECORD_BYTES} (one event is {_RECORD_BYTES} bytes): truncated or not an "
            "N-MNIST .bin file"
        )
    raw = np.fromfile(path, dtype=np.uint8)
    return _decode_nmnist(raw)


def _digit_folders(folder: Path) -> list[tuple[int, Path]]:
    """``(label, subfolder)`` of the subfolders of ``folder`` named by an integer."""
    found = [
        (int(entry.name), entry)
        for entry in folder.iterdir()
        if entry.is_dir() and entry.name.isdigit()
    ]
    return sorted(found, key=lambda item: (item[0], item[1].name))


def read_nmnist_folder(
    root: PathType, *, train: bool | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Read every sample of an extracted N-MNIST dataset, with the labels.

    The samples are the ``.bin`` files in the subfolders of ``root`` named by an integer
    (the digit, which is the label): ``root/<digit>/<file>.bin``. With ``train=True`` or
    ``train=False`` they are read from ``root/Train/<digit>/`` or ``root/Test/<digit>/``
    instead, the layout of the distributed ``Train.zip`` and ``Test.zip`` extracted side
    by side (lower-case ``train`` / ``test`` are accepted too). Other subfolders and files
    are ignored.

    Parameters
    ----------
    root : str or os.PathLike
        Folder holding the digit folders, or the ``Train`` and ``Test`` folders.
    train : bool or None, default=None
        ``None`` reads the digit folders directly under ``root``; ``True`` those under
        ``root/Train``; ``False`` those under ``root/Test``.

    Returns
    -------
    events : list of numpy.ndarray
        One structured array per sample, as :func:`read_nmnist` returns it (shape
        ``(n_events,)``, dtype ``NMNIST_DTYPE``), ordered by digit, then by file name.
    labels : numpy.ndarray of shape (n_samples,) and dtype int64
        The digit of each sample (the name of its folder).

    Raises
    ------
    FileNotFoundError
        If ``root`` (or its ``Train`` / ``Test`` folder) does not exist.
    ValueError
        If no ``.bin`` file is found in the digit folders, or a file is not a valid
        N-MNIST file (see :func:`read_nmnist`).

    See Also
    --------
    read_nmnist : Read a single sample.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_plstm.datasets._readers import (NMNIST_DTYPE, read_nmnist_folder,
    ...                                         write_nmnist)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     for digit, name, n in [("3", "00001.bin", 2), ("0", "00007.bin", 1)]:
    ...         os.makedirs(os.path.join(tmp, "Train", digit))
    ...         events = np.zeros(n, dtype=NMNIST_DTYPE)
    ...         write_nmnist(os.path.join(tmp, "Train", digit, name), events)
    ...     samples, labels = read_nmnist_folder(tmp, train=True)
    >>> labels.tolist(), [len(s) for s in samples]
    ([0, 3], [1, 2])
    """
    if train is not None and not isinstance(train, (bool, np.bool_)):
        raise TypeError(f"train must be True, False or None, got {train!r}")
    base = Path(os.fspath(root))
    if not base.is_dir():
        raise FileNotFoundError(f"N-MNIST folder not found: {str(base)!r}")
    if train is None:
        folder = base
    else:
        names = ("Train", "train") if train else ("Test", "test")
        candidates = [base / name for name in names if (base / name).is_dir()]
        if not candidates:
            raise FileNotFoundError(
                f"N-MNIST {'training' if train else 'test'} folder not found: "
                f"{str(base / names[0])!r}"
            )
        folder = candidates[0]

    files: list[Path] = []
    labels: list[int] = []
    for label, digit_folder in _digit_folders(folder):
        for file in sorted(digit_folder.glob("*.bin")):
            if file.is_file():
                files.append(file)
                labels.append(label)
    if not files:
        hint = ""
        if train is None and any((folder / name).is_dir() for name in ("Train", "Test")):
            hint = "; it has Train/Test folders: pass train=True or train=False"
        raise ValueError(
            f"no .bin files found in the digit folders of {str(folder)!r} "
            f"(expected <digit>/<file>.bin){hint}"
        )
    return [read_nmnist(file) for file in files], np.asarray(labels, dtype=np.int64)


def _integer_field(events: np.ndarray, name: str) -> np.ndarray:
    """Field ``name`` of ``events`` as int64, refusing non-integral values."""
    values = np.asarray(events[name]).reshape(-1)
    if values.dtype.kind in "biu":
        return values.astype(np.int64)
    if (
        values.dtype.kind == "f"
        and np.all(np.isfinite(values))
        and np.all(values == np.round(values))
    ):
        return values.astype(np.int64)
    raise ValueError(f"events[{name!r}] must hold integers, got dtype {values.dtype}")


def write_nmnist(path: PathType, events: np.ndarray) -> None:
    """Write events to a file in the N-MNIST binary format (5 bytes per event).

    The inverse of :func:`read_nmnist`, to make fixtures and test data. Events are
    written in the given order. Times of ``2**23`` µs or more do not fit the 23-bit
    timestamp: they are written with timestamp-overflow records (``y == 240``, each
    adding ``2**13`` µs to the following timestamps) inserted before them, as few as
    needed, which :func:`read_nmnist` and tonic's reader both undo.

    Parameters
    ----------
    path : str or os.PathLike
        File to write (overwritten if it exists).
    events : numpy.ndarray of shape (n_events,)
        Structured array with integer fields ``x`` and ``y`` (0..255; ``y == 240`` is
        reserved for the overflow records), ``t`` (microseconds, >= 0) and ``p`` (0 or 1,
        or bool), for example of dtype ``NMNIST_DTYPE``.

    Returns
    -------
    None
        The events are written to ``path``.

    Raises
    ------
    ValueError
        If a field is missing or a value does not fit the format: ``x`` or ``y`` outside
        0..255, ``y == 240``, ``p`` not 0 or 1, a negative ``t``, or, once an event
        needed overflow records, a later event with a time too early to encode after them.

    See Also
    --------
    read_nmnist : Read such a file.

    Examples
    --------
    >>> import os, tempfile
    >>> import numpy as np
    >>> from sk_plstm.datasets._readers import NMNIST_DTYPE, read_nmnist, write_nmnist
    >>> events = np.array([(1, 2, 0, 0), (1, 2, 2**23 + 5, 1)], dtype=NMNIST_DTYPE)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     path = os.path.join(tmp, "long.bin")
    ...     write_nmnist(path, events)
    ...     n_records = os.path.getsize(path) // 5  # 2 events and 1 overflow record
    ...     times = read_nmnist(path)["t"].tolist()
    >>> n_records, times
    (3, [0, 8388613])
    """
    events = np.asarray(events)
    names = events.dtype.names or ()
    missing = [name for name in ("x", "y", "t", "p") if name not in names]
    if missing:
        raise ValueError(
            f"events must be a structured array with fields x, y, t, p; missing {missing}"
        )
    x, y, t, p = (_integer_field(events, name) for name in ("x", "y", "t", "p"))
    for name, values in (("x", x), ("y", y)):
        if values.size and (values.min() < 0 or values.max() > 255):
            raise ValueError(f"events[{name!r}] must be in 0..255 (one byte each)")
    if np.any(y == _OVERFLOW_Y):
        raise ValueError(
            f"events['y'] == {_OVERFLOW_Y} cannot be written: that value marks a "
            "timestamp-overflow record in the N-MNIST format"
        )
    if np.any((p != 0) & (p != 1)):
        raise ValueError("events['p'] must be 0 (OFF) or 1 (ON)")
    if np.any(t < 0):
        raise ValueError("events['t'] must be >= 0 microseconds")

    # overflow records needed before each event (never fewer than before the previous one)
    needed = np.maximum(0, -((_TS_MAX - t) // _OVERFLOW_STEP))  # ceil((t - max) / step)
    overflows = np.maximum.accumulate(needed) if needed.size else needed
    stored = t - overflows * _OVERFLOW_STEP
    if np.any(stored < 0):
        first = int(np.flatnonzero(stored < 0)[0])
        raise ValueError(
            f"event {first} (t={int(t[first])}) comes after an event at t >= 2**{_TS_BITS} "
            "but is too early to encode after the overflow records that one needed; "
            "sort the events by time"
        )
    n_overflow = int(overflows[-1]) if overflows.size else 0
    records = np.zeros((t.size + n_overflow, _RECORD_BYTES), dtype=np.uint8)
    records[:, 1] = _OVERFLOW_Y  # every row that no event fills is an overflow record
    rows = np.arange(t.size) + overflows
    records[rows, 0] = x
    records[rows, 1] = y
    records[rows, 2] = (p << 7) | (stored >> 16)
    records[rows, 3] = (stored >> 8) & 0xFF
    records[rows, 4] = stored & 0xFF
    with open(os.fspath(path), "wb") as handle:
        handle.write(records.tobytes())


# --------------------------------------------------------------------------- SHD


def _import_h5py(caller: str) -> Any:
    """The h5py module, or an ImportError saying how to install it."""
    try:
        import h5py
    except ImportError as err:
        raise ImportError(f"{caller} needs h5py: {_H5PY_HINT}") from err
    return h5py


def _shd_sample(index: int, times: Any, units: Any) -> np.ndarray:
    """One SHD sample as a structured array of ``SHD_DTYPE``, sorted by time (stable)."""
    seconds = np.asarray(times, dtype=np.float64).reshape(-1)
    channels = np.asarray(units).reshape(-1)
    if seconds.size != channels.size:
        raise ValueError(
            f"sample {index}: spikes/times has {seconds.size} spikes but spikes/units "
            f"has {channels.size}"
        )
    if not np.all(np.isfinite(seconds)):
        raise ValueError(f"sample {index}: spikes/times holds non-finite values")
    if channels.dtype.kind not in "biu":
        if channels.dtype.kind != "f" or np.any(channels != np.round(channels)):
            raise ValueError(f"sample {index}: spikes/units must hold integer channels")
    if channels.size and (channels.min() < 0 or channels.max() > np.iinfo(np.int16).max):
        raise ValueError(f"sample {index}: spikes/units must be in 0..{np.iinfo(np.int16).max}")
    micro = np.rint(seconds * 1e6).astype(np.int64)
    order = np.argsort(micro, kind="stable")
    sample = np.empty(micro.size, dtype=SHD_DTYPE)
    sample["x"] = channels[order]
    sample["t"] = micro[order]
    sample["p"] = 1
    return sample


def read_shd(
    path: PathType, *, n_samples: int | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Read the samples and labels of a Spiking Heidelberg Digits (SHD) HDF5 file.

    The file (``shd_train.h5`` or ``shd_test.h5``) holds, per sample, a ragged array of
    spike times in seconds (``spikes/times``) and one of the channels that fired
    (``spikes/units``, 0..699), and the ``labels`` (0..19). Its ``extra`` group
    (speakers, keys, ...) is not needed and not read. Needs ``h5py``.

    Parameters
    ----------
    path : str or os.PathLike
        The HDF5 file.
    n_samples : int or None, default=None
        Read only the first ``n_samples`` samples (all of them when the file has fewer);
        ``None`` reads all.

    Returns
    -------
    events : list of numpy.ndarray
        One structured array per sample, of shape ``(n_spikes,)`` and dtype
        ``SHD_DTYPE``: fields ``x`` (int16, the channel), ``t`` (int64, the time in
        microseconds, ``round(seconds * 1e6)``) and ``p`` (int8, always 1), sorted by
        ``t`` (spikes at the same time keep the order of the file). tonic orders these
        fields ``t, x, p``; reading them by name gives the same values.
    labels : numpy.ndarray of shape (n_samples,) and dtype int64
        The class of each sample.

    Raises
    ------
    ImportError
        If h5py is not installed.
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``spikes/times``, ``spikes/units`` or ``labels`` is missing from the file,
        they hold different numbers of samples, a sample has different numbers of times
        and units, or ``n_samples`` is negative.

    See Also
    --------
    write_shd : Write a file in this layout.

    Examples
    --------
    The example needs h5py (``pip install h5py``).

    >>> import os, tempfile
    >>> from sk_plstm.datasets._readers import read_shd, write_shd
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     path = os.path.join(tmp, "shd_tiny.h5")
    ...     write_shd(path, [[0.0005, 0.0001], [0.25]], [[3, 699], [12]], [7, 19])
    ...     samples, labels = read_shd(path, n_samples=1)
    ...     print(samples[0]["x"], samples[0]["t"], labels)
    [699   3] [100 500] [7]
    """
    h5py = _import_h5py("read_shd")
    if n_samples is not None:
        if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, (int, np.integer)):
            raise TypeError(f"n_samples must be an int or None, got {n_samples!r}")
        if n_samples < 0:
            raise ValueError(f"n_samples must be >= 0, got {n_samples}")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"SHD file not found: {path!r}")
    with h5py.File(path, "r") as handle:
        missing = []
        for name in _SHD_DATASETS:
            try:
                obj = handle.get(name)
            except (KeyError, TypeError, ValueError):
                obj = None
            if not isinstance(obj, h5py.Dataset):
                missing.append(name)
        if missing:
            raise ValueError(
                f"SHD file {path!r} lacks the dataset(s) {', '.join(missing)} (expected "
                f"{', '.join(_SHD_DATASETS)})"
            )
        times_ds, units_ds, labels_ds = (handle[name] for name in _SHD_DATASETS)
        counts = {name: len(handle[name]) for name in _SHD_DATASETS}
        if len(set(counts.values())) > 1:
            raise ValueError(
                f"SHD file {path!r} holds different numbers of samples: "
                + ", ".join(f"{name} has {count}" for name, count in counts.items())
            )
        total = counts["labels"]
        n = total if n_samples is None else min(int(n_samples), total)
        times = times_ds[:n]
        units = units_ds[:n]
        labels = np.asarray(labels_ds[:n]).reshape(-1).astype(np.int64)
    events = [_shd_sample(i, times[i], units[i]) for i in range(n)]
    return events, labels


def _ragged(name: str, samples: Sequence[Any], dtype: type, n: int) -> np.ndarray:
    """``samples`` as a 1-D object array of 1-D arrays of ``dtype`` (for h5py vlen)."""
    if len(samples) != n:
        raise ValueError(f"{name} has {len(samples)} samples but labels has {n}")
    out = np.empty(n, dtype=object)
    for i, sample in enumerate(samples):
        values = np.asarray(sample).reshape(-1)
        if dtype is np.uint16:
            if values.dtype.kind not in "biu" and (
                values.dtype.kind != "f" or np.any(values != np.round(values))
            ):
                raise ValueError(f"{name}[{i}] must hold integer channels")
            if values.size and (values.min() < 0 or values.max() > np.iinfo(np.uint16).max):
                raise ValueError(f"{name}[{i}] must be in 0..{np.iinfo(np.uint16).max}")
        elif not np.all(np.isfinite(values.astype(np.float64))):
            raise ValueError(f"{name}[{i}] holds non-finite values")
        out[i] = values.astype(dtype)
    return out


def write_shd(
    path: PathType,
    times: Sequence[Any],
    units: Sequence[Any],
    labels: Any,
    *,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """Write spikes and labels to an HDF5 file in the layout of the SHD dataset.

    The inverse of :func:`read_shd`, to make fixtures and test data: ``spikes/times``
    (ragged float32, seconds, ``h5py.vlen_dtype(np.float32)``), ``spikes/units`` (ragged
    uint16, ``h5py.vlen_dtype(np.uint16)``), ``labels`` (uint8) and, optionally, the
    ``extra`` group. Needs ``h5py``.

    Parameters
    ----------
    path : str or os.PathLike
        File to write (overwritten if it exists).
    times : sequence of array-like of float
        Per sample, the spike times in seconds (any length, equal to that of the
        sample's ``units``). Stored as float32, which resolves 1 µs up to about 8 s.
    units : sequence of array-like of int
        Per sample, the channel of each spike (0..65535; SHD uses 0..699).
    labels : array-like of int of shape (n_samples,)
        The class of each sample, 0..255.
    extra : mapping of str to array-like, optional
        Datasets written under ``extra/<name>`` (SHD has ``speaker``, ``keys``, ...);
        arrays of str are stored as UTF-8 strings.

    Returns
    -------
    None
        The file is written to ``path``.

    Raises
    ------
    ImportError
        If h5py is not installed.
    ValueError
        If ``times``, ``units`` and ``labels`` hold different numbers of samples, a
        sample has different numbers of times and units, or a value does not fit.

    See Also
    --------
    read_shd : Read such a file.

    Examples
    --------
    The example needs h5py (``pip install h5py``).

    >>> import os, tempfile
    >>> from sk_plstm.datasets._readers import read_shd, write_shd
    >>> with tempfile.TemporaryDirectory() as tmp:  # doctest: +SKIP
    ...     path = os.path.join(tmp, "shd_tiny.h5")
    ...     write_shd(path, times=[[0.1, 0.1, 0.2]], units=[[5, 4, 699]], labels=[3],
    ...               extra={"speaker": [2]})
    ...     samples, labels = read_shd(path)
    ...     print(samples[0]["x"], samples[0]["t"], labels)
    [  5   4 699] [100000 100000 200000] [3]
    """
    h5py = _import_h5py("write_shd")
    labels_arr = np.asarray(labels).reshape(-1)
    if labels_arr.size and (
        labels_arr.dtype.kind not in "biuf"
        or np.any(labels_arr != np.round(labels_arr))
        or labels_arr.min() < 0
        or labels_arr.max() > 255
    ):
        raise ValueError("labels must be integers in 0..255 (stored as uint8)")
    n = labels_arr.size
    times_obj = _ragged("times", times, np.float32, n)
    units_obj = _ragged("units", units, np.uint16, n)
    for i in range(n):
        if times_obj[i].size != units_obj[i].size:
            raise ValueError(
                f"sample {i}: times has {times_obj[i].size} spikes but units has "
                f"{units_obj[i].size}"
            )
    with h5py.File(os.fspath(path), "w") as handle:
        spikes = handle.create_group("spikes")
        spikes.create_dataset("times", data=times_obj, dtype=h5py.vlen_dtype(np.float32))
        spikes.create_dataset("units", data=units_obj, dtype=h5py.vlen_dtype(np.uint16))
        handle.create_dataset("labels", data=labels_arr.astype(np.uint8))
        for name, value in (extra or {}).items():
            array = np.asarray(value)
            if array.dtype.kind == "U":
                handle.create_dataset(
                    f"extra/{name}", data=array.astype(object), dtype=h5py.string_dtype()
                )
            else:
                handle.create_dataset(f"extra/{name}", data=array)

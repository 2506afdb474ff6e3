"""Readers of the N-MNIST binary files and the SHD HDF5 files (sk_plstm.datasets._readers).

Every fixture is written here, by the module's writers or byte by byte; nothing is
downloaded. The N-MNIST overflow records are checked on a hand-built byte string and
against an independent loop version of the reference algorithm (eventvision.py / tonic:
each ``y == 240`` record adds 2**13 µs to itself and every later record, then is dropped).
"""

from __future__ import annotations

import builtins
import doctest
import os
import sys

import numpy as np
import pytest

from sk_plstm.datasets._readers import (
    NMNIST_DTYPE,
    SHD_DTYPE,
    read_nmnist,
    read_nmnist_folder,
    read_shd,
    write_nmnist,
    write_shd,
)


def _nmnist(rows):
    return np.array([tuple(row) for row in rows], dtype=NMNIST_DTYPE)


def _record(x, y, p, ts):
    """One 5-byte N-MNIST record, built bit by bit."""
    word = (x << 32) | (y << 24) | (p << 23) | ts
    return word.to_bytes(5, "big")


def _reference_decode(data: bytes):
    """Loop version of the reference reader, independent of the module's code."""
    x, y, t, p = [], [], [], []
    offset = 0
    for i in range(0, len(data), 5):
        b = data[i : i + 5]
        if b[1] == 240:
            offset += 2**13
            continue
        x.append(b[0])
        y.append(b[1])
        p.append(b[2] >> 7)
        t.append((((b[2] & 0x7F) << 16) | (b[3] << 8) | b[4]) + offset)
    return x, y, t, p


# --------------------------------------------------------------------------- N-MNIST


def test_nmnist_round_trip(tmp_path):
    events = _nmnist(
        [
            (0, 0, 0, 0),
            (3, 5, 10, 1),
            (33, 0, 10, 0),  # several events at one timestamp
            (0, 33, 10, 1),
            (255, 255, 2**23 - 1, 1),  # the largest coordinates and 23-bit timestamp
            (254, 239, 2**23 - 1, 0),
        ]
    )
    path = tmp_path / "00002.bin"
    write_nmnist(path, events)
    assert path.stat().st_size == 5 * len(events)
    back = read_nmnist(path)
    assert back.dtype == NMNIST_DTYPE
    assert back.dtype.names == ("x", "y", "t", "p")
    np.testing.assert_array_equal(back, events)
    assert set(back["p"].tolist()) == {0, 1}
    # str paths work too, and the bytes decode the same way in the reference loop
    np.testing.assert_array_equal(read_nmnist(str(path)), events)
    x, y, t, p = _reference_decode(path.read_bytes())
    assert (x, y, t, p) == tuple(events[name].tolist() for name in ("x", "y", "t", "p"))


def test_nmnist_bit_layout(tmp_path):
    """x, y, polarity and timestamp sit in bits 39-32, 31-24, 23 and 22-0 (big-endian)."""
    path = tmp_path / "one.bin"
    path.write_bytes(bytes([0x12, 0x22, 0x80 | 0x0A, 0xBC, 0xDE]) + _record(7, 9, 0, 0x7FFFFF))
    back = read_nmnist(path)
    assert back["x"].tolist() == [0x12, 7]
    assert back["y"].tolist() == [0x22, 9]
    assert back["p"].tolist() == [1, 0]
    assert back["t"].tolist() == [0x0ABCDE, 0x7FFFFF]


def test_nmnist_accepts_bool_polarity_and_plain_ints(tmp_path):
    tonic_like = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", bool)])
    events = np.array([(1, 2, 3, True), (4, 5, 6, False)], dtype=tonic_like)
    write_nmnist(tmp_path / "a.bin", events)
    back = read_nmnist(tmp_path / "a.bin")
    assert back["p"].tolist() == [1, 0]
    assert back["t"].tolist() == [3, 6]


def test_nmnist_empty_file(tmp_path):
    (tmp_path / "empty.bin").write_bytes(b"")
    back = read_nmnist(tmp_path / "empty.bin")
    assert back.shape == (0,)
    assert back.dtype == NMNIST_DTYPE
    write_nmnist(tmp_path / "empty2.bin", np.zeros(0, dtype=NMNIST_DTYPE))
    assert (tmp_path / "empty2.bin").stat().st_size == 0


def test_nmnist_overflow_records_hand_built(tmp_path):
    data = b"".join(
        [
            _record(1, 2, 1, 100),
            _record(0, 240, 0, 0),  # overflow: +2**13 from here on
            _record(3, 4, 0, 50),
            _record(5, 240, 1, 0x1234),  # another one; its own fields are ignored
            _record(255, 255, 1, 2**23 - 1),
        ]
    )
    path = tmp_path / "overflow.bin"
    path.write_bytes(data)
    back = read_nmnist(path)
    assert back["x"].tolist() == [1, 3, 255]
    assert back["y"].tolist() == [2, 4, 255]
    assert back["p"].tolist() == [1, 0, 1]
    assert back["t"].tolist() == [100, 50 + 2**13, 2**23 - 1 + 2 * 2**13]
    assert list(_reference_decode(data)) == [back[name].tolist() for name in "xytp"]


def test_nmnist_writer_encodes_long_times_with_overflow_records(tmp_path):
    t = np.array([0, 5, 2**23 - 1, 2**23, 2**23, 2**23 + 2**13 + 7, 3 * 2**23 + 11])
    events = np.zeros(t.size, dtype=NMNIST_DTYPE)
    events["t"] = t
    events["x"] = np.arange(t.size)
    events["p"] = np.arange(t.size) % 2
    path = tmp_path / "long.bin"
    write_nmnist(path, events)
    data = path.read_bytes()
    n_overflow = sum(data[i + 1] == 240 for i in range(0, len(data), 5))
    # as few as needed: enough for the last event to fit 23 bits after them
    assert n_overflow == -(-(int(t[-1]) - (2**23 - 1)) // 2**13)
    assert len(data) == 5 * (t.size + n_overflow)
    np.testing.assert_array_equal(read_nmnist(path), events)
    x, y, tt, p = _reference_decode(data)
    assert tt == t.tolist()
    assert x == events["x"].tolist()


def test_nmnist_file_not_found(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(FileNotFoundError, match="N-MNIST file not found: .*nope.bin"):
        read_nmnist(missing)


def test_nmnist_size_not_multiple_of_5(tmp_path):
    path = tmp_path / "broken.bin"
    path.write_bytes(_record(1, 1, 1, 1) + b"\x00\x01")
    with pytest.raises(
        ValueError, match=r"broken\.bin.* has 7 bytes, which is not a multiple of 5"
    ):
        read_nmnist(path)


@pytest.mark.parametrize(
    "rows, match",
    [
        ([(256, 0, 0, 0)], r"events\['x'\] must be in 0..255"),
        ([(-1, 0, 0, 0)], r"events\['x'\] must be in 0..255"),
        ([(0, 256, 0, 0)], r"events\['y'\] must be in 0..255"),
        ([(0, 240, 0, 0)], r"events\['y'\] == 240 cannot be written"),
        ([(0, 0, 0, 2)], r"events\['p'\] must be 0 \(OFF\) or 1 \(ON\)"),
        ([(0, 0, -1, 0)], r"events\['t'\] must be >= 0"),
        ([(0, 0, 2**23 + 2**13, 0), (0, 0, 5, 0)], r"event 1 \(t=5\) .*sort the events"),
    ],
)
def test_nmnist_writer_rejects_values_that_do_not_fit(tmp_path, rows, match):
    with pytest.raises(ValueError, match=match):
        write_nmnist(tmp_path / "bad.bin", _nmnist(rows))


def test_nmnist_writer_rejects_missing_fields_and_floats(tmp_path):
    with pytest.raises(ValueError, match=r"fields x, y, t, p; missing \['p'\]"):
        write_nmnist(
            tmp_path / "bad.bin",
            np.zeros(2, dtype=[("x", int), ("y", int), ("t", int)]),
        )
    with pytest.raises(ValueError, match=r"fields x, y, t, p"):
        write_nmnist(tmp_path / "bad.bin", np.zeros((2, 4)))
    floats = np.array([(1.0, 2.0, 3.5, 1.0)], dtype=[(n, float) for n in "xytp"])
    with pytest.raises(ValueError, match=r"events\['t'\] must hold integers"):
        write_nmnist(tmp_path / "bad.bin", floats)
    floats["t"] = 3.0  # integral floats are fine
    write_nmnist(tmp_path / "ok.bin", floats)
    assert read_nmnist(tmp_path / "ok.bin")["t"].tolist() == [3]


def _make_folder(base, layout):
    """Write ``{digit: [(file name, n_events), ...]}`` under ``base``; return events."""
    written = {}
    for digit, files in layout.items():
        (base / digit).mkdir(parents=True, exist_ok=True)
        for name, n in files:
            events = np.zeros(n, dtype=NMNIST_DTYPE)
            events["t"] = np.arange(n) * 7
            events["x"] = int(digit)
            events["y"] = len(name)
            write_nmnist(base / digit / name, events)
            written[(int(digit), name)] = events
    return written


def test_nmnist_folder_labels_and_order(tmp_path):
    written = _make_folder(
        tmp_path,
        {"7": [("00010.bin", 3), ("00002.bin", 1)], "0": [("00005.bin", 2)], "1": []},
    )
    (tmp_path / "notes").mkdir()  # a folder not named by a digit is ignored
    (tmp_path / "notes" / "00001.bin").write_bytes(b"")
    (tmp_path / "7" / "README.txt").write_text("not an event file")
    samples, labels = read_nmnist_folder(tmp_path)
    assert labels.dtype == np.int64
    assert labels.tolist() == [0, 7, 7]
    expected = [written[(0, "00005.bin")], written[(7, "00002.bin")], written[(7, "00010.bin")]]
    assert len(samples) == 3
    for got, want in zip(samples, expected):
        assert got.dtype == NMNIST_DTYPE
        np.testing.assert_array_equal(got, want)


def test_nmnist_folder_train_test_layout(tmp_path):
    _make_folder(tmp_path / "Train", {"3": [("a.bin", 1), ("b.bin", 2)], "9": [("c.bin", 4)]})
    _make_folder(tmp_path / "Test", {"5": [("d.bin", 5)]})
    samples, labels = read_nmnist_folder(tmp_path, train=True)
    assert labels.tolist() == [3, 3, 9]
    assert [len(s) for s in samples] == [1, 2, 4]
    samples, labels = read_nmnist_folder(str(tmp_path), train=False)
    assert labels.tolist() == [5]
    assert [len(s) for s in samples] == [5]
    # the top of a Train/Test layout holds no digit folders: say so
    with pytest.raises(ValueError, match="no .bin files found.*pass train=True or train=False"):
        read_nmnist_folder(tmp_path)


def test_nmnist_folder_lowercase_split_names(tmp_path):
    _make_folder(tmp_path / "test", {"2": [("x.bin", 1)]})
    _, labels = read_nmnist_folder(tmp_path, train=False)
    assert labels.tolist() == [2]


def test_nmnist_folder_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="N-MNIST folder not found: .*absent"):
        read_nmnist_folder(tmp_path / "absent")
    _make_folder(tmp_path / "Train", {"1": [("a.bin", 1)]})
    with pytest.raises(FileNotFoundError, match=r"N-MNIST test folder not found: .*Test"):
        read_nmnist_folder(tmp_path, train=False)
    (tmp_path / "empty" / "4").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"no \.bin files found .*empty"):
        read_nmnist_folder(tmp_path / "empty")
    with pytest.raises(TypeError, match="train must be True, False or None"):
        read_nmnist_folder(tmp_path, train="yes")
    (tmp_path / "Train" / "1" / "b.bin").write_bytes(b"\x00" * 6)
    with pytest.raises(ValueError, match=r"b\.bin.* has 6 bytes"):
        read_nmnist_folder(tmp_path, train=True)


# --------------------------------------------------------------------------- SHD


def test_shd_round_trip(tmp_path):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(0)
    micro = [
        np.array([500, 100, 100, 100, 1_399_999, 0]),  # unsorted, three spikes at 100 µs
        np.array([], dtype=np.int64),  # a sample without spikes
        np.sort(rng.integers(0, 1_400_000, size=300)),
    ]
    units = [
        np.array([3, 699, 0, 42, 698, 7]),
        np.array([], dtype=np.int64),
        rng.integers(0, 700, size=300),
    ]
    times = [m / 1e6 for m in micro]
    path = tmp_path / "shd_train.h5"
    write_shd(path, times, units, [7, 0, 19])
    samples, labels = read_shd(path)
    assert labels.dtype == np.int64
    assert labels.tolist() == [7, 0, 19]
    assert len(samples) == 3
    for sample, m, u in zip(samples, micro, units):
        assert sample.dtype == SHD_DTYPE
        assert sample.dtype.names == ("x", "t", "p")
        order = np.argsort(m, kind="stable")
        np.testing.assert_array_equal(sample["t"], m[order])
        np.testing.assert_array_equal(sample["x"], u[order])
        assert np.all(sample["p"] == 1)
    # spikes at one time keep the order of the file (a stable sort)
    assert samples[0]["x"].tolist() == [7, 699, 0, 42, 3, 698]
    assert samples[0]["t"].tolist() == [0, 100, 100, 100, 500, 1_399_999]


def test_shd_file_layout_uses_vlen_dtypes(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "shd.h5"
    write_shd(
        path,
        [[0.1, 0.2], [0.3]],
        [[1, 2], [3]],
        [4, 5],
        extra={"speaker": [1, 2], "keys": ["zero", "one"]},
    )
    with h5py.File(path, "r") as handle:
        assert h5py.check_vlen_dtype(handle["spikes/times"].dtype) == np.float32
        assert h5py.check_vlen_dtype(handle["spikes/units"].dtype) == np.uint16
        assert handle["labels"].dtype == np.uint8
        assert handle["extra/speaker"][:].tolist() == [1, 2]
        assert [k.decode() for k in handle["extra/keys"][:]] == ["zero", "one"]
    _, labels = read_shd(path)
    assert labels.tolist() == [4, 5]


def test_shd_reads_files_written_by_h5py_directly(tmp_path):
    """A file laid out as the distributed one (float times, uint16 units), no extra group."""
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "shd_test.h5"
    with h5py.File(path, "w") as handle:
        times = handle.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float32))
        units = handle.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        times[0] = np.array([0.0000015, 0.25], dtype=np.float32)
        units[0] = np.array([699, 0], dtype=np.uint16)
        times[1] = np.array([1.0], dtype=np.float32)
        units[1] = np.array([350], dtype=np.uint16)
        handle.create_dataset("labels", data=np.array([11, 2], dtype=np.uint16))
    samples, labels = read_shd(path)
    assert labels.tolist() == [11, 2]
    assert samples[0]["t"].tolist() == [2, 250_000]  # round(1.5 µs) -> 2 µs (float32)
    assert samples[0]["x"].tolist() == [699, 0]
    assert samples[1]["t"].tolist() == [1_000_000]


def test_shd_n_samples(tmp_path):
    pytest.importorskip("h5py")
    path = tmp_path / "shd.h5"
    write_shd(path, [[0.1], [0.2, 0.3], [0.4]], [[1], [2, 3], [4]], [0, 1, 2])
    samples, labels = read_shd(path, n_samples=2)
    assert labels.tolist() == [0, 1]
    assert [s["x"].tolist() for s in samples] == [[1], [2, 3]]
    samples, labels = read_shd(path, n_samples=0)
    assert samples == [] and labels.shape == (0,) and labels.dtype == np.int64
    samples, labels = read_shd(path, n_samples=10)  # more than the file has: all
    assert labels.tolist() == [0, 1, 2]
    with pytest.raises(ValueError, match="n_samples must be >= 0, got -1"):
        read_shd(path, n_samples=-1)
    with pytest.raises(TypeError, match="n_samples must be an int or None"):
        read_shd(path, n_samples=1.5)


def test_shd_empty_file(tmp_path):
    pytest.importorskip("h5py")
    path = tmp_path / "none.h5"
    write_shd(path, [], [], [])
    samples, labels = read_shd(path)
    assert samples == [] and labels.shape == (0,)


@pytest.mark.parametrize(
    "present, missing",
    [
        (("spikes/units", "labels"), "spikes/times"),
        (("spikes/times", "labels"), "spikes/units"),
        (("spikes/times", "spikes/units"), "labels"),
        (("labels",), "spikes/times, spikes/units"),
    ],
)
def test_shd_missing_datasets(tmp_path, present, missing):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "partial.h5"
    with h5py.File(path, "w") as handle:
        for name in present:
            if name == "labels":
                handle.create_dataset(name, data=np.array([1], dtype=np.uint8))
            else:
                dtype = h5py.vlen_dtype(np.float32 if name.endswith("times") else np.uint16)
                handle.create_dataset(name, (1,), dtype=dtype)
    with pytest.raises(ValueError, match=f"partial.h5.* lacks the dataset\\(s\\) {missing} "):
        read_shd(path)


def test_shd_spikes_not_a_group(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "odd.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("spikes", data=np.zeros(3))
        handle.create_dataset("labels", data=np.zeros(3, dtype=np.uint8))
    with pytest.raises(ValueError, match="lacks the dataset\\(s\\) spikes/times, spikes/units"):
        read_shd(path)


def test_shd_mismatched_lengths(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "ragged.h5"
    with h5py.File(path, "w") as handle:
        times = handle.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float32))
        units = handle.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        times[0], units[0] = np.array([0.1], np.float32), np.array([1], np.uint16)
        times[1], units[1] = np.array([0.1, 0.2, 0.3], np.float32), np.array([1, 2], np.uint16)
        handle.create_dataset("labels", data=np.array([0, 1], dtype=np.uint8))
    with pytest.raises(
        ValueError, match="sample 1: spikes/times has 3 spikes but spikes/units has 2"
    ):
        read_shd(path)
    samples, _ = read_shd(path, n_samples=1)  # the broken sample is not read
    assert samples[0]["x"].tolist() == [1]

    path = tmp_path / "counts.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(np.float32))
        handle.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        handle.create_dataset("labels", data=np.array([0, 1, 2], dtype=np.uint8))
    with pytest.raises(
        ValueError,
        match="different numbers of samples: spikes/times has 2, spikes/units has 2, labels has 3",
    ):
        read_shd(path)


def test_shd_file_not_found(tmp_path):
    pytest.importorskip("h5py")
    with pytest.raises(FileNotFoundError, match="SHD file not found: .*shd_train.h5"):
        read_shd(tmp_path / "shd_train.h5")


def test_shd_writer_validation(tmp_path):
    pytest.importorskip("h5py")
    path = tmp_path / "bad.h5"
    with pytest.raises(ValueError, match="times has 1 samples but labels has 2"):
        write_shd(path, [[0.1]], [[1], [2]], [0, 1])
    with pytest.raises(ValueError, match="units has 1 samples but labels has 2"):
        write_shd(path, [[0.1], [0.2]], [[1]], [0, 1])
    with pytest.raises(ValueError, match="sample 0: times has 2 spikes but units has 1"):
        write_shd(path, [[0.1, 0.2]], [[1]], [0])
    with pytest.raises(ValueError, match=r"units\[0\] must be in 0..65535"):
        write_shd(path, [[0.1]], [[70000]], [0])
    with pytest.raises(ValueError, match=r"times\[0\] holds non-finite values"):
        write_shd(path, [[np.nan]], [[1]], [0])
    with pytest.raises(ValueError, match="labels must be integers in 0..255"):
        write_shd(path, [[0.1]], [[1]], [256])


def test_shd_needs_h5py(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)  # `import h5py` now raises ImportError
    with pytest.raises(ImportError, match=r"read_shd needs h5py: `pip install h5py`"):
        read_shd(tmp_path / "shd_train.h5")
    with pytest.raises(ImportError, match=r"write_shd needs h5py: `pip install h5py`"):
        write_shd(tmp_path / "x.h5", [], [], [])


def test_shd_needs_h5py_via_import_hook(tmp_path, monkeypatch):
    real_import = builtins.__import__

    def no_h5py(name, *args, **kwargs):
        if name == "h5py" or name.startswith("h5py."):
            raise ModuleNotFoundError("No module named 'h5py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_h5py)
    with pytest.raises(ImportError, match=r"`pip install h5py`") as info:
        read_shd(tmp_path / "shd_train.h5")
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


@pytest.mark.parametrize("func", [read_shd, write_shd])
def test_shd_docstring_examples_run_with_h5py(func):
    """The SHD examples are marked +SKIP for installs without h5py; run them here."""
    pytest.importorskip("h5py")
    source = func.__doc__.replace("# doctest: +SKIP", "")
    test = doctest.DocTestParser().get_doctest(source, {}, func.__name__, __file__, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    result = runner.run(test, out=lambda text: None)
    assert result.attempted >= 3
    assert result.failed == 0


def test_module_doc_names_the_layouts():
    from sk_plstm.datasets import _readers

    assert "2**13" in _readers.__doc__
    assert SHD_DTYPE.names == ("x", "t", "p")
    assert NMNIST_DTYPE["t"] == np.int64 and NMNIST_DTYPE["p"] == np.int8
    assert os.path.basename(_readers.__file__) == "_readers.py"

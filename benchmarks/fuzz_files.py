"""Fuzz sk_plstm's model files and checkpoints: every mutation loads or is refused clearly.

A mutated file must either be refused with a ``ValueError`` (or ``TypeError``) that
names the file, or load and predict exactly as the original; anything else (another
exception, different predictions) is a failure. Mutation kinds:

* ``bytes``: flip, set, insert or delete random bytes of the saved file, or truncate it;
* ``meta``: change one field of ``meta.json`` (type swaps, out-of-range numbers, deleted
  or extra keys, deep nesting) and recompute the checksum, as someone who knows the
  format would; such files may load (a different but valid model), but never with a
  raw error;
* ``checkpoint``: byte mutations of a checkpoint (``last.ckpt``) before resuming;
* ``sktime``: the file of an ``sk_plstm.sktime`` classifier: byte mutations (strict),
  changes of its sktime state, and class references (``_metadata``) replaced by other
  pickles, one of which would create a file if it were ever unpickled (the checksum
  recomputed); such files must never run code and never load with a raw error.

Usage::

    python benchmarks/fuzz_files.py --cases 10000          # the figures in docs/reliability.md
    python benchmarks/fuzz_files.py --cases 300 --kinds bytes
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import tempfile
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import sk_plstm  # noqa: E402
from sk_plstm import PhasedLSTMClassifier  # noqa: E402
from sk_plstm._persistence import _checksum  # noqa: E402

CLEAR = (ValueError, TypeError)
KINDS = ("bytes", "meta", "checkpoint", "sktime")


class _Planted:
    """A pickle that, if unpickled, creates the file ``path`` (it must never be)."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def _model(directory: Path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 2, 12))
    y = np.arange(24) % 3
    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=3, early_stopping=True, validation_fraction=0.25, random_state=0
    ).fit(X, y)
    path = directory / "model.plstm"
    clf.save(path)
    return clf, X, y, path


def _mutate_bytes(data: bytes, rng: np.random.Generator) -> bytes:
    data = bytearray(data)
    how = rng.integers(5)
    at = int(rng.integers(len(data)))
    if how == 0:
        data[at] ^= 1 << int(rng.integers(8))
    elif how == 1:
        data[at] = int(rng.integers(256))
    elif how == 2:
        data[at:at] = bytes(rng.integers(0, 256, int(rng.integers(1, 9))).astype(np.uint8))
    elif how == 3:
        del data[at : at + int(rng.integers(1, 9))]
    else:
        del data[at:]
    return bytes(data)


def _values(rng: np.random.Generator):
    return [
        None,
        True,
        -1,
        0,
        10**7,
        2**70,
        -1e300,
        float("nan"),
        "x",
        [],
        {},
        [1, [2]],
        {"__ndarray__": [1], "dtype": "<f8", "shape": [5]},
        {"__tuple__": [1]},
        {"__time_origin__": ["datetime", "x", 0]},
        {"__optimizer__": "Evil"},
    ][int(rng.integers(16))]


def _mutate_meta(meta: dict, rng: np.random.Generator) -> dict:
    meta = copy.deepcopy(meta)
    section = ["params", "attributes", None][int(rng.integers(3))]
    target = meta if section is None else meta[section]
    keys = sorted(target)
    how = rng.integers(4)
    if how == 0 and keys:  # delete a key
        del target[keys[int(rng.integers(len(keys)))]]
    elif how == 1:  # add a key
        target[f"extra_{int(rng.integers(3))}_"] = _values(rng)
    elif how == 2 and keys:  # replace a value
        target[keys[int(rng.integers(len(keys)))]] = _values(rng)
    else:  # nest deeply
        nested: object = 0
        for _ in range(int(rng.integers(100, 5000))):
            nested = [nested]
        target[keys[int(rng.integers(len(keys)))] if keys else "x"] = nested
    return meta


def _sktime_model(directory: Path, X, y):
    from sk_plstm.sktime import PhasedLSTMClassifier as SktimeClassifier

    clf = SktimeClassifier(hidden_size=4, max_epochs=3, random_state=0).fit(X, y)
    path = directory / "sktime_model.zip"
    clf.save(path).close()
    return clf, path


def _mutate_sktime(meta: dict, reference: bytes, planted: Path, rng) -> tuple[dict, bytes]:
    """A change of the sktime entry or of the class reference, as a crafted file has."""
    import pickle

    from sk_plstm.sktime import PhasedLSTMRegressor as Other

    meta = copy.deepcopy(meta)
    how = int(rng.integers(3))
    if how == 0:  # another pickle where the class reference belongs
        choices = [
            pickle.dumps(_Planted(planted)),
            pickle.dumps(Other, protocol=4),
            pickle.dumps(os.system, protocol=4),
            pickle.dumps(np.arange(3)),
            b"not a pickle",
            reference[:-1],
        ]
        return meta, choices[int(rng.integers(len(choices)))]
    state = meta["sktime"]["state"]
    target = [meta["sktime"], state, state["_y_metadata"], state["_converter_store_y"]][
        int(rng.integers(4))
    ]
    keys = sorted(target)
    if how == 1 and keys:
        target[keys[int(rng.integers(len(keys)))]] = _values(rng)
    elif keys and rng.integers(2):
        del target[keys[int(rng.integers(len(keys)))]]
    else:
        target[["__index__", "__kind__", "extra", "columns"][int(rng.integers(4))]] = _values(rng)
    return meta, reference


def _write_meta(src: Path, dst: Path, meta: dict, reference: bytes | None = None) -> None:
    with zipfile.ZipFile(src) as archive:
        weights = archive.read("weights.pt")
        if reference is None and "_metadata" in archive.namelist():
            reference = archive.read("_metadata")
    try:
        meta_bytes = json.dumps(meta).encode()
    except (RecursionError, ValueError):  # too deep for json itself: write it by hand
        meta_bytes = b'{"format": "sk_plstm-model", "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("meta.json", meta_bytes)
        archive.writestr("weights.pt", weights)
        if reference is not None:
            archive.writestr("_metadata", reference)
        archive.writestr("sha256", _checksum(meta_bytes, weights, reference or b""))


def _judge(load, reference, X, strict: bool) -> str:
    """'refused', 'same', 'changed' (a valid file of another model) or 'raw: <error>'."""
    try:
        loaded = load()
        proba = loaded.predict_proba(X)
    except CLEAR:
        return "refused"
    except Exception as exc:  # noqa: BLE001 - what the fuzzer is looking for
        return f"raw: {type(exc).__name__}: {str(exc)[:120]}"
    if np.array_equal(proba, reference):
        return "same"
    return "silent change" if strict else "changed"


def fuzz(cases: int, kinds=KINDS, seed: int = 0) -> tuple[Counter, list[str]]:
    """Run ``cases`` mutations of each kind; return the outcome counts and the failures."""
    rng = np.random.default_rng(seed)
    outcomes: Counter = Counter()
    failures: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        clf, X, y, path = _model(directory)
        reference = clf.predict_proba(X)
        original = path.read_bytes()
        with zipfile.ZipFile(path) as archive:
            meta = json.loads(archive.read("meta.json"))
        bad = directory / "bad.plstm"
        checkpoints = directory / "ckpt"
        planted = directory / "code_ran"
        for kind in kinds:
            if kind == "sktime":
                sk_clf, sk_path = _sktime_model(directory, X, y)
                sk_reference = sk_clf.predict_proba(X)
                sk_original = sk_path.read_bytes()
                with zipfile.ZipFile(sk_path) as archive:
                    sk_meta = json.loads(archive.read("meta.json"))
                    class_ref = archive.read("_metadata")
            if kind == "checkpoint":
                net_params = dict(
                    hidden_size=4, max_epochs=3, random_state=0, checkpoint_dir=str(checkpoints)
                )
                done = PhasedLSTMClassifier(**net_params).fit(X, y).predict_proba(X)
            for _ in range(cases):
                if kind == "bytes":
                    bad.write_bytes(_mutate_bytes(original, rng))
                    outcome = _judge(lambda: sk_plstm.load(bad), reference, X, strict=True)
                elif kind == "meta":
                    _write_meta(path, bad, _mutate_meta(meta, rng))
                    outcome = _judge(lambda: sk_plstm.load(bad), reference, X, strict=False)
                elif kind == "sktime":
                    strict = bool(rng.integers(2))
                    if strict:
                        bad.write_bytes(_mutate_bytes(sk_original, rng))
                    else:
                        _write_meta(sk_path, bad, *_mutate_sktime(sk_meta, class_ref, planted, rng))
                    outcome = _judge(lambda: sk_plstm.load(bad), sk_reference, X, strict=strict)
                    if planted.exists():
                        outcome = "raw: code from the file ran"
                else:
                    outcome = _fuzz_checkpoint(X, y, checkpoints, net_params, done, rng)
                outcomes[(kind, outcome.split(":")[0])] += 1
                if outcome.startswith(("raw", "silent")):
                    failures.append(f"{kind}: {outcome}")
    return outcomes, failures


def _fuzz_checkpoint(X, y, directory: Path, params: dict, done, rng) -> str:
    """Interrupt a fit after one epoch, mutate its checkpoint, fit again."""
    import warnings

    from skorch.callbacks import Callback

    class Stop(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 1:
                raise KeyboardInterrupt

    for stale in directory.glob("*"):
        stale.unlink()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PhasedLSTMClassifier(**params, callbacks=[Stop()]).fit(X, y)
    checkpoint = directory / "last.ckpt"
    checkpoint.write_bytes(_mutate_bytes(checkpoint.read_bytes(), rng))
    # the checksum covers the whole checkpoint: refused, or resumed to the uninterrupted model
    return _judge(lambda: PhasedLSTMClassifier(**params).fit(X, y), done, X, strict=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="mutations per kind")
    parser.add_argument("--kinds", nargs="+", choices=KINDS, default=list(KINDS))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    outcomes, failures = fuzz(args.cases, args.kinds, args.seed)
    print("| kind | outcome | cases |\n|---|---|---|")
    for (kind, outcome), n in sorted(outcomes.items()):
        print(f"| {kind} | {outcome} | {n} |")
    for failure, n in Counter(failures).most_common(20):
        print(f"FAILURE ({n} cases)", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

"""The ``sk-plstm`` command line: fit, predict, describe and evaluate from CSV or Parquet.

Run ``sk-plstm --help`` (or ``python -m sk_plstm --help``) for the commands, and
``sk-plstm demo`` to see the package's main job done on data that ships with it.
Every user error (a missing file or column, labels that do not match the series, an
unknown parameter, a file that is not a model) ends with a one-line ``error: ...``
on standard error and exit status 2, as argparse reports its own errors.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import io
import os
import re
import sys
import textwrap
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

from ._version import __version__

__all__ = ["main"]

PROG = "sk-plstm"
#: the table formats read and written, by file name suffix
#: what to do when pandas has no Parquet engine
_NO_PARQUET = (
    "pandas needs pyarrow for Parquet (the package's parquet extra); install it with "
    "`pip install pyarrow` or use a CSV file."
)
SUFFIXES = {".csv": "csv", ".csv.gz": "csv", ".parquet": "parquet", ".pq": "parquet"}
#: the demo's data and model: well under a minute on 2 CPU cores (--quick: a few seconds)
DEMO = {"n_series": 200, "params": {"max_epochs": 30}}
DEMO_QUICK = {"n_series": 40, "params": {"hidden_size": 8, "max_epochs": 3}}
#: a time of day followed by a UTC offset, at the end of an ISO 8601 string
_OFFSET = re.compile(r"\d\d:\d\d(?::\d\d(?:[.,]\d*)?)?\s*(?:Z|[+-]\d\d(?::?\d\d)?)$", re.I)


class UsageError(Exception):
    """A mistake in the command or its input files, reported as ``error: ...``."""


# -- reading and writing tables ------------------------------------------------------


def _kind(path: Path, what: str) -> str:
    """``"csv"`` or ``"parquet"``, from the file name's suffix."""
    name = path.name.lower()
    for suffix, kind in SUFFIXES.items():
        if name.endswith(suffix):
            return kind
    raise UsageError(
        f"cannot tell the format of {what} {str(path)!r} from its name: use a file ending "
        f"in {', '.join(SUFFIXES)}."
    )


def _existing_file(path: str | Path, what: str) -> Path:
    path = Path(path)
    if not path.exists():
        raise UsageError(f"{what} {str(path)!r} does not exist.")
    if not path.is_file():
        raise UsageError(f"{what} {str(path)!r} is not a file.")
    return path


def _read_table(path: str | Path, what: str = "DATA") -> pd.DataFrame:
    """Read a CSV (``.csv``, ``.csv.gz``) or Parquet (``.parquet``, ``.pq``) table.

    Parameters
    ----------
    path : str or pathlib.Path
        The file; its format is told by its suffix.
    what : str, default="DATA"
        What the messages call the file.

    Returns
    -------
    pandas.DataFrame
        The table, column names as strings.

    Raises
    ------
    UsageError
        If the file does not exist, has an unknown suffix or cannot be read.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> pd.DataFrame({"a": [1, 2]}).to_csv(path, index=False)
    >>> _read_table(path)["a"].tolist()
    [1, 2]
    """
    path = _existing_file(path, what)
    kind = _kind(path, what)
    try:
        if kind == "csv":
            table = pd.read_csv(path)
        else:
            table = pd.read_parquet(path)
    except ImportError:
        raise UsageError(f"cannot read Parquet file {str(path)!r}: {_NO_PARQUET}") from None
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise UsageError(f"cannot read {what} {str(path)!r} as {kind}: {first}") from None
    table.columns = [str(c) for c in table.columns]
    return table


def _write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` (without its index) as CSV or Parquet, by the suffix of ``path``.

    Parameters
    ----------
    table : pandas.DataFrame
        The table.
    path : str or pathlib.Path
        The file to write; its folder must exist.

    Returns
    -------
    None
        The file is written.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> path = os.path.join(tempfile.mkdtemp(), "out.csv")
    >>> _write_table(pd.DataFrame({"a": [1]}), path)
    >>> open(path).read().split()
    ['a', '1']
    """
    path = Path(path)
    kind = _kind(path, "the output file")
    _check_folder(path)
    if kind == "csv":
        table.to_csv(path, index=False)
        return
    try:
        table.to_parquet(path, index=False)
    except ImportError:
        raise UsageError(f"cannot write Parquet file {str(path)!r}: {_NO_PARQUET}") from None


def _check_folder(path: Path) -> None:
    if not path.parent.is_dir():
        folder = str(path.parent)
        raise UsageError(f"cannot write {str(path)!r}: the folder {folder!r} does not exist.")


def _column(table: pd.DataFrame, name: str, option: str, what: str = "DATA") -> pd.Series:
    if name not in table.columns:
        raise UsageError(
            f"{what} has no column {name!r} (its columns: {_some(table.columns, 10)}); name the "
            f"column with {option}."
        )
    return table[name]


def _some(values: Sequence[Any] | pd.Index, limit: int = 5) -> str:
    """Up to ``limit`` values, comma-separated, with how many more there are."""
    values = list(values)
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f" (and {len(values) - limit} more)" if len(values) > limit else "")


def _parse_times(column: pd.Series, name: str) -> pd.Series:
    """Numbers as they are; anything else parsed as ISO 8601 datetimes.

    Parameters
    ----------
    column : pandas.Series
        The time column as read.
    name : str
        Its name, for the messages.

    Returns
    -------
    pandas.Series
        Numeric or datetime64. Times that carry a UTC offset keep it (one fixed offset);
        times with different offsets (daylight saving) are converted to UTC.

    Raises
    ------
    UsageError
        If a value is not a number nor an ISO 8601 date and time, or if some times carry
        an offset and others do not.

    Examples
    --------
    >>> import pandas as pd
    >>> str(_parse_times(pd.Series(["2026-03-02 08:00:00+01:00"]), "time").dt.tz)
    'UTC+01:00'
    >>> _parse_times(pd.Series([0.5, 1.5]), "time").tolist()
    [0.5, 1.5]
    """
    kind = column.dtype.kind
    if kind in "iufmM":  # numbers, timedeltas, datetimes (Parquet keeps them)
        return column
    strings = column.astype("string")
    observed = strings.dropna()
    numbers = pd.to_numeric(observed, errors="coerce")
    if numbers.notna().all():  # numbers stored as text (in Parquet, for example)
        numbers = pd.to_numeric(strings)
        whole = numbers.dtype.kind in "iu" and not numbers.isna().any()
        return numbers.astype("int64" if whole else "float64")
    if numbers.notna().sum() > len(observed) / 2:
        bad = observed[numbers.isna()]
        raise UsageError(
            f"cannot read the time column {name!r} as numbers: {bad.iloc[0]!r} (row index "
            f"{bad.index[0]})."
        )
    try:
        parsed = pd.to_datetime(strings, format="ISO8601", utc=False)
        if parsed.dtype.kind != "M":  # pandas 2 returns objects for mixed offsets
            raise ValueError("Mixed timezones detected.")
        return parsed
    except ValueError as exc:
        if "mixed timezones" not in str(exc).lower():
            coerced = pd.to_datetime(strings, format="ISO8601", utc=True, errors="coerce")
            bad = observed[coerced[observed.index].isna()]
            example = f": {bad.iloc[0]!r} (row index {bad.index[0]})" if len(bad) else ""
            raise UsageError(
                f"cannot read the time column {name!r} as numbers or as ISO 8601 dates and "
                f"times (such as 2026-03-02 08:15:00+01:00){example}."
            ) from None
    has_offset = observed.str.strip().str.contains(_OFFSET)
    if has_offset.any() and not has_offset.all():
        raise UsageError(
            f"the time column {name!r} mixes times with a UTC offset "
            f"({observed[has_offset].iloc[0]!r}) and without one "
            f"({observed[~has_offset].iloc[0]!r}); give every time an offset, or none."
        )
    return pd.to_datetime(strings, format="ISO8601", utc=True)


# -- series and labels ---------------------------------------------------------------


def _layout(args: argparse.Namespace, table: pd.DataFrame) -> str:
    names = [args.instance, args.time, args.channel, args.value]
    if args.format is not None:
        return args.format
    return "events" if all(n in table.columns for n in names) else "wide"


def _read_panel(
    table: pd.DataFrame,
    args: argparse.Namespace,
    *,
    channels: Sequence[str] | None = None,
    exclude: Sequence[str] = (),
) -> pd.DataFrame:
    """The ``pd-multiindex`` panel of a table read from DATA.

    Parameters
    ----------
    table : pandas.DataFrame
        The table, in the events or the wide layout.
    args : argparse.Namespace
        The reading options: ``format``, ``instance``, ``time``, ``channel``, ``value``.
    channels : sequence of str, optional
        The channels a model was fitted on: the panel gets exactly these columns.
    exclude : sequence of str, default=()
        Columns of a wide table that are not channels (a label column).

    Returns
    -------
    pandas.DataFrame
        Row index ``(instance, time)``, series ordered by sorted instance id, a column
        per channel.

    Raises
    ------
    UsageError
        For a missing column, a non-numeric channel of a wide table or a repeated
        ``(instance, time)`` row. The library's ``ValueError`` and ``TypeError`` (for
        example for a non-numeric event value) pass through.

    Examples
    --------
    >>> import argparse
    >>> import pandas as pd
    >>> args = argparse.Namespace(
    ...     format=None, instance="instance", time="time", channel="channel", value="value"
    ... )
    >>> wide = pd.DataFrame({"instance": [1, 0, 0], "time": [0, 1, 0], "hr": [70, 71, 72.0]})
    >>> _read_panel(wide, args)["hr"].tolist()
    [72.0, 71.0, 70.0]
    """
    from . import from_events

    layout = _layout(args, table)
    if layout == "events":
        for name, option in [
            (args.instance, "--instance"),
            (args.time, "--time"),
            (args.channel, "--channel"),
            (args.value, "--value"),
        ]:
            _column(table, name, option)
        table = table.assign(**{args.time: _parse_times(table[args.time], args.time)})
        return from_events(
            table,
            instance=args.instance,
            time=args.time,
            channel=args.channel,
            value=args.value,
            channels=None if channels is None else list(channels),
        )
    for name, option in [(args.instance, "--instance"), (args.time, "--time")]:
        _column(table, name, option)
    if args.instance == args.time:
        raise UsageError("--instance and --time name the same column.")
    keys = {args.instance, args.time}
    if channels is None:
        names = [c for c in table.columns if c not in keys and c not in exclude]
    else:
        absent = [c for c in channels if c not in table.columns]
        if absent:
            hint = ""
            if args.channel in table.columns and args.value in table.columns:
                hint = " It looks like an event table: read it with --format events."
            raise UsageError(
                f"DATA has no column for the channel(s) {_some(absent)} the model was fitted "
                f"on (its columns: {_some(table.columns, 10)}).{hint}"
            )
        names = list(channels)
    if not names:
        raise UsageError(
            f"DATA has no channel column besides {args.instance!r} and {args.time!r}: a wide "
            "table has one column per channel (or use --format events with a channel and a "
            "value column)."
        )
    text = [c for c in names if table[c].dtype.kind not in "iufb"]
    if text:
        column = text[0]
        bad = table[column][pd.to_numeric(table[column], errors="coerce").isna()].dropna()
        example = f" (such as {bad.iloc[0]!r})" if len(bad) else ""
        raise UsageError(
            f"the column(s) {_some(text)} of the wide table hold text{example}; every column "
            f"besides {args.instance!r} and {args.time!r} is read as a channel of numbers. "
            "Drop the others, or give the label column with --label-column."
        )
    frame = table[[args.instance, args.time, *names]].copy()
    frame[args.time] = _parse_times(frame[args.time], args.time)
    for key in (args.instance, args.time):
        empty = frame[key].isna()
        if empty.any():
            raise UsageError(f"row {frame.index[empty][0]} of DATA has no {key!r}.")
    frame = frame.set_index([args.instance, args.time]).sort_index()
    repeated = frame.index.duplicated()
    if repeated.any():
        instance, when = frame.index[repeated][0]
        raise UsageError(
            f"DATA has two rows for instance {instance!r} at time {when!r}; a wide table has "
            "one row per instance and time."
        )
    return frame.astype("float64")


def _comparable(ids: pd.Index, other: pd.Index) -> tuple[pd.Index, pd.Index]:
    """The two sets of ids in one dtype: numbers if both are numeric, else strings."""
    if pd.api.types.is_numeric_dtype(ids) and pd.api.types.is_numeric_dtype(other):
        if ids.dtype.kind in "iu" and other.dtype.kind in "iu":
            return ids.astype("int64"), other.astype("int64")
        return ids.astype("float64"), other.astype("float64")
    return ids.astype(str), other.astype(str)


def _align_labels(labels: pd.Series, X: pd.DataFrame, what: str = "the labels") -> pd.Series:
    """``labels`` (indexed by instance id) in the order of the series of ``X``.

    Parameters
    ----------
    labels : pandas.Series
        One label per instance id.
    X : pandas.DataFrame
        A ``pd-multiindex`` panel.
    what : str, default="the labels"
        What the messages call the labels.

    Returns
    -------
    pandas.Series
        The labels, indexed by ``X``'s instance ids in ``X``'s order.

    Raises
    ------
    UsageError
        If a series has no label or a label has no series (up to 5 ids of each are named).

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame(
    ...     {"v": [1.0, 2.0, 3.0]},
    ...     index=pd.MultiIndex.from_tuples([("a", 0), ("a", 1), ("b", 0)]),
    ... )
    >>> _align_labels(pd.Series({"b": 1, "a": 0}), X).tolist()
    [0, 1]
    """
    from ._data import instance_ids  # with the library, not at start-up

    ids = instance_ids(X)
    data_keys, label_keys = _comparable(ids, labels.index)
    unlabelled = data_keys[~data_keys.isin(label_keys)]
    unknown = label_keys[~label_keys.isin(data_keys)]
    problems = []
    if len(unlabelled):
        problems.append(f"{len(unlabelled)} series without a label ({_some(unlabelled)})")
    if len(unknown):
        problems.append(f"{len(unknown)} label(s) without a series ({_some(unknown)})")
    if problems:
        raise UsageError(f"the instance ids of DATA and of {what} differ: {'; '.join(problems)}.")
    aligned = pd.Series(labels.to_numpy(), index=label_keys).reindex(data_keys)
    return pd.Series(aligned.to_numpy(), index=ids, name=labels.name)


def _read_labels(args: argparse.Namespace, table: pd.DataFrame, X: pd.DataFrame) -> pd.Series:
    """The labels of the series of ``X``, from ``--labels`` or ``--label-column``.

    Parameters
    ----------
    args : argparse.Namespace
        ``labels``, ``label_column``, ``target`` and ``instance``.
    table : pandas.DataFrame
        DATA as read (for ``--label-column``).
    X : pandas.DataFrame
        The panel made of it.

    Returns
    -------
    pandas.Series
        One label per series, indexed by instance id, in the order of ``X``.

    Raises
    ------
    UsageError
        For a missing or ambiguous label column, a label that varies within an
        instance, a repeated or missing label, or ids that differ from DATA's.

    Examples
    --------
    >>> import argparse
    >>> import pandas as pd
    >>> table = pd.DataFrame({"id": [1, 1, 0], "t": [0, 1, 0], "v": [1.0, 2, 3], "y": [5, 5, 4]})
    >>> X = table.set_index(["id", "t"]).sort_index()[["v"]]
    >>> args = argparse.Namespace(labels=None, label_column="y", target=None, instance="id")
    >>> _read_labels(args, table, X).tolist()
    [4, 5]
    """
    if args.label_column is not None:
        what = f"the label column {args.label_column!r}"
        column = _column(table, args.label_column, "--label-column")
        grouped = column.groupby(table[args.instance].to_numpy(), sort=True)
        varying = grouped.nunique(dropna=True)
        varying = varying[varying > 1]
        if len(varying):
            raise UsageError(
                f"{what} varies within {len(varying)} instance(s) ({_some(varying.index)}); "
                "it must hold one label per instance."
            )
        labels = grouped.first()
    else:
        path = _existing_file(args.labels, "the labels file")
        what = f"the labels file {str(path)!r}"
        frame = _read_table(path, "the labels file")
        _column(frame, args.instance, "--instance", what)
        if args.target is not None:
            _column(frame, args.target, "--target", what)
            target = args.target
        else:
            others = [c for c in frame.columns if c != args.instance]
            if len(others) != 1:
                raise UsageError(
                    f"{what} has {len(others)} columns besides {args.instance!r} "
                    f"({_some(others, 10)}); pick the label column with --target."
                )
            target = others[0]
        ids = frame[args.instance]
        repeated = ids[ids.duplicated()]
        if len(repeated):
            raise UsageError(f"{what} has several rows for instance(s) {_some(repeated.unique())}.")
        labels = pd.Series(frame[target].to_numpy(), index=pd.Index(ids), name=target)
    empty = labels[labels.isna()]
    if len(empty):
        raise UsageError(f"{what} has no label for instance(s) {_some(empty.index)}.")
    labels.name = args.label_column or labels.name
    return _align_labels(labels, X, what)


# -- estimator parameters ------------------------------------------------------------


def _parse_params(items: Sequence[str], estimator_class: type) -> dict[str, Any]:
    """``key=value`` strings as estimator parameters.

    Parameters
    ----------
    items : sequence of str
        ``"hidden_size=32"``, ``"tau_range=(1, 100)"``, ``"final_r_on=None"``: each value
        is read as a Python literal where it is one, else kept as a string.
    estimator_class : type
        The estimator, whose ``get_params`` names the parameters.

    Returns
    -------
    dict
        The parameters.

    Raises
    ------
    UsageError
        For an item without ``=``, an unknown parameter (the message names close ones)
        or a parameter given twice.

    Examples
    --------
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> _parse_params(["hidden_size=32", "tau_range=(1, 100)", "optimizer=sgd"],
    ...              PhasedLSTMClassifier)
    {'hidden_size': 32, 'tau_range': (1, 100), 'optimizer': 'sgd'}
    """
    known = sorted(estimator_class().get_params())
    params: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--param takes key=value (such as hidden_size=32), got {item!r}.")
        if key not in known:
            close = _close_names(key, known)
            hint = f" Did you mean {' or '.join(close)}?" if close else ""
            raise UsageError(
                f"{estimator_class.__name__} has no parameter {key!r}.{hint} Its parameters: "
                f"{', '.join(known)}."
            )
        if key in params:
            raise UsageError(f"--param {key} is given twice.")
        try:
            params[key] = ast.literal_eval(text.strip())
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            params[key] = text.strip()
    return params


#: names other libraries give some parameters
_ALIASES = {
    "learning_rate": "lr",
    "seed": "random_state",
    "epochs": "max_epochs",
    "n_epochs": "max_epochs",
    "units": "hidden_size",
    "n_units": "hidden_size",
    "layers": "num_layers",
}


def _close_names(key: str, known: Sequence[str]) -> list[str]:
    """Up to three parameter names ``key`` may have meant."""
    close = difflib.get_close_matches(key, known, n=3, cutoff=0.75)
    if key in _ALIASES:
        close.insert(0, _ALIASES[key])
    if len(key) >= 3:
        close += [name for name in known if key.lower() in name]
    return list(dict.fromkeys(close))[:3]


def _estimator_class(task: str) -> type:
    from . import PhasedLSTMClassifier, PhasedLSTMRegressor

    return PhasedLSTMClassifier if task == "classify" else PhasedLSTMRegressor


def _make_estimator(args: argparse.Namespace) -> Any:
    """The estimator of ``--task`` with the ``--param`` and other options.

    Parameters
    ----------
    args : argparse.Namespace
        ``task``, ``param``, ``random_state``, ``time_unit`` and ``verbose``.

    Returns
    -------
    PhasedLSTMClassifier or PhasedLSTMRegressor
        Not fitted.

    Examples
    --------
    >>> import argparse
    >>> args = argparse.Namespace(
    ...     task="regress", param=["hidden_size=8"], random_state=0, time_unit=None, verbose=0
    ... )
    >>> _make_estimator(args)
    PhasedLSTMRegressor(hidden_size=8, random_state=0)
    """
    cls = _estimator_class(args.task)
    params = _parse_params(args.param or [], cls)
    options = {
        "random_state": ("--random-state", args.random_state),
        "time_unit": ("--time-unit", args.time_unit),
        "verbose": ("--verbose", args.verbose or None),
    }
    for key, (option, value) in options.items():
        if value is None:
            continue
        if key in params:
            raise UsageError(f"{key} is set by both {option} and --param; give it once.")
        params[key] = value
    return cls(**params)


def _check_targets(y: pd.Series, task: str) -> None:
    if task == "regress" and not pd.api.types.is_numeric_dtype(y):
        numbers = pd.to_numeric(y, errors="coerce")
        bad = y[numbers.isna()]
        raise UsageError(
            f"--task regress needs numeric labels; {y.name!r} holds {bad.iloc[0]!r} (instance "
            f"{bad.index[0]!r}). Use --task classify for class labels."
        )


# -- commands ------------------------------------------------------------------------


def _read_data(args: argparse.Namespace, model: Any = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """DATA as read, and its panel (with a model: the model's channels, other columns ignored)."""
    table = _read_table(args.data)
    channels = getattr(model, "channel_names_", None) if model is not None else None
    exclude = [args.label_column] if getattr(args, "label_column", None) else []
    return table, _read_panel(table, args, channels=channels, exclude=exclude)


def _load_model(path: str) -> Any:
    from . import load

    path = _existing_file(path, "the model file")
    try:
        return load(path)
    except ValueError as exc:
        raise UsageError(f"{exc}") from None


def _plural(n: int, word: str) -> str:
    """``"1 epoch"``, ``"2 epochs"``, ``"2 series"``, ``"2 classes"``."""
    if n == 1 or word.endswith("ies"):
        return f"{n} {word}"
    return f"{n} {word}{'es' if word.endswith('s') else 's'}"


def _score_name(estimator: Any) -> str:
    return "accuracy" if hasattr(estimator, "classes_") else "R^2"


def _cmd_fit(args: argparse.Namespace, out: TextIO) -> int:
    """Fit an estimator on DATA and its labels, save it and print a summary."""
    from ._data import instance_ids

    estimator = _make_estimator(args)
    target = Path(args.out)
    _check_folder(target)
    table, X = _read_data(args)
    y = _read_labels(args, table, X)
    _check_targets(y, args.task)
    start = time.perf_counter()
    estimator.fit(X, y)
    seconds = time.perf_counter() - start
    score = estimator.score(X, y)
    estimator.save(target)
    channels = list(getattr(estimator, "channel_names_", None) or X.columns)
    ids = instance_ids(X)
    text = (
        f"Fitted {type(estimator).__name__} on {_plural(len(ids), 'series')} "
        f"({_plural(len(X), 'time point')}) of {_plural(len(channels), 'channel')} "
        f"({_some(channels, 8)})"
    )
    if hasattr(estimator, "classes_"):
        text += f", {_plural(len(estimator.classes_), 'class')} ({_some(estimator.classes_, 8)})"
    else:
        text += f", target {y.name!r} from {y.min():.4g} to {y.max():.4g}"
    text += (
        f": {_plural(estimator.n_iter_, 'epoch')} in {seconds:.1f} s, training "
        f"{_score_name(estimator)} {score:.3f}. Wrote {target}."
    )
    print(text, file=out)
    return 0


def _predictions(model: Any, X: pd.DataFrame, args: argparse.Namespace) -> pd.DataFrame:
    """The instance ids, the predictions and, with ``--proba``, each class's probability."""
    from ._data import instance_ids

    frame = pd.DataFrame({args.instance: instance_ids(X)})
    predicted = np.asarray(model.predict(X))
    if predicted.ndim == 1:
        frame["prediction"] = predicted
    else:  # a regressor fitted (in Python) on several targets
        for j in range(predicted.shape[1]):
            frame[f"prediction_{j}"] = predicted[:, j]
    if args.proba:
        proba = model.predict_proba(X)
        for j, label in enumerate(model.classes_):
            frame[f"proba_{label}"] = proba[:, j]
    return frame


def _cmd_predict(args: argparse.Namespace, out: TextIO) -> int:
    """Predict the series of DATA with a saved model; print or write a CSV."""
    model = _load_model(args.model)
    if args.proba and not hasattr(model, "predict_proba"):
        kind = type(model).__name__
        raise UsageError(f"--proba needs a classifier; {args.model} holds a {kind}.")
    if args.out is not None:
        _kind(Path(args.out), "the output file")
        _check_folder(Path(args.out))
    _, X = _read_data(args, model)
    frame = _predictions(model, X, args)
    if args.out is None:
        frame.to_csv(out, index=False)
    else:
        _write_table(frame, args.out)
        print(f"Wrote {_plural(len(frame), 'prediction')} to {args.out}.", file=out)
    return 0


def _cmd_describe(args: argparse.Namespace, out: TextIO) -> int:
    """Print what a saved model learned (on DATA's series, if given)."""
    model = _load_model(args.model)
    X = None if args.data is None else _read_data(args, model)[1]
    print(model.describe(X), file=out)
    return 0


def _mean_sd(values: np.ndarray, out: TextIO) -> str:
    plus_minus = "±"
    try:
        plus_minus.encode(getattr(out, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        plus_minus = "+-"
    sd = np.std(values, ddof=1) if len(values) > 1 else 0.0
    return f"{np.mean(values):.3f} {plus_minus} {sd:.3f}"


def _cmd_evaluate(args: argparse.Namespace, out: TextIO) -> int:
    """Cross-validate an estimator on DATA, split by instance."""
    from sklearn.base import clone
    from sklearn.metrics import get_scorer, get_scorer_names
    from sklearn.model_selection import KFold, StratifiedKFold
    from tqdm import tqdm

    from ._data import instance_ids, select_series

    estimator = _make_estimator(args)
    classify = args.task == "classify"
    scoring = args.scoring or ("accuracy" if classify else "r2")
    if scoring not in get_scorer_names():
        close = difflib.get_close_matches(scoring, get_scorer_names(), n=3, cutoff=0.6)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        raise UsageError(
            f"unknown --scoring {scoring!r}{hint} (any name of "
            "sklearn.metrics.get_scorer_names(), such as accuracy, balanced_accuracy, "
            "f1_macro, roc_auc, r2, neg_mean_absolute_error)."
        )
    if args.cv < 2:
        raise UsageError(f"--cv must be at least 2, got {args.cv}.")
    table, X = _read_data(args)
    y = _read_labels(args, table, X)
    _check_targets(y, args.task)
    seed = 0 if args.random_state is None else args.random_state
    if estimator.random_state is None:  # reproducible folds and models by default
        estimator.set_params(random_state=seed)
    splitter = (StratifiedKFold if classify else KFold)(args.cv, shuffle=True, random_state=seed)
    ids = instance_ids(X)
    scorer = get_scorer(scoring)
    rows = []
    bar = tqdm(
        total=args.cv,
        desc="cross-validation",
        unit="fold",
        file=sys.stderr,
        disable=args.quiet or not sys.stderr.isatty(),
        leave=False,
    )
    with bar:
        for fold, (train, test) in enumerate(splitter.split(np.zeros(len(ids)), y), 1):
            train, test = np.sort(train), np.sort(test)
            X_train, X_test = select_series(X, train), select_series(X, test)
            model = clone(estimator)
            start = time.perf_counter()
            model.fit(X_train, y.iloc[train])
            seconds = time.perf_counter() - start
            score = scorer(model, X_test, y.iloc[test])
            rows.append((fold, len(train), len(test), score, seconds))
            bar.set_postfix(score=f"{score:.3f}", refresh=False)
            bar.update()
    report = pd.DataFrame(rows, columns=["fold", "train series", "test series", scoring, "fit s"])
    formats = {scoring: "{:.3f}".format, "fit s": "{:.1f}".format}
    print(
        f"{args.cv}-fold cross-validation of {type(estimator).__name__} on "
        f"{_plural(len(ids), 'series')}, split by instance:",
        file=out,
    )
    print(report.to_string(index=False, formatters=formats), file=out)
    print(f"{scoring}: mean {_mean_sd(report[scoring].to_numpy(), out)} (sd)", file=out)
    return 0


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    """Fit the classifier on the building occupancy data that ships with the package."""
    from sklearn.model_selection import train_test_split

    from . import PhasedLSTMClassifier, from_events
    from ._data import instance_ids, select_series
    from .datasets import make_building_occupancy

    setting = DEMO_QUICK if args.quick else DEMO
    seed = args.random_state
    if args.out is not None:
        _check_folder(Path(args.out))
    events, y = make_building_occupancy(setting["n_series"], random_state=seed)
    X = from_events(events)
    ids = instance_ids(X)
    if args.save_data is not None:
        folder = Path(args.save_data)
        if folder.exists() and not folder.is_dir():
            raise UsageError(f"--save-data: {str(folder)!r} is not a folder.")
        folder.mkdir(parents=True, exist_ok=True)
        events.to_csv(folder / "events.csv", index=False)
        pd.DataFrame({"instance": ids, "occupied": y}).to_csv(folder / "labels.csv", index=False)
    positions = np.arange(len(ids))
    train, test = train_test_split(positions, test_size=0.25, stratify=y, random_state=seed)
    train, test = np.sort(train), np.sort(test)
    X_train, X_test = select_series(X, train), select_series(X, test)
    params = {**setting["params"], "random_state": seed}
    if not args.quiet and sys.stderr.isatty():
        params["verbose"] = 1
    model = PhasedLSTMClassifier(**params)
    counts = events["channel"].value_counts()
    print(
        f"Building occupancy (sk_plstm.datasets.make_building_occupancy, seed {seed}): "
        f"{len(ids)} room-days of a building's sensors, each channel observed at its own "
        f"times ({', '.join(f'{c}: {n}' for c, n in counts.sort_index().items())} "
        "observations). Is the room occupied that day?",
        file=out,
    )
    print(
        f"Fitting {model!r} on {len(train)} room-days, testing on {len(test)}...",
        file=out,
        flush=True,
    )
    start = time.perf_counter()
    model.fit(X_train, y[train])
    seconds = time.perf_counter() - start
    accuracy = model.score(X_test, y[test])
    majority = np.bincount(y[test]).max() / len(test)
    print(
        f"Fitted in {seconds:.1f} s ({_plural(model.n_iter_, 'epoch')}); test accuracy "
        f"{accuracy:.3f} (always predicting the commonest class: {majority:.3f}).",
        file=out,
    )
    if args.quick:
        print(
            "(--quick trains a tiny model for a few epochs: a check that everything runs, "
            f"not an accurate model; run '{PROG} demo' without --quick for one.)",
            file=out,
        )
    print(file=out)
    print(model.describe(X_test), file=out)
    if args.out is not None:
        model.save(args.out)
        print(f"\nWrote {args.out}.", file=out)
    if args.save_data is not None:
        folder = Path(args.save_data)
        print(f"Wrote {folder / 'events.csv'} and {folder / 'labels.csv'}.", file=out)
    return 0


# -- the parser ----------------------------------------------------------------------


class _Formatter(argparse.HelpFormatter):
    """Wraps descriptions paragraph by paragraph, keeps example epilogs as written."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.startswith("examples:"):
            return "".join(indent + line for line in text.splitlines(keepends=True))
        return "\n".join(
            textwrap.fill(part, width, initial_indent=indent, subsequent_indent=indent)
            for part in text.split("\n")
        )

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        if (
            action.option_strings
            and action.default not in (None, False, argparse.SUPPRESS)
            and "%(default)" not in text
        ):
            text += " (default: %(default)s)"
        return text


def _add_reading_options(parser: argparse.ArgumentParser, labelled: bool) -> None:
    """The options that say how to read DATA (and, if ``labelled``, its labels)."""
    data = parser.add_argument_group("reading DATA")
    data.add_argument(
        "--format",
        choices=["events", "wide"],
        help="events: one row per observation (instance, time, channel, value); wide: one "
        "row per instance and time, one column per channel, empty where not observed "
        "(default: events if DATA has the four event columns, else wide)",
    )
    data.add_argument("--instance", default="instance", metavar="COL", help="series id column")
    data.add_argument(
        "--time",
        default="time",
        metavar="COL",
        help="time column: numbers, or ISO 8601 dates and times such as 2026-03-02T08:15:00+01:00",
    )
    data.add_argument(
        "--channel", default="channel", metavar="COL", help="channel name column (events)"
    )
    data.add_argument("--value", default="value", metavar="COL", help="value column (events)")
    if labelled:
        labels = parser.add_argument_group("labels (one of --labels and --label-column)")
        which = labels.add_mutually_exclusive_group(required=True)
        which.add_argument(
            "--labels",
            metavar="FILE",
            help="CSV or Parquet table with the instance column and a label column",
        )
        which.add_argument(
            "--label-column",
            metavar="COL",
            help="a column of DATA holding each series' label (the same on all its rows)",
        )
        labels.add_argument(
            "--target",
            metavar="COL",
            help="the label column of --labels FILE, when it has several",
        )


def _add_model_options(parser: argparse.ArgumentParser) -> None:
    """The options that make the estimator."""
    model = parser.add_argument_group("the model")
    model.add_argument(
        "--task",
        choices=["classify", "regress"],
        default="classify",
        help="PhasedLSTMClassifier or PhasedLSTMRegressor",
    )
    model.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="set any estimator parameter (repeatable); the value is read as a Python literal "
        "where it is one: --param hidden_size=32 --param 'tau_range=(1, 3600)' "
        "--param final_r_on=None",
    )
    model.add_argument(
        "--random-state",
        type=int,
        metavar="N",
        help="seed of the initial weights and batches (and of the folds)",
    )
    model.add_argument(
        "--time-unit",
        metavar="UNIT",
        help="unit of datetime times for the network: s (default), ms, min, h, D",
    )
    model.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0,
        help="progress bar over the epochs (-vv: and a table per epoch)",
    )


EXAMPLES = {
    "main": """\
examples:
  sk-plstm demo --quick                  # see it work (a few seconds)
  sk-plstm demo --save-data rooms        # the demo; its data as rooms/events.csv, labels.csv
  sk-plstm fit rooms/events.csv --labels rooms/labels.csv --out rooms.plstm
  sk-plstm predict rooms.plstm rooms/events.csv --proba --out predictions.csv
  sk-plstm describe rooms.plstm
  sk-plstm evaluate rooms/events.csv --labels rooms/labels.csv --cv 5 --param max_epochs=30

DATA is a CSV (.csv, .csv.gz) or Parquet (.parquet, .pq) table, either one row per
observation (columns instance, time, channel, value) or "wide" (instance, time and one
column per channel). Labels are matched to series by instance id. Run
'sk-plstm COMMAND --help' for each command's options.
""",
    "fit": """\
examples:
  # events.csv: instance,time,channel,value  labels.csv: instance,label
  sk-plstm fit events.csv --labels labels.csv --out model.plstm
  # a wide table (instance,time,hr,temp,...) whose 'outcome' column is the label
  sk-plstm fit vitals.parquet --label-column outcome --out model.plstm
  # a regressor with other parameters, and columns named otherwise
  sk-plstm fit log.csv --labels hours.csv --task regress --instance room --time ts \\
      --param hidden_size=32 --param 'tau_range=(60, 86400)' --random-state 0 --out m.plstm
""",
    "predict": """\
examples:
  sk-plstm predict model.plstm new_events.csv                  # CSV on standard output
  sk-plstm predict model.plstm new_events.csv --proba --out predictions.csv

The output has the instance id, the prediction and, with --proba, one column per class
(proba_<class>). Read DATA with the options it was fitted with (--instance, --format...).
""",
    "describe": """\
examples:
  sk-plstm describe model.plstm
  sk-plstm describe model.plstm events.csv     # adds how often the units update on DATA
""",
    "evaluate": """\
examples:
  sk-plstm evaluate events.csv --labels labels.csv --cv 5
  sk-plstm evaluate events.csv --labels hours.csv --task regress --scoring neg_mean_absolute_error

Every fold trains a fresh model on some series and scores it on the others (the rows of a
series never end up on both sides). Folds are stratified by class for classifiers and
shuffled with --random-state (default 0), which also seeds the models.
""",
    "demo": """\
examples:
  sk-plstm demo                       # about 15 s on 2 CPU cores
  sk-plstm demo --quick               # a few seconds (a tiny, not very accurate model)
  sk-plstm demo --save-data rooms --out demo.plstm

The data are generated on this machine (no download): room-days of a building's
temperature (about every 10 minutes), humidity (at random times) and door sensors (an
event per opening), time-zone aware timestamps, labelled by whether the room was occupied.
""",
}


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The argument parser of the ``sk-plstm`` command.

    Parameters
    ----------
    prog : str, default="sk-plstm"
        The program name shown in usage and messages.

    Returns
    -------
    argparse.ArgumentParser
        With a sub-parser per command; each has a ``handler`` default.

    Examples
    --------
    >>> args = build_parser().parse_args(["describe", "model.plstm"])
    >>> args.command, args.model, args.data
    ('describe', 'model.plstm', None)
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Phased LSTM classifiers and regressors for irregularly sampled, "
        "asynchronous and event-based time series, from CSV or Parquet tables.",
        epilog=EXAMPLES["main"],
        formatter_class=_Formatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    def command(name: str, summary: str, description: str) -> Any:
        sub = commands.add_parser(
            name,
            help=summary,
            description=description,
            epilog=EXAMPLES[name],
            formatter_class=_Formatter,
        )
        sub.set_defaults(handler=HANDLERS[name])
        return sub

    fit = command(
        "fit",
        "fit a model on a table of series and their labels, and save it",
        "Fit a PhasedLSTMClassifier (or, with --task regress, a PhasedLSTMRegressor) on the "
        "series of DATA and their labels, print a summary and save the model to --out.\n"
        "Labels are matched to series by instance id, never by position.",
    )
    fit.add_argument("data", metavar="DATA", help="CSV or Parquet table of the series")
    fit.add_argument(
        "--out",
        required=True,
        metavar="MODEL",
        help="model file to write (conventionally MODEL.plstm)",
    )
    _add_reading_options(fit, labelled=True)
    _add_model_options(fit)

    predict = command(
        "predict",
        "predict the series of a table with a saved model",
        "Predict each series of DATA with a model saved by 'sk-plstm fit' (or by "
        "est.save(path) in Python). Prints a CSV, or writes it with --out.",
    )
    predict.add_argument("model", metavar="MODEL", help="model file written by fit")
    predict.add_argument("data", metavar="DATA", help="CSV or Parquet table of the series")
    predict.add_argument(
        "--out", metavar="FILE", help="write the predictions to FILE (.csv, .csv.gz, .parquet, .pq)"
    )
    predict.add_argument(
        "--proba", action="store_true", help="add each class's probability (classifiers)"
    )
    _add_reading_options(predict, labelled=False)

    describe = command(
        "describe",
        "print what a saved model learned: sizes, periods, open fractions",
        "Print a saved model's sizes, training epochs and, per layer, the learned periods "
        "(tau), open ratios (r_on) and the fraction of time its units are open; with DATA, "
        "also the fraction of DATA's time points at which the units update.",
    )
    describe.add_argument("model", metavar="MODEL", help="model file written by fit")
    describe.add_argument(
        "data", metavar="DATA", nargs="?", help="optional CSV or Parquet table of series"
    )
    _add_reading_options(describe, labelled=False)

    evaluate = command(
        "evaluate",
        "cross-validate a model on a table of series and their labels",
        "Estimate how well a model generalises: k-fold cross-validation over the series of "
        "DATA (split by instance), printing each fold's score and fit time, and the mean "
        "and standard deviation.",
    )
    evaluate.add_argument("data", metavar="DATA", help="CSV or Parquet table of the series")
    evaluate.add_argument("--cv", type=int, default=5, metavar="K", help="number of folds")
    evaluate.add_argument(
        "--scoring",
        metavar="NAME",
        help="a scikit-learn scorer name (default: accuracy for classify, r2 for regress)",
    )
    evaluate.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    _add_reading_options(evaluate, labelled=True)
    _add_model_options(evaluate)

    demo = command(
        "demo",
        "fit a Phased LSTM on building sensor data that ships with the package",
        "Generate room-days of a building's sensors (each sensor at its own irregular "
        "times), hold out a quarter, fit a PhasedLSTMClassifier to tell occupied days, "
        "and print the test accuracy, the fit time and what the model learned.",
    )
    demo.add_argument(
        "--quick", action="store_true", help="a tiny data set and model: a few seconds"
    )
    demo.add_argument(
        "--random-state",
        type=int,
        default=0,
        metavar="N",
        help="seed of the data, the split and the model (default: 0)",
    )
    demo.add_argument("--out", metavar="MODEL", help="also save the model")
    demo.add_argument(
        "--save-data",
        metavar="FOLDER",
        help="also write the data as FOLDER/events.csv and FOLDER/labels.csv (FOLDER is "
        "created if needed)",
    )
    demo.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return parser


HANDLERS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "fit": _cmd_fit,
    "predict": _cmd_predict,
    "describe": _cmd_describe,
    "evaluate": _cmd_evaluate,
    "demo": _cmd_demo,
}


def main(argv: Sequence[str] | None = None, *, prog: str = PROG) -> int:
    """Run the ``sk-plstm`` command line.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments, without the program name; by default ``sys.argv[1:]``.
    prog : str, default="sk-plstm"
        The program name in usage lines and messages.

    Returns
    -------
    int
        The exit status: 0 on success, 2 for a usage error or bad input (after a
        one-line ``error: ...`` on standard error).

    Examples
    --------
    >>> main(["--version"])  # doctest: +ELLIPSIS
    sk-plstm ...
    0
    >>> main(["describe", "no-such-model.plstm"])
    2
    """
    parser = build_parser(prog)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and argparse's own errors
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if args.command is None:
        parser.print_usage(sys.stderr)
        print(f"{prog}: error: give a command (run '{prog} --help' for the list).", file=sys.stderr)
        return 2
    name = f"{prog} {args.command}"

    def show_warning(message: Any, *args: Any, **kwargs: Any) -> None:
        print(f"{name}: warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show_warning
        try:
            return args.handler(args, sys.stdout)
        except (UsageError, ValueError, TypeError) as exc:
            message = str(exc).strip() or type(exc).__name__
        except BrokenPipeError:  # the reader went away (| head): stop quietly
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError, io.UnsupportedOperation):
                pass
            return 1
        except OSError as exc:
            message = f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else "")
        except KeyboardInterrupt:
            print(f"{name}: interrupted", file=sys.stderr)
            return 130
    print(f"{name}: error: {message}", file=sys.stderr)
    return 2

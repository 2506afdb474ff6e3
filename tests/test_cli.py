"""The ``sk-plstm`` command line: every command on tiny tables written to a temporary folder.

Fits are tiny (4-8 units, 1-3 epochs, two dozen short series) so that the module runs in
seconds. Labels are always written in another order than the series, and the models are
compared with models fitted in Python on correctly ordered labels: a command that matched
labels by position would fail.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, from_events
from sk_plstm.cli import _align_labels, _parse_params, _parse_times, main

TINY = ["--param", "hidden_size=4", "--param", "max_epochs=2", "--random-state", "0"]


def tiny_events(n: int = 24, seed: int = 0, ids=None) -> tuple[pd.DataFrame, pd.Series]:
    """An event table (rows shuffled) and labels: channel a is high in class 1."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i:02d}" for i in range(n)] if ids is None else list(ids)
    rows, labels = [], {}
    for i, iid in enumerate(ids):
        labels[iid] = i % 2
        for channel, size in (("a", 8), ("b", 5)):
            times = np.sort(rng.choice(50, size, replace=False)).astype(float)
            values = rng.normal(3.0 * labels[iid] if channel == "a" else 0.0, 1.0, size)
            rows += [(iid, t, channel, v) for t, v in zip(times, values)]
    events = pd.DataFrame(rows, columns=["instance", "time", "channel", "value"])
    events = events.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    return events, pd.Series(labels, name="label")


def shuffled(labels: pd.Series, seed: int = 1) -> pd.DataFrame:
    """The labels as a table with the rows in another order than the sorted ids."""
    table = labels.rename_axis("instance").reset_index()
    table = table.sample(frac=1.0, random_state=seed).reset_index(drop=True)
    assert not np.array_equal(table["label"].to_numpy(), labels.sort_index().to_numpy())
    return table


def run(capsys, *argv) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def assert_user_error(code: int, err: str, *fragments: str) -> None:
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sk-plstm ") and ": error: " in lines[0], err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def reference(events: pd.DataFrame, labels: pd.Series, cls=PhasedLSTMClassifier, **kwargs):
    """The model fitted in Python on the labels in the series' order."""
    X = from_events(events)
    y = labels.loc[X.index.get_level_values(0).unique()].to_numpy()
    params = {"hidden_size": 4, "max_epochs": 2, "random_state": 0, **kwargs}
    return X, cls(**params).fit(X, y)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """events.csv, labels.csv (shuffled), a model fitted by the command line, the reference."""
    folder = tmp_path_factory.mktemp("fitted")
    events, labels = tiny_events()
    events.to_csv(folder / "events.csv", index=False)
    shuffled(labels).to_csv(folder / "labels.csv", index=False)
    code = main(
        [
            "fit",
            str(folder / "events.csv"),
            "--labels",
            str(folder / "labels.csv"),
            "--out",
            str(folder / "model.plstm"),
            *TINY,
        ]
    )
    assert code == 0
    X, model = reference(events, labels)
    return folder, events, labels, X, model


# -- help and version ------------------------------------------------------------------


def test_help_of_every_command(capsys):
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for command in ("fit", "predict", "describe", "evaluate", "demo"):
        assert command in out
    assert "examples:" in out and "sk-plstm demo --quick" in out
    for command in ("fit", "predict", "describe", "evaluate", "demo"):
        code, out, _ = run(capsys, command, "--help")
        assert code == 0
        assert out.startswith(f"usage: sk-plstm {command}")
        assert "examples:" in out and f"sk-plstm {command}" in out.split("examples:")[1]
    code, out, _ = run(capsys, "fit", "--help")
    for option in ("--labels", "--label-column", "--param", "--format", "--instance"):
        assert option in out


def test_version_and_no_command(capsys):
    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"sk-plstm {sk_plstm.__version__}"
    code, _, err = run(capsys)
    assert code == 2 and "error: give a command" in err


@pytest.mark.heavy
def test_python_m_sk_plstm_help():
    done = subprocess.run(
        [sys.executable, "-m", "sk_plstm", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python -m sk_plstm")
    assert "evaluate" in done.stdout


def test_argparse_errors_exit_2(capsys):
    code, _, err = run(capsys, "fit", "data.csv", "--out", "m.plstm")  # no labels
    assert code == 2 and "one of the arguments --labels --label-column is required" in err
    code, _, err = run(capsys, "nosuchcommand")
    assert code == 2 and "invalid choice" in err


# -- fit, predict, describe ------------------------------------------------------------


def test_fit_matches_labels_by_id_not_position(fitted, capsys):
    folder, events, labels, X, model = fitted
    saved = sk_plstm.load(folder / "model.plstm")
    # the same model as a fit on correctly ordered labels, with the same seed
    np.testing.assert_allclose(saved.predict_proba(X), model.predict_proba(X), atol=1e-6)
    assert saved.get_params()["hidden_size"] == 4 and saved.n_iter_ == 2


def test_fit_prints_a_summary(tmp_path, capsys):
    events, labels = tiny_events(16)
    events.to_csv(tmp_path / "events.csv", index=False)
    shuffled(labels).to_csv(tmp_path / "labels.csv", index=False)
    code, out, err = run(
        capsys,
        "fit",
        tmp_path / "events.csv",
        "--labels",
        tmp_path / "labels.csv",
        "--out",
        tmp_path / "m.plstm",
        "--param",
        "tau_range=(1, 100)",
        "--param",
        "final_r_on=None",
        *TINY,
    )
    assert code == 0, err
    assert "16 series" in out and "2 channels (a, b)" in out and "2 classes (0, 1)" in out
    assert "2 epochs" in out and "training accuracy" in out and "m.plstm" in out
    params = sk_plstm.load(tmp_path / "m.plstm").get_params()
    assert params["tau_range"] == (1, 100) and params["final_r_on"] is None


def test_predict_by_id_with_probabilities(fitted, capsys, tmp_path):
    folder, events, labels, X, model = fitted
    out_file = tmp_path / "predictions.csv"
    code, out, err = run(
        capsys,
        "predict",
        folder / "model.plstm",
        folder / "events.csv",
        "--proba",
        "--out",
        out_file,
    )
    assert code == 0, err
    assert "24 predictions" in out
    table = pd.read_csv(out_file)
    assert list(table.columns) == ["instance", "prediction", "proba_0", "proba_1"]
    ids = X.index.get_level_values(0).unique()
    assert list(table["instance"]) == list(ids)
    np.testing.assert_array_equal(table["prediction"], model.predict(X))
    proba = model.predict_proba(X)
    np.testing.assert_allclose(table[["proba_0", "proba_1"]], proba, atol=1e-6)

    # to standard output, on a subset of the series given in another order
    subset = events[events["instance"].isin(["s05", "s02"])].iloc[::-1]
    subset.to_csv(tmp_path / "subset.csv", index=False)
    code, out, err = run(capsys, "predict", folder / "model.plstm", tmp_path / "subset.csv")
    assert code == 0, err
    lines = out.strip().splitlines()
    expected = model.predict(X.loc[["s02", "s05"]])
    assert lines == ["instance,prediction", f"s02,{expected[0]}", f"s05,{expected[1]}"]


def test_describe(fitted, capsys):
    folder = fitted[0]
    code, out, err = run(capsys, "describe", folder / "model.plstm")
    assert code == 0, err
    assert out.startswith("PhasedLSTMClassifier: 2 channel(s)") and "tau_median" in out
    assert "updates_fraction" not in out
    code, out, err = run(capsys, "describe", folder / "model.plstm", folder / "events.csv")
    assert code == 0, err
    assert "updates_fraction: on 24 series" in out


def test_parquet_tables_and_ids_of_another_dtype(tmp_path, capsys):
    try:
        pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "probe.parquet")
    except ImportError as exc:  # no pyarrow nor fastparquet
        pytest.skip(f"pandas cannot write Parquet here: {exc}")
    # numeric instance ids in DATA, the same ids as strings in the labels file
    events, labels = tiny_events(12, ids=range(100, 112))
    events.to_parquet(tmp_path / "events.parquet")
    table = shuffled(labels)
    table["instance"] = table["instance"].astype(str)
    table.to_parquet(tmp_path / "labels.pq")
    model_file = tmp_path / "m.plstm"
    code, out, err = run(
        capsys,
        "fit",
        tmp_path / "events.parquet",
        "--labels",
        tmp_path / "labels.pq",
        "--out",
        model_file,
        *TINY,
    )
    assert code == 0, err
    X, model = reference(events, labels)
    saved = sk_plstm.load(model_file)
    np.testing.assert_allclose(saved.predict_proba(X), model.predict_proba(X), atol=1e-6)
    code, _, err = run(
        capsys, "predict", model_file, tmp_path / "events.parquet", "--out", tmp_path / "p.parquet"
    )
    assert code == 0, err
    predicted = pd.read_parquet(tmp_path / "p.parquet")
    assert list(predicted["instance"]) == list(range(100, 112))
    np.testing.assert_array_equal(predicted["prediction"], model.predict(X))


def test_wide_table_with_a_label_column_and_a_regressor(tmp_path, capsys):
    events, labels = tiny_events(16)
    target = pd.Series(np.arange(16) * 0.5 + labels.to_numpy(), index=labels.index)
    X = from_events(events)  # the reference panel: instance, time; NaN where not observed
    wide = X.reset_index()
    wide["hours"] = target.loc[wide["instance"]].to_numpy()
    wide = wide.sample(frac=1.0, random_state=0)  # rows in any order
    wide.to_csv(tmp_path / "wide.csv.gz", index=False)
    code, out, err = run(
        capsys,
        "fit",
        tmp_path / "wide.csv.gz",
        "--label-column",
        "hours",
        "--task",
        "regress",
        "--out",
        tmp_path / "r.plstm",
        *TINY,
    )
    assert code == 0, err
    assert "PhasedLSTMRegressor" in out and "2 channels (a, b)" in out and "R^2" in out
    _, model = reference(events, target, cls=PhasedLSTMRegressor)
    saved = sk_plstm.load(tmp_path / "r.plstm")
    np.testing.assert_allclose(saved.predict(X), model.predict(X), rtol=1e-5, atol=1e-6)
    # predict reads the model's channels from the wide table and ignores the label column
    code, out, err = run(capsys, "predict", tmp_path / "r.plstm", tmp_path / "wide.csv.gz")
    assert code == 0, err
    table = pd.read_csv(pd.io.common.StringIO(out))
    np.testing.assert_allclose(table["prediction"], model.predict(X), rtol=1e-5, atol=1e-6)
    code, _, err = run(capsys, "predict", tmp_path / "r.plstm", tmp_path / "wide.csv.gz", "--proba")
    assert_user_error(code, err, "--proba needs a classifier")


def test_label_column_of_an_event_table(tmp_path, capsys):
    events, labels = tiny_events(12)
    with_labels = events.assign(label=labels.loc[events["instance"]].to_numpy())
    with_labels.loc[with_labels.index[::3], "label"] = np.nan  # rows without: ignored
    with_labels.to_csv(tmp_path / "events.csv", index=False)
    code, out, err = run(
        capsys, "fit", tmp_path / "events.csv", "--label-column", "label",
        "--out", tmp_path / "m.plstm", *TINY,
    )  # fmt: skip
    assert code == 0, err
    assert "12 series" in out and "2 channels (a, b)" in out
    X, model = reference(events, labels)
    saved = sk_plstm.load(tmp_path / "m.plstm")
    np.testing.assert_allclose(saved.predict_proba(X), model.predict_proba(X), atol=1e-6)


def test_datetime_times_with_offsets(tmp_path, capsys):
    events, labels = tiny_events(12)
    shuffled(labels).to_csv(tmp_path / "labels.csv", index=False)
    start = pd.Timestamp("2026-03-28 12:00", tz="Europe/Berlin")  # clocks change on the 29th
    stamps = start + pd.to_timedelta(events["time"] * 3600, unit="s")
    for name, times in {
        "fixed": stamps.dt.strftime("%Y-%m-%dT%H:%M:%S+01:00"),  # one offset: kept
        "dst": stamps.astype(str),  # +01:00 and +02:00: compared in UTC
    }.items():
        events.assign(time=times).to_csv(tmp_path / f"{name}.csv", index=False)
        code, out, err = run(
            capsys,
            "fit",
            tmp_path / f"{name}.csv",
            "--labels",
            tmp_path / "labels.csv",
            "--out",
            tmp_path / f"{name}.plstm",
            "--time-unit",
            "h",
            *TINY,
        )
        assert code == 0, err
        saved = sk_plstm.load(tmp_path / f"{name}.plstm")
        assert saved.time_unit == "h" and saved.tau_range_[1] < 60  # hours, not seconds
    parsed = _parse_times(pd.Series(["2026-03-02T08:00:00+01:00"]), "time")
    assert str(parsed.dt.tz) == "UTC+01:00"
    parsed = _parse_times(pd.Series(["2026-03-28 08:00+01:00", "2026-03-30 08:00+02:00"]), "t")
    assert str(parsed.dt.tz) == "UTC" and parsed.dt.hour.tolist() == [7, 6]


def test_evaluate_cross_validation_by_instance(fitted, capsys):
    folder = fitted[0]
    code, out, err = run(
        capsys,
        "evaluate",
        folder / "events.csv",
        "--labels",
        folder / "labels.csv",
        "--cv",
        "2",
        "--quiet",
        "--param",
        "hidden_size=4",
        "--param",
        "max_epochs=1",
    )
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("2-fold cross-validation of PhasedLSTMClassifier on 24 series")
    assert lines[1].split() == ["fold", "train", "series", "test", "series", "accuracy", "fit", "s"]
    assert [line.split()[:3] for line in lines[2:4]] == [["1", "12", "12"], ["2", "12", "12"]]
    scores = [float(line.split()[3]) for line in lines[2:4]]
    assert lines[4].startswith(f"accuracy: mean {np.mean(scores):.3f} ")
    assert len(lines) == 5

    code, _, err = run(
        capsys, "evaluate", folder / "events.csv", "--labels", folder / "labels.csv",
        "--scoring", "acuracy",
    )  # fmt: skip
    assert_user_error(code, err, "unknown --scoring 'acuracy'", "did you mean accuracy")


def test_demo_quick(tmp_path, capsys):
    model = tmp_path / "demo.plstm"
    data = tmp_path / "rooms"  # created
    code, out, err = run(capsys, "demo", "--quick", "--save-data", data, "--out", model)
    assert code == 0, err
    assert sk_plstm.load(model).channel_names_ == ("door", "humidity", "temperature")
    assert "40 room-days" in out and "test accuracy" in out and "Fitted in" in out
    assert "tau_median" in out and "r_on_mean" in out and "open_fraction" in out
    events = pd.read_csv(data / "events.csv")
    labels = pd.read_csv(data / "labels.csv")
    assert list(events.columns) == ["instance", "time", "channel", "value"]
    assert list(labels.columns) == ["instance", "occupied"] and len(labels) == 40
    assert set(labels["instance"]) == set(events["instance"])


# -- user errors: one line, exit status 2 -----------------------------------------------


def test_mismatched_ids(fitted, tmp_path, capsys):
    folder, events, labels = fitted[:3]
    table = shuffled(labels)
    table = table[~table["instance"].isin(["s03", "s07"])]
    table = pd.concat([table, pd.DataFrame({"instance": ["zz1"], "label": [0]})])
    table.to_csv(tmp_path / "labels.csv", index=False)
    code, _, err = run(
        capsys, "fit", folder / "events.csv", "--labels", tmp_path / "labels.csv",
        "--out", tmp_path / "m.plstm", *TINY,
    )  # fmt: skip
    assert_user_error(
        code, err, "2 series without a label (s03, s07)", "1 label(s) without a series (zz1)"
    )
    assert not (tmp_path / "m.plstm").exists()


def test_align_labels_lists_at_most_five_ids():
    X = pd.DataFrame({"v": np.arange(8.0)}, index=pd.MultiIndex.from_arrays([range(8), [0] * 8]))
    with pytest.raises(
        Exception, match=r"8 series without a label \(0, 1, 2, 3, 4 \(and 3 more\)\)"
    ):
        _align_labels(pd.Series([1], index=["x"]), X)
    aligned = _align_labels(pd.Series({"7": 1, "0": 2, **{str(i): 0 for i in range(1, 7)}}), X)
    assert aligned.index.tolist() == list(range(8)) and aligned.tolist() == [2] + [0] * 6 + [1]


def test_label_problems(fitted, tmp_path, capsys):
    folder, events, labels = fitted[:3]
    out = ["--out", tmp_path / "m.plstm", *TINY]
    varying = events.assign(y=np.arange(len(events)) % 2)
    varying.to_csv(tmp_path / "varying.csv", index=False)
    code, _, err = run(capsys, "fit", tmp_path / "varying.csv", "--label-column", "y", *out)
    assert_user_error(code, err, "the label column 'y' varies within 24 instance(s)")
    code, _, err = run(capsys, "fit", folder / "events.csv", "--label-column", "nolabel", *out)
    assert_user_error(code, err, "DATA has no column 'nolabel'")

    table = shuffled(labels).assign(other=1)
    table.to_csv(tmp_path / "two.csv", index=False)
    code, _, err = run(capsys, "fit", folder / "events.csv", "--labels", tmp_path / "two.csv", *out)
    assert_user_error(code, err, "pick the label column with --target")
    code, _, err = run(
        capsys, "fit", folder / "events.csv", "--labels", tmp_path / "two.csv",
        "--target", "other", *out,
    )  # fmt: skip
    assert_user_error(code, err, "one class")  # the library's message

    repeated = pd.concat([shuffled(labels), shuffled(labels).iloc[:1]])
    repeated.to_csv(tmp_path / "repeated.csv", index=False)
    code, _, err = run(
        capsys, "fit", folder / "events.csv", "--labels", tmp_path / "repeated.csv", *out
    )
    assert_user_error(code, err, "several rows for instance(s)")

    words = shuffled(labels).assign(label=lambda t: t["label"].map({0: "no", 1: "yes"}))
    words.to_csv(tmp_path / "words.csv", index=False)
    code, _, err = run(
        capsys, "fit", folder / "events.csv", "--labels", tmp_path / "words.csv",
        "--task", "regress", *out,
    )  # fmt: skip
    assert_user_error(code, err, "--task regress needs numeric labels")


def test_unknown_parameter_suggests_close_names(fitted, tmp_path, capsys):
    folder = fitted[0]
    args = ["fit", folder / "events.csv", "--labels", folder / "labels.csv"]
    args += ["--out", tmp_path / "m.plstm"]
    code, _, err = run(capsys, *args, "--param", "hiden_size=4")
    assert_user_error(code, err, "no parameter 'hiden_size'", "Did you mean hidden_size?")
    code, _, err = run(capsys, *args, "--param", "hidden_size")
    assert_user_error(code, err, "--param takes key=value")
    code, _, err = run(capsys, *args, "--param", "random_state=1", "--random-state", "2")
    assert_user_error(code, err, "random_state is set by both --random-state and --param")
    code, _, err = run(capsys, *args, "--param", "hidden_size=-3")  # the library's message
    assert_user_error(code, err, "The 'hidden_size' parameter of PhasedLSTMClassifier must be")


def test_parse_params_reads_literals_and_keeps_strings():
    params = _parse_params(
        ["hidden_size=32", "tau_range=(1, 100)", "final_r_on=None", "optimizer=sgd", "lr=1e-3"],
        PhasedLSTMClassifier,
    )
    assert params == {
        "hidden_size": 32,
        "tau_range": (1, 100),
        "final_r_on": None,
        "optimizer": "sgd",
        "lr": 0.001,
    }


def test_bad_files(fitted, tmp_path, capsys):
    folder = fitted[0]
    model, data = folder / "model.plstm", folder / "events.csv"
    code, _, err = run(capsys, "predict", model, tmp_path / "missing.csv")
    assert_user_error(code, err, "DATA", "missing.csv' does not exist")
    (tmp_path / "data.txt").write_text("instance,time\n")
    code, _, err = run(capsys, "predict", model, tmp_path / "data.txt")
    assert_user_error(code, err, "cannot tell the format", ".csv, .csv.gz, .parquet, .pq")
    (tmp_path / "broken.parquet").write_text("not parquet")
    code, _, err = run(capsys, "predict", model, tmp_path / "broken.parquet")
    assert_user_error(code, err, "cannot read DATA", "as parquet")
    (tmp_path / "empty.csv").write_text("")
    code, _, err = run(capsys, "predict", model, tmp_path / "empty.csv")
    assert_user_error(code, err, "cannot read DATA", "as csv")
    (tmp_path / "model.plstm").write_text("this is no model")
    for command in (
        ["describe", tmp_path / "model.plstm"],
        ["predict", tmp_path / "model.plstm", data],
    ):
        code, _, err = run(capsys, *command)
        assert_user_error(code, err, "is not a readable sk_plstm model file")
    code, _, err = run(capsys, "describe", tmp_path / "nomodel.plstm")
    assert_user_error(code, err, "the model file", "does not exist")
    code, _, err = run(capsys, "predict", model, data, "--instance", "patient")
    assert_user_error(code, err, "DATA has no column 'patient'", "--instance")
    code, _, err = run(capsys, "predict", model, data, "--out", tmp_path / "no" / "p.csv")
    assert_user_error(code, err, "does not exist")
    code, _, err = run(
        capsys, "fit", data, "--labels", folder / "labels.csv", "--out", tmp_path / "no" / "m.plstm"
    )
    assert_user_error(code, err, "the folder", "does not exist")


def test_bad_times_and_wide_tables(fitted, tmp_path, capsys):
    folder, events, labels = fitted[:3]
    model = folder / "model.plstm"
    bad = events.assign(time=events["time"].astype(str))
    bad.loc[5, "time"] = "yesterday"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "bad.csv")
    assert_user_error(code, err, "time column 'time' as numbers: 'yesterday' (row index 5)")
    stamps = pd.Timestamp("2026-03-02") + pd.to_timedelta(events["time"], unit="s")
    bad = events.assign(time=stamps.astype(str))
    bad.loc[7, "time"] = "2026-13-45 08:00"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "bad.csv")
    assert_user_error(code, err, "ISO 8601", "'2026-13-45 08:00' (row index 7)")

    mixed = events.assign(time="2026-03-02T08:00:00")
    mixed["time"] = pd.to_datetime(mixed["time"]) + pd.to_timedelta(events["time"], unit="s")
    mixed["time"] = mixed["time"].astype(str)
    mixed.loc[0, "time"] = "2026-03-02T08:00:00+01:00"
    mixed.to_csv(tmp_path / "mixed.csv", index=False)
    code, _, err = run(capsys, "describe", model, tmp_path / "mixed.csv")
    assert_user_error(code, err, "mixes times with a UTC offset")

    wide = from_events(events).reset_index()
    wide.assign(note="x").to_csv(tmp_path / "text.csv", index=False)
    code, _, err = run(
        capsys, "fit", tmp_path / "text.csv", "--labels", folder / "labels.csv",
        "--out", tmp_path / "m.plstm",
    )  # fmt: skip
    assert_user_error(code, err, "the column(s) note of the wide table hold text (such as 'x')")
    pd.concat([wide, wide.iloc[:1]]).to_csv(tmp_path / "twice.csv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "twice.csv")
    assert_user_error(code, err, "two rows for instance 's00'")
    wide.drop(columns="b").to_csv(tmp_path / "no_b.csv", index=False)
    code, _, err = run(capsys, "predict", model, tmp_path / "no_b.csv")
    assert_user_error(code, err, "no column for the channel(s) b")
    code, _, err = run(capsys, "predict", model, folder / "events.csv", "--format", "wide")
    assert_user_error(code, err, "no column for the channel(s) a, b", "--format events")


def test_library_errors_are_shown_as_they_are(fitted, tmp_path, capsys):
    folder, events = fitted[:2]
    events.assign(value="high").to_csv(tmp_path / "text_values.csv", index=False)
    code, _, err = run(capsys, "predict", folder / "model.plstm", tmp_path / "text_values.csv")
    assert code == 2 and "Traceback" not in err
    assert err.startswith("sk-plstm predict: error: ") and "value" in err


def test_parquet_without_an_engine_is_one_clear_line(tmp_path, capsys, monkeypatch):
    def no_engine(*args, **kwargs):
        raise ImportError("Unable to find a usable engine; tried using: 'pyarrow'.\nmore")

    (tmp_path / "events.parquet").write_bytes(b"PAR1")
    monkeypatch.setattr(pd, "read_parquet", no_engine)
    code, _, err = run(capsys, "evaluate", tmp_path / "events.parquet", "--label-column", "y")
    assert_user_error(code, err, "cannot read Parquet file", "pip install pyarrow")

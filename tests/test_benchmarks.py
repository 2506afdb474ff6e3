"""The benchmark scripts run in their small setting; the LSTM baseline behaves."""

import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

#: the heavy tier (the benchmarks' scripts, run small): python -m pytest -m heavy
pytestmark = pytest.mark.heavy

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# before any MiniRocket fit launches numba's threads: its OpenMP layer slows the torch fits
# that follow in the same process (see benchmarks/bench_missing.py)
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")


def _benchmarks(*names):
    """The named modules of benchmarks/, imported with that folder on the path."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        modules = [importlib.import_module(name) for name in names]
    finally:
        sys.path.remove(str(BENCHMARKS))
    return modules[0] if len(modules) == 1 else modules


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_sktime"), importlib.import_module("_baselines")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_small_benchmark_runs_and_writes_a_table(bench, tmp_path):
    bench_sktime, _ = bench
    out = tmp_path / "table.md"
    summary = bench_sktime.main(["--setting", "small", "--out", str(out)])
    assert len(summary) == 6  # one dataset x (original, irregular) x three models
    models = set(summary.index.get_level_values("model"))
    assert {"PhasedLSTM", "LSTM"} <= models and len(models) == 3
    assert summary["acc_mean"].between(0, 1).all()
    assert out.read_text().count("| ItalyPowerDemand |") == 6


def test_irregular_task_keeps_half_of_each_series_with_integer_times(bench):
    bench_sktime, _ = bench
    X, y, split = bench_sktime.load_task("ItalyPowerDemand", irregular=True)
    sizes = X.groupby(level=0).size()
    assert len(sizes) == len(y) == 67 + 1029 and sizes.max() == 12  # 24 steps -> 12
    assert X.index.get_level_values(1).dtype.kind == "i"
    assert split.get_n_splits() == 1


def test_lstm_baseline_padding_and_training(bench):
    _, baselines = bench
    net = baselines.LSTMNet(2, 3, hidden_size=5).eval()
    values, times = torch.randn(2, 6, 2), torch.arange(6.0).expand(2, 6).double()
    out = net(values, times, torch.tensor([6, 3]))
    alone = net(values[1:, :3], times[1:, :3], torch.tensor([3]))
    torch.testing.assert_close(out[1:], alone)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 12))
    y = (X[:, 0, -1] > 0).astype(int)
    clf = baselines.LSTMBaselineClassifier(hidden_size=8, max_epochs=30, random_state=0).fit(X, y)
    assert isinstance(clf.module_, baselines.LSTMNet)
    assert clf.score(X, y) > 0.8


def test_missing_benchmark_small_setting(tmp_path):
    bench_missing = _benchmarks("bench_missing")
    out = tmp_path / "missing.md"
    summary = bench_missing.main(["--setting", "small", "--out", str(out)])
    assert len(summary) == 4  # one task at one rate x four models
    models = set(summary.index.get_level_values("model"))
    assert {"PhasedLSTM", "LSTM", "GRU-D"} <= models and len(models) == 4
    assert summary["acc_mean"].between(0, 1).all() and (summary["fit_mean"] > 0).all()
    assert summary["nan_share"].between(0.4, 0.7).all()  # 60% of each channel removed
    table = out.read_text()
    assert table.count("| BasicMotions | 60% removed |") == 4
    assert "`python benchmarks/bench_missing.py --setting small --out" in table


def test_grud_baseline_padding_masks_and_training(bench):
    _, baselines = bench
    torch.manual_seed(0)
    n_channels = 3
    net = baselines.GRUDNet(2 * n_channels, 2, hidden_size=5, n_channels=n_channels).eval()
    assert net.masked
    mask = (torch.rand(2, 7, n_channels) > 0.4).float()
    mask[:, 0] = 1.0
    x = torch.randn(2, 7, n_channels) * mask
    times = torch.cumsum(torch.rand(2, 7), 1).double()
    # the second series has 4 steps: padded like the estimators pad (zeros, last time)
    x[1, 4:], mask[1, 4:], times[1, 4:] = 0.0, 0.0, times[1, 3]
    values = torch.cat([x, mask], dim=-1)
    out = net(values, times, torch.tensor([7, 4]))
    alone = net(values[1:, :4], times[1:, :4], torch.tensor([4]))
    torch.testing.assert_close(out[1:], alone)
    # an unobserved value does not count, whatever it is
    changed = values.clone()
    changed[..., :n_channels] += 10.0 * (1 - mask)
    torch.testing.assert_close(net(changed, times, torch.tensor([7, 4])), out)
    # without masks (complete data) every value is observed
    complete = baselines.GRUDNet(n_channels, 2, hidden_size=5).eval()
    assert not complete.masked
    out = complete(x, times, torch.tensor([7, 4]))
    torch.testing.assert_close(out[1:], complete(x[1:, :4], times[1:, :4], torch.tensor([4])))

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2, 12))
    y = (X[:, 0].mean(axis=1) > 0).astype(int)
    X[rng.random(X.shape) < 0.3] = np.nan  # 30% of each channel unobserved
    # a constant rate, as when this test's threshold was set
    clf = baselines.GRUDBaselineClassifier(
        hidden_size=8, max_epochs=30, lr_schedule=None, random_state=0
    )
    clf.fit(X, y)
    assert isinstance(clf.module_, baselines.GRUDNet) and clf.module_.masked
    assert clf.score(X, y) > 0.8


def test_speed_benchmark_quick_mode(tmp_path):
    bench_speed, reference = _benchmarks("bench_speed", "_reference")
    gru = bench_speed.main(
        ["--quick", "--cell", "gru", "--repeats", "1", "--out", str(tmp_path / "g.md")]
    )
    assert len(gru) == 2 and all(r["nn.GRU"] > 0 and r["sk_plstm"] > 0 for r in gru)
    assert "PhasedGRU, backend 'kernel'" in (tmp_path / "g.md").read_text()
    rows = bench_speed.main(["--quick", "--repeats", "1", "--out", str(tmp_path / "t.md")])
    assert len(rows) == 2 and all(r["nn.LSTM"] > 0 and r["sk_plstm"] > 0 for r in rows)
    assert (tmp_path / "t.md").read_text().count("x |") == 4  # two ratios per row
    # the reference loop computes the same maths as the package's layer
    from sk_plstm.nn import PhasedLSTM

    ref = reference.ReferencePhasedLSTM(2, 5, r_on=0.5).eval()
    ref.leak = 0.0
    layer = PhasedLSTM(2, 5).eval()
    cell = layer.cells[0]
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(ref.cell, name))
        cell.gate.set_(tau=ref.tau)
        cell.gate.set_(shift=ref.shift)
        cell.gate.set_(r_on=ref.r_on)
    x, times = torch.randn(3, 7, 2), torch.cumsum(torch.rand(3, 7), 1)
    torch.testing.assert_close(layer(x, times)[0], ref(x, times), rtol=1e-5, atol=1e-6)


def test_layer_matches_the_reference_loop_in_training_with_gradients():
    # outputs and gradients of every parameter, the time gate's (tau, s, r_on) included,
    # for each fast implementation against the straightforward loop kept in benchmarks/
    reference = _benchmarks("_reference")
    from sk_plstm.nn import PhasedLSTM, kernel_available

    torch.manual_seed(0)
    ref = reference.ReferencePhasedLSTM(2, 6, r_on=0.3).train()
    ref.r_on.requires_grad_(True)
    layer = PhasedLSTM(2, 6, leak=ref.leak, learn_r_on=True).train()
    cell = layer.cells[0]
    pairs = [
        (cell.weight_ih, ref.cell.weight_ih),
        (cell.weight_hh, ref.cell.weight_hh),
        (cell.bias_ih, ref.cell.bias_ih),
        (cell.bias_hh, ref.cell.bias_hh),
    ]
    with torch.no_grad():
        for mine, theirs in pairs:
            mine.copy_(theirs)
        cell.gate.set_(tau=ref.tau, shift=ref.shift, r_on=ref.r_on)
    x, times = torch.randn(3, 40, 2), torch.cumsum(torch.rand(3, 40), 1)
    weights = torch.randn(3, 40, 6)
    (ref(x, times) * weights).sum().backward()
    # the gate stores log(tau - TAU_MIN) and the open ratio's logit: their gradients are
    # the reference's times the derivative of the parametrisation
    gate = cell.gate
    share = torch.sigmoid(gate.r_on_logit.detach())
    span = gate.r_on_bound - gate.r_on_floor
    pairs += [
        (gate.log_tau, ref.tau.grad * (gate.tau.detach() - 1e-6)),
        (gate.shift, ref.shift.grad),
        (gate.r_on_logit, ref.r_on.grad * span * share * (1 - share)),
    ]
    implementations = ["torch", "autograd"] + (["kernel"] if kernel_available() else [])
    for implementation in implementations:
        layer.implementation = implementation
        layer.zero_grad()
        out = layer(x, times)[0]
        torch.testing.assert_close(out, ref(x, times), rtol=1e-5, atol=1e-6)
        (out * weights).sum().backward()
        for mine, theirs in pairs:
            expected = theirs.grad if isinstance(theirs, torch.nn.Parameter) else theirs
            torch.testing.assert_close(mine.grad, expected, rtol=1e-4, atol=1e-5)


def test_sparse_benchmark_quick_mode(tmp_path):
    from sk_plstm.nn import kernel_available

    if not kernel_available():
        pytest.skip("the sparse path needs the compiled kernel")
    bench_sparse = _benchmarks("bench_sparse")
    rows = bench_sparse.main(["--quick", "--repeats", "1", "--out", str(tmp_path / "s.md")])
    assert [r["mode"] for r in rows] == ["stream", "batched"]
    assert all(r["max_diff"] < 1e-4 and 0 < r["updates"] < r["events"] for r in rows)
    assert rows[0]["stream"] > 0 and rows[1]["stream"] is None  # LayerStream: streaming only
    assert (tmp_path / "s.md").read_text().count("| stream |") == 1


@pytest.mark.parametrize(
    "script, extra, outputs",
    [
        ("reproduce_frequency", ["--samplings", "asynchronous"], "task1_quick"),
        ("reproduce_two_frequencies", [], "task2_quick"),
        ("reproduce_adding", [], "adding_quick"),
        ("reproduce_adding", ["--fresh", "--length", "60"], "adding60_quick_fresh"),
        ("reproduce_event_digits", ["--fixed-r-on"], "event_digits_quick_fixed_r_on"),
    ],
)
def test_reproduction_scripts_quick_mode(script, extra, outputs, tmp_path):
    module = _benchmarks(script)
    argv = ["--setting", "quick", "--epochs", "2", "--out-dir", str(tmp_path), *extra]
    module.main(argv)
    report = (tmp_path / f"{outputs}.md").read_text()
    assert "| Phased LSTM" in report or "| asynchronous |" in report
    assert f"python benchmarks/{script}.py --setting quick" in report
    assert (tmp_path / f"{outputs}.png").stat().st_size > 10_000  # a drawn figure
    if script == "reproduce_event_digits":
        # with r_on fixed at 0.05 the Phased LSTM updates each unit at about 5% of the
        # events, the LSTM at all of them
        row = next(line for line in report.splitlines() if line.startswith("| Phased LSTM"))
        share = float(row.split("|")[4].strip().rstrip("%"))
        assert share < 10


def test_fresh_data_draws_a_new_training_set_every_epoch():
    from sk_plstm.datasets import make_frequency_discrimination

    rep = _benchmarks("_reproduce")
    draw = rep.FreshData(make_frequency_discrimination, 8, sampling="asynchronous")
    (X0, y0), (X1, _), (X0_again, y0_again) = draw(0), draw(1), draw(0)
    assert len(X0) == len(X1) == 8
    assert not X0.iloc[0, 0].equals(X1.iloc[0, 0])  # another epoch, other waves
    # the same epoch draws the same waves again
    assert all(a.equals(b) for a, b in zip(X0.iloc[:, 0], X0_again.iloc[:, 0]))
    assert np.array_equal(y0, y0_again)


def test_learning_curves_resume_from_checkpoints(tmp_path):
    from sk_plstm import PhasedLSTMClassifier
    from sk_plstm.datasets import make_frequency_discrimination

    rep = _benchmarks("_reproduce")
    seen = []

    def draw(epoch):
        seen.append(epoch)
        return make_frequency_discrimination(16, sampling="asynchronous", random_state=epoch)

    models = {"m": lambda seed: PhasedLSTMClassifier(hidden_size=4, random_state=seed)}
    test = make_frequency_discrimination(16, sampling="asynchronous", random_state=99)
    score = lambda est, X, y: float(est.score(X, y))  # noqa: E731
    first = rep.learning_curves(models, (draw, *test), 2, 1, score, checkpoints=str(tmp_path))
    assert seen == [0, 1] and len(first["m"][0]["scores"]) == 2
    again = rep.learning_curves(models, (draw, *test), 3, 1, score, checkpoints=str(tmp_path))
    # the rerun trains only the missing epoch, on that epoch's data, after the saved ones
    assert seen == [0, 1, 2]
    assert again["m"][0]["scores"][:2] == first["m"][0]["scores"]
    assert len(again["m"][0]["scores"]) == 3


def test_scaling_benchmark_quick_ddp():
    small = ["--series", "24", "--length", "12", "--hidden", "4", "--epochs", "1", "--repeats", "1"]
    # the spawned ranks import the benchmark module: keep it on the path they inherit
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench_scaling = importlib.import_module("bench_scaling")
        lines = bench_scaling.main(["ddp", "--procs", "1", "2", "--batch", "8", *small])
    finally:
        sys.path.remove(str(BENCHMARKS))
    rows = [line.split("|") for line in lines if line.startswith("| 8 |")]
    assert [row[2].strip() for row in rows] == ["1", "2"]
    assert float(rows[1][5]) < 1e-5  # 3 steps: 2 processes give 1 process's model


@pytest.fixture(scope="module")
def study():
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("bench_defaults")
    finally:
        sys.path.remove(str(BENCHMARKS))


def test_defaults_study_runs_resumes_and_ranks(study, tmp_path, capsys):
    results, out = tmp_path / "fits.jsonl", tmp_path / "report.md"
    args = ["--setting", "quick", "--results", str(results), "--out", str(out)]
    args += ["--candidates", "base", "narrow 0.5->0.1+learn", "--no-baselines"]
    study.main(args)
    rows = [line for line in results.read_text().splitlines() if line]
    assert len(rows) == 2 * len(study.QUICK_TASKS)  # 2 candidates x the quick tasks
    report = out.read_text()
    assert "| narrow 0.5->0.1+learn |" in report and "| base |" in report
    for task in study.QUICK_TASKS:
        assert f"| {task} |" in report
    capsys.readouterr()
    study.main(args)  # resumes: nothing left to fit
    assert "0 fits to run" in capsys.readouterr().out
    assert len(results.read_text().splitlines()) == len(rows)


def test_defaults_study_ranks_rmse_ascending_and_accuracy_descending(study):
    import pandas as pd

    scores = pd.DataFrame(
        {"a": [0.9, 1.0], "b": [0.8, 2.0], "c": [0.8, 0.5]}, index=["BasicMotions", "Tecator"]
    )
    ranks = study._mean_ranks(scores)
    assert ranks.loc["BasicMotions"].tolist() == [1.0, 2.5, 2.5]  # accuracy: higher is better
    assert ranks.loc["Tecator"].tolist() == [2.0, 3.0, 1.0]  # RMSE: lower is better


def test_the_gpu_check_script_parses_and_names_files_that_exist():
    import re
    import subprocess
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = root / "benchmarks" / "gpu_check.sh"
    assert subprocess.run(["bash", "-n", str(script)], capture_output=True).returncode == 0
    named = re.findall(r"((?:tests|benchmarks)/[\w/]+\.py)", script.read_text())
    assert named and all((root / name).exists() for name in named), named


def test_estimator_benchmark_times_both_models_and_the_first_fit(tmp_path):
    bench = _benchmarks("bench_estimators")
    out = tmp_path / "e.md"
    lines = bench.main(
        ["--epochs", "1", "--repeats", "1", "--datasets", "ItalyPowerDemand", "--out", str(out)]
    )
    row = next(line for line in lines if line.startswith("| ItalyPowerDemand"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    fit_plstm, fit_lstm, ratio = float(cells[1]), float(cells[2]), float(cells[3].rstrip("x"))
    assert fit_plstm > 0 and fit_lstm > 0
    assert ratio == pytest.approx(fit_plstm / fit_lstm, rel=0.05)  # the cells are rounded
    assert lines[-1].startswith("First fit in a fresh process")
    assert "First fit" in out.read_text()


def test_defaults_study_compares_its_first_candidate_with_peers(study, tmp_path):
    results, out = tmp_path / "fits.jsonl", tmp_path / "report.md"
    args = ["--setting", "quick", "--results", str(results), "--out", str(out)]
    args += ["--candidates", "base", "--no-baselines", "--peers", "HGB-summary"]
    study.main(args)
    report = out.read_text()
    assert "`base` (the first candidate) beside the baselines and peers" in report
    row = next(line for line in report.splitlines() if line.startswith("| HGB-summary |"))
    assert row.split("|")[4].strip() == str(len(study.QUICK_TASKS))  # fitted on every task
    assert "against the best of HGB-summary" in report


def test_target_range_benchmark_small(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        bench = importlib.import_module("bench_target_range")
    finally:
        sys.path.remove(str(BENCHMARKS))
    args = ["--seeds", "0", "--n-train", "16", "--n-test", "8", "--epochs", "1"]
    lines = bench.main([*args, "--out", str(tmp_path / "t.md")])
    rows = [line for line in lines if line.startswith("| ") and "R^2" not in line]
    assert [r.split("|")[1].strip() for r in rows] == [
        "PhasedLSTMRegressor",
        "PhasedLSTMRegressor, clipped at 0",
        "TransformedTargetRegressor(log1p)",
    ]
    for row in rows[1:]:  # never negative
        assert float(row.split("|")[4].strip().rstrip("%")) == 0.0
    assert bench.expm1_nonnegative(np.array([-2.0, 0.0, np.log(3.0)])).tolist() == [0, 0, 2]


def test_event_lstm_baseline_is_exactly_an_lstm_over_the_events():
    # its gates are open (k = 1) at every time, so it computes torch.nn.LSTM's steps
    from sk_plstm.nn import EventInput

    _, baselines = _benchmarks("bench_events", "_baselines")
    net = baselines.EventLSTMNet(50, 3, hidden_size=8, time_scale=2.0)
    times = torch.tensor([[0.0, 1.5, 1e6, 3e7]], dtype=torch.float64)
    assert torch.equal(net.plstm.gate_openness(times), torch.ones(1, 1, 4, 8))
    assert not any(p.requires_grad for g in net.time_gates() for p in g.parameters())
    g = torch.Generator().manual_seed(0)
    indices, values = torch.randint(-1, 50, (2, 6, 2), generator=g), torch.randn(2, 6, 2)
    t = torch.cumsum(torch.rand(2, 6, dtype=torch.float64, generator=g), 1)
    lstm = torch.nn.LSTM(51, 8, batch_first=True)
    cell = net.plstm.cells[0]
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(lstm, f"{name}_l0").copy_(getattr(cell, name))
    gap = torch.diff(t, dim=1, prepend=t[:, :1]) / 2.0
    dense = EventInput(indices, 50, values).to_dense()
    expected, _ = lstm(torch.cat([dense, gap.float().unsqueeze(-1)], -1))
    head = net.head(expected[:, -1])
    torch.testing.assert_close(
        net(values, t, torch.tensor([6, 6]), indices), head, atol=1e-5, rtol=1e-5
    )


def test_event_benchmark_runs_small(tmp_path, capsys):
    bench_events = _benchmarks("bench_events")
    results = str(tmp_path / "events.jsonl")
    small = ["--streams", "6", "--batch-size", "3", "--hidden", "8", "--threads", "1"]
    rows = [
        bench_events.speed_child(bench_events.arguments(["_child", *small, *extra]))
        for extra in (
            ["--input", "index", "--phase", "train"],
            ["--input", "dense", "--phase", "predict", "--dense-batches", "1"],
        )
    ]
    assert rows[0]["streams_timed"] == 6 and rows[1]["streams_timed"] == 3
    assert rows[0]["events"] > 6 * 3000 and rows[1]["seconds_per_epoch"] > 0
    table = bench_events.speed_table(rows)
    assert "| train | index |" in table and "| predict | dense |" in table
    accuracy = bench_events.accuracy(
        bench_events.arguments(
            "accuracy --task digits --train 100 --test 50 --epochs 1 --hidden 8".split()
            + ["--results", results]
        )
    )
    assert [r["model"] for r in accuracy] == ["Phased LSTM", "LSTM"]
    assert accuracy[1]["updates_per_unit"] == accuracy[1]["steps_per_stream"]
    assert accuracy[0]["updates_per_unit"] < accuracy[1]["updates_per_unit"]
    assert len(Path(results).read_text().splitlines()) == 2
    assert "| Phased LSTM |" in capsys.readouterr().out
    (written,) = bench_events.report(
        bench_events.arguments(["report", "--results", results, "--out-dir", str(tmp_path)])
    )
    text = Path(written).read_text()
    assert written.endswith("events_digits.md") and "bench_events.py accuracy --task digits" in text
    assert "| Phased LSTM, r_on=0.05 |" in text and "| LSTM |" in text

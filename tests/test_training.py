"""Divergence, gradient clipping, checkpoints with kill-and-resume, partial_fit."""

import io
import os
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
import torch
from conftest import CountEpochs
from skorch.callbacks import Callback

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, TrainingDivergedError
from sk_plstm._training import read_checkpoint

RNG = np.random.default_rng(0)
X = RNG.normal(size=(64, 2, 20))
Y = (X[:, 0, -3:].mean(axis=1) > 0).astype(int)
KILL_PARAMS = dict(hidden_size=24, max_epochs=30, batch_size=8, random_state=3)


def test_divergence_stops_with_a_clear_error():
    y = X[:, 0, -1] * 1e3
    reg = PhasedLSTMRegressor(hidden_size=8, max_epochs=5, lr=1e12, optimizer="sgd", random_state=0)
    with pytest.raises(TrainingDivergedError, match="Lower the learning rate .* set grad_clip"):
        reg.fit(X, y)
    assert not hasattr(reg, "net_")


def test_grad_clip_bounds_the_gradient_norm():
    seen = []

    class GradNorm(Callback):
        def on_batch_end(self, net, **kwargs):
            norms = [p.grad.norm() for p in net.module_.parameters() if p.grad is not None]
            seen.append(float(torch.linalg.vector_norm(torch.stack(norms))))

    PhasedLSTMClassifier(
        hidden_size=8, max_epochs=2, lr=1e-3, grad_clip=0.01, callbacks=[GradNorm()], random_state=0
    ).fit(X, Y)
    assert max(seen) <= 0.01 * 1.001


def test_validation_fraction_records_validation_loss():
    clf = PhasedLSTMClassifier(
        hidden_size=8, max_epochs=3, validation_fraction=0.25, random_state=0
    )
    clf.fit(X, Y)
    assert np.isfinite(clf.history_[:, "valid_loss"]).all()
    assert clf.history_[0, "train_batch_count"] == 2  # 48 of 64 series train, batch 32


def test_validation_split_is_seeded():
    params = dict(hidden_size=8, max_epochs=3, validation_fraction=0.25, random_state=4)
    a = PhasedLSTMClassifier(**params).fit(X, Y)
    b = PhasedLSTMClassifier(**params).fit(X, Y)
    np.testing.assert_array_equal(a.history_[:, "valid_loss"], b.history_[:, "valid_loss"])
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_checkpoints_and_best_model(tmp_path):
    clf = PhasedLSTMClassifier(
        hidden_size=8,
        max_epochs=4,
        validation_fraction=0.25,
        checkpoint_dir=str(tmp_path),
        checkpoint_every=2,
        random_state=0,
    ).fit(X, Y)
    assert not (tmp_path / "last.ckpt").exists()  # removed once the fit completed
    best = sk_plstm.load(tmp_path / "best.plstm")
    best_epoch = int(np.argmin(clf.history_[:, "valid_loss"]))
    assert best.history_[-1, "epoch"] == best_epoch + 1
    assert best.predict_proba(X).shape == (64, 2)


def test_resume_from_checkpoint_in_process(tmp_path):
    reference = PhasedLSTMClassifier(**KILL_PARAMS).fit(X, Y)
    # a fit interrupted after 12 epochs leaves its checkpoint behind
    state_epochs = _interrupted_fit(tmp_path, stop_after=12)
    counter = CountEpochs()
    resumed = PhasedLSTMClassifier(
        **KILL_PARAMS, checkpoint_dir=str(tmp_path), callbacks=[counter]
    ).fit(X, Y)
    assert state_epochs == 12
    assert dict(resumed.net_.callbacks_)["CountEpochs"].epochs == 30 - 12
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X), rtol=1e-5)
    np.testing.assert_allclose(
        resumed.history_[:, "train_loss"], reference.history_[:, "train_loss"], rtol=1e-5
    )


def _interrupted_fit(directory, stop_after):
    class Crash(Exception):
        pass

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == stop_after:
                raise Crash

    clf = PhasedLSTMClassifier(
        **KILL_PARAMS, checkpoint_dir=str(directory), callbacks=[Interrupt()]
    )
    with pytest.raises(Crash):
        clf.fit(X, Y)
    state = read_checkpoint(directory / "last.ckpt")
    return state["epoch"]


SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    import torch
    torch.set_num_threads(1)
    from sk_plstm import PhasedLSTMClassifier
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 2, 20))
    Y = (X[:, 0, -3:].mean(axis=1) > 0).astype(int)
    params = dict(hidden_size=24, max_epochs=30, batch_size=8, random_state=3)
    PhasedLSTMClassifier(**params, checkpoint_dir=sys.argv[1]).fit(X, Y)
    print("finished")
    """
)


@pytest.mark.heavy
def test_kill_a_real_training_process_and_resume(tmp_path):
    script = tmp_path / "train.py"
    script.write_text(SCRIPT)
    checkpoint = tmp_path / "ckpt"
    proc = subprocess.Popen([sys.executable, str(script), str(checkpoint)], stdout=subprocess.PIPE)
    deadline = time.time() + 120
    killed_at = None
    try:
        while time.time() < deadline and proc.poll() is None:
            last = checkpoint / "last.ckpt"
            if last.exists():
                epoch = read_checkpoint(last)["epoch"]
                if epoch >= 5:
                    proc.kill()  # SIGKILL: no clean-up code runs
                    killed_at = epoch
                    break
            time.sleep(0.02)
    finally:
        proc.kill()
        out, _ = proc.communicate()
    assert killed_at is not None and b"finished" not in out, "training ended before the kill"
    saved = read_checkpoint(checkpoint / "last.ckpt")["epoch"]
    assert 5 <= saved < 30
    counter = CountEpochs()
    resumed = PhasedLSTMClassifier(
        **KILL_PARAMS, checkpoint_dir=str(checkpoint), callbacks=[counter]
    ).fit(X, Y)
    assert dict(resumed.net_.callbacks_)["CountEpochs"].epochs == 30 - saved  # at most one lost
    reference = PhasedLSTMClassifier(**KILL_PARAMS).fit(X, Y)
    assert len(resumed.history_) == 30
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X), rtol=1e-4)


def test_checkpoint_of_another_fit_is_refused(tmp_path):
    _interrupted_fit(tmp_path, stop_after=2)
    with pytest.raises(ValueError, match="other data or with other parameters"):
        PhasedLSTMClassifier(**KILL_PARAMS, checkpoint_dir=str(tmp_path)).fit(X[:40], Y[:40])
    with pytest.raises(ValueError, match="other data or with other parameters"):
        PhasedLSTMClassifier(**{**KILL_PARAMS, "lr": 0.1}, checkpoint_dir=str(tmp_path)).fit(X, Y)


def test_corrupt_checkpoint_is_reported(tmp_path):
    (tmp_path / "last.ckpt").write_bytes(b"\x00garbage")
    with pytest.raises(ValueError, match="cannot be read"):
        PhasedLSTMClassifier(**KILL_PARAMS, checkpoint_dir=str(tmp_path)).fit(X, Y)


def test_partial_fit_continues_training():
    clf = PhasedLSTMClassifier(hidden_size=8, lr=0.01, random_state=0)
    clf.partial_fit(X[:32], Y[:32], classes=[0, 1])
    first_tau = clf.tau_range_
    weights = clf.module_.head.weight.detach().clone()
    for _ in range(3):
        clf.partial_fit(X[32:], Y[32:])
    assert clf.n_iter_ == 4 and clf.tau_range_ == first_tau
    assert not torch.equal(weights, clf.module_.head.weight)
    assert clf.max_epochs == 100  # the parameter is untouched
    assert clf.predict(X).shape == (64,)


def test_partial_fit_declared_classes_and_unseen_labels():
    clf = PhasedLSTMClassifier(hidden_size=4, random_state=0)
    clf.partial_fit(X[:10], np.zeros(10, dtype=int), classes=[0, 1, 2])
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict_proba(X).shape == (64, 3)
    with pytest.raises(ValueError, match=r"labels \[7\] that are not among the classes"):
        clf.partial_fit(X[:2], [7, 0])
    with pytest.raises(ValueError, match="X has 1 channels, but the estimator was fitted on 2"):
        clf.partial_fit(X[:2, :1], [0, 1])


def test_partial_fit_regressor():
    reg = PhasedLSTMRegressor(hidden_size=4, random_state=0)
    reg.partial_fit(X, X[:, 0, -1]).partial_fit(X, X[:, 0, -1])
    assert reg.n_iter_ == 2 and reg.predict(X).shape == (64,)
    with pytest.raises(ValueError, match="targets per sample"):
        reg.partial_fit(X, np.column_stack([X[:, 0, -1]] * 2))


def test_ctrl_c_keeps_the_checkpoint_so_fit_resumes(tmp_path):
    class CtrlC(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 3:
                raise KeyboardInterrupt  # skorch stops training gracefully

    params = {**KILL_PARAMS, "max_epochs": 6, "checkpoint_dir": str(tmp_path)}
    with pytest.warns(UserWarning, match="interrupted .* after 3 of 6"):
        stopped = PhasedLSTMClassifier(**params, callbacks=[CtrlC()]).fit(X, Y)
    assert stopped.interrupted_ and stopped.n_iter_ == 3 and (tmp_path / "last.ckpt").exists()
    resumed = PhasedLSTMClassifier(**params).fit(X, Y)
    assert resumed.n_iter_ == 6 and not (tmp_path / "last.ckpt").exists()


# ---------------------------------------------------------------- early stopping, schedules
NOISE = RNG.normal(size=(80, 2, 15))
NOISE_Y = RNG.integers(0, 2, size=80)  # labels unrelated to X: the validation loss rises
RNG_FLIP = np.random.default_rng(1)
# gates that do not narrow: early stopping may then keep any epoch
# a constant rate: a cosine schedule depends on max_epochs, so a shorter fit would differ
STOP_PARAMS = dict(
    hidden_size=32,
    max_epochs=60,
    lr=3e-2,
    batch_size=16,
    final_r_on=None,
    lr_schedule=None,
    random_state=1,
)


def test_early_stopping_keeps_the_weights_of_the_best_epoch():
    clf = PhasedLSTMClassifier(
        **STOP_PARAMS, early_stopping=True, n_iter_no_change=4, validation_fraction=0.25
    ).fit(NOISE, NOISE_Y)
    valid = np.asarray(clf.history_[:, "valid_loss"])
    assert clf.n_iter_ < 60
    assert clf.best_epoch_ == int(np.argmin(valid)) + 1
    assert clf.n_iter_ - clf.best_epoch_ == 4  # stopped after 4 epochs without improvement
    # the kept weights are those of a fit that ran exactly best_epoch_ epochs
    shorter = PhasedLSTMClassifier(
        **{**STOP_PARAMS, "max_epochs": clf.best_epoch_}, validation_fraction=0.25
    ).fit(NOISE, NOISE_Y)
    np.testing.assert_allclose(clf.predict_proba(NOISE), shorter.predict_proba(NOISE), atol=1e-6)
    assert 0 <= clf.history_[-1, "valid_score"] <= 1


def test_early_stopping_tolerance_counts_small_gains_as_none():
    clf = PhasedLSTMClassifier(
        **STOP_PARAMS, early_stopping=True, n_iter_no_change=2, tol=10.0, validation_fraction=0.25
    ).fit(NOISE, NOISE_Y)
    assert clf.n_iter_ == 3 and clf.best_epoch_ == 1  # no loss ever drops by 10


def test_early_stopping_holds_out_a_tenth_without_validation_fraction():
    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=2, batch_size=4, early_stopping=True, random_state=0
    ).fit(X, Y)
    # 64 series: 7 validate (stratified, ceil of 10%), 57 train in 15 batches of 4
    assert clf.history_[0, "train_batch_count"] == 15
    assert "valid_loss" in clf.history_[0] and "valid_score" in clf.history_[0]


def test_validation_too_small_for_the_classes_is_a_clear_error():
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping .* leaves 1 of the 8 training series"):
        clf.fit(X[:8], [0, 1] * 4)
    assert not hasattr(clf, "net_")


def test_regressor_records_r2_as_validation_score():
    y = X[:, 0, -3:].mean(axis=1)
    reg = PhasedLSTMRegressor(
        hidden_size=8, max_epochs=4, validation_fraction=0.25, random_state=0
    ).fit(X, y)
    scores = np.asarray(reg.history_[:, "valid_score"])
    assert np.isfinite(scores).all() and (scores <= 1).all()


def test_cosine_schedule_anneals_to_a_hundredth():
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=8, lr=0.02, lr_schedule="cosine")
    clf.set_params(random_state=0).fit(X, Y)
    epoch = np.arange(8)
    expected = 2e-4 + (0.02 - 2e-4) * (1 + np.cos(np.pi * epoch / 8)) / 2
    np.testing.assert_allclose(clf.history_[:, "lr"], expected, rtol=1e-9)


def test_plateau_schedule_divides_by_ten_after_patience():
    clf = PhasedLSTMClassifier(
        **{**STOP_PARAMS, "max_epochs": 20, "lr_schedule": "plateau"},
        n_iter_no_change=4,
        validation_fraction=0.25,
    ).fit(NOISE, NOISE_Y)
    lrs = np.asarray(clf.history_[:, "lr"])
    valid = np.asarray(clf.history_[:, "valid_loss"])
    powers = np.log10(lrs / 3e-2)
    np.testing.assert_allclose(powers, np.round(powers), atol=1e-6)  # lr / 10**k
    assert (np.diff(lrs) <= 0).all()
    first_drop = int(np.argmax(lrs < 3e-2))
    assert first_drop > 0, "the noise labels must make the validation loss stall"
    # patience 2: the rate falls after the third epoch in a row without a new best
    best_before = np.minimum.accumulate(valid[:first_drop])
    assert (valid[first_drop - 2 : first_drop] >= best_before[first_drop - 3] * (1 - 1e-4)).all()


def test_resume_with_early_stopping_and_schedule_matches_an_uninterrupted_fit(tmp_path):
    params = dict(
        **{**STOP_PARAMS, "lr": 1e-2, "lr_schedule": "cosine"},
        early_stopping=True,
        n_iter_no_change=4,
        validation_fraction=0.25,
    )
    y = np.where(RNG_FLIP.random(64) < 0.2, 1 - Y, Y)  # learnable, then overfitted
    reference = PhasedLSTMClassifier(**params).fit(X, y)
    assert 1 < reference.best_epoch_ < reference.n_iter_ - 3

    class Crash(Exception):
        pass

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == reference.n_iter_ - 2:
                raise Crash

    with pytest.raises(Crash):
        PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path), callbacks=[Interrupt()]).fit(
            X, y
        )
    resumed = PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, y)
    assert (resumed.n_iter_, resumed.best_epoch_) == (reference.n_iter_, reference.best_epoch_)
    np.testing.assert_allclose(resumed.history_[:, "lr"], reference.history_[:, "lr"])
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X), atol=1e-5)
    assert not (tmp_path / "last.ckpt").exists()  # stopped early: the fit is complete
    for name, values in reference.initial_gates_.items():
        np.testing.assert_array_equal(resumed.initial_gates_[name], values)


def test_partial_fit_does_not_stop_early():
    clf = PhasedLSTMClassifier(hidden_size=4, early_stopping=True, random_state=0)
    for _ in range(3):
        clf.partial_fit(X, Y, classes=[0, 1])
    assert clf.n_iter_ == 3 and not hasattr(clf, "best_epoch_")
    assert "valid_loss" not in clf.history_[-1]


# ---------------------------------------------------------------- progress
def test_silent_by_default(capsys):
    PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, Y)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


def test_verbose_one_draws_an_epoch_bar_with_losses_and_time(capsys):
    PhasedLSTMClassifier(
        hidden_size=4, max_epochs=3, validation_fraction=0.25, verbose=1, random_state=0
    ).fit(X, Y)
    out = capsys.readouterr()
    assert "fit: 100%" in out.err and "3/3" in out.err
    for key in ("train_loss=", "valid_loss=", "valid_score=", "time="):
        assert key in out.err
    assert "batch" not in out.err  # epochs shorter than 2 s get no batch bar
    assert out.out == ""  # no table rows at verbose=1


def test_long_epochs_get_a_batch_bar(capsys, monkeypatch):
    monkeypatch.setattr(sk_plstm._training, "interactive", lambda stream: True)  # a terminal
    monkeypatch.setattr(sk_plstm._training.TrainingProgress, "BATCH_DELAY", 0.0)
    PhasedLSTMClassifier(hidden_size=4, max_epochs=2, batch_size=8, verbose=1).fit(X, Y)
    err = capsys.readouterr().err
    assert "epoch 1: " in err and "/8 [" in err and "batch/s" in err


def test_verbose_two_also_prints_a_row_per_epoch(capsys):
    PhasedLSTMClassifier(
        hidden_size=4, max_epochs=2, early_stopping=True, lr_schedule="cosine", verbose=2
    ).fit(X, Y)
    out = capsys.readouterr().out
    assert "train_loss" in out and "valid_score" in out and "lr" in out
    assert len([line for line in out.splitlines() if line.strip().startswith(("1", "2"))]) == 2


ANSI = "\x1b["


def test_a_log_file_gets_plain_lines_without_colour(capsys):
    # capsys streams are not terminals: what a user gets with `python fit.py > log 2>&1`
    PhasedLSTMClassifier(
        hidden_size=4, max_epochs=3, early_stopping=True, verbose=2, random_state=0
    ).fit(X, Y)
    out, err = capsys.readouterr()
    assert "train_loss" in out and ANSI not in out and ANSI not in err
    assert "\r" not in err and "\r" not in out  # nothing redrawn
    # short epochs: one final line, the bar's last state, kept
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("fit: 100%") and "3/3" in lines[0]
    assert "train_loss=" in lines[0] and "time=" in lines[0]


@pytest.mark.heavy
def test_output_through_a_real_pipe_is_plain(tmp_path):
    script = tmp_path / "fit.py"
    script.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from sk_plstm import PhasedLSTMClassifier
            rng = np.random.default_rng(0)
            X = rng.normal(size=(24, 1, 12))
            y = np.arange(24) % 2
            PhasedLSTMClassifier(
                hidden_size=4, max_epochs=3, validation_fraction=0.25, verbose=2, random_state=0
            ).fit(X, y)
            """
        )
    )
    proc = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, check=True
    )
    both = proc.stdout + proc.stderr
    assert ANSI not in both and "\r" not in both, repr(both)
    rows = [line for line in proc.stdout.splitlines() if line.strip()[:1].isdigit()]
    assert len(rows) == 3  # the epoch table, one row per epoch
    assert proc.stderr.strip().splitlines()[-1].startswith("fit: 100%|##########| 3/3")


def test_a_log_file_gets_a_line_per_interval(capsys, monkeypatch):
    monkeypatch.setattr(sk_plstm._training.TrainingProgress, "LOG_INTERVAL", 0.0)
    monkeypatch.setattr(sk_plstm._training.TrainingProgress, "BATCH_DELAY", 0.0)
    PhasedLSTMClassifier(hidden_size=4, max_epochs=3, batch_size=8, verbose=1).fit(X, Y)
    err = capsys.readouterr().err
    assert "\r" not in err
    epochs = [line for line in err.splitlines() if line.startswith("fit:")]
    assert [line.split("|")[2].split()[0] for line in epochs] == ["1/3", "2/3", "3/3"]
    assert sum(line.startswith("epoch 1: ") for line in err.splitlines()) == 8  # 8 batches


def test_a_terminal_keeps_colour_and_redraws(capsys, monkeypatch):
    monkeypatch.setattr(sk_plstm._training, "interactive", lambda stream: True)
    PhasedLSTMClassifier(
        hidden_size=4, max_epochs=3, early_stopping=True, verbose=2, random_state=0
    ).fit(X, Y)
    out, err = capsys.readouterr()
    assert ANSI in out  # skorch's colour for the best scores
    assert "\r" in err and "fit: 100%" in err  # tqdm's bar, last state kept


def test_interactive_is_false_for_files_pipes_and_closed_streams(tmp_path):
    from sk_plstm._training import interactive

    assert not interactive(io.StringIO())
    with open(tmp_path / "log", "w") as f:
        assert not interactive(f)
    closed = open(tmp_path / "log2", "w")
    closed.close()
    assert not interactive(closed)
    assert not interactive(object())


def _plateau_rates(losses, lr, patience):
    """The rates torch's ReduceLROnPlateau gives for these losses (defaults otherwise)."""
    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=lr)
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.1, patience=patience)
    rates = []
    for loss in losses:
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step(loss)
    return rates


@pytest.mark.parametrize("incremental", [False, True])
def test_plateau_schedule_follows_the_losses_in_fit_and_partial_fit(incremental):
    params = dict(hidden_size=8, lr=0.05, lr_schedule="plateau", n_iter_no_change=2)
    params["validation_fraction"] = 0.25  # the validation loss stalls on noise labels
    clf = PhasedLSTMClassifier(**params, max_epochs=14, random_state=0)
    if incremental:
        for _ in range(14):
            clf.partial_fit(NOISE, NOISE_Y, classes=[0, 1])
    else:
        clf.fit(NOISE, NOISE_Y)
    losses = clf.history_[:, "valid_loss"]
    rates = clf.history_[:, "lr"]
    np.testing.assert_allclose(rates, _plateau_rates(losses, 0.05, patience=1))
    assert min(rates) < 0.05  # the schedule did act


def test_cosine_schedule_continues_across_partial_fit():
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=6, lr=0.02, lr_schedule="cosine")
    for _ in range(6):
        clf.partial_fit(X, Y, classes=[0, 1])
    expected = 2e-4 + (0.02 - 2e-4) * (1 + np.cos(np.pi * np.arange(6) / 6)) / 2
    np.testing.assert_allclose(clf.history_[:, "lr"], expected, rtol=1e-9)


# ---------------------------------------------------------------- failed fits, interruptions
class RaiseAt(Callback):
    """Raises ``error`` at batch ``batch`` of epoch ``epoch`` (1-based) while ``armed``."""

    def __init__(self, error=RuntimeError, epoch=1, batch=1, armed=True):
        self.error, self.epoch, self.batch, self.armed = error, epoch, batch, armed

    def on_epoch_begin(self, net, **kwargs):
        self.seen_ = 0

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.seen_ += 1
            if self.armed and len(net.history) == self.epoch and self.seen_ == self.batch:
                raise self.error("raised by the test")


def _fitted_state(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and k != "net_"}


def _assert_same_state(before, after):
    assert before.keys() == after.keys()
    for name, value in before.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(after[name], value, err_msg=name)
        else:
            assert after[name] is value or after[name] == value, name


def test_a_failed_refit_leaves_the_estimator_as_it_was():
    clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, Y)
    before, proba, net = _fitted_state(clf), clf.predict_proba(X), clf.net_
    with pytest.raises(ValueError, match="only one class"):
        clf.fit(X * 100 + 50, np.zeros(len(X), dtype=int))
    _assert_same_state(before, _fitted_state(clf))
    assert clf.net_ is net
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    np.testing.assert_array_equal(clf.predict(X), clf.classes_[proba.argmax(axis=1)])


def test_a_fit_failing_while_training_leaves_the_old_model():
    raiser = RaiseAt(epoch=2, batch=3, armed=False)
    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=2, batch_size=8, callbacks=[raiser], random_state=0
    ).fit(X, Y)
    before, proba = _fitted_state(clf), clf.predict_proba(X)
    clf.set_params(callbacks=[RaiseAt(epoch=2, batch=3)])
    with pytest.raises(RuntimeError, match="raised by the test"):
        clf.fit(X[::-1] * 3.0, Y[::-1])
    _assert_same_state(before, _fitted_state(clf))
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    fresh = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, callbacks=[RaiseAt()])
    with pytest.raises(RuntimeError):
        fresh.fit(X, Y)
    assert not [k for k in vars(fresh) if k.endswith("_")]  # still unfitted


def test_a_failed_partial_fit_restores_weights_optimizer_and_history():
    raiser = RaiseAt(epoch=3, batch=4, armed=False)
    clf = PhasedLSTMClassifier(hidden_size=4, batch_size=8, callbacks=[raiser], random_state=0)
    clf.partial_fit(X, Y).partial_fit(X, Y)
    before, proba = _fitted_state(clf), clf.predict_proba(X)
    weights = {k: v.clone() for k, v in clf.net_.module_.state_dict().items()}
    steps = clf.net_.optimizer_.state_dict()["state"][0]["step"].clone()
    raiser.armed = True  # the next epoch fails after 4 batches
    with pytest.raises(RuntimeError, match="raised by the test"):
        clf.partial_fit(X, Y)
    _assert_same_state(before, _fitted_state(clf))
    assert len(clf.net_.history) == 2 and clf.n_iter_ == 2
    for name, value in clf.net_.module_.state_dict().items():
        torch.testing.assert_close(value, weights[name], rtol=0, atol=0)
    assert clf.net_.optimizer_.state_dict()["state"][0]["step"] == steps
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    with pytest.raises(ValueError):  # bad input on a later call changes nothing either
        clf.partial_fit(X[:, :1], Y)
    np.testing.assert_array_equal(clf.predict_proba(X), proba)


def test_ctrl_c_warns_and_is_recorded():
    clf = PhasedLSTMClassifier(
        hidden_size=4,
        max_epochs=10,
        batch_size=8,
        callbacks=[RaiseAt(KeyboardInterrupt, epoch=3, batch=2)],
        random_state=0,
    )
    with pytest.warns(UserWarning, match=r"interrupted \(KeyboardInterrupt\) after 2 of 10"):
        clf.fit(X, Y)
    assert clf.interrupted_ is True
    clf.predict(X)  # the model it had is usable
    done = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0).fit(X, Y)
    assert done.interrupted_ is False
    stopped = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=50, early_stopping=True, n_iter_no_change=1, random_state=0
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # early stopping is not an interruption
        stopped.fit(X, Y)
    assert stopped.n_iter_ < 50 and stopped.interrupted_ is False


def test_an_interrupted_fit_resumes_from_its_checkpoint(tmp_path):
    params = dict(hidden_size=4, max_epochs=6, batch_size=8, random_state=0)
    clf = PhasedLSTMClassifier(
        **params, checkpoint_dir=str(tmp_path), callbacks=[RaiseAt(KeyboardInterrupt, 4, 2)]
    )
    with pytest.warns(UserWarning, match="fit again .* to resume from the checkpoint"):
        clf.fit(X, Y)
    assert (tmp_path / "last.ckpt").exists()
    counter = CountEpochs()
    clf.set_params(callbacks=[counter]).fit(X, Y)
    assert clf.interrupted_ is False and clf.n_iter_ == 6
    assert counter.epochs == 3  # epochs 4-6: 1-3 came from the checkpoint


def test_the_same_seed_in_threads_gives_the_same_model():
    import threading

    params = dict(hidden_size=6, max_epochs=4, batch_size=8, dropout=0.0, random_state=7)
    reference = PhasedLSTMClassifier(**params).fit(X, Y).predict_proba(X)
    results = {}

    def fit(key, seed_params):
        results[key] = PhasedLSTMClassifier(**seed_params).fit(X, Y).predict_proba(X)

    threads = [threading.Thread(target=fit, args=(k, params)) for k in range(4)]
    threads += [
        threading.Thread(target=fit, args=("other", {**params, "random_state": 8})),
        threading.Thread(target=fit, args=("dropout", {**params, "num_layers": 2, "dropout": 0.5})),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for k in range(4):
        np.testing.assert_array_equal(results[k], reference)
    assert not np.array_equal(results["other"], reference)
    dropout = PhasedLSTMClassifier(**{**params, "num_layers": 2, "dropout": 0.5}).fit(X, Y)
    np.testing.assert_array_equal(results["dropout"], dropout.predict_proba(X))


def test_a_checkpoint_dir_in_use_by_a_live_fit_is_refused(tmp_path):
    import socket

    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (tmp_path / "fit.lock").write_text(f"{sleeper.pid} {socket.gethostname()}")
        clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=2, checkpoint_dir=str(tmp_path))
        with pytest.raises(ValueError, match=rf"in use by another fit \(process {sleeper.pid} "):
            clf.fit(X, Y)
        assert not hasattr(clf, "net_")
    finally:
        sleeper.kill()
        sleeper.wait()
    # the holder is gone: its lock is stale and taken over, and released at the end
    clf.fit(X, Y)
    assert clf.n_iter_ == 2 and not (tmp_path / "fit.lock").exists()


def test_the_lock_is_held_during_the_fit_and_released_after_a_failure(tmp_path):
    seen = []

    class Look(Callback):
        def on_epoch_end(self, net, **kwargs):
            seen.append((tmp_path / "fit.lock").read_text().split()[0])
            raise RuntimeError("stop")

    clf = PhasedLSTMClassifier(
        hidden_size=4, max_epochs=2, checkpoint_dir=str(tmp_path), callbacks=[Look()]
    )
    with pytest.raises(RuntimeError):
        clf.fit(X, Y)
    assert seen == [str(os.getpid())] and not (tmp_path / "fit.lock").exists()


def test_a_crafted_checkpoint_with_a_valid_checksum_is_refused_clearly(tmp_path):
    from sk_plstm._training import _atomic_save

    params = dict(hidden_size=4, max_epochs=3, batch_size=8, random_state=0)

    class Stop(Callback):
        def on_epoch_end(self, net, **kwargs):
            raise KeyboardInterrupt

    with pytest.warns(UserWarning, match="interrupted"):
        PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path), callbacks=[Stop()]).fit(X, Y)
    state = read_checkpoint(tmp_path / "last.ckpt")
    state["module"] = {k: torch.zeros(1) for k in state["module"]}  # wrong shapes
    _atomic_save(state, tmp_path / "last.ckpt")
    with pytest.raises(ValueError, match="does not fit this model"):
        PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, Y)
    state["epoch"] = -50
    _atomic_save(state, tmp_path / "last.ckpt")
    with pytest.raises(ValueError, match="epoch .* is not a positive integer"):
        PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, Y)


# ---------------------------------------------------------------- narrowing the gates
def _largest_open_ratio(clf):
    return float(clf.time_gates()["r_on"].max())


class RecordWidth(Callback):
    """The largest open ratio at the end of every epoch."""

    def initialize(self):
        self.widths = []
        return self

    def on_epoch_end(self, net, **kwargs):
        gates = [m for m in net.module_.modules() if isinstance(m, sk_plstm.nn.TimeGate)]
        self.widths.append(max(float(g.r_on.detach().max()) for g in gates))


@pytest.mark.parametrize("learn", [False, True])
def test_final_r_on_narrows_the_gates_to_a_sparse_model(learn):
    record = RecordWidth()
    clf = PhasedLSTMClassifier(
        hidden_size=8,
        max_epochs=10,
        r_on=0.5,
        final_r_on=0.1,
        learn_r_on=learn,
        callbacks=[record],
        random_state=0,
    ).fit(X, Y)
    widths = dict(clf.net_.callbacks_)["RecordWidth"].widths
    # linear from 0.5 in the first epoch to 0.1 after 8 of the 10 epochs, then held
    expected = [0.5 - 0.4 * min(1.0, e / 8) for e in range(10)]
    if learn:  # the range of learned ratios falls from 1 to 0.1, each keeping its place
        bounds = [1.0 - 0.9 * min(1.0, e / 8) for e in range(10)]
        assert all(w <= b + 1e-6 for w, b in zip(widths, bounds))
        for gate in clf.module_.time_gates():
            torch.testing.assert_close(gate.r_on_bound, torch.full_like(gate.r_on_bound, 0.1))
    else:
        np.testing.assert_allclose(widths, expected, rtol=1e-6)
    assert _largest_open_ratio(clf) <= 0.1 + 1e-6
    fraction = clf.update_counts(X).mean() / X.shape[-1]
    assert fraction < 0.2  # wide gates (0.5) would update about half the units


def test_final_r_on_at_or_above_r_on_leaves_the_gates_alone():
    params = dict(hidden_size=6, max_epochs=3, r_on=0.05, learn_r_on=True, random_state=0)
    free = PhasedLSTMClassifier(**params, final_r_on=None).fit(X, Y)
    for final in (0.05, 0.1):
        same = PhasedLSTMClassifier(**params, final_r_on=final).fit(X, Y)
        assert "gate_narrowing" not in dict(same.net_.callbacks_)
        np.testing.assert_array_equal(same.predict_proba(X), free.predict_proba(X))


def test_partial_fit_narrows_as_fit_does():
    params = dict(hidden_size=6, max_epochs=5, r_on=0.4, final_r_on=0.1, random_state=0)
    clf = PhasedLSTMClassifier(**params)
    for _ in range(7):
        clf.partial_fit(X, Y, classes=[0, 1])
    assert _largest_open_ratio(clf) <= 0.1 + 1e-7  # learned: within the narrowed range
    for gate in clf.module_.time_gates():
        torch.testing.assert_close(gate.r_on_bound, torch.full_like(gate.r_on_bound, 0.1))


def test_resumed_fit_narrows_as_an_uninterrupted_one(tmp_path):
    class Crash(Exception):
        pass

    class Interrupt(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 4:
                raise Crash

    params = dict(hidden_size=8, max_epochs=10, r_on=0.5, final_r_on=0.05, random_state=2)
    reference = PhasedLSTMClassifier(**params).fit(X, Y)
    with pytest.raises(Crash):
        PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path), callbacks=[Interrupt()]).fit(
            X, Y
        )
    resumed = PhasedLSTMClassifier(**params, checkpoint_dir=str(tmp_path)).fit(X, Y)
    np.testing.assert_allclose(resumed.predict_proba(X), reference.predict_proba(X), rtol=1e-5)


def test_early_stopping_keeps_only_a_model_at_the_final_width():
    clf = PhasedLSTMClassifier(
        **{**STOP_PARAMS, "r_on": 0.5, "final_r_on": 0.1},
        early_stopping=True,
        n_iter_no_change=3,
        validation_fraction=0.25,
    ).fit(NOISE, NOISE_Y)
    narrowing = sk_plstm._training.narrowing_epochs(STOP_PARAMS["max_epochs"])
    assert clf.best_epoch_ > narrowing and clf.n_iter_ > narrowing
    assert _largest_open_ratio(clf) <= 0.1 + 1e-6

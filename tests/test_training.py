"""Divergence, gradient clipping, checkpoints with kill-and-resume, partial_fit."""

import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
import torch
from conftest import CountEpochs
from skorch.callbacks import Callback

import sk_plstm
from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor, TrainingDivergedError

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
    state = torch.load(directory / "last.ckpt", weights_only=True)
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
                epoch = torch.load(last, weights_only=True)["epoch"]
                if epoch >= 5:
                    proc.kill()  # SIGKILL: no clean-up code runs
                    killed_at = epoch
                    break
            time.sleep(0.02)
    finally:
        proc.kill()
        out, _ = proc.communicate()
    assert killed_at is not None and b"finished" not in out, "training ended before the kill"
    saved = torch.load(checkpoint / "last.ckpt", weights_only=True)["epoch"]
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
    stopped = PhasedLSTMClassifier(**params, callbacks=[CtrlC()]).fit(X, Y)
    assert stopped.n_iter_ == 3 and (tmp_path / "last.ckpt").exists()
    resumed = PhasedLSTMClassifier(**params).fit(X, Y)
    assert resumed.n_iter_ == 6 and not (tmp_path / "last.ckpt").exists()

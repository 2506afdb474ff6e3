"""Write the CUDA-trained model fixture used by tests/test_persistence.py (run on a GPU).

Usage: python tests/data/make_cuda_fixture.py OUTPUT_DIR
Also checks, on the GPU, that save/load, streaming and checkpoint resume work there.
"""

import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

import sk_plstm
from sk_plstm import PhasedLSTMClassifier

assert torch.cuda.is_available(), "run this on a machine with a CUDA GPU"
out = Path(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(24, 2, 12))
y = np.arange(24) % 3
params = dict(hidden_size=6, max_epochs=3, device="cuda", random_state=0)
clf = PhasedLSTMClassifier(**params).fit(X, y)
proba = clf.predict_proba(X)
clf.save(out / "cuda_classifier.plstm")
np.savez(out / "cuda_classifier.npz", X=X, proba=proba)

# on the GPU: load, stream and resume
same = sk_plstm.load(out / "cuda_classifier.plstm")
assert next(same.module_.parameters()).is_cuda
np.testing.assert_allclose(same.predict_proba(X), proba, atol=1e-6)
stream = clf.stream()
last = stream.update(X[5].T, times=np.arange(12))[-1]
np.testing.assert_allclose(last, proba[5], atol=1e-5)
with tempfile.TemporaryDirectory() as directory:
    params = {**params, "max_epochs": 6, "checkpoint_dir": directory}

    class Stop(Exception):
        pass

    from skorch.callbacks import Callback

    class Crash(Callback):
        def on_epoch_end(self, net, **kwargs):
            if len(net.history) == 3:
                raise Stop

    try:
        PhasedLSTMClassifier(**params, callbacks=[Crash()]).fit(X, y)
    except Stop:
        pass
    resumed = PhasedLSTMClassifier(**params).fit(X, y)
    reference = PhasedLSTMClassifier(**{**params, "checkpoint_dir": None}).fit(X, y)
    diff = np.abs(resumed.predict_proba(X) - reference.predict_proba(X)).max()
    print("cuda resume max |diff|:", diff)
print("cuda fixture written; load/stream/resume checks passed on", torch.cuda.get_device_name())

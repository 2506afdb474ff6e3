"""Write the model files that later versions must keep loading (tests/test_persistence.py).

Usage: python tests/data/make_model_fixtures.py tests/data
Written with sk_plstm as of model format 3, before the network's internals were
reorganised; the tests load them and compare the predictions stored beside them.
"""

import sys
from pathlib import Path

import numpy as np

from sk_plstm import PhasedLSTMClassifier, PhasedLSTMRegressor
from sk_plstm.sktime import PhasedLSTMClassifier as SktimePhasedLSTMClassifier

out = Path(sys.argv[1])
rng = np.random.default_rng(0)
X = rng.normal(size=(16, 3, 10))
y = np.array(["a", "b"] * 8)
targets = X[:, 0].mean(axis=1)
models = {
    "classifier_v3": PhasedLSTMClassifier(
        hidden_size=5, num_layers=2, bidirectional=True, max_epochs=2, random_state=0
    ).fit(X, y),
    "regressor_v3": PhasedLSTMRegressor(hidden_size=4, max_epochs=2, random_state=0).fit(
        X, targets
    ),
}
sktime_model = SktimePhasedLSTMClassifier(hidden_size=4, max_epochs=2, random_state=0)
sktime_model.fit(X, y)
sktime_model.save(out / "sktime_classifier_v3")  # writes sktime_classifier_v3.zip
outputs = {"sktime_classifier_v3": sktime_model.predict_proba(X)}
for name, model in models.items():
    model.save(out / f"{name}.plstm")
    outputs[name] = model.predict_proba(X) if hasattr(model, "predict_proba") else model.predict(X)
np.savez(out / "model_fixtures.npz", X=X, **outputs)
print("written:", ", ".join(models))

"""
Quickstart: classify BasicMotions
=================================

Fit a :class:`sk_plstm.PhasedLSTMClassifier` on sktime's BasicMotions (4 activities
recorded by a smartwatch: 6 accelerometer and gyroscope channels, 100 time points per
series), score it on held-out series and plot the training loss of every epoch.
"""

# %%
# Load the data
# -------------
# ``return_type="numpy3D"`` gives an array of shape ``(n_series, n_channels,
# n_timepoints)``; its time points are at ``0, 1, 2, ...``.

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split
from sktime.datasets import load_basic_motions

from sk_plstm import PhasedLSTMClassifier

X, y = load_basic_motions(return_X_y=True, return_type="numpy3D")
X_train, X_test, y_train, y_test = train_test_split(X, y, stratify=y, random_state=0)
print(X_train.shape, X_test.shape)

# %%
# Fit and score
# -------------
# A small network and a few epochs are enough to show the model learning; the defaults
# (``hidden_size=64``, ``max_epochs=100``) reach about 95% test accuracy.

clf = PhasedLSTMClassifier(hidden_size=16, max_epochs=15, random_state=0)
clf.fit(X_train, y_train)
accuracy = clf.score(X_test, y_test)
print(f"test accuracy: {accuracy:.2f}")
print("periods range (tau_range_):", clf.tau_range_)

# %%
# Plot the learning curve
# -----------------------
# ``history_`` is skorch's per-epoch history; ``history_[:, "train_loss"]`` is the mean
# cross-entropy on the training data after each epoch.

train_loss = clf.history_[:, "train_loss"]
fig, ax = plt.subplots(figsize=(6, 3.5), layout="constrained")
ax.plot(range(1, len(train_loss) + 1), train_loss, marker="o")
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_title(f"BasicMotions: test accuracy {accuracy:.2f}")
plt.show()

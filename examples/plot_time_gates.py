"""
What the time gates learned, and when units are open
====================================================

Every Phased LSTM unit has a period ``tau``, a phase shift and an open ratio ``r_on``,
and updates its state only while its gate is open. This example fits a classifier on
irregularly sampled series, compares the periods before and after training with
:func:`sk_plstm.plotting.plot_time_gates`, draws which units are open along one series
with :func:`sk_plstm.plotting.plot_open_units`, and summarises the model with
``describe``.
"""

# %%
# Irregularly sampled data
# ------------------------
# BasicMotions (6 channels, 100 regular time points) with a random half of each
# series' time points kept, at their true times: every series now has its own
# irregular time index.

import matplotlib.pyplot as plt
from sktime.datasets import load_basic_motions

from sk_plstm import PhasedLSTMClassifier
from sk_plstm.datasets import make_irregular
from sk_plstm.plotting import plot_open_units, plot_time_gates

X_train, y_train = load_basic_motions(split="train", return_X_y=True)
X_test, y_test = load_basic_motions(split="test", return_X_y=True)
X_train = make_irregular(X_train, keep=0.5, return_type="nested_univ", random_state=0)
X_test = make_irregular(X_test, keep=0.5, return_type="nested_univ", random_state=1)
print(X_train.iloc[0, 0].index[:6].tolist())

clf = PhasedLSTMClassifier(hidden_size=16, r_on=0.3, learn_r_on=True, max_epochs=30, random_state=0)
clf.fit(X_train, y_train)
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Periods and open ratios, before against after training
# ------------------------------------------------------
# One point per unit; points off the diagonal moved during training. The open ratios
# are learned here (``learn_r_on=True``); by default they keep their initial value.

axes = plot_time_gates(clf)
plt.show()

# %%
# Which units are open along one series
# -------------------------------------
# Units sorted by period, shortest at the bottom; dark where a unit's gate is open. A
# unit updates its state only where it is shaded: elsewhere it keeps it exactly.

ax = plot_open_units(clf, X_test, series=0)
plt.show()

# %%
# A summary of the fitted model
# -----------------------------
# Sizes, the learned range of periods and how often the units update on the test
# series (an LSTM would update every unit at every time point).

print(clf.describe(X_test))

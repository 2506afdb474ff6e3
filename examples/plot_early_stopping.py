"""
Early stopping, a learning-rate schedule and learning curves
============================================================

Hold out part of the training series, stop when the validation loss stops improving,
anneal the learning rate, and draw the learning curves with
:func:`sk_plstm.plotting.plot_learning_curves`. The data are sktime's JapaneseVowels:
12 channels, series of 7 to 29 time points (unequal lengths are fine).
"""

# %%
# Fit with early stopping
# -----------------------
# ``early_stopping=True`` holds out ``validation_fraction`` of the training series
# (10% when it is not set), records ``valid_loss`` and ``valid_score`` (accuracy here)
# after every epoch, stops after ``n_iter_no_change`` epochs without improvement and
# keeps the weights of the best epoch. ``lr_schedule="cosine"`` anneals the learning
# rate to a hundredth of ``lr`` over ``max_epochs``. ``verbose=1`` would draw a progress
# bar.

import matplotlib.pyplot as plt
from sktime.datasets import load_japanese_vowels

from sk_plstm import PhasedLSTMClassifier
from sk_plstm.plotting import plot_learning_curves

X_train, y_train = load_japanese_vowels(split="train", return_X_y=True)
X_test, y_test = load_japanese_vowels(split="test", return_X_y=True)

clf = PhasedLSTMClassifier(
    hidden_size=32,
    max_epochs=40,
    validation_fraction=0.2,
    early_stopping=True,
    n_iter_no_change=5,
    lr_schedule="cosine",
    random_state=0,
)
clf.fit(X_train, y_train)
print(f"ran {clf.n_iter_} epochs, kept the weights of epoch {clf.best_epoch_}")
print(f"test accuracy: {clf.score(X_test, y_test):.3f}")

# %%
# Learning curves
# ---------------
# The losses per epoch, the validation accuracy on the right axis and the epoch whose
# weights were kept.

ax = plot_learning_curves(clf)
plt.show()

# %%
# The learning rate of each epoch is in the history too.

print([round(lr, 5) for lr in clf.history_[:, "lr"]])

"""PhasedLSTMClassifier: scikit-learn classifier glue around the Phased LSTM network."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import column_or_1d

from ._base import PhasedLSTMBase, score_doc, steps_doc
from ._compat import StrOptions, _fit_context
from ._params import PARAMETER_CONSTRAINTS
from ._registry import loadable

__all__ = ["PhasedLSTMClassifier"]


def _labels(y: Any, n_samples: int) -> np.ndarray:
    """``y`` as a 1-D array of ``n_samples`` labels, none of them missing."""
    y = column_or_1d(np.asarray(y), warn=True)  # pandas' NA comes out as NaN or object NA
    if len(y) != n_samples:
        raise ValueError(f"y has {len(y)} labels, but X has {n_samples} series.")
    missing = np.flatnonzero(pd.isna(y))
    if missing.size:
        raise ValueError(
            f"y has missing labels (None, NaN or NA) at positions {missing[:5].tolist()}"
            f"{' ...' if missing.size > 5 else ''}; every series needs a label."
        )
    return y


_STEPS_EXAMPLES = """
    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> X = np.random.default_rng(0).normal(size=(8, 1, 30))
    >>> clf = PhasedLSTMClassifier(hidden_size=4, max_epochs=1, random_state=0)
    >>> steps = clf.fit(X, ["a", "b"] * 4).predict_proba_steps(X[:2])
    >>> steps.shape, list(steps.columns), list(steps.index.names)
    ((60, 2), ['a', 'b'], ['instance', 'time'])
"""


@loadable("estimator")
class PhasedLSTMClassifier(ClassifierMixin, PhasedLSTMBase):
    """Phased LSTM classifier for regular, irregular and event-based time series.

    A Phased LSTM (Neil, Pfeiffer & Liu, NIPS 2016) adds to each LSTM unit a
    rhythmic time gate with a period ``tau``, a phase shift ``s`` and an open
    ratio ``r_on``; a unit updates its state only while its gate is open, using
    the real timestamps of the data. The final hidden state feeds a linear layer
    trained with cross-entropy (Adam by default).

    Parameters
    ----------
    hidden_size : int, default=64
        Units per layer and direction.
    num_layers : int, default=1
        Stacked Phased LSTM layers.
    cell : {"lstm", "gru"}, default="lstm"
        The recurrent cell: ``"lstm"`` for the Phased LSTM, ``"gru"`` for the Phased GRU
        (the same time gates on a GRU step: three gate blocks instead of four and no cell
        state, so fewer weights and a cheaper step; see :class:`sk_plstm.nn.PhasedGRU`).
        A hyperparameter like any other, to search over in ``GridSearchCV``.
    bidirectional : bool, default=False
        Also read each series backwards.
    dropout : float, default=0.0
        Dropout between layers and before the output layer, in training.
    tau_range : "auto" or tuple (low, high), default="auto"
        Range in which the periods ``tau`` are initialised (log-uniformly), in the
        units of the time index. ``"auto"`` uses the training data's time scale:
        from its median sampling interval to its median series duration (at least
        twice the interval); the range used is stored in ``tau_range_``.
    r_on : float, default=0.5
        Open ratio of the gates at the start of training: the fraction of each period a
        unit is open (see ``final_r_on`` for the ratio prediction runs with).
    leak : float, default=1e-3
        Slope of the closed phase during training, in [0, 1) (0 in prediction, so closed
        units keep their state exactly).
    learn_tau, learn_shift, learn_r_on : bool, default=True, True, True
        Whether the periods, phase shifts and open ratios are learned. Learned periods
        are stored as their logarithm and learned open ratios as a sigmoid between 0.01
        and 1 (:class:`sk_plstm.nn.TimeGate`): every value keeps a gradient, so no unit
        can close for good (``describe`` counts units that never opened on the training
        data).
    final_r_on : float or None, default=None
        Narrow the gates while training, for sparse inference: the largest open ratio
        falls linearly from ``r_on`` (from 1 for learned ratios, each keeping its place
        in the range) to ``final_r_on`` over the first 80% of ``max_epochs``, and the
        last epochs train at that width; a value at or above ``r_on`` leaves the gates as
        they are. Prediction then updates about ``final_r_on`` of the units at each time
        point and takes the event-driven path. ``None`` (the default since the third
        defaults study, docs/defaults.md) keeps the gates wide: more accurate on most
        tasks, about half of an LSTM's updates. ``final_r_on=0.1`` was the default
        before; its cost in accuracy is measured there. With early stopping, only
        epochs at the final width are candidates for the kept model.
    time_unit : str or pandas.Timedelta, default="s"
        Unit in which datetime and timedelta time indexes are expressed (for
        example ``"ms"``, ``"s"``, ``"h"``, ``"D"``); numeric time indexes are
        used as they are. ``"steps"`` ignores every time index and treats each
        series as sampled at ``0, 1, 2, ...`` (an ordinary sequence model).
    missing : {"mask", "error"}, default="mask"
        What a NaN value means. ``"mask"``: the channel was not observed at that
        time, so channels may be sampled at their own times (a ``nested_univ`` cell
        or a dict of Series per channel may carry its own time index; see
        :func:`sk_plstm.from_events` for event tables). Time points with no observed
        channel are dropped; every observation drives the time gates with its real
        time. A model fitted on data with missing values receives each channel's
        value (0, the channel mean, where unobserved) and its observation mask.
        ``"error"``: any NaN raises, as for estimators that need complete data.
        Infinity is always an error.
    standardize : bool, default=True
        Standardise each channel with the mean and standard deviation of its
        observed training values (stored in ``channel_mean_`` and ``channel_std_``).
    time_inputs : bool, default=True
        Feed the network, beside the values, the log of the time since the previous
        observation and, for data with missing values, of the time since each channel's
        last observation (GRU-D's ``delta``), in units of the typical sampling interval:
        how old the evidence of every channel is.
    level_inputs : bool, default=True
        Feed the network, beside the values, each channel's value relative to its first
        observation in the series, so that a change of level reads the same in series
        that start at different levels.
    readout : {"last", "summary"}, default="summary"
        What the output layer reads: the final hidden state (``"last"``), or the final
        hidden state and, per channel, statistics of the series' observations (log
        count, mean, standard deviation, minimum, maximum, last value; ``"summary"``).
    max_epochs : int, default=100
        Training epochs.
    batch_size : int, default=32
        Series per training mini-batch. Validation and prediction, which keep no
        gradients, take larger batches: as many series as keep the network's
        activations within 64 MiB (at least ``batch_size``). A series' predictions do
        not depend on the batch it is in (to the bit on the event-driven inference
        path, to float rounding on the others).
    lr : float, default=1e-2
        Learning rate.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch.optim.Optimizer subclass, \
default="adam"
        The optimiser.
    weight_decay : float, default=0.0
        L2 penalty passed to the optimiser.
    grad_clip : float, optional
        Clip the gradient norm to this value before each optimiser step.
    validation_fraction : float in (0, 1), optional
        Hold out this fraction of the training series (stratified for the
        classifier) and record the validation loss and score (accuracy for the
        classifier, R² for the regressor) every epoch, as ``valid_loss`` and
        ``valid_score`` in ``history_``.
    early_stopping : bool, default=False
        Stop when the validation loss has not improved by more than ``tol`` for
        ``n_iter_no_change`` epochs, and keep the weights of the best epoch
        (``best_epoch_``). Without ``validation_fraction``, 10% of the training
        series are held out. ``partial_fit`` does not stop early.
    n_iter_no_change : int, default=10
        Epochs without improvement before early stopping; ``lr_schedule="plateau"``
        waits half as many before lowering the learning rate.
    tol : float, default=1e-4
        Smallest decrease of the monitored loss that counts as an improvement.
    lr_schedule : {"cosine", "plateau"} or None, default="cosine"
        Learning-rate schedule. ``"cosine"`` (the default since the third defaults
        study) anneals ``lr`` to ``lr / 100`` over ``max_epochs``; ``None`` keeps
        ``lr``; ``"plateau"`` divides it by 10 when the validation loss (the training
        loss without validation) stops improving. The rate of each
        epoch is recorded as ``lr`` in ``history_``. Any skorch ``LRScheduler``
        can also be passed in ``callbacks``.
    checkpoint_dir : str or path, optional
        Directory for checkpoints: every ``checkpoint_every`` epochs the training
        state (weights, optimiser, history, random state) is written there, and
        with ``validation_fraction`` the best model so far as ``best.plstm``
        (readable by :func:`sk_plstm.load`). If a fit is killed, calling ``fit``
        again with the same data and parameters resumes from the last checkpoint
        and reaches the same model as an uninterrupted fit. The checkpoint is
        removed when a fit completes.
    checkpoint_every : int, default=1
        Epochs between checkpoints.
    callbacks : list of skorch callbacks, optional
        Extra skorch callbacks, for control beyond the parameters above (for
        example ``skorch.callbacks.EarlyStopping`` on another metric, or an
        ``LRScheduler`` with another policy); they run after the built-in ones and
        before early stopping.
    device : str or torch.device, default="cpu"
        Where to train and predict, for example ``"cuda"``.
    distributed : bool, default=False
        Train one model on every rank of an initialised ``torch.distributed``
        process group (data-parallel, with ``DistributedDataParallel``; launch the
        script with ``torchrun``). Every rank calls ``fit`` with the same data; all
        ranks draw the same batches, each computes the gradient of its slice of every
        batch, and their average is the whole batch's gradient, so ``batch_size`` is
        the global batch size. After ``fit`` every rank holds the whole model. A bare
        ``"cuda"`` device means this rank's GPU, ``cuda:LOCAL_RANK``.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss, as in scikit-learn: ``{label: weight}``
        (classes not named weigh 1), or ``"balanced"`` for ``n_series / (n_classes *
        series_of_the_class)`` (not with ``partial_fit``). Multiplies ``sample_weight``.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation and batch shuffling; an int gives the same
        model, and the same predictions, on every fit.
    verbose : int, default=0
        0 trains silently (the default, as suits pipelines and grid searches).
        1 draws a progress bar over the epochs with the last losses, validation
        score and epoch time, and a bar over the batches of any epoch that runs
        longer than 2 s (widgets in a notebook, text on standard error
        elsewhere). 2 also prints a table row per epoch.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_channels_ : int
        Number of channels seen at fit.
    n_features_in_ : int
        Number of columns seen at fit; only set when fitted on a 2-D array.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Column names; only set when fitted on a 2-D DataFrame with string column names.
    tau_range_ : tuple of float
        The period range used for initialisation, in the time index's units.
    time_scale_ : float
        The network's internal time unit (a power of two near ``tau_range_[0]``):
        ``module_`` sees times divided by it, so its periods ``tau`` and shifts are
        in units of ``time_scale_``.
    time_origin_ : TimeOrigin
        Reference time fixed at fit that all timestamps are measured from.
    channel_names_ : tuple of str
        Channel names seen at fit; only set when the training container names its
        channels (DataFrame columns, dict keys). Named channels given later are
        matched to them by name; other names raise.
    mask_inputs_ : bool
        Whether the training data had missing values, so that the network receives
        the observation masks beside the values (``2 * n_channels_`` inputs).
    channel_mean_, channel_std_ : ndarray of shape (``n_channels_``,)
        Standardisation statistics (when ``standardize=True``).
    net_ : skorch.NeuralNet
        The trained skorch net; ``module_`` is its torch module and
        ``history_`` its training history.
    n_iter_ : int
        Number of epochs run.
    interrupted_ : bool
        Whether the last ``fit`` or ``partial_fit`` was stopped by Ctrl-C
        (KeyboardInterrupt) before its last epoch; a warning says so too.
    best_epoch_ : int
        With ``early_stopping``: the epoch (from 1) whose weights were kept.
    initial_gates_ : dict of ndarray of shape (num_layers * num_directions, hidden_size)
        The periods ``"tau"``, shifts ``"shift"`` (both in the time index's units)
        and open ratios ``"r_on"`` of every unit before training; compare with
        :meth:`time_gates`.
    training_updates_ : ndarray of shape (num_layers * num_directions, hidden_size)
        Time points of the training data at which each unit updated (its gate open, in
        inference), averaged over the series, for the data of the last training call; 0
        for a unit that never opened (``describe`` counts them).
    seed_ : int
        The torch seed drawn from ``random_state`` for this fit.

    See Also
    --------
    PhasedLSTMRegressor : The same model for regression.
    sk_plstm.nn.PhasedLSTM : The torch layer.

    Examples
    --------
    >>> from sktime.datasets import load_basic_motions
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> X, y = load_basic_motions(split="train", return_type="numpy3D")
    >>> clf = PhasedLSTMClassifier(hidden_size=16, max_epochs=5, random_state=0).fit(X, y)
    >>> clf.predict(X[:3]).shape
    (3,)
    """

    _extra_params = {"class_weight": (None, "dict | str | None")}
    _parameter_constraints: dict = {
        **PARAMETER_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def _criterion(self) -> type[torch.nn.Module]:
        return torch.nn.CrossEntropyLoss

    def _target_weights(self, targets: np.ndarray, incremental: bool) -> np.ndarray | None:
        """Each series' weight from ``class_weight`` (None without one)."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str) and incremental:
            raise ValueError(
                "class_weight='balanced' needs every label at once and cannot be used with "
                "partial_fit; give class_weight as a dict {class: weight} instead."
            )
        if isinstance(self.class_weight, dict):
            unknown = [c for c in self.class_weight if c not in set(self.classes_.tolist())]
            if unknown:
                raise ValueError(
                    f"class_weight names classes {unknown[:5]} that are not among the "
                    f"classes {self.classes_.tolist()}."
                )
            per_class = np.ones(len(self.classes_))
            for label, weight in self.class_weight.items():
                per_class[np.searchsorted(self.classes_, label)] = weight
        else:  # "balanced": n_series / (n_classes * series of the class)
            per_class = compute_class_weight(
                "balanced", classes=self.classes_, y=self.classes_[targets]
            )
        return per_class[targets]

    @staticmethod
    def _epoch_score(y_true: np.ndarray, outputs: np.ndarray) -> float:
        """Accuracy of the encoded labels against the largest logit."""
        return float(np.mean(np.argmax(outputs, axis=1) == y_true))

    def _prepare_targets(
        self, y: Any, n_samples: int, classes: Any = None
    ) -> tuple[np.ndarray, int]:
        if y is None:
            raise ValueError(
                "PhasedLSTMClassifier requires y to be passed, but the target y is None."
            )
        y = _labels(y, n_samples)
        check_classification_targets(y)
        self.classes_, encoded = np.unique(y, return_inverse=True)
        if classes is not None:  # partial_fit: all classes declared up front
            self.classes_ = np.unique(np.asarray(classes))
            return self._partial_targets(y, n_samples), len(self.classes_)
        if len(self.classes_) < 2:
            raise ValueError(
                "PhasedLSTMClassifier needs samples of at least 2 classes in the data, but the "
                f"data contains only one class: {self.classes_.tolist()[0]!r}."
            )
        return encoded.astype(np.int64), len(self.classes_)

    def _partial_targets(self, y: Any, n_samples: int) -> np.ndarray:
        y = _labels(y, n_samples)
        unseen = np.setdiff1d(y, self.classes_)
        if unseen.size:
            raise ValueError(
                f"y contains labels {unseen.tolist()} that are not among the classes "
                f"{self.classes_.tolist()} fixed by the first partial_fit; pass every class "
                "with classes= on the first call."
            )
        if len(self.classes_) < 2:
            raise ValueError(
                "PhasedLSTMClassifier needs at least 2 classes, got "
                f"classes={self.classes_.tolist()}."
            )
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _check_later_classes(self, classes: Any) -> None:
        """``classes=`` on a later partial_fit must repeat the first call's."""
        if classes is not None and not np.array_equal(
            np.unique(np.asarray(classes)), self.classes_
        ):
            raise ValueError(
                f"classes={np.unique(np.asarray(classes)).tolist()} differs from the classes "
                f"{self.classes_.tolist()} fixed by the first partial_fit; the classes cannot "
                "change between calls (fit again to start over)."
            )

    def _transform_outputs(self, outputs: np.ndarray) -> np.ndarray:
        """Probabilities from logits of shape (..., n_classes): the softmax, in float64."""
        shifted = np.exp(outputs - outputs.max(axis=-1, keepdims=True))
        return shifted / shifted.sum(axis=-1, keepdims=True)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        y, sample_weight = self._aligned(X, y, sample_weight)
        return ClassifierMixin.score(self, X, y, sample_weight=sample_weight)

    score.__doc__ = score_doc("Accuracy", "array-like of shape (n_samples,)\n        True labels.")

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(
        self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None
    ) -> PhasedLSTMClassifier:
        """Train for one more epoch on ``X, y``, keeping the current model.

        The first call on an unfitted estimator fixes what later calls must match:
        the classes (pass every class with ``classes`` if the first batch lacks
        some), the channels, the time origin, the standardisation statistics and
        ``tau_range_``.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`.
        y : array-like of shape (n_samples,)
            Class labels, all among ``classes_``.
        classes : array-like of shape (n_classes,), optional
            Every class that will ever appear; only used on the first call.
        sample_weight : array-like of shape (n_samples,), optional
            A weight per series in the loss (matched by id like ``y``): a series of
            weight 2 counts as much as two of weight 1. Weights are relative (scaled to
            mean 1 over the call's series); validation loss and early stopping are
            weighted too.

        Returns
        -------
        self : PhasedLSTMClassifier
        """
        if hasattr(self, "net_"):
            self._check_later_classes(classes)
        return self._partial_fit(X, y, classes, sample_weight)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> PhasedLSTMClassifier:
        """Train on labelled series.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_timepoints) or (n_samples, n_channels, \
n_timepoints), or an sktime panel container
            Training series; see the user guide for the accepted formats.
        y : array-like of shape (n_samples,)
            Class labels. A pandas Series indexed by ``X``'s instance ids (the ids of a
            ``pd-multiindex`` or ``nested_univ`` frame, or of :func:`sk_plstm.from_events`'
            output) is matched to the series by id; arrays and lists by position.
        sample_weight : array-like of shape (n_samples,), optional
            A weight per series in the loss (matched by id like ``y``): a series of
            weight 2 counts as much as two of weight 1. Weights are relative (scaled to
            mean 1 over the call's series); validation loss and early stopping are
            weighted too.

        Returns
        -------
        self : PhasedLSTMClassifier
        """
        return self._fit(X, y, sample_weight=sample_weight)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`, with the channels seen at fit.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
            Probabilities, columns in the order of ``classes_``.
        """
        return self._transform_outputs(self._forward(X))

    def predict_proba_steps(self, X: Any) -> pd.DataFrame:
        return self._step_frame(X, self.classes_)

    predict_proba_steps.__doc__ = steps_doc(
        "Class probabilities after every time point of each series.",
        "predict_proba",
        "one column per class (``classes_``)",
        _STEPS_EXAMPLES,
    )

    def predict_steps(self, X: Any) -> pd.DataFrame:
        proba = self.predict_proba_steps(X)
        labels = self.classes_[np.argmax(proba.to_numpy(), axis=1)]
        return pd.DataFrame({"prediction": labels}, index=proba.index)

    predict_steps.__doc__ = steps_doc(
        "Predicted class after every time point of each series.",
        "predict",
        "the column ``prediction``",
    )

    def predict(self, X: Any) -> np.ndarray:
        """Predicted class labels.

        Parameters
        ----------
        X : array-like or sktime panel container
            Series in any format accepted by :meth:`fit`.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

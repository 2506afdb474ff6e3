"""Peer-library baselines for the benchmarks, as scikit-learn-style estimators.

Every peer reads ``X`` in any format the package accepts (numpy 3-D, pd-multiindex,
nested_univ, df-list, lists of Series or dicts, ...) through the package's own converter,
:func:`sk_plstm._data.to_panel` (``missing="mask"``, float64): a padded panel of values
(NaN where a channel was not observed), real times (relative to the earliest training
time; datetime and timedelta times in seconds) and lengths. Each peer then sees the
panel as described in its docstring:

* :class:`SummaryHGBClassifier` / :class:`SummaryHGBRegressor`: scikit-learn's
  histogram gradient boosting on per-channel summary features of the observed values
  and their real times (no deep learning; NaN features left to the trees);
* :class:`CfCClassifier` / :class:`CfCRegressor`: a closed-form continuous-time RNN,
  ``ncps.torch.CfC`` (Hasani et al., Nature Machine Intelligence 2022), fed the
  standardised values, the observation masks and the time since the previous row;
* :class:`PyPOTSClassifier`: GRU-D, BRITS or Raindrop from PyPOTS 1.5, on each series
  binned into a fixed grid of steps with NaN where nothing was observed.

After ``fit`` every peer has ``n_parameters_``: the number of trainable parameters of
its network, or the number of tree nodes of the gradient boosting. ``ncps`` and
``pypots`` are imported inside ``fit`` only, so this module imports without them.

Install the peers' libraries with the CPU torch pinned (unpinned, pip pulls a CUDA
torch)::

    pip install torch==2.13.0 ncps==1.0.1 pypots==1.5
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils.validation import check_is_fitted
from torch import nn

from sk_plstm._data import Panel, to_panel

__all__ = [
    "CfCClassifier",
    "CfCRegressor",
    "PyPOTSClassifier",
    "SummaryHGBClassifier",
    "SummaryHGBRegressor",
    "summary_features",
]


# ------------------------------------------------------------------------------ input


class _PanelInput(BaseEstimator):
    """Reads ``X`` with the package's converter (the origin and channels fixed at fit)."""

    def _panel(self, X, reset: bool) -> Panel:
        if reset:
            for name in ("n_features_in_", "feature_names_in_", "channel_names_"):
                self.__dict__.pop(name, None)
            panel, self.time_origin_ = to_panel(
                X, estimator=self, reset=True, missing="mask", dtype=np.float64
            )
            self.n_channels_ = panel.n_channels
            if panel.channels is not None:
                self.channel_names_ = panel.channels
            return panel
        check_is_fitted(self, "n_parameters_")
        panel, _ = to_panel(
            X,
            estimator=self,
            reset=False,
            origin=self.time_origin_,
            n_channels=self.n_channels_,
            channel_names=getattr(self, "channel_names_", None),
            missing="mask",
            dtype=np.float64,
        )
        return panel

    def _encode(self, y) -> np.ndarray:
        """Labels -> 0, 1, ... (``classes_`` recorded)."""
        encoder = LabelEncoder().fit(np.asarray(y).ravel())
        self.classes_ = encoder.classes_
        return encoder.transform(np.asarray(y).ravel())


def _check_length(panel: Panel, y) -> None:
    if len(panel) != len(y):
        raise ValueError(f"X has {len(panel)} series but y has {len(y)} targets.")


# ------------------------------------------------------------------ summary + HGB


def summary_features(panel: Panel) -> np.ndarray:
    """Per-channel summaries of the observed values at their real times.

    For every channel, from the observed values ``v`` at their times ``t`` (NaN where a
    statistic is undefined, e.g. a channel observed once has no slope or gap): number
    of observations, mean, standard deviation (population), minimum, maximum, first,
    last, last minus first, least-squares slope of ``v`` against ``t``, mean and maximum
    time gap between consecutive observations of the channel. Then, per series: its
    duration (last time minus first time) and its number of rows.

    Returns
    -------
    numpy.ndarray of shape (n_series, 11 * n_channels + 2)
        Channel by channel (the 11 statistics of channel 0, then of channel 1, ...),
        then duration and number of rows.
    """
    n, T, C = panel.values.shape
    mask = panel.mask  # (n, T, C), False at padded steps
    count = mask.sum(axis=1).astype(np.float64)  # (n, C)
    some, two = count > 0, count > 1
    v = np.where(mask, panel.values, 0.0)
    t = np.broadcast_to(panel.times[:, :, None], v.shape)
    safe = np.maximum(count, 1.0)
    mean = v.sum(axis=1) / safe
    dv = np.where(mask, v - mean[:, None, :], 0.0)
    std = np.sqrt((dv**2).sum(axis=1) / safe)
    vmin = np.where(mask, v, np.inf).min(axis=1)
    vmax = np.where(mask, v, -np.inf).max(axis=1)
    steps = np.arange(T)[None, :, None]
    first_i = np.where(mask, steps, T).min(axis=1).clip(max=T - 1)  # (n, C)
    last_i = np.where(mask, steps, -1).max(axis=1).clip(min=0)
    first = np.take_along_axis(v, first_i[:, None, :], axis=1)[:, 0]
    last = np.take_along_axis(v, last_i[:, None, :], axis=1)[:, 0]
    # least-squares slope of value against time (times centred per channel)
    tmean = np.where(mask, t, 0.0).sum(axis=1) / safe
    dt = np.where(mask, t - tmean[:, None, :], 0.0)
    sxx = (dt**2).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(sxx > 0, (dt * dv).sum(axis=1) / np.where(sxx > 0, sxx, 1.0), np.nan)
    # gaps between consecutive observations of each channel
    seen = np.maximum.accumulate(np.where(mask, steps, -1), axis=1)  # latest obs at or before
    before = np.concatenate([np.full((n, 1, C), -1), seen[:, :-1]], axis=1)
    has_gap = mask & (before >= 0)
    previous = np.take_along_axis(t, before.clip(min=0), axis=1)
    gaps = np.where(has_gap, t - previous, 0.0)
    mean_gap = gaps.sum(axis=1) / np.maximum(has_gap.sum(axis=1), 1)
    max_gap = np.where(has_gap, gaps, -np.inf).max(axis=1)
    stats = [
        count,
        np.where(some, mean, np.nan),
        np.where(some, std, np.nan),
        np.where(some, vmin, np.nan),
        np.where(some, vmax, np.nan),
        np.where(some, first, np.nan),
        np.where(some, last, np.nan),
        np.where(some, last - first, np.nan),
        slope,
        np.where(two, mean_gap, np.nan),
        np.where(two, max_gap, np.nan),
    ]
    per_channel = np.stack(stats, axis=2).reshape(n, C * len(stats))
    rows = np.arange(n)
    duration = panel.times[rows, panel.lengths - 1] - panel.times[:, 0]
    return np.column_stack([per_channel, duration, panel.lengths.astype(np.float64)])


def _tree_nodes(model) -> int:
    """Number of nodes of all trees of a fitted histogram gradient boosting model."""
    return int(sum(len(tree.nodes) for trees in model._predictors for tree in trees))


class _SummaryHGB(_PanelInput):
    def __init__(
        self,
        learning_rate: float = 0.1,
        max_iter: int = 100,
        max_leaf_nodes: int | None = 31,
        min_samples_leaf: int = 20,
        early_stopping: str | bool = "auto",
        random_state: int | None = None,
    ) -> None:
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.early_stopping = early_stopping
        self.random_state = random_state

    def _model(self):
        from sklearn.ensemble import (
            HistGradientBoostingClassifier,
            HistGradientBoostingRegressor,
        )

        cls = HistGradientBoostingClassifier if self._classifier else HistGradientBoostingRegressor
        return cls(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            early_stopping=self.early_stopping,
            random_state=self.random_state,
        )

    def fit(self, X, y):
        """Fit the gradient boosting on the summary features of ``X``."""
        panel = self._panel(X, reset=True)
        _check_length(panel, y)
        target = self._encode(y) if self._classifier else np.asarray(y, dtype=np.float64)
        self.model_ = self._model().fit(summary_features(panel), target)
        self.n_parameters_ = _tree_nodes(self.model_)
        return self

    def _features(self, X) -> np.ndarray:
        return summary_features(self._panel(X, reset=False))


class SummaryHGBClassifier(ClassifierMixin, _SummaryHGB):
    """scikit-learn's ``HistGradientBoostingClassifier`` on per-channel summary features.

    Input: for every channel, from its observed values at their real times (see
    :func:`summary_features`), number of observations, mean, standard deviation,
    minimum, maximum, first, last, last minus first, least-squares slope against time,
    mean and maximum gap between consecutive observations; per series, its duration and
    number of rows. Undefined statistics are NaN, which the trees route natively.
    Settings: the parameters below, the rest at scikit-learn's defaults (early stopping
    only above 10,000 series with ``"auto"``). ``n_parameters_`` counts the tree nodes.

    Parameters
    ----------
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, early_stopping, random_state
        Passed to ``HistGradientBoostingClassifier`` (scikit-learn's defaults). With the
        default ``min_samples_leaf=20`` a tree can hardly split a training set of a few
        dozen series (BasicMotions: 40).
    """

    _classifier = True

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return self.model_.predict_proba(self._features(X))

    def predict(self, X) -> np.ndarray:
        """Predicted labels."""
        return self.classes_[self.model_.predict(self._features(X))]


class SummaryHGBRegressor(RegressorMixin, _SummaryHGB):
    """scikit-learn's ``HistGradientBoostingRegressor`` on per-channel summary features.

    Same input and settings as :class:`SummaryHGBClassifier` (squared-error loss; one
    target). ``n_parameters_`` counts the tree nodes.

    Parameters
    ----------
    learning_rate, max_iter, max_leaf_nodes, min_samples_leaf, early_stopping, random_state
        Passed to ``HistGradientBoostingRegressor`` (scikit-learn's defaults).
    """

    _classifier = False

    def predict(self, X) -> np.ndarray:
        """Predicted targets."""
        return self.model_.predict(self._features(X))


# ------------------------------------------------------------------------------- CfC


class CfCNet(nn.Module):
    """``ncps.torch.CfC`` over the inputs with per-step timespans, then a linear head.

    The CfC's own time loop is replaced by the same loop over its cell
    (``CfC.rnn_cell``): ncps 1.0.1's ``CfC.forward`` squeezes the per-step timespans to
    shape ``(batch,)``, which does not broadcast against ``(batch, units)`` (an error,
    or silently wrong results when batch size equals ``units``; ncps issues #81, #83).
    Here the timespans go in as ``(batch, 1)``. The state after each series' last valid
    row (batches are right-padded) feeds the head.
    """

    def __init__(self, input_size: int, output_size: int, hidden_size: int = 64) -> None:
        super().__init__()
        from ncps.torch import CfC

        self.cfc = CfC(input_size, hidden_size, batch_first=True)  # default mode and backbone
        self.head = nn.Linear(hidden_size, output_size)
        self.hidden_size = hidden_size

    def forward(self, x, timespans, lengths):
        """``x`` (B, T, input_size), ``timespans`` (B, T), ``lengths`` (B,) -> (B, output)."""
        h = x.new_zeros(x.shape[0], self.hidden_size)
        summary = torch.zeros_like(h)
        last = lengths - 1
        for t in range(x.shape[1]):
            out, h = self.cfc.rnn_cell(x[:, t], h, timespans[:, t : t + 1])
            summary = torch.where((last == t)[:, None], out, summary)
        return self.head(summary)


class _CfC(_PanelInput):
    def __init__(
        self,
        hidden_size: int = 64,
        max_epochs: int = 100,
        lr: float = 1e-2,
        batch_size: int = 32,
        random_state: int | None = None,
    ) -> None:
        self.hidden_size = hidden_size
        self.max_epochs = max_epochs
        self.lr = lr
        self.batch_size = batch_size
        self.random_state = random_state

    def _inputs(self, panel: Panel) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Standardised values (0 where unobserved or padded), masks, scaled timespans."""
        mask = panel.mask
        x = np.where(mask, (panel.values - self.channel_mean_) / self.channel_std_, 0.0)
        if self.mask_inputs_:
            x = np.concatenate([x, mask], axis=2)
        dt = np.diff(panel.times, axis=1, prepend=panel.times[:, :1]) / self.time_scale_
        return (
            torch.as_tensor(x, dtype=torch.float32),
            torch.as_tensor(dt, dtype=torch.float32),
            torch.as_tensor(panel.lengths, dtype=torch.long),
        )

    def fit(self, X, y):
        """Train the CfC with Adam on ``X`` and ``y``."""
        panel = self._panel(X, reset=True)
        _check_length(panel, y)
        self.channel_mean_, self.channel_std_ = panel.channel_stats()
        self.mask_inputs_ = panel.has_missing
        self.time_scale_ = panel.time_scale()[0]
        target, n_out, loss_fn = self._targets(y)
        x, dt, lengths = self._inputs(panel)
        if self.random_state is not None:
            torch.manual_seed(self.random_state)
        self.net_ = CfCNet(x.shape[2], n_out, self.hidden_size)
        self.n_parameters_ = sum(p.numel() for p in self.net_.parameters() if p.requires_grad)
        optimizer = torch.optim.Adam(self.net_.parameters(), lr=self.lr)
        self.net_.train()
        self.loss_curve_ = []
        n = len(x)
        for _ in range(self.max_epochs):
            total = 0.0
            for idx in torch.randperm(n).split(self.batch_size):
                width = int(lengths[idx].max())  # batches cut to their longest series
                optimizer.zero_grad()
                out = self.net_(x[idx, :width], dt[idx, :width], lengths[idx])
                loss = loss_fn(out, target[idx])
                loss.backward()
                optimizer.step()
                total += loss.item() * len(idx)
            self.loss_curve_.append(total / n)
        self.n_iter_ = self.max_epochs
        self.net_.eval()
        return self

    @torch.no_grad()
    def _forward(self, X) -> torch.Tensor:
        x, dt, lengths = self._inputs(self._panel(X, reset=False))
        outs = []
        for idx in torch.arange(len(x)).split(256):
            width = int(lengths[idx].max())
            outs.append(self.net_(x[idx, :width], dt[idx, :width], lengths[idx]))
        return torch.cat(outs)


class CfCClassifier(ClassifierMixin, _CfC):
    """``ncps.torch.CfC`` classifier for irregular, multivariate series with missing values.

    Input at each row of a series: the channels' values standardised with the training
    mean and standard deviation of each channel (0 where a channel was not observed),
    then, when the training data has missing values, the observation masks (1 observed,
    0 not); the CfC's ``timespans`` are the time since the previous row (0 at the first
    row) divided by the median time between consecutive training rows. Network:
    ``CfC(input_size, hidden_size)`` (ncps 1.0.1 defaults otherwise: mode "default",
    one backbone layer of 128 lecun-tanh units, no mixed memory), the state after each
    series' last valid row into a linear head (see :class:`CfCNet`). Training: cross
    entropy, Adam(``lr``), ``max_epochs`` epochs of shuffled batches of ``batch_size``
    series (right-padded), no early stopping or clipping; ``random_state`` seeds torch
    (``torch.manual_seed`` in ``fit``). Torch's thread count is left as the caller set it.

    Parameters
    ----------
    hidden_size : int, default=64
        CfC units.
    max_epochs : int, default=100
    lr : float, default=1e-2
    batch_size : int, default=32
    random_state : int or None, default=None
    """

    def _targets(self, y):
        target = torch.as_tensor(self._encode(y), dtype=torch.long)
        return target, len(self.classes_), nn.CrossEntropyLoss()

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return torch.softmax(self._forward(X), dim=1).numpy()

    def predict(self, X) -> np.ndarray:
        """Predicted labels."""
        return self.classes_[self._forward(X).argmax(dim=1).numpy()]


class CfCRegressor(RegressorMixin, _CfC):
    """``ncps.torch.CfC`` regressor: as :class:`CfCClassifier` with a mean squared error.

    Same input, network and training as :class:`CfCClassifier`; the loss is the mean
    squared error on targets standardised with their training mean and standard
    deviation (predictions are scaled back). ``y`` of shape (n,) or (n, n_targets).

    Parameters
    ----------
    hidden_size : int, default=64
    max_epochs : int, default=100
    lr : float, default=1e-2
    batch_size : int, default=32
    random_state : int or None, default=None
    """

    def _targets(self, y):
        y = np.asarray(y, dtype=np.float64)
        self.y_ndim_ = y.ndim
        y2 = y.reshape(len(y), -1)
        self.y_mean_ = y2.mean(axis=0)
        std = y2.std(axis=0)
        self.y_std_ = np.where(std > 0, std, 1.0)
        target = torch.as_tensor((y2 - self.y_mean_) / self.y_std_, dtype=torch.float32)
        return target, y2.shape[1], nn.MSELoss()

    def predict(self, X) -> np.ndarray:
        """Predicted targets."""
        out = self._forward(X).double().numpy() * self.y_std_ + self.y_mean_
        return out.ravel() if self.y_ndim_ == 1 else out


# ---------------------------------------------------------------------------- PyPOTS


def to_grid(panel: Panel, n_steps: int) -> np.ndarray:
    """Bin every series into ``n_steps`` equal bins over its own time span.

    Bin ``k`` of a series starting at ``t0`` and ending at ``t1`` covers
    ``[t0 + k w, t0 + (k + 1) w)`` with ``w = (t1 - t0) / n_steps`` (the last bin also
    holds ``t1``; a series with one time point puts it in bin 0). A channel's observed
    values that fall into one bin are averaged; a bin where the channel was not observed
    is NaN.

    Returns
    -------
    numpy.ndarray of shape (n_series, n_steps, n_channels), float64
    """
    n, T, C = panel.values.shape
    rows = np.arange(n)
    t0 = panel.times[:, :1]
    span = panel.times[rows, panel.lengths - 1][:, None] - t0
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(span > 0, (panel.times - t0) / np.where(span > 0, span, 1.0), 0.0)
    bins = np.clip(np.floor(pos * n_steps).astype(np.int64), 0, n_steps - 1)  # (n, T)
    mask = panel.mask
    flat = (rows[:, None, None] * n_steps + bins[:, :, None]) * C + np.arange(C)
    flat, weights = flat[mask], panel.values[mask]
    size = n * n_steps * C
    sums = np.bincount(flat, weights=weights, minlength=size)
    counts = np.bincount(flat, minlength=size)
    with np.errstate(divide="ignore", invalid="ignore"):
        grid = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return grid.reshape(n, n_steps, C)


_PYPOTS_MODELS = ("GRUD", "BRITS", "Raindrop")


class _Discard(io.StringIO):
    """A text sink with an encoding (``ai4ts`` reads ``sys.stdout.encoding`` at import)."""

    encoding = "utf-8"


def _import_pypots(model: str):
    """The PyPOTS classifier class and PyPOTS' Adam, importing quietly.

    Importing ``pypots`` 1.5 prints a banner (``ai4ts``) and, on the very first import
    on a machine, writes ``~/.pypots/config.ini`` (``tsdb``); it also imports
    ``transformers`` and ``tensorboard`` (about 10 s).
    """
    with contextlib.redirect_stdout(_Discard()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pypots.classification as classification
        from pypots.optim import Adam
    if model == "Raindrop":
        missing = []
        for name in ("torch_geometric", "torch_scatter", "torch_sparse"):
            try:
                __import__(name)
            except ImportError:
                missing.append(name)
        if missing:
            raise ImportError(
                f"PyPOTS' Raindrop needs {', '.join(missing)} (not installed): "
                "install them with pip beside torch 2.13.0 (torch_scatter and torch_sparse "
                "compile from source, for minutes each)."
            )
    return getattr(classification, model), Adam


class PyPOTSClassifier(ClassifierMixin, _PanelInput):
    """GRU-D, BRITS or Raindrop from PyPOTS 1.5, on series binned into a fixed grid.

    Input: the values, standardised with each channel's training mean and standard
    deviation, binned by :func:`to_grid`: each series' own time span cut into
    ``n_steps`` equal bins, the values of a channel in one bin averaged, NaN where the
    channel has no observation in the bin. PyPOTS then derives what each model reads
    from this grid (observation masks, and for GRU-D and BRITS the time since each
    channel's last observation in bins, last observations, GRU-D's empirical means of
    the data it is given; Raindrop gets the bin indices as timestamps). The real times
    enter only through the binning; series of different durations are stretched to the
    same grid.

    Settings: PyPOTS' defaults and the settings of PyPOTS' own tests, with ``epochs``,
    ``batch_size`` and our seeding: GRU-D and BRITS with ``rnn_hidden_size=256``
    (BRITS' classification and reconstruction weights 1); Raindrop with
    ``n_layers=2, d_model=4 * n_channels, d_ffn=256, n_heads=2, dropout=0.3``, mean
    aggregation, no static features; ``model_params`` overrides any of these. Adam from
    PyPOTS with ``lr`` (PyPOTS' default 1e-3), cross entropy, shuffled batches, no
    validation set and no early stopping: as PyPOTS does without a validation set, the
    weights kept are those of the epoch with the lowest mean training loss.
    ``device="cpu"``, ``saving_path=None`` (no checkpoints or tensorboard files),
    ``verbose=False``, ``num_workers=0``; ``random_state`` seeds torch
    (``torch.manual_seed``) before the model is built; fit and predict run with
    ``n_threads`` torch threads (the previous count restored after).

    Parameters
    ----------
    model : {"GRUD", "BRITS", "Raindrop"}, default="GRUD"
    n_steps : int or None, default=None
        Bins per series; None: the median number of rows of the training series, at
        most 200.
    epochs : int, default=100
    batch_size : int, default=32
    lr : float, default=1e-3
    model_params : dict or None, default=None
        Keyword arguments of the PyPOTS model overriding the settings above.
    n_threads : int or None, default=1
        Torch threads during fit and predict; None leaves the count as it is.
    random_state : int or None, default=None
    """

    def __init__(
        self,
        model: str = "GRUD",
        n_steps: int | None = None,
        epochs: int = 100,
        batch_size: int = 32,
        lr: float = 1e-3,
        model_params: dict | None = None,
        n_threads: int | None = 1,
        random_state: int | None = None,
    ) -> None:
        self.model = model
        self.n_steps = n_steps
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.model_params = model_params
        self.n_threads = n_threads
        self.random_state = random_state

    def _settings(self) -> dict:
        if self.model in ("GRUD", "BRITS"):
            settings = {"rnn_hidden_size": 256}
        else:
            settings = {
                "n_layers": 2,
                "d_model": 4 * self.n_channels_,
                "d_ffn": 256,
                "n_heads": 2,
                "dropout": 0.3,
                "d_static": 0,
                "aggregation": "mean",
                "sensor_wise_mask": False,
                "static": False,
            }
        return {**settings, **(self.model_params or {})}

    def _grid(self, panel: Panel) -> np.ndarray:
        std = (panel.values - self.channel_mean_) / self.channel_std_
        scaled = Panel(std, panel.times, panel.lengths, panel.channels)
        return to_grid(scaled, self.n_steps_).astype(np.float32)

    @contextlib.contextmanager
    def _threads(self):
        previous = torch.get_num_threads()
        if self.n_threads is not None:
            torch.set_num_threads(self.n_threads)
        try:
            yield
        finally:
            torch.set_num_threads(previous)

    def fit(self, X, y):
        """Bin ``X`` and train the PyPOTS model on it."""
        if self.model not in _PYPOTS_MODELS:
            raise ValueError(f"model must be one of {_PYPOTS_MODELS}, got {self.model!r}.")
        cls, Adam = _import_pypots(self.model)
        panel = self._panel(X, reset=True)
        _check_length(panel, y)
        target = self._encode(y)
        self.channel_mean_, self.channel_std_ = panel.channel_stats()
        median = int(np.median(panel.lengths))
        self.n_steps_ = int(self.n_steps) if self.n_steps is not None else min(max(median, 1), 200)
        grid = self._grid(panel)
        with self._threads():
            if self.random_state is not None:
                torch.manual_seed(self.random_state)
            self.model_ = cls(
                n_steps=self.n_steps_,
                n_features=self.n_channels_,
                n_classes=len(self.classes_),
                batch_size=self.batch_size,
                epochs=self.epochs,
                optimizer=Adam(lr=self.lr),
                device="cpu",
                saving_path=None,
                verbose=False,
                **self._settings(),
            )
            self.model_.fit({"X": grid, "y": target})
        params = self.model_.model.parameters()
        self.n_parameters_ = int(sum(p.numel() for p in params if p.requires_grad))
        self.best_epoch_ = int(self.model_.best_epoch)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        grid = self._grid(self._panel(X, reset=False))
        with self._threads():
            return np.asarray(self.model_.predict({"X": grid})["classification_proba"])

    def predict(self, X) -> np.ndarray:
        """Predicted labels."""
        return self.classes_[self.predict_proba(X).argmax(axis=1)]

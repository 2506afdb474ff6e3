"""Streaming inference: feed a fitted model one event, or a chunk of events, at a time."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd
import torch
from sklearn.base import is_classifier
from sklearn.utils.validation import check_is_fitted

from ._data import Panel, _check_channels, to_panel

__all__ = ["PhasedLSTMStream"]


#: how the data module names a stream's events ("X", its one series "X series 0")
_IN_VALUES = re.compile(r"\bX series 0\b|^X\b")


class PhasedLSTMStream:
    """Stateful inference on one series that arrives in pieces.

    Made by ``estimator.stream()``. Each :meth:`update` advances the network state
    over new events and returns the model's output after every event; feeding a
    series in any number of chunks gives the same outputs as feeding it whole
    (``predict_proba`` / ``predict`` of the estimator on the series so far).

    Parameters
    ----------
    estimator : PhasedLSTMClassifier or PhasedLSTMRegressor
        A fitted, unidirectional model (a backward direction needs the whole series).

    Attributes
    ----------
    n_events : int
        Events fed since creation or the last :meth:`reset`.
    last_time : float or None
        Time of the last event, relative to the model's time origin.

    Examples
    --------
    >>> import numpy as np
    >>> from sk_plstm import PhasedLSTMClassifier
    >>> X = np.random.default_rng(0).normal(size=(20, 2, 30)); y = np.arange(20) % 2
    >>> clf = PhasedLSTMClassifier(hidden_size=8, max_epochs=2, random_state=0).fit(X, y)
    >>> stream = clf.stream()
    >>> first = stream.update(X[0, :, :10].T, times=np.arange(10))   # 10 events
    >>> last = stream.update(X[0, :, 10:].T, times=np.arange(10, 30))
    >>> first.shape, last.shape
    ((10, 2), (20, 2))
    >>> bool(np.allclose(last[-1], clf.predict_proba(X[:1])[0], atol=1e-6))
    True
    """

    def __init__(self, estimator: Any) -> None:
        check_is_fitted(estimator, "net_")
        if estimator.bidirectional:
            raise ValueError(
                "A bidirectional model cannot stream: its backward direction needs the whole "
                "series. Use predict on complete series, or fit with bidirectional=False."
            )
        self.estimator = estimator
        self.reset()

    def reset(self) -> PhasedLSTMStream:
        """Forget all events: back to the initial (zero) state.

        Returns
        -------
        self : PhasedLSTMStream
        """
        self._network_stream = None  # made by the first update
        self._last_output = None
        self.n_events = 0
        self.last_time = None
        return self

    def _as_frame(self, values: Any, times: Any) -> pd.DataFrame:
        """The new events as one DataFrame indexed by time, a column per channel.

        Named channels (DataFrame columns, a Series' name, dict keys) may be a subset of
        the model's channels: the others are unobserved (NaN) at these events.
        """
        est = self.estimator
        names = getattr(est, "channel_names_", None)
        if isinstance(values, (pd.DataFrame, pd.Series)) and times is not None:
            raise ValueError("Pass times either as the index of values or as times=, not both.")
        if isinstance(values, pd.Series) and values.name is None:  # unnamed: one column
            values, times = values.to_numpy()[:, None], values.index
        if isinstance(values, dict):
            return self._with_all_channels(self._dict_frame(values, times), names)
        if isinstance(values, (pd.DataFrame, pd.Series)):
            frame = values.to_frame() if isinstance(values, pd.Series) else values
            return self._with_all_channels(frame, names)
        array = np.asarray(values)
        if array.ndim == 1:  # a single event
            array = array[None, :]
        if array.ndim != 2:
            raise ValueError(
                "values must have shape (n_events, n_channels) or (n_channels,), got shape "
                f"{np.shape(values)}."
            )
        _check_channels(array.shape[1], est.n_channels_)  # before naming the columns
        index = self._times_index(times, len(array))
        return pd.DataFrame(array, index=index, columns=list(names) if names else None)

    def _times_index(self, times: Any, n_events: int) -> pd.Index:
        if times is None:
            if self.estimator.time_origin_.kind != "steps":
                raise ValueError(
                    "times are required: pass times= (one per event), or a DataFrame indexed "
                    "by time."
                )
            times = np.arange(n_events)
        index = pd.Index(np.atleast_1d(times))
        if len(index) != n_events:
            raise ValueError(f"values has {n_events} events but times has {len(index)}.")
        return index

    def _dict_frame(self, values: dict, times: Any) -> pd.DataFrame:
        """``{channel: value or values}`` at ``times``."""
        if not values:
            raise ValueError("values is an empty dict; give at least one channel's value.")
        columns = {str(k): np.atleast_1d(np.asarray(v)) for k, v in values.items()}
        sizes = {len(v) for v in columns.values()}
        if len(sizes) > 1 or any(v.ndim != 1 for v in columns.values()):
            raise ValueError(
                "values is a dict: map each channel to one value, or to an array of one "
                f"value per event (all of one length); got lengths {sorted(sizes)}."
            )
        return pd.DataFrame(columns, index=self._times_index(times, sizes.pop()))

    @staticmethod
    def _with_all_channels(frame: pd.DataFrame, names: tuple | None) -> pd.DataFrame:
        if names is None:
            return frame
        given = [str(c) for c in frame.columns]
        unknown = [c for c in given if c not in names]
        if unknown:
            raise ValueError(
                f"values has channels {unknown} that the model was not fitted on; its "
                f"channels are {list(names)}."
            )
        frame = frame.set_axis(given, axis=1)
        return frame.reindex(columns=list(names))

    def update(self, values: Any, times: Any = None) -> np.ndarray:
        """Feed new events and return the model's output after each of them.

        An event may carry only some channels: NaN, or a channel left out of a
        DataFrame, Series or dict, means "not observed at this event" (for a model
        fitted with ``missing="mask"``).

        Parameters
        ----------
        values : array-like of shape (n_events, n_channels) or (n_channels,), \
pandas.DataFrame / Series indexed by time, or dict
            The new events, in time order, after every event fed so far. A DataFrame's
            columns (a Series' name, a dict's keys) name the channels observed, a subset
            of those seen at fit; a dict maps each to one value or to one value per event.
        times : array-like of shape (n_events,), optional
            Their timestamps, in the units and kind of the training data's time
            index (numbers, or datetimes for a model fitted on datetimes). Not needed
            for a DataFrame or Series input, or for a model fitted with
            ``time_unit="steps"``.

        Returns
        -------
        ndarray of shape (n_events, n_classes) or (n_events,) / (n_events, n_targets)
            Class probabilities (classifier) or predictions (regressor) after each event
            that observed at least one channel.
        """
        try:
            return self._update(values, times)
        except (ValueError, TypeError) as exc:
            message = str(exc)
            named = _IN_VALUES.sub("values", message)
            if named == message:
                raise
            raise type(exc)(named) from None

    def _update(self, values: Any, times: Any = None) -> np.ndarray:
        """Feed ``values`` (see :meth:`update`)."""
        est = self.estimator
        if getattr(est, "event_input_", False):
            raise TypeError(
                "The model was fitted on event streams by index: feed it with "
                "update_events(times, channels, values)."
            )
        frame = self._as_frame(values, times)
        panel, _ = to_panel(
            [frame],
            estimator=None,
            reset=False,
            origin=est.time_origin_,
            n_channels=est.n_channels_,
            channel_names=getattr(est, "channel_names_", None),
            missing=est.missing,
            dtype=np.float64,
        )
        times_rel = panel.times[0]
        if est.time_origin_.kind == "steps":
            times_rel = times_rel + self.n_events
        elif self.last_time is not None and times_rel[0] <= self.last_time:
            origin = est.time_origin_
            raise ValueError(
                f"The events must come after the last one fed (at "
                f"{origin.show(self.last_time)}), got one at {origin.show(times_rel[0])}."
            )
        panel = Panel(panel.values, times_rel[None, :], panel.lengths, panel.channels)
        inputs = est._network_inputs(panel)
        module = est.module_
        device = module.device
        values_t = torch.as_tensor(inputs["values"][0], device=device)
        times_t = torch.as_tensor(inputs["times"][0], device=device)
        if self._network_stream is None:
            self._network_stream = module.stream()
        outputs = self._network_stream.update(values_t, times_t)  # in inference, mode kept
        result = est._transform_outputs(outputs.cpu().numpy().astype(np.float64))
        self.n_events += len(frame) if est.time_origin_.kind == "steps" else len(times_rel)
        self.last_time = float(times_rel[-1])
        self._last_output = result[-1]
        return result

    def update_events(self, times: Any, channels: Any, values: Any = None) -> np.ndarray:
        """Feed new events by channel index (a model fitted on event streams).

        Events at one time are one step, as in fitting.

        Parameters
        ----------
        times : array-like of shape (n_events,)
            The events' times, in time order and after the last event fed, in the unit
            of the training events.
        channels : array-like of shape (n_events,), integer
            Each event's channel (for a sensor, ``x + width * (y + height * p)``).
        values : array-like of shape (n_events,), optional
            Each event's value; ones when omitted.

        Returns
        -------
        ndarray of shape (n_steps, n_classes) or (n_steps,) / (n_steps, n_targets)
            The output after each step (each distinct time).
        """
        est = self.estimator
        if not getattr(est, "event_input_", False):
            raise TypeError(
                "update_events feeds events by index to a model fitted on event streams; "
                "this model was fitted on series of values: use update."
            )
        times = np.asarray(times, dtype=np.float64).reshape(-1)
        if self.last_time is not None and len(times) and not times[0] > self.last_time:
            raise ValueError(
                f"The events must come after the last one fed (at {self.last_time:g}), got "
                f"one at {times[0]:g}."
            )
        if self._network_stream is None:
            self._network_stream = est.module_.stream()
        outputs = self._network_stream.update_events(times / est.time_scale_, channels, values)
        result = est._transform_outputs(outputs.cpu().numpy().astype(np.float64))
        if len(result):
            self.n_events += len(times)
            self.last_time = float(times[-1])
            self._last_output = result[-1]
        return result

    def _current(self) -> np.ndarray:
        if self._last_output is None:
            raise ValueError("No events fed yet: call update first.")
        return self._last_output

    def predict_proba(self) -> np.ndarray:
        """Class probabilities after the last event (classifier only).

        Returns
        -------
        ndarray of shape (n_classes,)
        """
        if not is_classifier(self.estimator):
            raise AttributeError("predict_proba is available for classifiers only.")
        return self._current()

    def predict(self) -> Any:
        """Prediction after the last event: a class label, or the regression target(s).

        Returns
        -------
        label, float or ndarray of shape (n_targets,)
        """
        current = self._current()
        if is_classifier(self.estimator):
            return self.estimator.classes_[int(np.argmax(current))]
        return current

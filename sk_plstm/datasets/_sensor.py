"""Event-camera recordings of digits, simulated at the scale of N-MNIST.

N-MNIST (Orchard et al., 2015) was recorded by an event camera (a dynamic vision
sensor, DVS) on a pan-tilt unit that made three saccades in a triangle in front of a
screen showing a static MNIST digit. This module simulates such a recording for
scikit-learn's 8 x 8 digits: the digit is upscaled smoothly, moved along the three edges
of a small triangle, and seen by a model of the DVS whose pixels emit an event whenever
their log intensity has changed by a threshold since their last event. The streams have
the layout of the ``tonic`` package: one structured array of events ``(x, y, t, p)`` per
recording.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np
from sklearn.datasets import load_digits
from sklearn.utils import check_random_state
from threadpoolctl import threadpool_limits

__all__ = ["make_sensor_digits"]

#: The dtype of an event stream, as in ``tonic``: column, row, time in microseconds and
#: polarity (1: ON, the log intensity rose by a threshold; 0: OFF, it fell).
EVENT_DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])

# Geometry at N-MNIST's scale: the digit, its smooth edges included, covers 28 of the 34
# pixels of the sensor's smaller side; the saccades move it along a triangle of this side
# (in pixels), centred on the sensor, so that it stays inside the sensor. Both scale with
# the smaller side of the sensor.
_REFERENCE_SIDE = 34.0
_DIGIT_SIDE = 28.0
_TRIANGLE_SIDE = 3.5
# The screen's black level relative to its white (the digits' 16): the log of the
# intensity is taken of ``I / 16 + _BLACK_LEVEL``.
_BLACK_LEVEL = 0.05
# Pixel-to-pixel mismatch of the DVS's contrast threshold (relative standard deviation).
_THRESHOLD_MISMATCH = 0.03
# The motion is simulated in steps of at most this many microseconds, and at least this
# many steps per saccade.
_MAX_STEP_US = 1000.0
_MIN_STEPS_PER_SACCADE = 50
# Streams simulated together: about this many pixels of all of them at once.
_PIXELS_PER_CHUNK = 2**17


def _check_n_samples(n_samples: Any, total: int) -> int:
    if n_samples is None:
        return total
    if isinstance(n_samples, (bool, np.bool_)) or not isinstance(n_samples, numbers.Integral):
        raise ValueError(
            f"n_samples must be an integer from 1 to {total} or None, got {n_samples!r}."
        )
    if not 1 <= n_samples <= total:
        raise ValueError(
            f"n_samples must be from 1 to {total} (the digits of load_digits), got {n_samples!r}."
        )
    return int(n_samples)


def _check_sensor_size(sensor_size: Any) -> tuple[int, int]:
    message = (
        "sensor_size must be three integers (width, height, polarities) with width and "
        f"height at least 16 and 2 polarities, got {sensor_size!r}."
    )
    try:
        values = tuple(sensor_size)
    except TypeError:
        raise ValueError(message) from None
    if len(values) != 3 or any(
        isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Integral) for v in values
    ):
        raise ValueError(message)
    width, height, polarities = (int(v) for v in values)
    if width < 16 or height < 16 or polarities != 2:
        raise ValueError(message)
    return width, height


def _check_number(value: Any, name: str, *, strict: bool) -> float:
    bound = "a positive number" if strict else "a number >= 0"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    if not np.isfinite(value) or value < 0 or (strict and value == 0):
        raise ValueError(f"{name} must be {bound}, got {value!r}.")
    return float(value)


def _saccades(n_steps: int, side: float) -> np.ndarray:
    """Displacement ``(dx, dy)`` of the image at ``3 * n_steps + 1`` equally spaced times.

    The image moves along the edges of an equilateral triangle of the given side, its
    bounding box centred on the origin, one edge per saccade; along each edge it
    accelerates and slows down smoothly (a raised cosine), resting for an instant at the
    corners.
    """
    height = side * np.sqrt(3.0) / 2.0
    corners = np.array([[-side / 2, -height / 2], [side / 2, -height / 2], [0.0, height / 2]])
    progress = (1.0 - np.cos(np.pi * np.arange(n_steps) / n_steps)) / 2.0
    path = [corners[k] + progress[:, None] * (corners[(k + 1) % 3] - corners[k]) for k in range(3)]
    return np.concatenate(path + [corners[:1]])


def _interpolation(n_pixels: int, offset: float, scale: float, shift: np.ndarray) -> np.ndarray:
    """Bilinear weights of the 8 digit pixels for every sensor pixel and displacement.

    Sensor pixel ``k`` (centre ``k + 0.5``) sees the point ``k + 0.5 - shift`` of the
    scene, where the digit's pixel ``j`` is centred at ``offset + (j + 0.5) * scale``.
    Returns shape ``(len(shift), n_pixels, 8)``: the hat function of the distance, in
    digit pixels (zero outside the digit: the screen is black around it).
    """
    position = (np.arange(n_pixels) + 0.5 - shift[:, None] - offset) / scale - 0.5
    return np.maximum(0.0, 1.0 - np.abs(position[:, :, None] - np.arange(8)))


def _simulate_chunk(
    images: np.ndarray,
    weights_x: np.ndarray,
    weights_y: np.ndarray,
    step_us: float,
    thresholds: np.ndarray,
    rng: np.random.RandomState,
) -> tuple[np.ndarray, ...]:
    """The DVS events of a batch of digits: (stream, x, y, time, polarity) arrays.

    ``thresholds`` holds every pixel's contrast threshold, shape ``(height, width)``.
    Works in the layout ``(height, stream, width)``, so that both interpolations are
    single matrix products per time step.
    """
    n_images = len(images)
    height, width = weights_y.shape[1], weights_x.shape[1]
    # rows (digit row i, stream b) of the images: image[b, i, :] -> rows[i * n + b, :]
    rows = np.ascontiguousarray(images.transpose(1, 0, 2)).reshape(8 * n_images, 8)
    rows = rows.astype(np.float32) / 16.0

    def log_intensity(step: int, out: np.ndarray) -> np.ndarray:
        across = rows @ weights_x[step].T  # (8 * n, width): (i, b, x)
        np.matmul(weights_y[step], across.reshape(8, n_images * width), out=out)
        out += _BLACK_LEVEL
        return np.log(out, out=out)

    shape = (height, n_images * width)
    level = log_intensity(0, np.empty(shape, np.float32))
    pixel_threshold = np.repeat(thresholds, n_images, axis=0).reshape(shape)
    # the log intensity of each pixel's last event: the recording starts anywhere in the
    # dead band (-threshold, threshold) around the first log intensity (kept off its
    # edges, where rounding would make a pixel that sees no change fire)
    start_state = rng.uniform(-0.999, 0.999, (n_images, height, width)).astype(np.float32)
    reference = level - pixel_threshold * start_state.transpose(1, 0, 2).reshape(shape)
    following = np.empty(shape, np.float32)
    change = np.empty(shape, np.float32)
    size = np.empty(shape, np.float32)
    firing = np.empty(shape, bool)
    found: list[tuple[np.ndarray, ...]] = []
    for step in range(1, weights_x.shape[0]):
        log_intensity(step, following)
        np.subtract(following, reference, out=change)
        np.abs(change, out=size)
        np.greater_equal(size, pixel_threshold, out=firing)
        where = np.flatnonzero(firing)
        if where.size:
            own = pixel_threshold.ravel()[where]
            # thresholds crossed since the last event, signed
            crossed = np.trunc(change.ravel()[where] / own).astype(np.int64)
            start = level.ravel()[where]
            end = following.ravel()[where]
            base = reference.ravel()[where]
            reference.ravel()[where] = base + crossed * own
            # one event per level crossed, timed where the log intensity (linear within
            # the step) crosses it
            count = np.abs(crossed)
            each = np.repeat(np.arange(where.size), count)
            k = np.arange(each.size) - np.repeat(np.cumsum(count) - count, count) + 1
            sign = np.sign(crossed)[each]
            crossing = base[each] + sign * k * own[each]
            # (a rounding error can leave a level crossed without a change: at the end)
            rise = end[each] - start[each]
            fraction = (crossing - start[each]) / np.where(rise == 0, 1.0, rise)
            fraction[rise == 0] = 1.0
            found.append(
                (
                    where[each],
                    (step - 1 + np.clip(fraction, 0.0, 1.0)) * step_us,
                    (sign > 0).astype(np.int8),
                )
            )
        level, following = following, level
    if not found:
        empty = np.empty(0, np.int64)
        return empty, empty, empty, np.empty(0), np.empty(0, np.int8)
    flat, time, polarity = (np.concatenate(column) for column in zip(*found))
    row, rest = np.divmod(flat, n_images * width)
    stream, column = np.divmod(rest, width)
    return stream, column, row, time, polarity


def make_sensor_digits(
    n_samples: int | None = None,
    *,
    sensor_size: tuple[int, int, int] = (34, 34, 2),
    duration: float = 300_000.0,
    threshold: float = 0.28,
    noise_rate: float = 0.2,
    random_state: int | np.random.RandomState | None = None,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Event-camera recordings of scikit-learn's digits, simulated like N-MNIST.

    Each stream is one digit of :func:`sklearn.datasets.load_digits` (8 x 8 pixels,
    intensities 0 to 16) as a dynamic vision sensor (DVS) on a pan-tilt unit records it
    while making three saccades, as N-MNIST was recorded from MNIST. With the defaults a
    stream has about 4,200 to 5,700 events in 300 ms on a 34 x 34 sensor (5th to 95th
    percentile; mean about 5,000), the range of N-MNIST; the counts grow with the area
    of the sensor (about 71,000 at 128 x 128).

    Parameters
    ----------
    n_samples : int or None, default=None
        Number of streams, from 1 to 1797: the images are drawn without replacement
        (``random_state.choice(1797, n_samples, replace=False)``). None: all 1797
        images, in the order of ``load_digits``.
    sensor_size : (int, int, int), default=(34, 34, 2)
        Width ``W``, height ``H`` and number of polarities of the sensor, as in
        ``tonic``; ``W`` and ``H`` at least 16, and 2 polarities. The digit covers
        28/34 of the smaller side (28 x 28 pixels of 34 x 34), centred.
    duration : float, default=300000.0
        Length of each recording in microseconds; each saccade takes a third of it.
    threshold : float, default=0.28
        The DVS's contrast threshold: the change of log intensity (natural log) that
        makes a pixel emit an event. Lower thresholds give more events.
    noise_rate : float, default=0.2
        Background activity: noise events per pixel per second (a Poisson process per
        pixel, random polarity), at least 0.
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of images, the sensor's mismatch and state, and the noise.

    Returns
    -------
    events : list of numpy.ndarray
        ``n_samples`` event streams, each a structured array of shape ``(n_events,)``
        with dtype ``[("x", int16), ("y", int16), ("t", int64), ("p", int8)]`` (the
        layout of ``tonic``): column ``x`` in ``[0, W)``, row ``y`` in ``[0, H)``, time
        ``t`` in integer microseconds in ``[0, duration)``, sorted (several events may
        share a time), and polarity ``p``, 1 (ON) or 0 (OFF).
    y : numpy.ndarray of shape (n_samples,)
        The digit of each stream, 0 to 9, as int64.

    See Also
    --------
    make_event_digits : Simpler event streams of the same digits (Poisson events per
        pixel), in the estimators' containers.

    Notes
    -----
    The scene is a black screen (intensity 5% of the digits' white) showing the digit,
    upscaled bilinearly and centred on the sensor: each of its pixels is about 3.1
    sensor pixels wide at 34 x 34, and with its edges fading to black it covers 28 x 28
    pixels (28/34 of the smaller side of other sensors). During the recording the image
    moves along the three edges of an equilateral triangle (side 3.5 pixels at 34 x 34,
    centred on the sensor), one edge per third of ``duration``, accelerating and slowing
    down smoothly along each, so that the events come in three bursts; the digit stays
    inside the sensor. The motion is simulated in steps of at most 1 ms (and at least 50
    per saccade); each sensor pixel samples the moving image by bilinear interpolation,
    and its log intensity is taken linear within a step.

    Each pixel keeps the log intensity of its last event: when the log intensity has
    risen by its threshold above it, the pixel emits an ON event and the reference rises
    by the threshold; when it has fallen by the threshold, an OFF event, and the
    reference falls. A step that crosses several thresholds emits several events, each
    at the time the log intensity crosses its level. One sensor records all the streams:
    its thresholds vary from pixel to pixel (3% standard deviation, like a real sensor's
    mismatch) but not from stream to stream. Each pixel's reference starts anywhere
    within one threshold of its first log intensity. On top, background noise events
    come at ``noise_rate`` per pixel and second, at uniformly random times, pixels and
    polarities. Times are rounded down to the microsecond.

    Examples
    --------
    >>> from sk_plstm.datasets._sensor import make_sensor_digits
    >>> events, y = make_sensor_digits(2, random_state=0)
    >>> events[0].dtype.names, y.shape
    (('x', 'y', 't', 'p'), (2,))
    >>> all(len(stream) > 1000 for stream in events)
    True
    """
    digits = load_digits()
    total = len(digits.target)
    everything = n_samples is None
    n_samples = _check_n_samples(n_samples, total)
    width, height = _check_sensor_size(sensor_size)
    duration = _check_number(duration, "duration", strict=True)
    threshold = _check_number(threshold, "threshold", strict=True)
    noise_rate = _check_number(noise_rate, "noise_rate", strict=False)
    rng = check_random_state(random_state)
    chosen = np.arange(total) if everything else rng.choice(total, n_samples, replace=False)

    # geometry: the digit's pixels are `scale` sensor pixels wide, the digit centred;
    # interpolated bilinearly, its 8 pixels fade to black over 9 of them
    side = min(width, height) / _REFERENCE_SIDE
    scale = side * _DIGIT_SIDE / 9.0
    steps = max(int(np.ceil(duration / 3.0 / _MAX_STEP_US)), _MIN_STEPS_PER_SACCADE)
    shift = _saccades(steps, side * _TRIANGLE_SIDE)
    weights_x = _interpolation(width, (width - 8 * scale) / 2, scale, shift[:, 0])
    weights_y = _interpolation(height, (height - 8 * scale) / 2, scale, shift[:, 1])
    weights_x, weights_y = weights_x.astype(np.float32), weights_y.astype(np.float32)
    step_us = duration / (3 * steps)
    # one sensor records every stream: each pixel has its own contrast threshold
    mismatch = _THRESHOLD_MISMATCH * rng.standard_normal((height, width))
    thresholds = (threshold * np.maximum(1.0 + mismatch, 0.5)).astype(np.float32)

    per_chunk = max(1, _PIXELS_PER_CHUNK // (width * height))
    last = int(np.ceil(duration)) - 1  # times in [0, duration)
    noise_mean = noise_rate * width * height * duration * 1e-6
    events: list[np.ndarray] = []
    # the matrix products are small and many: one thread is faster than a pool of them
    with threadpool_limits(limits=1, user_api="blas"):
        for begin in range(0, n_samples, per_chunk):
            images = digits.images[chosen[begin : begin + per_chunk]]
            found = _simulate_chunk(images, weights_x, weights_y, step_us, thresholds, rng)
            # background activity: Poisson counts, uniform pixels, times and polarities
            counts = rng.poisson(noise_mean, len(images))
            n_noise = counts.sum()
            noise = (
                np.repeat(np.arange(len(images)), counts),
                rng.randint(0, width, n_noise),
                rng.randint(0, height, n_noise),
                rng.uniform(0.0, duration, n_noise),
                rng.randint(0, 2, n_noise).astype(np.int8),
            )
            stream, column, row, time, polarity = (
                np.concatenate(pair) for pair in zip(found, noise)
            )
            order = np.lexsort((time, stream))  # by stream, then time
            table = np.empty(len(order), dtype=EVENT_DTYPE)
            table["x"] = column[order]
            table["y"] = row[order]
            table["t"] = np.minimum(np.floor(time[order]), last)
            table["p"] = polarity[order]
            bounds = np.cumsum(np.bincount(stream, minlength=len(images)))[:-1]
            events.extend(np.split(table, bounds))
    return events, digits.target[chosen].astype(np.int64)

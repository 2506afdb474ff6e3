"""Data generators and helpers for experiments with irregularly sampled series.

The paper's synthetic tasks (frequency discrimination with one or two frequencies, the
adding problem, event-based digits) and a helper that subsamples any dataset irregularly.
"""

from ._irregular import make_irregular
from ._tasks import (
    make_adding_task,
    make_event_digits,
    make_frequency_discrimination,
    make_two_frequency_discrimination,
)

__all__ = [
    "make_adding_task",
    "make_event_digits",
    "make_frequency_discrimination",
    "make_irregular",
    "make_two_frequency_discrimination",
]

"""Data generators and helpers for experiments with irregularly sampled series.

The paper's synthetic tasks (frequency discrimination with one or two frequencies, the
adding problem, event-based digits); digits seen by a simulated event camera at
N-MNIST's size (34 x 34 x 2, three saccades, about 4,000-6,000 events); a sensor-fusion
task whose channels are sampled asynchronously (each at its own rate and times, NaN
where a channel was not observed); room-days of a building's sensors as a database
holds them (an event table with time-zone aware timestamps; occupancy needs two of the
sensors together); a helper that subsamples any dataset irregularly, and one that makes
any multichannel dataset asynchronous by removing a fraction of each channel's
observations; readers (and writers) of the N-MNIST binary files and of the Spiking
Heidelberg Digits' HDF5 files, giving events in tonic's layout.
"""

from ._building import make_building_occupancy
from ._fusion import make_sensor_fusion
from ._irregular import make_irregular
from ._missing import make_missing
from ._readers import read_nmnist, read_nmnist_folder, read_shd, write_nmnist, write_shd
from ._sensor import make_sensor_digits
from ._tasks import (
    make_adding_task,
    make_event_digits,
    make_frequency_discrimination,
    make_two_frequency_discrimination,
)

__all__ = [
    "make_adding_task",
    "make_building_occupancy",
    "make_event_digits",
    "make_frequency_discrimination",
    "make_irregular",
    "make_missing",
    "make_sensor_digits",
    "make_sensor_fusion",
    "make_two_frequency_discrimination",
    "read_nmnist",
    "read_nmnist_folder",
    "read_shd",
    "write_nmnist",
    "write_shd",
]

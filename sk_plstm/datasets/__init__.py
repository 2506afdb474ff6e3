"""Data generators and helpers for experiments with irregularly sampled series."""

from ._irregular import make_irregular

__all__ = ["make_irregular"]

"""The package's version (one place, read by the package root and the model files)."""

__version__ = "0.1.0"

"""The estimator classes a model file may name, registered by the classes' own modules.

A model file names its estimator class; :func:`sk_plstm.load` builds only classes in this
fixed list (the package's classifier and regressor, and the ``sk_plstm.sktime`` classes
around them), never one named by the file alone. The classes register themselves with
:func:`loadable`, so the reading code imports none of them (and no import cycle runs
from the model files back to the estimators). The ``sk_plstm.sktime`` subpackage, which
needs the optional sktime, registers its classes and the restorer of its fitted state
when it is imported; :func:`restorer` imports it by name when an sktime file is read
(a plug-in loaded by name, not an import edge of the reading code).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

__all__ = ["loadable", "loadable_classes", "register_restorer", "restorer"]

_CLASSES: dict[str, dict[str, type]] = {"estimator": {}, "sktime": {}}
_RESTORERS: dict[str, Callable] = {}
#: the module (of an optional subpackage) that registers each kind of wrapper
_PLUGINS = {"sktime": "sk_plstm.sktime._persistence"}


def loadable(kind: str) -> Callable[[type], type]:
    """Class decorator: model files may name this class.

    Parameters
    ----------
    kind : {"estimator", "sktime"}
        A package estimator, or an sktime wrapper around one.

    Returns
    -------
    callable
        The decorator (it returns the class unchanged).
    """

    def register(cls: type) -> type:
        _CLASSES[kind][cls.__name__] = cls
        return cls

    return register


def loadable_classes(kind: str) -> dict[str, type]:
    """The registered classes of one kind, by name.

    Parameters
    ----------
    kind : {"estimator", "sktime"}

    Returns
    -------
    dict of str to type
    """
    return dict(_CLASSES[kind])


def register_restorer(kind: str, restore: Callable) -> None:
    """Register the function that rebuilds a wrapper around a loaded estimator.

    Parameters
    ----------
    kind : str
        The wrapper kind (``"sktime"``).
    restore : callable
        ``restore(estimator, saved, reference) -> wrapper``.
    """
    _RESTORERS[kind] = restore


def restorer(kind: str) -> Callable:
    """The restorer of a wrapper kind, importing the subpackage that registers it.

    Parameters
    ----------
    kind : str

    Returns
    -------
    callable

    Raises
    ------
    ImportError
        When the subpackage (or what it needs, such as sktime) cannot be imported.
    """
    import_module(_PLUGINS[kind])  # at once when imported already; raises without sktime
    return _RESTORERS[kind]

"""Typed errors of obliviate.

Every error names what was wrong and how to fix it. The hierarchy mirrors the
places a user can go wrong: a hyper-parameter, a request (forget spec, data), a
model the method cannot handle, a missing file or optional dependency.
"""

from __future__ import annotations


class ObliviateError(Exception):
    """Base class of every error raised on purpose by obliviate."""


class InvalidParameterError(ObliviateError, ValueError):
    """A hyper-parameter is outside its declared range or of the wrong type."""


class InvalidRequestError(ObliviateError, ValueError):
    """An unlearning request cannot be served (empty forget set, missing retain data, ...)."""


class InvalidForgetSpecError(InvalidRequestError):
    """A forget spec string or object is malformed or does not match the data."""


class UnsupportedModelError(ObliviateError, TypeError):
    """The model given is not one the method or task can work with."""


class DataError(ObliviateError):
    """A data file is missing, corrupt or fails its checksum."""


class MissingDependencyError(ObliviateError, ImportError):
    """An optional dependency (an extra) is not installed."""


class RegistryError(ObliviateError, KeyError):
    """A method name is unknown, or a registration would silently overwrite another."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


def require_extra(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingDependencyError` naming the extra to install.

    Args:
        module: dotted module name, e.g. ``"torch_geometric"``.
        extra: the obliviate extra that provides it, e.g. ``"graph"``.

    Returns:
        The imported module.
    """
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingDependencyError(
            f"'{module}' is needed for this feature but is not installed; "
            f"install it with: pip install 'obliviate[{extra}]'"
        ) from exc

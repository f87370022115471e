"""The one error of the compatibility layer: a reference-SDK name pywatt does not carry."""

from __future__ import annotations

from pywatt._errors import ConfigError

__all__ = ["NotSupported"]


class NotSupported(ConfigError):
    """A name of the reference Python SDK that pywatt does not support; the message says
    what to use instead. A :class:`~pywatt.ConfigError`: a module that uses one at start
    exits at once with one line and is not restarted."""

    def __init__(self, name: str, instead: str) -> None:
        super().__init__(f"pywatt.compat: {name} is not supported: {instead}")
        self.name = name
        self.instead = instead

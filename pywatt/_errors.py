"""Errors shared by every part of pywatt."""

from __future__ import annotations


class PywattError(Exception):
    """Base of every error raised by pywatt (outside :mod:`pywatt.wire`)."""


class NotAvailableYet(PywattError, NotImplementedError):
    """A feature that the configuration asks for is not built into this version of pywatt."""

    def __init__(self, feature: str, detail: str = "") -> None:
        message = f"{feature} is not available yet in this version of pywatt"
        super().__init__(f"{message}: {detail}" if detail else message)
        self.feature = feature


class ConfigError(PywattError, ValueError):
    """The module's configuration is invalid."""

"""Errors shared by every part of pywatt."""

from __future__ import annotations


class PywattError(Exception):
    """Base of every error raised by pywatt (outside :mod:`pywatt.wire`)."""


class ConfigError(PywattError, ValueError):
    """The module's configuration is invalid."""

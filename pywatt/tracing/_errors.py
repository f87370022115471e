"""Tracing's errors."""

from __future__ import annotations

from pywatt._errors import ConfigError

__all__ = ["TracingUnavailable"]


class TracingUnavailable(ConfigError):
    """The environment asks for tracing this installation cannot do (no SDK, an unknown
    exporter): a configuration error, so a module that meets it does not start."""

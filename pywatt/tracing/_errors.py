"""Tracing's errors."""

from __future__ import annotations

__all__ = ["TracingUnavailable"]


class TracingUnavailable(RuntimeError):
    """The environment asks for tracing this installation cannot do (no SDK, an unknown
    exporter)."""

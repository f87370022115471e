"""Names: of a module's actors in the embedded orchestrator, and of the manifest file."""

from __future__ import annotations

from typing import Final

GATEWAY_NAME: Final = "pywatt.gateway"
"""The registry name of the HTTP gateway actor."""

DEFAULT_MANIFEST: Final = "pywatt.toml"
"""The manifest ``pywatt run`` reads from the current directory when given none."""


def supervisor_name(module_id: str) -> str:
    """The registry name of a module's supervisor."""
    return f"pywatt.module.{module_id}"


def process_name(module_id: str) -> str:
    """The registry name of a module's process actor."""
    return f"pywatt.module.{module_id}.process"

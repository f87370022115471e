"""Registry names of a module's actors in the embedded orchestrator."""

from __future__ import annotations


def supervisor_name(module_id: str) -> str:
    """The registry name of a module's supervisor."""
    return f"pywatt.module.{module_id}"


def process_name(module_id: str) -> str:
    """The registry name of a module's process actor."""
    return f"pywatt.module.{module_id}.process"

"""Helpers of the integration tests that several files share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleSpec,
    Orchestrator,
    open_orchestrator,
)

from .conftest import remember


@asynccontextmanager
async def orchestrated(
    *specs: ModuleSpec, **options: Any
) -> AsyncIterator[tuple[Orchestrator, list[str]]]:
    """The embedded orchestrator running ``specs`` (``options``: the manifest's other
    fields; heartbeats every 0.5 s unless given), and the console lines it printed so far,
    each as ``[module] text``; scanned for secret values when it ends."""
    lines: list[str] = []

    def keep(line: ConsoleLine) -> None:
        lines.append(f"[{line.module}] {line.text}")

    options.setdefault("heartbeat_interval", 0.5)
    manifest = Manifest(modules=specs, **options)
    async with open_orchestrator(manifest, on_output=keep) as orch:
        yield orch, lines
    remember({}, *lines)

"""Shared helpers for the orchestrator tests: specs for the raw test module, a runner."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from actors import Backoff
from pywatt.orchestrator import (
    ChannelOptions,
    ConsoleLine,
    Manifest,
    ModuleHandle,
    ModuleKind,
    ModuleSpec,
    Orchestrator,
    RestartPolicy,
    Verbosity,
    open_orchestrator,
)

MODULES = Path(__file__).parent / "modules"
RAW = str(MODULES / "raw_module.py")
PYTHON = sys.executable

FAST = RestartPolicy(
    max_restarts=3,
    within=30.0,
    backoff=Backoff(first=0.05, base=0.05, multiplier=1.0, cap=0.1, jitter=0.0),
)


def raw(
    module_id: str,
    *args: str,
    kind: ModuleKind | None = None,
    secrets: list[str] | None = None,
    restart: RestartPolicy = FAST,
    env: Mapping[str, str] | None = None,
    channels: ChannelOptions | None = None,
) -> ModuleSpec:
    """The raw-protocol test module (a stand-in for a Rust module) under ``module_id``."""
    return ModuleSpec.from_command(
        module_id, RAW, args=args, kind=kind, secrets=secrets, restart=restart, env=env,
        channels=channels,
    )  # fmt: skip


class Run:
    """A running orchestrator and everything it printed."""

    def __init__(self, orch: Orchestrator, lines: list[ConsoleLine]) -> None:
        self.orch = orch
        self.lines = lines

    def text(self) -> str:
        return "\n".join(line.render() for line in self.lines)

    def index(self, needle: str) -> int:
        """Position of the first console line containing ``needle``."""
        for i, line in enumerate(self.lines):
            if needle in line.render():
                return i
        raise AssertionError(f"no console line contains {needle!r}:\n{self.text()}")


@asynccontextmanager
async def running(
    *specs: ModuleSpec,
    secrets: Mapping[str, str] | None = None,
    grace: float = 0.5,
    term_grace: float = 0.5,
    verbosity: Verbosity = Verbosity.VERBOSE,
    **manifest: Any,
) -> AsyncIterator[Run]:
    lines: list[ConsoleLine] = []
    spec = Manifest(
        modules=specs, secrets=dict(secrets or {}), grace=grace, term_grace=term_grace, **manifest
    )
    async with open_orchestrator(spec, on_output=lines.append, verbosity=verbosity) as orch:
        yield Run(orch, lines)


def events(handle: ModuleHandle, event: str | None = None) -> list[dict[str, Any]]:
    """The raw module's logged events (its JSON stderr lines), optionally of one kind."""
    found = []
    for line in handle.stderr:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        fields = record.get("fields", {})
        if event is None or fields.get("event") == event:
            found.append(fields)
    return found


async def wait_event(handle: ModuleHandle, event: str, count: int = 1) -> list[dict[str, Any]]:
    """Block until the raw module has logged ``event`` ``count`` times."""
    await handle.wait_until(lambda h: len(events(h, event)) >= count)
    return events(handle, event)

"""What the discovery tests share: the Redis URL, an in-process registry, a module runner."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import actors
from pywatt.discovery import DISCOVERY, DISCOVERY_PROTOCOL, RedisDiscovery
from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleSpec,
    Orchestrator,
    open_orchestrator,
)

PROVIDERS = str(Path(__file__).parent / "modules" / "providers.py")


def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("REDIS_URL is not set: the discovery tests need a real Redis")
    return url


def fresh_prefix() -> str:
    """A registry of its own for one test, on the shared Redis."""
    return f"pywatt-test:{uuid.uuid4()}"


@asynccontextmanager
async def registry(
    module_id: str, prefix: str, **options: float
) -> AsyncIterator[actors.ActorSystem]:
    """A Redis-backed discovery actor in this process, as a module on another host runs it."""
    async with actors.open_actor_system() as system:
        await system.spawn(
            lambda: RedisDiscovery(redis_url(), module_id, prefix=prefix, **options),
            name=DISCOVERY,
            protocol=DISCOVERY_PROTOCOL,
        )
        yield system


async def logged(orch: Orchestrator, module_id: str, text: str) -> str:
    """Wait for the module's log line containing ``text``; its message."""
    line = await orch.module(module_id).wait_stderr(text)
    message = json.loads(line)["message"]
    assert isinstance(message, str)
    return message


@asynccontextmanager
async def orchestrated(
    module_id: str, env: Mapping[str, str]
) -> AsyncIterator[tuple[Orchestrator, list[str]]]:
    """The embedded orchestrator running the providers module under ``module_id``."""
    lines: list[str] = []

    def keep(line: ConsoleLine) -> None:
        lines.append(line.render())

    spec = ModuleSpec.from_command(module_id, PROVIDERS, env=env)
    manifest = Manifest(modules=[spec], heartbeat_interval=0.5)
    async with open_orchestrator(manifest, on_output=keep) as orch:
        yield orch, lines

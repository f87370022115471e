"""Backends for the shared cache suite: every test there runs on every backend.

Redis and Memcached come from ``REDIS_URL`` / ``MEMCACHED_ADDR`` (``source services.env``,
or ``just test`` starts them); a missing variable fails the test, it never skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import trio

import actors
from pywatt.cache import (
    CACHE,
    FileCache,
    MemcachedCache,
    MemoryCache,
    RedisCache,
)
from pywatt.cache._semantics import BACKENDS

from .proxy_peer import open_proxy_peer


def require_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        pytest.fail(f"{name} is not set: source the services env (or run `just test`)")
    return value


class Harness:
    """One backend under test in its own actor system; ``name`` answers the cache protocol."""

    def __init__(self, kind: str, system: actors.ActorSystem, tmp: Path) -> None:
        self.kind = kind
        self.system = system
        self.tmp = tmp
        self.tag = uuid.uuid4().hex[:8]
        self.name = "cache"
        self.count = 0
        self.proxy: Any = None

    def factory(self, namespace: str) -> Callable[[], actors.Actor[Any]]:
        match self.kind:
            case "memory":
                return MemoryCache
            case "redis":
                url = require_env("REDIS_URL")
                return lambda: RedisCache.from_url(url, namespace=namespace)
            case "memcached":
                address = require_env("MEMCACHED_ADDR")
                return lambda: MemcachedCache.from_address(address, namespace=namespace)
            case "file":
                return lambda: FileCache(self.tmp / "files", namespace=namespace)
            case "proxy":
                return self.proxy.factory(namespace)
        raise AssertionError(self.kind)

    async def spawn(self, namespace: str | None = None) -> str:
        """Another cache actor on the same storage (same server, directory or orchestrator)
        with its own namespace; for memory, a separate cache. Returns its name."""
        self.count += 1
        name = self.name if self.count == 1 else f"cache-{self.count}"
        ns = namespace if namespace is not None else f"t{self.tag}{self.count}:"
        await self.system.spawn(self.factory(ns), name=name, protocol=CACHE)
        return name

    async def ask(self, message: Any, name: str | None = None) -> Any:
        with trio.fail_after(10):
            return await self.system.ask(name or self.name, message)


@pytest.fixture(params=BACKENDS)
async def cache(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Harness]:
    kind: str = request.param
    async with actors.open_actor_system() as system:
        harness = Harness(kind, system, tmp_path)
        if kind == "proxy":
            async with open_proxy_peer(system) as peer:
                harness.proxy = peer
                await harness.spawn()
                yield harness
        else:
            await harness.spawn()
            yield harness

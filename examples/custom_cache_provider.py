"""A cache provider of your own: an actor that answers the cache protocol.

``SqliteCache`` keeps entries in a SQLite file (so they survive restarts) with TTLs on the
wall clock. Registered under the name ``cache`` with the ``CACHE`` protocol, it replaces the
built-in backend: ``state.cache`` (a ``CacheFacade``) asks whatever actor holds that name,
so no other code changes. Run it::

    python examples/custom_cache_provider.py [database-file]

It runs the same facade calls against the built-in in-memory cache and against this
provider, and prints what each answered. docs/custom-providers.md walks through it.
"""

from __future__ import annotations

import sqlite3
import sys
import time
from typing import Any

import trio

import actors
from pywatt.cache import (
    CACHE,
    CACHE_NAME,
    CacheFacade,
    CacheStatistics,
    Clear,
    Decrement,
    Delete,
    DeleteMany,
    Exists,
    Get,
    GetMany,
    GetSet,
    Increment,
    MemoryCache,
    NotAnInteger,
    Set,
    SetMany,
    SetNx,
    Stats,
    StatsRecorder,
)

Message = (
    Get | Set | Delete | Exists | SetNx | GetSet | Increment | Decrement | GetMany | SetMany
    | DeleteMany | Clear | Stats
)  # fmt: skip


class SqliteCache(actors.Actor[Message]):
    """A cache provider backed by one SQLite table. One message at a time, so every
    operation (increment and get_set included) is atomic. SQLite calls are short and local;
    a provider doing slow I/O would run it in ``trio.to_thread`` as the file backend does."""

    reply_errors = (NotAnInteger,)  # answered to the caller; the actor keeps running

    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.stats = StatsRecorder("sqlite")

    async def on_start(self) -> None:
        self.db = sqlite3.connect(self.path, isolation_level=None)
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB, expires REAL)"
        )

    async def on_stop(self) -> None:
        self.db.close()

    def _read(self, key: str) -> bytes | None:
        row = self.db.execute(
            "SELECT value FROM cache WHERE key = ? AND (expires IS NULL OR expires > ?)",
            (key, time.time()),
        ).fetchone()
        return None if row is None else bytes(row[0])

    def _write(self, key: str, value: bytes, ttl: float | None) -> None:
        expires = None if ttl is None else time.time() + ttl
        self.db.execute("INSERT OR REPLACE INTO cache VALUES (?, ?, ?)", (key, value, expires))
        self.stats.sets += 1

    def _delete(self, key: str) -> bool:
        live = self._read(key) is not None
        self.db.execute("DELETE FROM cache WHERE key = ?", (key,))
        return live

    def _counted(self, key: str) -> bytes | None:
        value = self._read(key)
        if value is None:
            self.stats.misses += 1
        else:
            self.stats.hits += 1
        return value

    def _add(self, key: str, delta: int) -> int:
        current = self._read(key) or b"0"
        if not current.lstrip(b"-").isdigit():
            raise NotAnInteger(key)
        number = int(current) + delta
        self._write(key, b"%d" % number, None)
        return number

    async def receive(self, message: Message) -> Any:
        start = time.perf_counter()
        try:
            return self._handle(message)
        finally:
            self.stats.observe(time.perf_counter() - start)

    def _handle(self, message: Message) -> Any:
        match message:
            case Get(key):
                return self._counted(key)
            case Set(key, value, ttl):
                self._write(key, value, ttl)
            case Delete(key):
                return self._delete(key)
            case Exists(key):
                return self._read(key) is not None
            case SetNx(key, value, ttl):
                if self._read(key) is not None:
                    return False
                self._write(key, value, ttl)
                return True
            case GetSet(key, value, ttl):
                previous = self._read(key)
                self._write(key, value, ttl)
                return previous
            case Increment(key, delta):
                return self._add(key, delta)
            case Decrement(key, delta):
                return self._add(key, -delta)
            case GetMany(keys):
                found = {key: self._counted(key) for key in keys}
                return {key: value for key, value in found.items() if value is not None}
            case SetMany(items, ttl):
                for key, value in items.items():
                    self._write(key, value, ttl)
            case DeleteMany(keys):
                return sum(self._delete(key) for key in dict.fromkeys(keys))
            case Clear():
                self.db.execute("DELETE FROM cache")
            case Stats():
                (items,) = self.db.execute("SELECT COUNT(*) FROM cache").fetchone()
                return self.stats.snapshot(items=items)
        return None


async def exercise(cache: CacheFacade) -> list[Any]:
    """The same calls a module makes, whatever answers them."""
    await cache.clear()
    await cache.set("user:1", {"name": "Ada"}, ttl=60)
    stats: CacheStatistics
    results = [
        await cache.get("user:1"),
        await cache.exists("user:1"),
        await cache.increment("visits"),
        await cache.increment("visits", 5),
        await cache.set_nx("user:1", {"name": "Bob"}),
        await cache.get_set("user:1", {"name": "Eve"}),
        await cache.get_many(["user:1", "visits", "nobody"]),
        await cache.delete("user:1"),
    ]
    stats = await cache.stats()
    results.append(stats.hits)
    return results


async def main(path: str = ":memory:") -> dict[str, list[Any]]:
    """Run :func:`exercise` on the built-in cache, then on ``SqliteCache``; both registered
    the same way, under ``cache`` with the ``CACHE`` protocol."""
    answers: dict[str, list[Any]] = {}
    for label, factory in (("built-in memory", MemoryCache), ("sqlite", lambda: SqliteCache(path))):
        async with actors.open_actor_system() as system:
            await system.spawn(factory, name=CACHE_NAME, protocol=CACHE)  # registration alone
            answers[label] = await exercise(CacheFacade(system))
    return answers


if __name__ == "__main__":
    for label, answer in trio.run(main, *sys.argv[1:2]).items():
        print(f"{label}: {answer}")

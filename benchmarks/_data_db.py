"""PostgreSQL implementations for ``benchmarks/data.py``: SELECT 1 round trips.

* :func:`pg_select1_ours` — through our pool actor (``DatabaseFacade.fetch_one``), with
  ``callers`` concurrent tasks (1 or 16) over a pool of up to ``callers`` connections
  (capped at 8);
* :func:`pg_select1_sync` — the floor: sync psycopg in a plain loop on one connection.

Both are plain functions ``(seconds[, callers]) -> round trips per second`` that read
``DATABASE_URL`` from the environment (fail clearly when it is missing); ``data.py`` uses
``functools.partial(pg_select1_ours, callers=16)`` for the 16-caller case. Targets:
``pg_1_vs_sync >= 0.25`` and ``pg_16_vs_sync >= 0.5``.
"""

from __future__ import annotations

import os
import time

import psycopg
import trio

import actors
from pywatt.db import DATABASE, DatabaseFacade, DatabasePool, PoolSettings
from pywatt.db._postgres import PostgresDriver

__all__ = ["pg_select1_ours", "pg_select1_sync"]

MAX_POOL = 8


def _url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("DATABASE_URL is not set: the PostgreSQL benchmark needs a server")
    return url


def pg_select1_ours(seconds: float, callers: int = 1) -> float:
    """SELECT 1 round trips per second through the pool actor, ``callers`` at a time."""
    url = _url()

    async def run() -> float:
        size = max(1, min(callers, MAX_POOL))
        settings = PoolSettings(min_connections=size, max_connections=size)
        async with actors.open_actor_system() as system:
            await system.spawn(
                lambda: DatabasePool(PostgresDriver(url), settings),
                name="pywatt.db",
                protocol=DATABASE,
            )
            db = DatabaseFacade(system)
            async with trio.open_nursery() as nursery:  # warm every connection up
                for _ in range(size * 2):
                    nursery.start_soon(db.fetch_one, "SELECT 1")
            counts = [0] * callers
            deadline = time.perf_counter() + seconds

            async def caller(index: int) -> None:
                n = 0
                while time.perf_counter() < deadline:
                    for _ in range(20):
                        await db.fetch_one("SELECT 1")
                    n += 20
                counts[index] = n

            start = time.perf_counter()
            async with trio.open_nursery() as nursery:
                for i in range(callers):
                    nursery.start_soon(caller, i)
            elapsed = time.perf_counter() - start
            await system.stop("pywatt.db")
        return sum(counts) / elapsed

    return float(trio.run(run))


def pg_select1_sync(seconds: float) -> float:
    """The floor: SELECT 1 round trips per second with sync psycopg in a plain loop."""
    with psycopg.connect(_url(), autocommit=True) as conn:
        cursor = conn.cursor()
        for _ in range(50):
            cursor.execute("SELECT 1")
            cursor.fetchone()
        n = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            for _ in range(50):
                cursor.execute("SELECT 1")
                cursor.fetchone()
            n += 50
        return n / (time.perf_counter() - start)


if __name__ == "__main__":
    for _ in range(3):
        sync = pg_select1_sync(1.5)
        one = pg_select1_ours(1.5, 1)
        sixteen = pg_select1_ours(1.5, 16)
        print(
            f"sync {sync:,.0f}/s  ours(1) {one:,.0f}/s ({one / sync:.2f})  "
            f"ours(16) {sixteen:,.0f}/s ({sixteen / sync:.2f})"
        )

"""The data layer beside its floors: ``python -m benchmarks.data [--quick]``.

Servers come from the environment like the tests (``REDIS_URL``, ``MEMCACHED_ADDR``,
``DATABASE_URL``; ``source services.env`` or ``just bench``). Cases (rates, GET round trips
per second; every implementation times itself, set-up not counted):

* ``redis_1`` / ``redis_16``: ours is ``system.ask("cache", Get(k))`` on the Redis backend
  actor (one pipelined connection), by 1 or 16 concurrent callers; the floor is
  ``redis-benchmark -t get -c 1`` / ``-c 16`` against the same server (its own C client,
  its figure parsed from ``-q`` output). Target ``redis_16 >= 0.3``.
* ``memcached``: ours through the Memcached backend actor, 1 caller; the floor is a sync
  pymemcache ``Client.get`` loop (no actor, no event loop).
* ``memory_get``: ours through the in-memory backend actor; the *actor floor* is a raw trio
  ask, a task answering dict lookups over two unbuffered memory channels, the cheapest
  request/reply trio has; ``bare_dict`` (``dict.get`` in a loop) is reported beside it.
  Target ``memory_get_vs_actor_floor >= 0.5``.
* ``pg_1`` / ``pg_16``: ``SELECT 1`` through the database pool actor with 1 and 16 callers
  against sync psycopg in a plain loop (functions of ``benchmarks/_data_db.py``). Targets
  ``pg_1 >= 0.25``, ``pg_16 >= 0.5``.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import time
from typing import Final

import trio

import actors
from pywatt.cache import CACHE, Get, MemcachedCache, MemoryCache, RedisCache, Set

from ._data_db import pg_select1_ours, pg_select1_sync
from ._harness import Bench, BenchmarkError, arate_loop, main, rate_loop

KEY: Final = "bench:key"
VALUE: Final = b"x" * 32
CHUNK: Final = 50


def _env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise SystemExit(f"{name} is not set: the data benchmark needs its server")
    return value


async def _ours(make: object, seconds: float, callers: int) -> float:
    """GETs per second through the cache actor ``make()`` builds, ``callers`` at a time."""
    async with actors.open_actor_system() as system:
        await system.spawn(make, name="cache", protocol=CACHE)  # type: ignore[arg-type]
        ref = system.ref("cache")
        await ref.ask(Set(KEY, VALUE))
        message = Get(KEY)
        for _ in range(200):  # warm up
            await ref.ask(message)
        counts = [0] * callers
        deadline = time.perf_counter() + seconds
        ask = ref.ask

        async def caller(index: int) -> None:
            n = 0
            while time.perf_counter() < deadline:
                for _ in range(CHUNK):
                    await ask(message)
                n += CHUNK
            counts[index] = n

        start = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for i in range(callers):
                nursery.start_soon(caller, i)
        elapsed = time.perf_counter() - start
    return sum(counts) / elapsed


# -- Redis ---------------------------------------------------------------------------------


def redis_ours(seconds: float, callers: int = 1) -> float:
    url = _env("REDIS_URL")
    return float(trio.run(_ours, lambda: RedisCache.from_url(url), seconds, callers))


def redis_benchmark(seconds: float, clients: int = 1) -> float:
    """``redis-benchmark -t get -c <clients> -q`` for about ``seconds``; its requests/s."""
    binary = shutil.which("redis-benchmark")
    if binary is None:
        raise SystemExit("redis-benchmark is not installed (apt-get install redis-tools)")
    url = _env("REDIS_URL")
    requests = max(2000, int(seconds * (60_000 if clients == 1 else 110_000)))
    run = subprocess.run(
        [binary, "-u", url, "-t", "get", "-c", str(clients), "-n", str(requests), "-q"],
        capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    found = re.findall(r"GET: ([0-9.]+) requests per second", run.stdout)
    if not found:
        raise BenchmarkError(f"cannot read redis-benchmark's output: {run.stdout[-200:]!r}")
    return float(found[-1])


# -- Memcached -----------------------------------------------------------------------------


def memcached_ours(seconds: float) -> float:
    address = _env("MEMCACHED_ADDR")
    return float(trio.run(_ours, lambda: MemcachedCache.from_address(address), seconds, 1))


def memcached_pymemcache(seconds: float) -> float:
    from pymemcache.client.base import Client

    host, _, port = _env("MEMCACHED_ADDR").rpartition(":")
    client = Client((host, int(port)), no_delay=True)
    client.set(KEY, VALUE)
    get = client.get

    def batch() -> float:
        for _ in range(CHUNK):
            get(KEY)
        return CHUNK

    try:
        return rate_loop(batch, seconds)
    finally:
        client.close()


# -- in memory -----------------------------------------------------------------------------


def memory_ours(seconds: float) -> float:
    return float(trio.run(_ours, MemoryCache, seconds, 1))


async def memory_actor_floor(seconds: float) -> float:
    """A raw trio ask: request and reply over two unbuffered memory channels."""
    store = {KEY: VALUE}
    request_send, request_receive = trio.open_memory_channel[str](0)
    reply_send, reply_receive = trio.open_memory_channel[bytes | None](0)

    async def serve() -> None:
        async for key in request_receive:
            await reply_send.send(store.get(key))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(serve)
        send, receive = request_send.send, reply_receive.receive

        async def batch() -> float:
            for _ in range(CHUNK):
                await send(KEY)
                await receive()
            return CHUNK

        rate = await arate_loop(batch, seconds)
        nursery.cancel_scope.cancel()
    return rate


def memory_bare_dict(seconds: float) -> float:
    store = {KEY: VALUE}
    get = store.get

    def batch() -> float:
        for _ in range(1000):
            get(KEY)
        return 1000

    return rate_loop(batch, seconds)


# -- the benchmark -------------------------------------------------------------------------


def define(bench: Bench) -> None:
    redis_1 = bench.case("redis_1", unit="req/s")
    redis_1.add("ours", redis_ours).add("redis_benchmark", redis_benchmark)
    redis_16 = bench.case("redis_16", unit="req/s")
    redis_16.add("ours", functools.partial(redis_ours, callers=16))
    redis_16.add("redis_benchmark", functools.partial(redis_benchmark, clients=16))
    bench.case("memcached", unit="req/s").add("ours", memcached_ours).add(
        "pymemcache", memcached_pymemcache
    )
    memory = bench.case("memory_get", unit="req/s")
    memory.add("ours", memory_ours).add("actor_floor", memory_actor_floor)
    memory.add("bare_dict", memory_bare_dict)
    bench.case("pg_1", unit="req/s").add("ours", pg_select1_ours).add("sync", pg_select1_sync)
    bench.case("pg_16", unit="req/s").add(
        "ours", functools.partial(pg_select1_ours, callers=16)
    ).add("sync", pg_select1_sync)

    bench.ratio("redis_1", "ours", "redis_benchmark")
    bench.ratio("redis_16", "ours", "redis_benchmark")
    bench.ratio("memcached", "ours", "pymemcache")
    bench.ratio("memory_get", "ours", "actor_floor")
    bench.ratio("memory_get", "ours", "bare_dict")
    bench.ratio("pg_1", "ours", "sync")
    bench.ratio("pg_16", "ours", "sync")
    bench.target("redis_16_vs_redis_benchmark", ">=", 0.3)
    bench.target("memory_get_vs_actor_floor", ">=", 0.5)
    bench.target("pg_1_vs_sync", ">=", 0.25)
    bench.target("pg_16_vs_sync", ">=", 0.5)


if __name__ == "__main__":
    raise SystemExit(main("data", define))

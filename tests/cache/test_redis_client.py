"""open_redis / RedisConnection: the cache's pipeline as a plain Redis client (discovery's), on
a real Redis (REDIS_URL)."""

from __future__ import annotations

import uuid

import pytest
import trio

from pywatt.cache import CacheBackendError, CacheUnavailable, open_redis

from .conftest import require_env


async def test_commands_pipeline_and_an_error_reply_is_a_typed_error() -> None:
    url = require_env("REDIS_URL")
    key = f"pywatt-test:{uuid.uuid4().hex}"
    async with trio.open_nursery() as tasks:
        redis = await open_redis(url, tasks.start_soon, name="pywatt-test-client")
        try:
            with trio.fail_after(10):
                results: dict[int, object] = {}

                async def incr(n: int) -> None:
                    results[n] = await redis.command("INCR", key)

                async with trio.open_nursery() as callers:  # in flight together
                    for n in range(20):
                        callers.start_soon(incr, n)
                assert sorted(results.values()) == list(range(1, 21))
                assert await redis.command("CLIENT", "GETNAME") == b"pywatt-test-client"
                with pytest.raises(CacheBackendError, match="WRONGTYPE"):
                    await redis.command("HGET", key, "field")
                assert await redis.command("DEL", key) == 1  # still in step after the error
        finally:
            tasks.cancel_scope.cancel()
            await redis.aclose()


async def test_a_subscriber_gets_what_is_published_after_subscribe() -> None:
    url = require_env("REDIS_URL")
    channel = f"pywatt-test:{uuid.uuid4().hex}"
    async with trio.open_nursery() as tasks:
        publisher = await open_redis(url, tasks.start_soon)
        listener = await open_redis(url, tasks.start_soon)
        try:
            with trio.fail_after(10):
                await listener.subscribe(channel)
                for n in range(3):
                    assert await publisher.command("PUBLISH", channel, f"m{n}") == 1
                received = []
                async for data in listener.messages():
                    received.append(data)
                    if len(received) == 3:
                        break
                assert received == [b"m0", b"m1", b"m2"]
        finally:
            tasks.cancel_scope.cancel()
            await publisher.aclose()
            await listener.aclose()


async def test_a_connection_killed_by_the_server_fails_its_task_and_its_commands() -> None:
    url = require_env("REDIS_URL")
    name = f"pywatt-test-{uuid.uuid4().hex[:8]}"
    failures: list[BaseException] = []
    broken = trio.Event()

    async def watched(run: object) -> None:
        try:
            await run()  # type: ignore[operator]
        except CacheUnavailable as exc:
            failures.append(exc)
            broken.set()

    async with trio.open_nursery() as tasks:
        victim = await open_redis(url, lambda run: tasks.start_soon(watched, run), name=name)
        admin = await open_redis(url, tasks.start_soon)
        try:
            with trio.fail_after(10):
                victim_id = await victim.command("CLIENT", "ID")
                assert await admin.command("CLIENT", "KILL", "ID", victim_id) == 1
                await broken.wait()  # the connection's task raised CacheUnavailable
                with pytest.raises(CacheUnavailable, match="closed the connection"):
                    await victim.command("PING")  # fails at once: the connection is broken
                assert "closed the connection" in str(failures[0])
        finally:
            tasks.cancel_scope.cancel()
            await admin.aclose()
            await victim.aclose()

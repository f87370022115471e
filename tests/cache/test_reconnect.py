"""A cache server killed and restarted: callers get errors, not hangs, and the actor
reconnects by itself. Each test starts its own private server on a private port."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import trio

import actors
from pywatt.backends import BackendState, BackendStatus, backend_board
from pywatt.cache import (
    CACHE,
    CacheUnavailable,
    Get,
    MemcachedCache,
    RedisCache,
    Set,
    cache_children,
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class PrivateServer:
    def __init__(self, kind: str, tmp: Path) -> None:
        self.kind = kind
        self.tmp = tmp
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        if self.kind == "redis":
            binary = shutil.which("redis-server")
            if binary is None:
                pytest.fail("redis-server is not installed (.ci/services.sh installs it)")
            return [binary, "--bind", "127.0.0.1", "--port", str(self.port), "--save", "",
                    "--appendonly", "no", "--dir", str(self.tmp)]  # fmt: skip
        binary = shutil.which("memcached")
        if binary is None:
            pytest.fail("memcached is not installed (.ci/services.sh installs it)")
        return [binary, "-u", "nobody", "-l", "127.0.0.1", "-p", str(self.port), "-U", "0"]

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def wait_ready(self) -> None:
        with trio.fail_after(10):
            while True:
                try:
                    stream = await trio.open_tcp_stream("127.0.0.1", self.port)
                except OSError:
                    await trio.sleep(0.02)
                    continue
                await stream.aclose()
                return

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)
        self.process = None


@pytest.fixture(params=["redis", "memcached"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PrivateServer]:
    private = PrivateServer(request.param, tmp_path)
    private.start()
    try:
        yield private
    finally:
        if private.process is not None:
            private.kill()


def _factory(server: PrivateServer) -> Callable[[], actors.Actor[Any]]:
    address = f"127.0.0.1:{server.port}"
    if server.kind == "redis":
        return lambda: RedisCache.from_url(f"redis://{address}/0", connect_timeout=1.0)
    return lambda: MemcachedCache.from_address(address, connect_timeout=1.0)


async def test_killed_server_gives_errors_then_the_actor_reconnects(
    server: PrivateServer,
) -> None:
    await server.wait_ready()
    restarts: list[actors.LifecycleEvent] = []
    kind = server.kind
    config = {"type": kind, "url": f"redis://127.0.0.1:{server.port}/0"}
    if kind == "memcached":
        config = {"type": kind, "host": "127.0.0.1", "port": server.port}
    async with actors.open_actor_system() as system:
        system.events.subscribe(
            lambda e: restarts.append(e) if isinstance(e, actors.Restarted) else None
        )
        for spec in cache_children(config):
            await system.start_supervisor(spec)  # type: ignore[arg-type]
        await system.ask("cache", Set("k", b"v"))
        assert await system.ask("cache", Get("k")) == b"v"

        server.kill()
        for _ in range(5):  # every request fails fast while the server is away
            with trio.fail_after(3), pytest.raises(CacheUnavailable):
                await system.ask("cache", Get("k"))
        assert not restarts, "a server failure is an answer, not a crash"

        server.start()
        await server.wait_ready()
        with trio.fail_after(15):
            while True:
                try:
                    await system.ask("cache", Set("k", b"back"))
                    break
                except CacheUnavailable:
                    await trio.sleep(0.05)
        assert await system.ask("cache", Get("k")) == b"back"


async def test_a_flapping_server_never_makes_requests_wait(server: PrivateServer) -> None:
    """Killed again and again, a few seconds apart: while the server is down every request
    fails at once, and once it is back service resumes at once. (A broken connection used
    to crash the actor into a restart; restarts closer together than the supervisor's
    ``within`` grew its backoff to 5 s, during which every request waited in the mailbox.)"""
    await server.wait_ready()
    kind = server.kind
    config: dict[str, Any] = {"type": kind, "url": f"redis://127.0.0.1:{server.port}/0"}
    if kind == "memcached":
        config = {"type": kind, "host": "127.0.0.1", "port": server.port}
    async with actors.open_actor_system() as system:
        for spec in cache_children(config):
            await system.start_supervisor(spec)  # type: ignore[arg-type]
        for _ in range(7):
            with trio.fail_after(1.5):  # back within a few reconnect attempts
                while True:
                    try:
                        await system.ask("cache", Set("k", b"v"))
                        break
                    except CacheUnavailable:
                        await trio.sleep(0.02)
            server.kill()
            for _ in range(3):
                with trio.fail_after(1.0), pytest.raises(CacheUnavailable):
                    await system.ask("cache", Get("k"))
            server.start()
            await server.wait_ready()


async def test_a_server_that_is_down_at_start_fails_fast_and_is_picked_up_later(
    server: PrivateServer,
) -> None:
    await server.wait_ready()
    server.kill()
    async with actors.open_actor_system() as system:
        await system.spawn(_factory(server), name="cache", protocol=CACHE)
        with trio.fail_after(3), pytest.raises(CacheUnavailable, match="cannot connect"):
            await system.ask("cache", Get("k"))
        server.start()
        await server.wait_ready()
        with trio.fail_after(15):
            while True:
                try:
                    await system.ask("cache", Set("k", b"late"))
                    break
                except CacheUnavailable:
                    await trio.sleep(0.05)
        assert await system.ask("cache", Get("k")) == b"late"


async def _stopped(pid: int) -> None:
    """Return once the child ``pid`` has stopped (SIGSTOP lands asynchronously): the kernel
    reports it to its parent, this process, through ``waitpid(WUNTRACED)``."""
    with trio.fail_after(5):
        _, status = await trio.to_thread.run_sync(
            os.waitpid, pid, os.WUNTRACED, abandon_on_cancel=True
        )
    assert os.WIFSTOPPED(status)


async def test_a_silent_server_times_out_instead_of_hanging(server: PrivateServer) -> None:
    await server.wait_ready()
    assert server.process is not None
    async with actors.open_actor_system() as system:
        address = f"127.0.0.1:{server.port}"
        factory: Callable[[], actors.Actor[Any]] = (
            (lambda: RedisCache.from_url(f"redis://{address}/0", operation_timeout=0.3))
            if server.kind == "redis"
            else (lambda: MemcachedCache.from_address(address, operation_timeout=0.3))
        )
        await system.spawn(factory, name="cache", protocol=CACHE)
        server.process.send_signal(19)  # SIGSTOP: connected, but never answers
        await _stopped(server.process.pid)  # the signal lands asynchronously: wait for it
        try:
            with trio.fail_after(3), pytest.raises(CacheUnavailable, match="no reply within"):
                await system.ask("cache", Get("k"))
        finally:
            server.process.send_signal(18)  # SIGCONT


async def _board_state(system: actors.ActorSystem, wanted: BackendState) -> BackendStatus:
    board = backend_board(system)
    with trio.fail_after(15):
        await board.wait_until(lambda b: getattr(b.get("cache"), "state", None) is wanted)
    status = board.get("cache")
    assert status is not None
    return status


async def test_the_backend_board_says_down_once_then_back(
    server: PrivateServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    await server.wait_ready()
    server.kill()
    async with actors.open_actor_system() as system:
        await system.spawn(_factory(server), name="cache", protocol=CACHE)
        status = await _board_state(system, BackendState.DOWN)
        where = f"127.0.0.1:{server.port}" + ("/0" if server.kind == "redis" else "")
        assert status.target == f"{server.kind} at {where}"
        assert status.reason == "Connection refused"
        assert status.heals
        server.start()
        await server.wait_ready()
        await _board_state(system, BackendState.UP)
        assert await system.ask("cache", Set("k", b"v")) is None
    lines = [r.getMessage() for r in caplog.records if r.name == "pywatt.backends"]
    assert lines[0] == (
        f"cache: cannot reach {server.kind} at {where}: Connection refused; will keep retrying"
    )
    assert lines[1].startswith(f"cache: reconnected to {server.kind} at {where} after ")
    assert len(lines) == 2  # however many attempts it took


async def test_a_redis_that_refuses_the_set_up_does_not_heal(tmp_path: Path) -> None:
    redis = PrivateServer("redis", tmp_path)
    redis.start()
    try:
        await redis.wait_ready()
        url = f"redis://:not-the-password@127.0.0.1:{redis.port}/0"  # it has none
        async with actors.open_actor_system() as system:
            await system.spawn(lambda: RedisCache.from_url(url), name="cache", protocol=CACHE)
            status = await _board_state(system, BackendState.DOWN)
            assert not status.heals
            assert "AUTH" in (status.reason or "")
            with trio.fail_after(3), pytest.raises(CacheUnavailable):
                await system.ask("cache", Get("k"))
    finally:
        redis.kill()


async def test_a_file_cache_whose_directory_cannot_be_made_is_down_until_it_can(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the directory's parent should be")
    directory = blocker / "cache"
    async with actors.open_actor_system() as system:
        for spec in cache_children({"type": "file", "directory": str(directory)}):
            await system.start_supervisor(spec)  # type: ignore[arg-type]
        status = await _board_state(system, BackendState.DOWN)
        assert status.target == f"files in {directory}"
        with trio.fail_after(3), pytest.raises(CacheUnavailable):
            await system.ask("cache", Get("k"))
        blocker.unlink()
        await _board_state(system, BackendState.UP)
        await system.ask("cache", Set("k", b"v"))
        assert await system.ask("cache", Get("k")) == b"v"

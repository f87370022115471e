"""PostgreSQL specifics: cancellation reaches the server, and a server that dies and comes
back gives errors (never hangs) and then service again."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import trio

import actors
from pywatt.db import (
    DATABASE,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseFacade,
    DatabasePool,
    DatabaseTimeout,
    Execute,
    PoolSettings,
)
from pywatt.db import _pg as pg_module
from pywatt.db._pg import TrioConnection
from pywatt.db._postgres import PostgresDriver

from .conftest import server_url

PGBIN = Path("/usr/lib/postgresql/15/bin")


async def backend_state(url: str, pid: int) -> tuple[str, str]:
    conn = await TrioConnection.connect(url, autocommit=True)
    try:
        cur = conn.cursor()
        await cur.execute("SELECT state, query FROM pg_stat_activity WHERE pid = %s", [pid])
        row = await cur.fetchone()
        assert row is not None
        return row[0], row[1]
    finally:
        await conn.close()


async def test_a_cancelled_query_is_cancelled_on_the_server_and_the_connection_reused() -> None:
    url = server_url("DATABASE_URL")
    async with actors.open_actor_system() as system:
        settings = PoolSettings(min_connections=1, max_connections=1)
        await system.spawn(
            lambda: DatabasePool(PostgresDriver(url), settings), name="pywatt.db", protocol=DATABASE
        )
        db = DatabaseFacade(system)
        pid = (await db.fetch_one("SELECT pg_backend_pid() AS pid"))["pid"]  # type: ignore[index]
        started = trio.current_time()
        with trio.move_on_after(0.3) as scope:
            await db.execute("SELECT pg_sleep(10)")
        assert scope.cancelled_caught
        assert trio.current_time() - started < 2.0
        with trio.fail_after(5):  # the pool answers once the server has cancelled it
            assert await db.fetch_one("SELECT pg_backend_pid() AS pid") == {"pid": pid}
        state, query = await backend_state(url, pid)
        assert state == "idle"  # not "active": the server really stopped pg_sleep
        assert query == "SELECT pg_backend_pid() AS pid"


async def test_a_cancelled_asker_without_a_deadline_still_stops_its_query() -> None:
    url = server_url("DATABASE_URL")
    async with actors.open_actor_system() as system:
        settings = PoolSettings(min_connections=1, max_connections=1)
        await system.spawn(lambda: DatabasePool(PostgresDriver(url), settings), name="pywatt.db")
        db = DatabaseFacade(system)
        pid = (await db.fetch_one("SELECT pg_backend_pid() AS pid"))["pid"]  # type: ignore[index]
        async with trio.open_nursery() as nursery:
            nursery.start_soon(db.execute, "SELECT pg_sleep(10)")
            await trio.sleep(0.3)
            nursery.cancel_scope.cancel()  # no deadline: the facade tells Abandon
        with trio.fail_after(5):
            assert await db.fetch_one("SELECT 42 AS x") == {"x": 42}
        assert (await backend_state(url, pid))[0] == "idle"


async def test_a_statement_deadline_from_the_message_answers_a_timeout() -> None:
    url = server_url("DATABASE_URL")
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: DatabasePool(PostgresDriver(url)), name="pywatt.db")
        from pywatt.db import Execute

        started = trio.current_time()
        with pytest.raises(DatabaseTimeout):
            await system.ask("pywatt.db", Execute("SELECT pg_sleep(5)", deadline=started + 0.2))
        assert trio.current_time() - started < 2.0


async def test_cancelling_a_large_send_leaves_the_connection_usable() -> None:
    url = server_url("DATABASE_URL")
    conn = await TrioConnection.connect(url, autocommit=True)
    try:
        cur = conn.cursor()
        big = "x" * (16 * 1024 * 1024)
        with trio.move_on_after(0.02):
            await cur.execute("SELECT length(%s)", [big])
        assert not conn.closed
        await cur.execute("SELECT 7")
        assert await cur.fetchone() == (7,)
    finally:
        await conn.close()


# -- a private server, killed and restarted ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _pg(*args: str) -> None:
    subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True)


@pytest.fixture
def private_server() -> Iterator[tuple[str, Path, int]]:
    if not (PGBIN / "initdb").exists():
        pytest.fail(f"PostgreSQL 15 binaries are missing from {PGBIN} (see .ci/services.sh)")
    base = Path(tempfile.mkdtemp(prefix="pywatt-pg-"))
    shutil.chown(base, "postgres", "postgres")
    data = base / "data"
    port = _free_port()
    _pg(str(PGBIN / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "--no-sync")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", data, port
    finally:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PGBIN / "pg_ctl"), "-D", str(data),
             "-m", "immediate", "-w", "stop"],
            capture_output=True, check=False,
        )  # fmt: skip
        shutil.rmtree(base, ignore_errors=True)


def _start(data: Path, port: int) -> None:
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data.parent} -c fsync=off"
    _pg(str(PGBIN / "pg_ctl"), "-D", str(data), "-l", str(data.parent / "log"), "-w",
        "-o", options, "start")  # fmt: skip


def _kill(data: Path) -> None:
    _pg(str(PGBIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")


@pytest.mark.slow
async def test_a_killed_server_gives_errors_not_hangs_and_the_pool_reconnects(
    private_server: tuple[str, Path, int],
) -> None:
    url, data, port = private_server
    await trio.to_thread.run_sync(_start, data, port)
    root = actors.SupervisorSpec("root", max_restarts=None)
    async with actors.open_actor_system(root) as system:
        settings = PoolSettings(min_connections=2, max_connections=3, acquire_timeout=5)
        spec = actors.ChildSpec(
            "pywatt.db", lambda: DatabasePool(PostgresDriver(url), settings), protocol=DATABASE
        )
        await system.start_supervisor(actors.SupervisorSpec("pywatt.services", [spec]))
        db = DatabaseFacade(system)
        assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}

        async def sleeper() -> None:
            with pytest.raises(DatabaseConnectionError):
                await db.execute("SELECT pg_sleep(30)")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(sleeper)
            await trio.sleep(0.3)
            await trio.to_thread.run_sync(_kill, data)
        # The server is down: every call fails fast with a typed error, none hangs.
        for _ in range(3):
            with trio.fail_after(3), pytest.raises(DatabaseError) as caught:
                await db.fetch_one("SELECT 1 AS one")
            assert isinstance(caught.value, DatabaseConnectionError | DatabaseTimeout)
        await trio.to_thread.run_sync(_start, data, port)
        with trio.fail_after(10):
            while True:
                try:
                    assert await db.fetch_one("SELECT 2 AS two") == {"two": 2}
                    break
                except DatabaseConnectionError:
                    await trio.sleep(0.1)
        stats = await db.statistics()
        assert stats.failed_opens >= 1
        assert stats.opened >= 2
        async with db.transaction() as tx:  # transactions work again too
            assert await tx.fetch_one("SELECT 3 AS three") == {"three": 3}
    assert (data / "PG_VERSION").exists()


def _server_pids(data: Path) -> list[int]:
    """The postmaster and its children (backends, background workers)."""
    postmaster = int((data / "postmaster.pid").read_text().split()[0])
    children = []
    for entry in Path("/proc").iterdir():
        try:
            stat = (entry / "stat").read_text()
        except (OSError, ValueError):
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == postmaster:
            children.append(int(entry.name))
    return [postmaster, *children]


async def test_a_deadline_on_a_stopped_server_is_a_timeout_not_a_crash(
    private_server: tuple[str, Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that is stopped (SIGSTOP) accepts the cancel request's connection and never
    answers it: the cancellation gives up after CANCEL_CAP and closes the connection, the
    asker gets DatabaseTimeout. (Sending the cancel raised TooSlowError, which crashed the
    pool: every request in flight got ActorCrashed.)"""
    monkeypatch.setattr(pg_module, "CANCEL_CAP", 1.0)
    url, data, port = private_server
    await trio.to_thread.run_sync(_start, data, port)
    crashes: list[actors.LifecycleEvent] = []
    async with actors.open_actor_system() as system:
        system.events.subscribe(
            lambda e: crashes.append(e) if isinstance(e, actors.Crashed) else None
        )
        settings = PoolSettings(min_connections=1, max_connections=2, acquire_timeout=1)
        await system.spawn(
            lambda: DatabasePool(PostgresDriver(url), settings), name="pywatt.db", protocol=DATABASE
        )
        db = DatabaseFacade(system)
        assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}
        pids = _server_pids(data)
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            started = trio.current_time()
            with trio.fail_after(5), pytest.raises(DatabaseTimeout):
                await system.ask("pywatt.db", Execute("SELECT 1", deadline=started + 0.2))
        finally:
            for pid in pids:
                os.kill(pid, signal.SIGCONT)
        assert not crashes
        with trio.fail_after(5):
            assert await db.fetch_one("SELECT 2 AS two") == {"two": 2}

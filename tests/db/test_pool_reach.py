"""A pool whose server is away: it tries at start (even with ``min_connections`` 0), says so
once on the backend board and in the log, answers every request at once instead of letting
each wait or try the server, retries in the background and comes back by itself; a restarted
pool keeps what it said. SQLite on a directory that does not exist yet plays the server that
comes back (it is made later); PostgreSQL's refusals are told apart from its absence."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest
import trio

import actors
from actors.testing import crash
from pywatt import ConfigError
from pywatt.backends import BackendState, backend_board
from pywatt.db import (
    DatabaseConnectionError,
    DatabaseFacade,
    DatabaseRefused,
    PoolStatus,
    database_children,
)

from .conftest import server_url


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port  # closed again: nothing listens there


async def _start(system: actors.ActorSystem, config: dict[str, object]) -> DatabaseFacade:
    for spec in database_children(config):
        assert isinstance(spec, actors.ChildSpec)
        await system.spawn(spec.factory, name=spec.name, protocol=spec.protocol)
    return DatabaseFacade(system)


async def _state(system: actors.ActorSystem, wanted: BackendState) -> None:
    board = backend_board(system)
    with trio.fail_after(10):
        await board.wait_until(lambda b: getattr(b.get("pywatt.db"), "state", None) is wanted)


async def test_a_server_that_is_down_answers_every_request_at_once() -> None:
    restarts: list[actors.LifecycleEvent] = []
    port = _closed_port()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    async with actors.open_actor_system() as system:
        system.events.subscribe(
            lambda e: restarts.append(e) if isinstance(e, actors.Restarted) else None
        )
        db = await _start(system, {"url": url})  # acquire_timeout: the default 30 s
        await _state(system, BackendState.DOWN)
        status = backend_board(system).get("pywatt.db")
        assert status is not None
        assert status.target == f"postgresql at 127.0.0.1:{port}/postgres"
        assert "Connection refused" in (status.reason or "")
        for _ in range(20):
            with trio.fail_after(1), pytest.raises(DatabaseConnectionError) as caught:
                await db.execute_query("SELECT 1")
            assert str(caught.value).startswith(
                f"pywatt.db: cannot reach postgresql at 127.0.0.1:{port}/postgres: "
            )
        stats = await system.ask("pywatt.db", PoolStatus())
        assert stats.failed_opens < 10  # the retry timer's attempts, not one per request
    assert not restarts


async def test_the_pool_comes_back_by_itself_when_its_database_appears(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    later = tmp_path / "later"
    async with actors.open_actor_system() as system:
        db = await _start(system, {"path": str(later / "app.db")})
        await _state(system, BackendState.DOWN)
        with trio.fail_after(1), pytest.raises(DatabaseRefused, match="unable to open"):
            await db.execute_query("SELECT 1")
        later.mkdir()
        await _state(system, BackendState.UP)  # no request needed: the retry timer found it
        assert await db.fetch_one("SELECT 41 + 1 AS answer") == {"answer": 42}
    lines = [r.getMessage() for r in caplog.records if r.name == "pywatt.backends"]
    target = f"sqlite at {later / 'app.db'}"
    assert lines[0].startswith(f"pywatt.db: cannot use {target}: cannot open SQLite database")
    assert lines[0].endswith("; will keep retrying")
    assert lines[1].startswith(f"pywatt.db: reconnected to {target} after ")
    assert len(lines) == 2


async def test_a_restarted_pool_keeps_what_it_said_and_goes_on_retrying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "pywatt.backends")
    later = tmp_path / "later"
    async with actors.open_actor_system() as system:
        db = await _start(system, {"path": str(later / "app.db"), "required": True})
        await _state(system, BackendState.DOWN)
        before = backend_board(system).get("pywatt.db")
        assert before is not None
        assert before.required
        assert await crash(system, "pywatt.db") == 1
        await system.ask("pywatt.db", PoolStatus())  # served by the next incarnation
        after = backend_board(system).get("pywatt.db")
        assert after == before  # still down, since the same moment, still required
        later.mkdir()
        await _state(system, BackendState.UP)
        assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}
    # Required: its first failure was the start-up's to say; only the return is logged.
    lines = [r.getMessage() for r in caplog.records if r.name == "pywatt.backends"]
    assert len(lines) == 1
    assert lines[0].startswith("pywatt.db: reconnected to sqlite at ")


async def test_with_min_connections_zero_the_pool_still_tries_at_start(tmp_path: Path) -> None:
    config = {"path": str(tmp_path / "app.db"), "pool_config": {"min_connections": 0}}
    async with actors.open_actor_system() as system:
        await _start(system, config)
        await _state(system, BackendState.UP)


async def test_a_postgres_refusal_is_told_apart_from_an_absent_server() -> None:
    server = server_url("DATABASE_URL").split("@", 1)[1].split("/", 1)[0]
    async with actors.open_actor_system() as system:
        db = await _start(system, {"url": f"postgresql://nosuchrole@{server}/postgres"})
        await _state(system, BackendState.DOWN)
        status = backend_board(system).get("pywatt.db")
        assert status is not None
        assert not status.heals
        assert 'role "nosuchrole" does not exist' in (status.reason or "")
        with trio.fail_after(1), pytest.raises(DatabaseRefused, match="cannot use postgresql"):
            await db.execute_query("SELECT 1")


@pytest.mark.parametrize(
    ("config", "said"),
    [
        ({"url": "postgresql://%zz@127.0.0.1/app"}, "invalid percent-encoded token"),
        ({"url": "postgresql://app@127.0.0.1:port/app"}, "the port 'port' is not a number"),
        ({"type": "postgresql", "host": "db", "port": "x"}, "database_config['port'] must be a"),
        ({"url": "mysql://root@127.0.0.1:port/app"}, "Port could not be cast"),
        ({"type": "mysql", "port": "x"}, "database_config['port'] must be a number"),
        ({"url": "nosuch://db/app"}, "unknown scheme 'nosuch'"),
        ({"path": "app.db", "required": "yes"}, "database_config['required'] must be True or"),
    ],
)
def test_a_malformed_config_is_a_config_error_at_once(config: dict[str, object], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        database_children(config)
    assert said in str(caught.value)

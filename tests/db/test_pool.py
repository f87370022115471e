"""Pool behaviour: acquire deadline, credential rotation, cancellation in the thread-backed
drivers (SQLite interrupt, MySQL KILL QUERY), and the proxy's wire traffic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
import pytest
import trio

import actors
from pywatt.db import (
    DATABASE,
    DatabaseFacade,
    DatabasePool,
    DatabaseTimeout,
    DbConnection,
    FetchOne,
    PoolSettings,
)
from pywatt.db._config import driver_from_url
from pywatt.db._sqlite import SqliteDriver
from pywatt.secrets import GetSecret, Secret, SecretRotated, Subscribe, Unsubscribe
from pywatt.wire import ModuleToOrchestrator, ServiceOperation, ServiceRequest, decode_json

from .conftest import open_database, server_url


class RecordingDriver(SqliteDriver):
    """SQLite, remembering the password each connection was opened with."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.passwords: list[str | None] = []

    async def connect(self, password: str | None) -> DbConnection:
        self.passwords.append(password)
        return await super().connect(password)


@attrs.define
class FakeSecrets(actors.Actor[GetSecret | Subscribe | Unsubscribe]):
    """Answers the secrets protocol for one value; ``rotate`` tells subscribers."""

    value: str
    sinks: list[Any] = attrs.Factory(list)

    async def receive(self, message: GetSecret | Subscribe | Unsubscribe) -> Any:
        if isinstance(message, GetSecret):
            return Secret(message.name, self.value)
        if isinstance(message, Subscribe):
            self.sinks.append(message.sink)
        return None


async def test_credentials_are_reread_when_their_secret_rotates(tmp_path: Path) -> None:
    secrets = FakeSecrets("old")
    driver = RecordingDriver(str(tmp_path / "r.db"))
    async with actors.open_actor_system() as system:
        await system.spawn(lambda: secrets, name="pywatt.secrets")
        settings = PoolSettings(min_connections=1, max_connections=2)
        await system.spawn(
            lambda: DatabasePool(driver, settings, password_secret="DB_PASSWORD"),
            name="pywatt.db",
        )
        db = DatabaseFacade(system)
        await db.ping()
        assert driver.passwords == ["old"]
        secrets.value = "new"
        for sink in secrets.sinks:
            await sink.tell(SecretRotated(Secret("DB_PASSWORD", "new", version=2)))
        await db.ping()  # served by a connection opened with the rotated password
        assert driver.passwords[-1] == "new"
        stats = await db.statistics()
        assert stats.closed >= 1  # the connection opened with the old password is gone


async def test_a_request_that_finds_no_connection_in_time_gets_a_timeout(tmp_path: Path) -> None:
    settings = PoolSettings(min_connections=1, max_connections=1, acquire_timeout=0.3)
    async with open_database("sqlite", tmp_path, settings) as (_, db):
        async with db.transaction():  # holds the only connection
            with trio.fail_after(3), pytest.raises(DatabaseTimeout, match="no connection"):
                await db.fetch_one("SELECT 1 AS x")
        assert await db.fetch_one("SELECT 1 AS x") == {"x": 1}


async def test_a_request_whose_deadline_passed_in_the_queue_gives_its_connection_back(
    tmp_path: Path,
) -> None:
    """The connection that picks up a queued request whose deadline has already passed
    answers it DatabaseTimeout and serves the next one. (It used to park without going
    back to the idle list, so after a server stall every connection was lost that way and
    the pool answered nothing but timeouts.)"""
    settings = PoolSettings(min_connections=1, max_connections=1, acquire_timeout=30)
    async with open_database("sqlite", tmp_path, settings) as (system, db):
        expired = FetchOne("SELECT 1 AS x", deadline=trio.current_time() + 0.1)

        async def expires() -> None:
            with trio.fail_after(3), pytest.raises(DatabaseTimeout):
                await system.ask("pywatt.db", expired)

        async with trio.open_nursery() as nursery, db.transaction():  # the only connection
            nursery.start_soon(expires)
            await trio.sleep(0.3)  # its deadline passes while it waits for a connection
        with trio.fail_after(3):
            assert await db.fetch_one("SELECT 2 AS x") == {"x": 2}
        statistics = await db.statistics()
        assert (statistics.idle, statistics.in_use) == (1, 0)


async def test_a_cancelled_sqlite_statement_is_interrupted(tmp_path: Path) -> None:
    settings = PoolSettings(min_connections=1, max_connections=1)
    async with open_database("sqlite", tmp_path, settings) as (_, db):
        endless = (
            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
            "SELECT COUNT(*) AS n FROM c"
        )
        started = trio.current_time()
        with trio.move_on_after(0.3):
            await db.fetch_one(endless)
        assert trio.current_time() - started < 2.0
        with trio.fail_after(3):
            assert await db.fetch_one("SELECT 5 AS x") == {"x": 5}


async def test_a_cancelled_mysql_statement_is_killed_on_the_server(tmp_path: Path) -> None:
    server_url("MYSQL_URL")
    settings = PoolSettings(min_connections=1, max_connections=1)
    async with open_database("mysql", tmp_path, settings) as (_, db):
        conn_id = (await db.fetch_one("SELECT CONNECTION_ID() AS id"))["id"]  # type: ignore[index]
        started = trio.current_time()
        with trio.move_on_after(0.3):
            await db.execute("SELECT SLEEP(20)")
        with trio.fail_after(5):
            assert await db.fetch_one("SELECT CONNECTION_ID() AS id") == {"id": conn_id}
        assert trio.current_time() - started < 5.0
        other = driver_from_url(server_url("MYSQL_URL"))
        async with actors.open_actor_system() as system:
            await system.spawn(lambda: DatabasePool(other), name="pywatt.db", protocol=DATABASE)
            row = await DatabaseFacade(system).fetch_one(
                "SELECT COMMAND AS command FROM information_schema.PROCESSLIST WHERE ID = ?",
                [conn_id],
            )
        assert row is not None
        assert row["command"] == "Sleep"


async def test_the_proxy_speaks_service_request_and_echoed_operations(tmp_path: Path) -> None:
    from .conftest import database_children, init_blob, open_proxy_link

    async with actors.open_actor_system() as system, open_proxy_link(system) as (host, lines):
        config = {"proxy": True, "type": "postgresql", "database": "app"}
        (spec,) = database_children(config, init_blob())
        assert isinstance(spec, actors.ChildSpec)
        await system.spawn(spec.factory, name=spec.name)
        db = DatabaseFacade(system)
        assert await db.fetch_one("SELECT ? + ? AS x", [1, 2]) == {"x": 3}
        sent = [decode_json(line, ModuleToOrchestrator) for line in lines]
        request = next(m for m in sent if isinstance(m, ServiceRequest))
        assert request.id.startswith("db_request_")
        assert request.config["db_type"] == "postgres"  # type: ignore[index]
        operation = next(m for m in sent if isinstance(m, ServiceOperation))
        assert operation.operation == "query_one"
        assert operation.params == {"params": [1, 2], "query": "SELECT ? + ? AS x"}
        assert "sqlite" in host.state["database"].description  # the orchestrator's default
        await system.stop("pywatt.db")


async def test_the_orchestrator_serves_proxies_from_a_database_url_it_is_given() -> None:
    from .conftest import database_children, init_blob, open_proxy_link

    url = server_url("DATABASE_URL")
    async with (
        actors.open_actor_system() as system,
        open_proxy_link(system, {"DATABASE_URL": url}) as (host, _),
    ):
        (spec,) = database_children({"proxy": True, "type": "postgresql"}, init_blob())
        assert isinstance(spec, actors.ChildSpec)
        await system.spawn(spec.factory, name=spec.name)
        db = DatabaseFacade(system)
        # $n placeholders, as the Rust SDK sends them, are accepted on the proxy path.
        assert await db.fetch_one("SELECT $2::int - $1::int AS d", [1, 5]) == {"d": 4}
        assert (await db.fetch_one("SELECT version() AS v"))["v"].startswith("PostgreSQL")  # type: ignore[index]
        assert host.state["database"].description.startswith("postgresql://")
        await system.stop("pywatt.db")

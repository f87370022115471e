"""PostgreSQL: read statements queued behind a busy connection run together in one pipeline,
and each caller still gets exactly what it would have got alone (its rows, its own error,
no side effect twice), while cancellation never reaches a neighbour's statement."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

import actors
from pywatt.db import (
    DATABASE,
    DatabaseFacade,
    DatabasePool,
    PoolSettings,
    QueryError,
)
from pywatt.db._driver import Mode
from pywatt.db._postgres import PostgresConnection, PostgresDriver

from .conftest import server_url, unique_table
from .test_postgres import backend_state

Batches = list[int]


@pytest.fixture
def batches(monkeypatch: pytest.MonkeyPatch) -> Batches:
    """The size of every pipeline PostgreSQL connections run."""
    sizes: Batches = []
    original = PostgresConnection.run_batch

    async def spy(self: PostgresConnection, statements: Sequence[Any]) -> list[Any]:
        sizes.append(len(statements))
        return await original(self, statements)

    monkeypatch.setattr(PostgresConnection, "run_batch", spy)
    return sizes


@asynccontextmanager
async def one_connection() -> AsyncIterator[DatabaseFacade]:
    url = server_url("DATABASE_URL")
    settings = PoolSettings(min_connections=1, max_connections=1)
    async with actors.open_actor_system() as system:
        await system.spawn(
            lambda: DatabasePool(PostgresDriver(url), settings), name="pywatt.db", protocol=DATABASE
        )
        db = DatabaseFacade(system)
        await db.ping()
        yield db
        await system.stop("pywatt.db")


async def test_queued_selects_share_one_round_trip_and_each_gets_its_own_rows(
    batches: Batches,
) -> None:
    async with one_connection() as db:
        answers: dict[int, Any] = {}

        async def ask(i: int) -> None:
            answers[i] = await db.fetch_one("SELECT ?::int AS v, 'x' || ? AS s", [i, i])

        async with trio.open_nursery() as nursery:
            nursery.start_soon(db.execute, "SELECT pg_sleep(0.2)")  # keeps it busy
            await trio.sleep(0.05)
            for i in range(10):
                nursery.start_soon(ask, i)
        assert answers == {i: {"v": i, "s": f"x{i}"} for i in range(10)}
        assert batches
        assert max(batches) >= 2


async def test_a_failing_statement_in_a_pipeline_fails_alone(batches: Batches) -> None:
    async with one_connection() as db:
        answers: dict[int, Any] = {}

        async def ask(i: int) -> None:
            try:
                answers[i] = await db.fetch_all("SELECT 10 / ? AS q", [i - 3])
            except QueryError as exc:
                answers[i] = exc

        async with trio.open_nursery() as nursery:
            nursery.start_soon(db.execute, "SELECT pg_sleep(0.2)")
            await trio.sleep(0.05)
            for i in range(6):
                nursery.start_soon(ask, i)
        assert isinstance(answers[3], QueryError)
        assert "division by zero" in str(answers[3])
        for i in (0, 1, 2, 4, 5):
            assert answers[i] == [{"q": int(10 / (i - 3))}], i
        assert batches
        assert max(batches) >= 2


async def test_a_failed_pipeline_runs_each_statement_exactly_once() -> None:
    url = server_url("DATABASE_URL")
    table = unique_table("pipe")
    conn = await PostgresDriver(url).connect(None)
    assert isinstance(conn, PostgresConnection)
    try:
        await conn.run(Mode.EXECUTE, f"CREATE TABLE {table} (n int)", ())
        await conn.run(
            Mode.EXECUTE,
            f"CREATE FUNCTION {table}_add() RETURNS int LANGUAGE sql AS "
            f"$$ INSERT INTO {table} VALUES (1) RETURNING n $$",
            (),
        )
        outcomes = await conn.run_batch(
            [
                (Mode.ONE, f"SELECT {table}_add() AS n", (), None),
                (Mode.ONE, "SELECT 1 / 0 AS boom", (), None),
                (Mode.MANY, "SELECT %s::text AS t", (object(),), None),  # cannot adapt
            ]
        )
        assert outcomes[0] == {"n": 1}
        assert isinstance(outcomes[1], QueryError)
        assert isinstance(outcomes[2], QueryError)
        # The pipeline was rolled back as a whole and the insert ran again on its own.
        assert await conn.run(Mode.ONE, f"SELECT count(*) AS c FROM {table}", ()) == {"c": 1}
        assert await conn.run_batch(
            [(Mode.QUERY, "SELECT 1 AS a", (), None), (Mode.ONE, "SELECT 2 AS b", (), None)]
        ) == [await conn.run(Mode.QUERY, "SELECT 1 AS a", ()), {"b": 2}]
    finally:
        await conn.run(Mode.EXECUTE, f"DROP TABLE IF EXISTS {table} CASCADE", ())
        await conn.aclose()


async def test_an_abandoned_pipelined_query_does_not_cancel_its_neighbours(
    batches: Batches,
) -> None:
    async with one_connection() as db:
        answer: list[Any] = []

        async def neighbour() -> None:
            answer.append(await db.fetch_one("SELECT 2 AS two, pg_sleep(0.3) AS s"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(db.execute, "SELECT pg_sleep(0.2)")
            await trio.sleep(0.05)
            async with trio.open_nursery() as quitter:
                quitter.start_soon(db.fetch_one, "SELECT 1 AS one, pg_sleep(0.3) AS s")
                nursery.start_soon(neighbour)
                await trio.sleep(0.3)  # both now run in one pipeline
                quitter.cancel_scope.cancel()  # its asker gives up: Abandon
        assert answer
        assert answer[0]["two"] == 2
        assert 2 in batches
        assert await db.fetch_one("SELECT 3 AS three") == {"three": 3}


async def test_a_pipeline_whose_askers_all_gave_up_is_cancelled_on_the_server(
    batches: Batches,
) -> None:
    async with one_connection() as db:
        pid = (await db.fetch_one("SELECT pg_backend_pid() AS pid"))["pid"]  # type: ignore[index]
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(db.execute, "SELECT pg_sleep(0.2)")
            await trio.sleep(0.05)
            async with trio.open_nursery() as quitters:
                for _ in range(2):
                    quitters.start_soon(db.fetch_one, "SELECT pg_sleep(10) AS s")
                await trio.sleep(0.4)
                quitters.cancel_scope.cancel()
        assert 2 in batches
        with trio.fail_after(5):
            assert await db.fetch_one("SELECT pg_backend_pid() AS pid") == {"pid": pid}
        assert trio.current_time() - started < 5.0
        assert (await backend_state(server_url("DATABASE_URL"), pid))[0] == "idle"

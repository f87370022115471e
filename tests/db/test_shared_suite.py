"""Every operation of the database protocol on every backend: PostgreSQL, SQLite, MySQL
(MariaDB) and the proxy through the orchestrator. One suite, parametrized by backend."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import trio

from pywatt.db import (
    ConstraintViolation,
    DatabaseFacade,
    ParameterError,
    QueryError,
    Statement,
    TransactionError,
)

from .conftest import unique_table


@pytest.fixture
async def table(db: DatabaseFacade) -> AsyncIterator[str]:
    name = unique_table()
    await db.execute(
        f"CREATE TABLE {name} (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL UNIQUE, "
        "score DOUBLE PRECISION)"
    )
    try:
        yield name
    finally:
        with trio.CancelScope(shield=True):
            await db.execute(f"DROP TABLE {name}")


async def fill(db: DatabaseFacade, table: str, n: int = 3) -> None:
    await db.execute_many(
        f"INSERT INTO {table} (id, name, score) VALUES (?, ?, ?)",
        [(i, f"name-{i}", i / 2) for i in range(1, n + 1)],
    )


async def test_execute_returns_the_affected_row_count(db: DatabaseFacade, table: str) -> None:
    await fill(db, table)
    assert await db.execute(f"UPDATE {table} SET score = ? WHERE id > ?", [9.5, 1]) == 2
    assert await db.execute(f"DELETE FROM {table} WHERE id = ?", [3]) == 1


async def test_fetch_all_and_execute_query_return_rows_as_dicts(
    db: DatabaseFacade, table: str
) -> None:
    await fill(db, table)
    rows = await db.fetch_all(f"SELECT id, name, score FROM {table} WHERE id <= ? ORDER BY id", [2])
    assert rows == [
        {"id": 1, "name": "name-1", "score": 0.5},
        {"id": 2, "name": "name-2", "score": 1.0},
    ]
    assert await db.execute_query(f"SELECT name FROM {table} WHERE id = ?", [3]) == [
        {"name": "name-3"}
    ]


async def test_fetch_one_returns_the_first_row_or_none(db: DatabaseFacade, table: str) -> None:
    await fill(db, table)
    assert await db.fetch_one(f"SELECT name FROM {table} ORDER BY id DESC") == {"name": "name-3"}
    assert await db.fetch_one(f"SELECT name FROM {table} WHERE id = ?", [42]) is None


async def test_fetch_many_returns_at_most_size_rows(db: DatabaseFacade, table: str) -> None:
    await fill(db, table, 5)
    rows = await db.fetch_many(f"SELECT id FROM {table} ORDER BY id", size=2)
    assert rows == [{"id": 1}, {"id": 2}]


async def test_query_returns_columns_rows_and_rowcount(db: DatabaseFacade, table: str) -> None:
    await fill(db, table)
    result = await db.query(f"SELECT id, name FROM {table} WHERE id >= ? ORDER BY id", [2])
    assert sorted(result.columns) == ["id", "name"]
    assert result.rowcount == 2
    assert result.dicts() == [{"id": 2, "name": "name-2"}, {"id": 3, "name": "name-3"}]


async def test_a_batch_is_all_or_nothing(db: DatabaseFacade, table: str) -> None:
    counts = await db.batch(
        [
            Statement(f"INSERT INTO {table} (id, name) VALUES (?, ?)", (1, "a")),
            (f"INSERT INTO {table} (id, name) VALUES (?, ?)", (2, "b")),
            (f"UPDATE {table} SET score = ?", (1.5,)),
        ]
    )
    assert counts == [1, 1, 2]
    with pytest.raises(ConstraintViolation):
        await db.execute_many(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [(3, "c"), (4, "a")])
    assert await db.fetch_all(f"SELECT id FROM {table} ORDER BY id") == [{"id": 1}, {"id": 2}]


async def test_question_marks_in_strings_and_comments_are_not_parameters(
    db: DatabaseFacade, table: str
) -> None:
    await db.execute(
        f"INSERT INTO {table} (id, name) VALUES (?, 'why? 100%') -- a comment? yes\n", [1]
    )
    row = await db.fetch_one(
        f"SELECT name /* what? */ FROM {table} WHERE name = 'why? 100%' AND id = ?", [1]
    )
    assert row == {"name": "why? 100%"}


async def test_a_constraint_violation_is_typed_and_the_pool_goes_on(
    db: DatabaseFacade, table: str
) -> None:
    await fill(db, table, 1)
    with pytest.raises(ConstraintViolation) as caught:
        await db.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [2, "name-1"])
    assert caught.value.__cause__ is not None  # chained from the driver's (or the link's) error
    assert await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}") == {"n": 1}


async def test_a_bad_statement_is_a_query_error_and_the_pool_goes_on(db: DatabaseFacade) -> None:
    with pytest.raises(QueryError) as caught:
        await db.execute("SELECT * FROM no_such_table_at_all")
    assert not isinstance(caught.value, ConstraintViolation)
    assert caught.value.__cause__ is not None
    await db.ping()
    assert await db.fetch_one("SELECT 1 AS one") == {"one": 1}


async def test_a_parameter_count_mismatch_is_a_parameter_error(
    db: DatabaseFacade, table: str
) -> None:
    with pytest.raises(ParameterError, match="1 placeholder"):
        await db.execute(f"DELETE FROM {table} WHERE id = ?", [1, 2])


async def test_a_transaction_commits_when_its_block_ends(db: DatabaseFacade, table: str) -> None:
    async with db.transaction() as tx:
        await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [1, "Alice"])
        await tx.execute_many(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [(2, "Bob")])
        assert await tx.fetch_all(f"SELECT id FROM {table} ORDER BY id") == [{"id": 1}, {"id": 2}]
    assert len(await db.fetch_all(f"SELECT id FROM {table}")) == 2


async def test_a_transaction_holds_one_connection_isolated_from_others(
    db: DatabaseFacade, table: str
) -> None:
    async with db.transaction() as tx:
        await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [1, "Alice"])
        assert await tx.fetch_one(f"SELECT name FROM {table}") == {"name": "Alice"}
        assert await db.fetch_one(f"SELECT name FROM {table}") is None  # not committed yet
        await tx.commit()
    assert await db.fetch_one(f"SELECT name FROM {table}") == {"name": "Alice"}


async def test_a_transaction_rolls_back_on_an_error(db: DatabaseFacade, table: str) -> None:
    with pytest.raises(ZeroDivisionError):
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [1, "Alice"])
            _ = 1 / 0
    with pytest.raises(ConstraintViolation):
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [2, "Bob"])
            await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [3, "Bob"])
    assert await db.fetch_all(f"SELECT id FROM {table}") == []
    assert (await db.statistics()).transactions == 0


async def test_a_transaction_rolls_back_on_cancellation(db: DatabaseFacade, table: str) -> None:
    with trio.move_on_after(0.5) as scope:
        async with db.transaction() as tx:
            await tx.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [1, "Alice"])
            await trio.sleep(10)
    assert scope.cancelled_caught
    assert await db.fetch_all(f"SELECT id FROM {table}") == []
    assert (await db.statistics()).transactions == 0


async def test_an_ended_transaction_refuses_statements(db: DatabaseFacade, table: str) -> None:
    async with db.transaction() as tx:
        await tx.commit()
        with pytest.raises(TransactionError):
            await tx.execute(f"DELETE FROM {table}")
        await tx.rollback()  # a no-op once ended


async def test_concurrent_callers_share_the_pool(db: DatabaseFacade, table: str) -> None:
    async def insert(i: int) -> None:
        await db.execute(f"INSERT INTO {table} (id, name) VALUES (?, ?)", [i, f"n{i}"])

    async with trio.open_nursery() as nursery:
        for i in range(20):
            nursery.start_soon(insert, i)
    assert (await db.fetch_one(f"SELECT COUNT(*) AS n FROM {table}")) == {"n": 20}
    stats = await db.statistics()
    assert stats.in_use == 0
    assert 1 <= stats.idle <= 4

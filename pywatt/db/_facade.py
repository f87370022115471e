"""``DatabaseFacade``: the friendly face of a database actor (what ``AppState`` holds).

Every method is one ask of the actor registered under the facade's name (``pywatt.db`` by
default), so a user's own actor answering the database protocol serves it instead. No
database logic lives here, only two courtesies to the caller:

* the caller's deadline travels with the request (``trio.current_effective_deadline()``),
  so the actor cancels the statement on the server when it passes;
* a caller cancelled for any other reason tells the actor :class:`~pywatt.db.Abandon`, so
  its statement stops too.

Wiring it into ``AppState`` takes two lines::

    state.database = DatabaseFacade(system)
    state.execute_query = state.database.execute_query
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from typing import Any, Final, TypeVar

import trio

import actors
from pywatt.tracing import db_span
from pywatt.tracing import enabled as tracing_enabled

from ._errors import TransactionError
from ._messages import (
    Abandon,
    Batch,
    Begin,
    Commit,
    Execute,
    FetchMany,
    FetchOne,
    Ping,
    PoolStatistics,
    PoolStatus,
    Query,
    QueryResult,
    Rollback,
    Row,
    Statement,
    statements,
)

__all__ = ["DEFAULT_NAME", "DatabaseFacade", "Transaction"]

DEFAULT_NAME: Final = "pywatt.db"
ROLLBACK_BOUND: Final = 5.0
"""Seconds a rollback after an error or a cancellation may take before it is abandoned
(the pool then discards the connection)."""

R = TypeVar("R")


def _deadline() -> float | None:
    deadline = trio.current_effective_deadline()
    return None if deadline == math.inf else deadline


class _Asker:
    __slots__ = ("name", "system")

    def __init__(self, system: actors.ActorSystem, name: str) -> None:
        self.system = system
        self.name = name

    async def ask(self, message: actors.Request[R]) -> R:
        if tracing_enabled():
            with db_span(self.name, _statement(message)):
                return await self._ask(message)
        return await self._ask(message)

    async def _ask(self, message: actors.Request[R]) -> R:
        ref = self.system.ref(self.name)
        try:
            return await ref.ask(message)
        except trio.Cancelled:
            # Stopped or full: the statement's own deadline still ends it.
            with contextlib.suppress(actors.ActorError):
                ref.tell_nowait(Abandon(message))
            raise


def _statement(message: object) -> str:
    """What a span shows of a statement: its SQL with the placeholders (never the values);
    a batch's statements joined by ``;``; else the message's name (``BEGIN``, ``PING``)."""
    sql = getattr(message, "sql", None)
    if isinstance(sql, str):
        return sql
    if isinstance(message, Batch):
        return "; ".join(statement.sql for statement in message.statements)
    return type(message).__name__.upper()


class DatabaseFacade:
    """Asks the database actor ``name`` of ``system``. Every method blocks until the
    answer and raises the actor's typed errors (:class:`~pywatt.db.DatabaseError`
    subclasses), or :class:`actors.NoSuchActor` when no database actor runs.

    Parameters are a sequence of values matching the ``?`` placeholders of ``sql``.
    """

    def __init__(self, system: actors.ActorSystem, name: str = DEFAULT_NAME) -> None:
        self._asker = _Asker(system, name)
        self.name = name

    async def execute_query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a statement and return its rows as dicts (``[]`` for one without rows).
        The seed's ``AppState.execute_query``."""
        result = await self._asker.ask(Query(sql, params, deadline=_deadline()))
        return result.dicts()

    async def query(self, sql: str, params: Sequence[Any] = ()) -> QueryResult:
        """Run a statement; its columns, rows (tuples) and row count."""
        return await self._asker.ask(Query(sql, params, deadline=_deadline()))

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run a statement; the number of rows it affected."""
        return await self._asker.ask(Execute(sql, params, deadline=_deadline()))

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        """Run a query; its first row, or None."""
        return await self._asker.ask(FetchOne(sql, params, deadline=_deadline()))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query; every row."""
        return await self._asker.ask(FetchMany(sql, params, deadline=_deadline()))

    async def fetch_many(self, sql: str, params: Sequence[Any] = (), *, size: int) -> list[Row]:
        """Run a query; its first ``size`` rows."""
        return await self._asker.ask(FetchMany(sql, params, size, deadline=_deadline()))

    async def execute_many(self, sql: str, param_sets: Iterable[Sequence[Any]]) -> list[int]:
        """Run ``sql`` once per parameter set, all or nothing; each row count."""
        return await self.batch(statements(sql, param_sets))

    async def batch(self, batch: Iterable[Statement | tuple[str, Sequence[Any]]]) -> list[int]:
        """Run statements in order on one connection, all or nothing; each row count."""
        items = tuple(
            s if isinstance(s, Statement) else Statement(s[0], tuple(s[1])) for s in batch
        )
        return await self._asker.ask(Batch(items, deadline=_deadline()))

    async def ping(self) -> None:
        """Check that the database answers."""
        await self._asker.ask(Ping(deadline=_deadline()))

    async def statistics(self) -> PoolStatistics:
        """The pool's statistics."""
        return await self._asker.ask(PoolStatus())

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Transaction]:
        """A transaction on one connection for the whole block::

            async with db.transaction() as tx:
                await tx.execute("INSERT INTO users (name) VALUES (?)", ["Alice"])

        Leaving the block commits (unless ``tx.commit()``/``tx.rollback()`` already ended
        it); an exception or a cancellation rolls it back (shielded, at most
        :data:`ROLLBACK_BOUND` seconds) and propagates.
        """
        tx_id = await self._asker.ask(Begin(deadline=_deadline()))
        tx = Transaction(self._asker, tx_id)
        try:
            yield tx
        except BaseException:
            if not tx.ended:
                tx.ended = True
                with trio.CancelScope(shield=True), trio.move_on_after(ROLLBACK_BOUND):
                    await self._asker.ask(Rollback(tx_id))
            raise
        if not tx.ended:
            await tx.commit()


class Transaction:
    """An open transaction (from :meth:`DatabaseFacade.transaction`). Its statements run
    one at a time on the transaction's connection; methods as the facade's."""

    def __init__(self, asker: _Asker, transaction_id: str) -> None:
        self._asker = asker
        self.id = transaction_id
        self.ended = False

    def _check(self) -> str:
        if self.ended:
            raise TransactionError(f"transaction {self.id!r} already ended")
        return self.id

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        return await self._asker.ask(Execute(sql, params, self._check(), _deadline()))

    async def query(self, sql: str, params: Sequence[Any] = ()) -> QueryResult:
        return await self._asker.ask(Query(sql, params, self._check(), _deadline()))

    async def execute_query(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return (await self.query(sql, params)).dicts()

    async def fetch_one(self, sql: str, params: Sequence[Any] = ()) -> Row | None:
        return await self._asker.ask(FetchOne(sql, params, self._check(), _deadline()))

    async def fetch_all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        return await self._asker.ask(FetchMany(sql, params, None, self._check(), _deadline()))

    async def fetch_many(self, sql: str, params: Sequence[Any] = (), *, size: int) -> list[Row]:
        return await self._asker.ask(FetchMany(sql, params, size, self._check(), _deadline()))

    async def execute_many(self, sql: str, param_sets: Iterable[Sequence[Any]]) -> list[int]:
        return await self._asker.ask(Batch(statements(sql, param_sets), self._check(), _deadline()))

    async def commit(self) -> None:
        """Commit and end the transaction. Raises TransactionError if it already ended."""
        tx_id = self._check()
        self.ended = True
        await self._asker.ask(Commit(tx_id, _deadline()))

    async def rollback(self) -> None:
        """Roll back and end the transaction (a no-op if it already ended)."""
        if self.ended:
            return
        self.ended = True
        await self._asker.ask(Rollback(self.id, _deadline()))

"""PostgreSQL: psycopg 3 on :class:`~pywatt.db._pg.TrioConnection`, no thread per query.

Connections run in autocommit mode with explicit ``BEGIN``, so a statement outside a
transaction never leaves one open. Statements are prepared by psycopg after five uses
(``prepare_threshold``). A cancelled statement is cancelled on the server by the
connection's own driving loop; the connection comes back idle.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg import errors as e
from psycopg import pq

from ._driver import ConnState, DbConnection, Driver, Mode
from ._errors import (
    ConstraintViolation,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseTimeout,
    QueryError,
)
from ._messages import QueryResult
from ._params import Dialect
from ._pg import TrioConnection

__all__ = ["PostgresDriver"]

_STATES: Final[dict[int, ConnState]] = {
    pq.TransactionStatus.IDLE: ConnState.IDLE,
    pq.TransactionStatus.INTRANS: ConnState.IN_TRANSACTION,
    pq.TransactionStatus.INERROR: ConnState.IN_ERROR,
}


class PostgresDriver(Driver):
    """Opens PostgreSQL connections from a libpq URL or conninfo plus keyword overrides
    (``host``, ``port``, ``dbname``, ``user``, ``password``, ``sslmode``, ...)."""

    dialect = Dialect.POSTGRESQL

    def __init__(self, conninfo: str = "", *, name: str | None = None, **params: Any) -> None:
        self.conninfo = conninfo
        self.params = {k: v for k, v in params.items() if v is not None}
        self.name = name or "postgresql"

    async def connect(self, password: str | None) -> DbConnection:
        params = dict(self.params)
        if password is not None:
            params["password"] = password
        try:
            raw = await TrioConnection.connect(self.conninfo, autocommit=True, **params)
        except psycopg.Error as exc:
            raise DatabaseConnectionError(
                f"cannot connect to PostgreSQL: {exc}", backend=self.name
            ) from exc
        return PostgresConnection(raw, self.name)


class PostgresConnection(DbConnection):
    """One :class:`TrioConnection` and a cursor reused for every statement."""

    def __init__(self, raw: TrioConnection, backend: str) -> None:
        super().__init__()
        self.raw = raw
        self.backend = backend
        self.cursor = raw.cursor()

    @property
    def state(self) -> ConnState:
        raw = self.raw
        if raw.closed:
            return ConnState.BROKEN
        return _STATES.get(raw.pgconn.transaction_status, ConnState.BROKEN)

    async def run(
        self, mode: Mode, sql: str, params: Sequence[Any], size: int | None = None
    ) -> Any:
        cursor = self.cursor
        try:
            await cursor.execute(sql, tuple(params))
            if mode is Mode.EXECUTE:
                return cursor.rowcount
            description = cursor.description
            if description is None:
                if mode is Mode.QUERY:
                    return QueryResult((), [], cursor.rowcount)
                return None if mode is Mode.ONE else []
            columns = tuple(column.name for column in description)
            if mode is Mode.ONE:
                row = await cursor.fetchone()
                return None if row is None else dict(zip(columns, row, strict=True))
            if mode is Mode.MANY:
                rows = await (cursor.fetchall() if size is None else cursor.fetchmany(size))
                return [dict(zip(columns, row, strict=True)) for row in rows]
            return QueryResult(columns, await cursor.fetchall(), cursor.rowcount)
        except psycopg.Error as exc:
            raise self._translate(exc) from exc

    async def begin(self) -> None:
        await self.run(Mode.EXECUTE, "BEGIN", ())

    async def commit(self) -> None:
        if self.raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            await self.run(Mode.EXECUTE, "COMMIT", ())

    async def rollback(self) -> None:
        if self.raw.pgconn.transaction_status != pq.TransactionStatus.IDLE:
            await self.run(Mode.EXECUTE, "ROLLBACK", ())

    async def aclose(self) -> None:
        await self.raw.close()

    def _translate(self, exc: psycopg.Error) -> DatabaseError:
        text = str(exc).strip() or type(exc).__name__
        sqlstate = exc.sqlstate
        if isinstance(exc, e.IntegrityError):
            return ConstraintViolation(text, backend=self.backend, sqlstate=sqlstate)
        if isinstance(exc, e.QueryCanceled):
            return DatabaseTimeout(
                f"statement cancelled by the server: {text}", backend=self.backend
            )
        lost = self.raw.closed or (sqlstate or "").startswith(("08", "57P"))
        if (
            lost
            or isinstance(exc, e.InterfaceError)
            or (isinstance(exc, e.OperationalError) and sqlstate is None)
        ):
            return DatabaseConnectionError(text, backend=self.backend)
        return QueryError(text, backend=self.backend, sqlstate=sqlstate)

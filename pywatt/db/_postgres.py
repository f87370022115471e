"""PostgreSQL: psycopg 3 on :class:`~pywatt.db._pg.TrioConnection`, no thread per query.

Connections run in autocommit mode with explicit ``BEGIN``, so a statement outside a
transaction never leaves one open. Statements are prepared by psycopg after five uses
(``prepare_threshold``). A cancelled statement is cancelled on the server by the
connection's own driving loop; the connection comes back idle.

Two fast paths serve the pool actor (``_serving.py``):

* :meth:`PostgresConnection.start` sends a statement from the pool's handler, before the
  connection's worker task has even woken up; :meth:`~PostgresConnection.finish` waits for
  its answer (it is what ``AsyncCursor.execute`` does, split at its first wait);
* :meth:`PostgresConnection.run_batch` runs queued read statements in one pipeline (one
  Sync, one round trip) and falls back to running each alone when any of them fails, so
  every caller gets exactly the answer it would have had alone.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator, Sequence
from typing import Any, Final

import psycopg
from psycopg import errors as e
from psycopg import generators, pq
from psycopg._queries import PostgresQuery
from psycopg.adapt import Transformer
from psycopg.conninfo import conninfo_to_dict
from psycopg.waiting import Ready, Wait

from .._errors import ConfigError
from ._driver import ConnState, DbConnection, Driver, Mode
from ._errors import (
    ConstraintViolation,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseRefused,
    DatabaseTimeout,
    QueryError,
    redact,
)
from ._messages import QueryResult
from ._params import Dialect
from ._pg import TrioConnection

_TEXT: Final = pq.Format.TEXT
_TUPLES_OK: Final = pq.ExecStatus.TUPLES_OK
_OK: Final = (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK)
_PIPELINE_OFF: Final = pq.PipelineStatus.OFF

__all__ = ["PostgresDriver"]

_STATES: Final[dict[int, ConnState]] = {
    pq.TransactionStatus.IDLE: ConnState.IDLE,
    pq.TransactionStatus.INTRANS: ConnState.IN_TRANSACTION,
    pq.TransactionStatus.INERROR: ConnState.IN_ERROR,
}


_REFUSED: Final = re.compile(
    r"authentication failed|password is required|no pg_hba\.conf entry|permission denied"
    r'|(role|database) "[^"]*" does not exist',
    re.IGNORECASE,
)
"""What the server says when it will not take the connection as configured (it answered:
retrying alone will not help)."""


class PostgresDriver(Driver):
    """Opens PostgreSQL connections from a libpq URL or conninfo plus keyword overrides
    (``host``, ``port``, ``dbname``, ``user``, ``password``, ``sslmode``, ...). Raises
    :class:`~pywatt.ConfigError` for a URL or conninfo libpq cannot read, or a port that is
    not a number."""

    dialect = Dialect.POSTGRESQL

    def __init__(self, conninfo: str = "", *, name: str | None = None, **params: Any) -> None:
        self.conninfo = conninfo
        self.params = {k: v for k, v in params.items() if v is not None}
        self.name = name or "postgresql"
        self.where = _where(conninfo, self.params)

    def describe(self) -> str:
        return self.where

    async def connect(self, password: str | None) -> DbConnection:
        params = dict(self.params)
        if password is not None:
            params["password"] = password
        try:
            raw = await TrioConnection.connect(self.conninfo, autocommit=True, **params)
        except psycopg.Error as exc:
            text = _connect_failure(exc)
            refused = _REFUSED.search(text) is not None
            kind = DatabaseRefused if refused else DatabaseConnectionError
            raise kind(text, backend=self.name) from exc
        return PostgresConnection(raw, self.name)


def _where(conninfo: str, params: dict[str, Any]) -> str:
    """``postgresql at host:port/dbname`` (libpq's defaults filled in from the
    environment as libpq does), checking the conninfo on the way."""
    try:
        info = conninfo_to_dict(conninfo, **params)
    except psycopg.Error as exc:
        raise ConfigError(f"database url: {redact(_connect_failure(exc))}") from None
    port = str(info.get("port") or os.environ.get("PGPORT") or 5432)
    if not all(part.strip().isdigit() for part in port.split(",")):
        raise ConfigError(f"database url: the port {port!r} is not a number")
    host = info.get("host") or info.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    user = info.get("user") or os.environ.get("PGUSER") or ""
    dbname = info.get("dbname") or os.environ.get("PGDATABASE") or user
    return f"postgresql at {host}:{port}/{dbname}"


def _connect_failure(exc: psycopg.Error) -> str:
    """libpq's message on one line, without its generic hint."""
    lines = [
        line.strip()
        for line in str(exc).splitlines()
        if line.strip() and not line.strip().startswith("Is the server running")
    ]
    text = " ".join(lines).removeprefix("connection failed: ")
    return text or type(exc).__name__


class PostgresConnection(DbConnection):
    """One :class:`TrioConnection` and a cursor reused for every statement."""

    batchable = True
    startable = True

    def __init__(self, raw: TrioConnection, backend: str) -> None:
        super().__init__()
        self.raw = raw
        self.backend = backend
        self.cursor = raw.cursor()
        # For run_batch: parameters dumped and rows loaded as the cursors do.
        self._dumper = Transformer(raw)
        self._loader = Transformer(raw)
        self._encoding = raw.info.encoding

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
            await cursor.execute(sql, params)
            return await _outcome(cursor, mode, size)
        except psycopg.Error as exc:
            raise self._translate(exc) from exc

    def start(self, sql: str, params: Sequence[Any]) -> Started:
        """Send the statement now, without waiting (the pool calls it in its handler, so
        the server works while the worker task wakes up); :meth:`finish` gets the answer.
        Does not block and never raises: a failure is kept for :meth:`finish`."""
        gen = self.cursor._execute_gen(sql, params)
        try:
            return Started(gen, next(gen))
        except StopIteration:
            return Started(None, None)
        except psycopg.Error as exc:
            return Started(None, None, exc)

    async def finish(self, started: Any, mode: Mode, size: int | None = None) -> Any:
        """Wait for the answer of a statement :meth:`start` sent; answers like :meth:`run`
        (and is cancellable like it)."""
        assert isinstance(started, Started)
        try:
            if started.error is not None:
                raise started.error
            if started.gen is not None:
                assert started.state is not None
                await self.raw.resume(started.gen, started.state)
            return await _outcome(self.cursor, mode, size)
        except psycopg.Error as exc:
            raise self._translate(exc) from exc

    async def run_batch(
        self, statements: Sequence[tuple[Mode, str, Sequence[Any], int | None]]
    ) -> list[Any]:
        """Run independent read statements in one pipeline: one round trip for all.

        They are sent back to back with a single Sync, so they run as one implicit
        transaction that commits only if every one succeeds. If any fails (or cannot be
        sent: parameters it cannot adapt), none had an effect, and every one is then run
        again on its own with :meth:`run`, so each gets exactly the result or error it
        would have had alone. Returns one entry per statement: its outcome, or the
        :class:`~pywatt.db.DatabaseError` it failed with. Raises
        :class:`~pywatt.db.DatabaseConnectionError` when the connection breaks (then
        nobody can tell whether the batch committed). A cancellation cancels the batch on
        the server; its outcome is then unknown to the caller.
        """
        raw = self.raw
        pgconn = raw.pgconn
        results: list[list[Any]] = []
        try:
            queries = [self._convert(sql, params) for _, sql, params, _ in statements]
        except psycopg.Error:  # a parameter it cannot adapt: let each statement tell
            return await self._one_by_one(statements)
        pgconn.enter_pipeline_mode()
        try:
            for query in queries:
                pgconn.send_query_params(
                    query.query,
                    query.params,
                    param_formats=query.formats,
                    param_types=query.types,
                    result_format=_TEXT,
                )
            pgconn.pipeline_sync()
            await raw.wait(_pipeline_results(pgconn, len(queries), results))
            pgconn.exit_pipeline_mode()
        except psycopg.Error as exc:
            raw._finish()  # its state is unknown: nobody may use it again
            raise DatabaseConnectionError(
                f"the connection failed during a pipeline: {exc}", backend=self.backend
            ) from exc
        finally:
            if not raw.closed and pgconn.pipeline_status != _PIPELINE_OFF:
                try:  # cancelled: fine if the drain collected every result
                    pgconn.exit_pipeline_mode()
                except psycopg.Error:
                    raw._finish()  # results left behind: nobody may use it again
        for result in results[:-1]:
            if not result or result[-1].status not in _OK:
                return await self._one_by_one(statements)  # all rolled back
        loader = self._loader
        encoding = self._encoding
        outcomes: list[Any] = []
        for (mode, _, _, size), result in zip(statements, results, strict=False):
            res = result[-1]
            if res.status != _TUPLES_OK:
                rowcount = res.command_tuples
                outcomes.append(_empty(mode, -1 if rowcount is None else rowcount))
                continue
            columns = tuple((res.fname(i) or b"").decode(encoding) for i in range(res.nfields))
            count = res.ntuples if mode is not Mode.ONE else min(res.ntuples, 1)
            if mode is Mode.MANY and size is not None:
                count = min(count, size)
            loader.set_pgresult(res)
            rows = loader.load_rows(0, count, tuple)
            if mode is Mode.ONE:
                outcomes.append(dict(zip(columns, rows[0], strict=True)) if rows else None)
            elif mode is Mode.MANY:
                outcomes.append([dict(zip(columns, row, strict=True)) for row in rows])
            else:
                outcomes.append(QueryResult(columns, rows, res.ntuples))
        return outcomes

    def _convert(self, sql: str, params: Sequence[Any]) -> PostgresQuery:
        query = PostgresQuery(self._dumper)
        query.convert(sql, params)
        return query

    async def _one_by_one(
        self, statements: Sequence[tuple[Mode, str, Sequence[Any], int | None]]
    ) -> list[Any]:
        outcomes: list[Any] = []
        for mode, sql, params, size in statements:
            try:
                outcomes.append(await self.run(mode, sql, params, size))
            except DatabaseError as exc:
                if self.raw.closed:
                    raise
                outcomes.append(exc)
        return outcomes

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


async def _outcome(cursor: psycopg.AsyncCursor[Any], mode: Mode, size: int | None) -> Any:
    """What :meth:`PostgresConnection.run` answers for ``mode``, from an executed cursor."""
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


def _empty(mode: Mode, rowcount: int) -> Any:
    """The outcome of a statement that returned no rows description (a command)."""
    if mode is Mode.EXECUTE:
        return rowcount
    if mode is Mode.QUERY:
        return QueryResult((), [], rowcount)
    return None if mode is Mode.ONE else []


def _pipeline_results(
    pgconn: Any, count: int, results: list[list[Any]]
) -> Generator[Wait, Ready | int, None]:
    """Flush the pipeline, then collect ``count`` statements' results and the Sync's into
    ``results`` as they come (so a cancelled drain still shows what arrived)."""
    yield from generators.send(pgconn)
    for _ in range(count + 1):
        results.append((yield from generators.fetch_many(pgconn)))


class Started:
    """A statement :meth:`PostgresConnection.start` sent: psycopg's generator and the wait
    it yielded (None when it needed none), or the error it failed with at once."""

    __slots__ = ("error", "gen", "state")

    def __init__(
        self,
        gen: Generator[Wait, Ready | int, None] | None,
        state: Wait | None,
        error: psycopg.Error | None = None,
    ) -> None:
        self.gen = gen
        self.state = state
        self.error = error

"""SQLite: the embedded default, each connection in a worker thread of its own.

The database is a file (or ``:memory:``, which lives as long as its one connection: a pool
on ``:memory:`` is limited to one connection, see :func:`sqlite_settings`). Connections run
in autocommit mode with explicit ``BEGIN``, WAL journaling for files (readers do not block
the writer) and a busy timeout, so concurrent writers wait for each other instead of
failing at once. A cancelled statement is interrupted with ``sqlite3.Connection.interrupt``.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from typing import Any, Final

import attrs

from ._driver import ConnState, DbConnection, Driver, Mode
from ._errors import (
    ConstraintViolation,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseRefused,
    DatabaseTimeout,
    QueryError,
)
from ._params import Dialect
from ._pool import PoolSettings
from ._threads import WorkerThread, dbapi_run

__all__ = ["SqliteDriver", "sqlite_settings"]

MEMORY: Final = ":memory:"
BUSY_TIMEOUT: Final = 5.0


def sqlite_settings(path: str, settings: PoolSettings) -> PoolSettings:
    """``settings`` adjusted for ``path``: one connection, kept open, for ``:memory:``."""
    if path == MEMORY:
        return attrs.evolve(
            settings, min_connections=1, max_connections=1, idle_timeout=1e12, max_lifetime=1e12
        )
    return settings


class SqliteDriver(Driver):
    """Opens SQLite connections on ``path`` (a file name, or ``:memory:``)."""

    dialect = Dialect.SQLITE
    ready_verb = "opened"

    def __init__(self, path: str, *, name: str | None = None) -> None:
        if not path:
            raise ValueError("an SQLite database needs a path (or ':memory:')")
        self.path = path
        self.name = name or f"sqlite:{path}"

    def describe(self) -> str:
        return f"sqlite at {self.path}"

    async def connect(self, password: str | None) -> DbConnection:
        worker = WorkerThread(f"pywatt-sqlite:{self.path}")

        def open_connection() -> sqlite3.Connection:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT
            )
            if self.path != MEMORY:
                conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            return conn

        try:
            raw = await worker.run(open_connection)
        except sqlite3.Error as exc:
            worker.stop()
            raise DatabaseRefused(  # a file that cannot be opened stays so until it changes
                f"cannot open SQLite database {self.path!r}: {exc}", backend=self.name
            ) from exc
        except BaseException:
            worker.stop()
            raise
        return SqliteConnection(raw, worker, self.name)


class SqliteConnection(DbConnection):
    """One sqlite3 connection and the thread it lives in."""

    def __init__(self, raw: sqlite3.Connection, worker: WorkerThread, backend: str) -> None:
        super().__init__()
        self.raw = raw
        self.worker = worker
        self.backend = backend
        self.cursor = raw.cursor()
        self.closed = False

    @property
    def state(self) -> ConnState:
        if self.closed or self.worker.stuck:
            return ConnState.BROKEN
        return ConnState.IN_TRANSACTION if self.raw.in_transaction else ConnState.IDLE

    async def _call(self, fn: Any, *args: Any) -> Any:
        if self.closed:
            raise DatabaseConnectionError("the connection is closed", backend=self.backend)
        try:
            return await self.worker.run(lambda: fn(*args), on_cancel=self.raw.interrupt)
        except sqlite3.Error as exc:
            raise _translate(exc, self.backend) from exc

    async def run(
        self, mode: Mode, sql: str, params: Sequence[Any], size: int | None = None
    ) -> Any:
        return await self._call(dbapi_run, self.cursor, mode, sql, params, size)

    async def begin(self) -> None:
        await self._call(self.cursor.execute, "BEGIN")

    async def commit(self) -> None:
        if self.raw.in_transaction:
            await self._call(self.cursor.execute, "COMMIT")

    async def rollback(self) -> None:
        if self.raw.in_transaction:
            await self._call(self.cursor.execute, "ROLLBACK")

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.worker.stuck:
            with contextlib.suppress(sqlite3.Error):
                await self.worker.run(self.raw.close)
        self.worker.stop()


def _translate(exc: sqlite3.Error, backend: str) -> DatabaseError:
    text = str(exc)
    if isinstance(exc, sqlite3.IntegrityError):
        return ConstraintViolation(text, backend=backend)
    if isinstance(exc, sqlite3.OperationalError) and "database is locked" in text:
        return DatabaseTimeout(f"{text} (waited {BUSY_TIMEOUT:g} s)", backend=backend)
    if isinstance(exc, sqlite3.ProgrammingError) and "closed" in text:
        return DatabaseConnectionError(text, backend=backend)
    return QueryError(text, backend=backend, sqlstate=getattr(exc, "sqlite_errorname", None))

"""MySQL and MariaDB: PyMySQL (the ``mysql`` extra), each connection in a worker thread.

PyMySQL blocks, so every connection lives in a thread of its own owned by the pool actor.
Connections run with autocommit on and explicit transactions. A cancelled statement is
stopped the MySQL way: ``KILL QUERY <connection id>`` sent from a short-lived second
connection; the statement then fails with "query execution was interrupted" and its
connection stays usable.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Sequence
from typing import Any, Final

from .._errors import ConfigError
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
from ._threads import WorkerThread, dbapi_run

__all__ = ["MysqlDriver"]

log = logging.getLogger(__name__)

_LOST: Final = frozenset({2003, 2006, 2013, 2055})
_REFUSED: Final = frozenset({1044, 1045, 1049, 1251, 1698})
"""Access denied (to the server, to the database), unknown database, an authentication the
client cannot do: the server answered, and retrying alone will not help."""
_INTERRUPTED: Final = 1317
_IN_TRANSACTION: Final = 1  # SERVER_STATUS_IN_TRANS


def _pymysql() -> Any:
    try:
        import pymysql  # type: ignore[import-untyped, unused-ignore]
    except ImportError as exc:  # an optional driver fails at use, naming the extra
        raise ConfigError(
            "MySQL/MariaDB support needs PyMySQL: install pywatt with the 'mysql' extra "
            "(pip install 'pywatt[mysql]')"
        ) from exc
    return pymysql


class MysqlDriver(Driver):
    """Opens MySQL/MariaDB connections (``host``, ``port``, ``user``, ``password``,
    ``database``, plus any other PyMySQL keyword)."""

    dialect = Dialect.MYSQL

    def __init__(self, *, name: str | None = None, **params: Any) -> None:
        _pymysql()  # fail now, with the extra's name, if PyMySQL is missing
        self.params = {k: v for k, v in params.items() if v is not None}
        self.params.setdefault("charset", "utf8mb4")
        self.name = name or "mysql"

    def describe(self) -> str:
        params = self.params
        where = f"{params.get('host', 'localhost')}:{params.get('port', 3306)}"
        return f"mysql at {where}/{params.get('database') or ''}"

    async def connect(self, password: str | None) -> DbConnection:
        pymysql = _pymysql()
        params = dict(self.params)
        if password is not None:
            params["password"] = password
        worker = WorkerThread(f"pywatt-mysql:{params.get('host', 'localhost')}")
        try:
            raw = await worker.run(lambda: pymysql.connect(autocommit=True, **params))
        except pymysql.Error as exc:
            worker.stop()
            code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
            text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
            kind = DatabaseRefused if code in _REFUSED else DatabaseConnectionError
            raise kind(text, backend=self.name) from exc
        except BaseException:
            worker.stop()
            raise
        return MysqlConnection(raw, worker, self.name, params)


class MysqlConnection(DbConnection):
    """One PyMySQL connection and the thread it lives in."""

    def __init__(
        self, raw: Any, worker: WorkerThread, backend: str, params: dict[str, Any]
    ) -> None:
        super().__init__()
        self.raw = raw
        self.worker = worker
        self.backend = backend
        self.params = params
        self.cursor = raw.cursor()
        self.broken = False
        self.closed = False

    @property
    def state(self) -> ConnState:
        if self.closed or self.broken or self.worker.stuck or not self.raw.open:
            return ConnState.BROKEN
        if self.raw.server_status & _IN_TRANSACTION:
            return ConnState.IN_TRANSACTION
        return ConnState.IDLE

    def _kill_query(self) -> None:
        """Interrupt the running statement from a second connection (in its own thread:
        this is called from the trio thread and must not block it)."""
        pymysql = _pymysql()
        thread_id = self.raw.thread_id()
        params = self.params

        def kill() -> None:
            try:
                other = pymysql.connect(**params)
                try:
                    with other.cursor() as cursor:
                        cursor.execute(f"KILL QUERY {int(thread_id)}")
                finally:
                    other.close()
            except pymysql.Error as exc:
                log.warning("%s: KILL QUERY %s failed: %s", self.backend, thread_id, exc)

        threading.Thread(target=kill, name="pywatt-mysql-kill", daemon=True).start()

    async def _call(self, fn: Any, *args: Any) -> Any:
        pymysql = _pymysql()
        if self.closed:
            raise DatabaseConnectionError("the connection is closed", backend=self.backend)
        try:
            return await self.worker.run(lambda: fn(*args), on_cancel=self._kill_query)
        except pymysql.Error as exc:
            raise self._translate(exc) from exc

    async def run(
        self, mode: Mode, sql: str, params: Sequence[Any], size: int | None = None
    ) -> Any:
        return await self._call(dbapi_run, self.cursor, mode, sql, params, size)

    async def begin(self) -> None:
        await self._call(self.raw.begin)

    async def commit(self) -> None:
        await self._call(self.raw.commit)

    async def rollback(self) -> None:
        if self.state is not ConnState.BROKEN:
            await self._call(self.raw.rollback)

    async def aclose(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.worker.stuck:
            with contextlib.suppress(Exception):
                await self.worker.run(self.raw.close)
        self.worker.stop()

    def _translate(self, exc: Any) -> DatabaseError:
        pymysql = _pymysql()
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        text = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
        if isinstance(exc, pymysql.err.IntegrityError):
            return ConstraintViolation(text, backend=self.backend, sqlstate=str(code))
        if code == _INTERRUPTED:
            return DatabaseTimeout(f"statement interrupted: {text}", backend=self.backend)
        if code in _LOST or isinstance(exc, pymysql.err.InterfaceError) or not self.raw.open:
            self.broken = True
            return DatabaseConnectionError(text or "connection lost", backend=self.backend)
        return QueryError(text, backend=self.backend, sqlstate=None if code is None else str(code))

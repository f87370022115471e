"""The database proxy: a pool whose connections live in the orchestrator (docs/protocol.md §13).

``ProxyDriver`` plugs into :class:`~pywatt.db.DatabasePool` like any backend, so the proxy
actor answers the same database protocol with the same pool behaviour (min/max connections,
acquire deadline, transactions on one connection, health checks). Each of its connections
is a ``service_request`` → ``connection_id`` obtained through the module's orchestrator link
(``pywatt.link``), and each statement one ``service_operation`` on it: at most one in flight
per connection, as the protocol requires (results are correlated by ``connection_id``).

Statements go as written (``?`` or ``$n`` placeholders): the orchestrator translates them
for its own database. Parameters must be JSON-able on the way: None, bool, int, float (not
NaN or infinite), str, bytes (sent as base64, §13.2) and flat lists of those; anything else
is a :class:`~pywatt.db.ParameterError` before anything is sent. Rows come back as JSON
objects, so column order is the orchestrator's (sorted by name) and binary columns come back
as base64 text. Errors keep their type: the orchestrator's error text starts with the kind
(``"constraint: ..."``), rebuilt here as the matching :class:`~pywatt.db.DatabaseError`.

A statement cancelled here cannot be withdrawn from the orchestrator (the protocol has no
cancel): its connection is dropped and never reused.
"""

from __future__ import annotations

import base64
import contextlib
import math
from collections.abc import Sequence
from typing import Any, Final

import actors
from pywatt.link import CallService, LinkError, OpenService, ServiceFailed, StdioTimeout
from pywatt.wire import ServiceType

from ._driver import ConnState, DbConnection, Driver, Mode
from ._errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseTimeout,
    ParameterError,
    error_from_kind,
)
from ._messages import QueryResult
from ._params import Dialect

__all__ = ["ProxyDriver", "encode_parameter"]

LINK: Final = "pywatt.link"
CLOSE_BOUND: Final = 2.0


def encode_parameter(value: object, *, nested: bool = False) -> object:
    """A parameter as §13.2 sends it. Raises :class:`ParameterError` for anything else."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise ParameterError(f"{value!r} cannot be sent through the orchestrator proxy")
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, list | tuple) and not nested:
        return [encode_parameter(item, nested=True) for item in value]
    raise ParameterError(
        f"a {type(value).__name__} parameter cannot be sent through the orchestrator proxy "
        "(None, bool, int, float, str, bytes and flat lists only)"
    )


class ProxyDriver(Driver):
    """Opens proxied connections with ``config`` (the wire ``DatabaseConfig`` as a JSON
    dict) through the link actor ``link``."""

    dialect = Dialect.SQLITE  # never used to translate: statements go as written

    def __init__(
        self, config: dict[str, Any], *, name: str = "pywatt.db (proxy)", link: str = LINK
    ) -> None:
        self.config = config
        self.name = name
        self.link = link
        self._system: actors.ActorSystem | None = None

    def attach(self, system: actors.ActorSystem) -> None:
        self._system = system

    def describe(self) -> str:
        return "the orchestrator's database (proxy)"

    def prepare(
        self, sql: str, params: Sequence[Any], allow_numbered: bool
    ) -> tuple[str, tuple[Any, ...]]:
        return sql, tuple(encode_parameter(p) for p in params)

    async def connect(self, password: str | None) -> DbConnection:
        system = self._system
        if system is None:
            raise DatabaseConnectionError(
                "the proxy driver is not attached to a pool", backend=self.name
            )
        config = dict(self.config)
        if password is not None:
            config["password"] = password
        try:
            connection_id = await system.ask(self.link, OpenService(ServiceType.DATABASE, config))
        except ServiceFailed as exc:
            raise DatabaseConnectionError(
                f"the orchestrator refused a database connection: {exc.error}", backend=self.name
            ) from exc
        except (LinkError, actors.ActorError) as exc:
            raise DatabaseConnectionError(
                f"cannot reach the orchestrator: {exc}", backend=self.name
            ) from exc
        return ProxyConnection(system, self.link, connection_id, self.name)


class ProxyConnection(DbConnection):
    """One proxied connection (``connection_id``) and the transaction open on it, if any."""

    def __init__(
        self, system: actors.ActorSystem, link: str, connection_id: str, backend: str
    ) -> None:
        super().__init__()
        self.system = system
        self.link = link
        self.connection_id = connection_id
        self.backend = backend
        self.transaction_id: str | None = None
        self.broken = False

    @property
    def state(self) -> ConnState:
        if self.broken:
            return ConnState.BROKEN
        return ConnState.IN_TRANSACTION if self.transaction_id is not None else ConnState.IDLE

    async def _call(self, operation: str, params: dict[str, Any]) -> Any:
        if self.broken:
            raise DatabaseConnectionError(
                "the proxied connection was dropped", backend=self.backend
            )
        message = CallService(self.connection_id, ServiceType.DATABASE, operation, params)
        ok = False
        try:
            result = await self.system.ask(self.link, message)
        except ServiceFailed as exc:
            error = error_from_kind(exc.error, backend=self.backend)
            # Answered: the connection is fine, unless the orchestrator says it is not.
            ok = not isinstance(error, DatabaseConnectionError)
            raise error from exc
        except StdioTimeout as exc:
            raise DatabaseTimeout(str(exc), backend=self.backend) from exc
        except (LinkError, actors.ActorError) as exc:
            raise DatabaseConnectionError(
                f"the orchestrator link failed: {exc}", backend=self.backend
            ) from exc
        else:
            ok = True
            return result
        finally:
            if not ok:  # cancelled, timed out or lost: an answer may still be in flight
                self.broken = True

    async def run(
        self, mode: Mode, sql: str, params: Sequence[Any], size: int | None = None
    ) -> Any:
        operation = {Mode.EXECUTE: "execute", Mode.ONE: "query_one"}.get(mode, "query")
        body: dict[str, Any] = {"params": list(params), "query": sql}
        if self.transaction_id is not None:
            operation = f"transaction_{operation}"
            body["transaction_id"] = self.transaction_id
        result = await self._call(operation, body)
        try:
            return _shape(mode, result, size)
        except (TypeError, KeyError, ValueError) as exc:
            raise DatabaseError(
                f"the orchestrator answered {operation} with an unexpected result: {exc}",
                backend=self.backend,
            ) from exc

    async def begin(self) -> None:
        transaction_id = await self._call("begin_transaction", {})
        if not isinstance(transaction_id, str):
            raise DatabaseError(
                f"begin_transaction answered {transaction_id!r}, not a transaction id",
                backend=self.backend,
            )
        self.transaction_id = transaction_id

    async def commit(self) -> None:
        if self.transaction_id is None:
            return
        transaction_id, self.transaction_id = self.transaction_id, None
        await self._call("transaction_commit", {"transaction_id": transaction_id})

    async def rollback(self) -> None:
        if self.transaction_id is None:
            return
        transaction_id, self.transaction_id = self.transaction_id, None
        await self._call("transaction_rollback", {"transaction_id": transaction_id})

    async def ping(self) -> None:
        await self._call("ping", {})

    async def aclose(self) -> None:
        if self.broken:
            return
        with contextlib.suppress(DatabaseError):
            await self._call("close", {})
        self.broken = True


def _row(item: Any) -> dict[str, Any]:
    data = item["data"]
    if not isinstance(data, dict):
        raise TypeError(f"a row's data is {type(data).__name__}, not an object")
    return data


def _shape(mode: Mode, result: Any, size: int | None) -> Any:
    if mode is Mode.EXECUTE:
        return int(result)
    if mode is Mode.ONE:
        return None if result is None else _row(result)
    rows = [_row(item) for item in result or []]
    if mode is Mode.MANY:
        return rows if size is None else rows[:size]
    columns = tuple(rows[0]) if rows else ()
    return QueryResult(columns, [tuple(r.get(c) for c in columns) for r in rows], len(rows))

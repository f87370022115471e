"""The orchestrator's side of the database proxy (docs/protocol.md §13): ``handle_database``.

The embedded orchestrator serves proxied connections from its own database: the one named
by ``PYWATT_ORCHESTRATOR_DATABASE_URL`` or else ``DATABASE_URL`` in its environment
(``postgresql://``, ``mysql://``, ``sqlite:////path``), or by default an SQLite file in a
temporary directory that lives as long as the orchestrator. One pool actor
(``pywatt.orchestrator.database``) serves every module; a module's "connection" is a handle
on it that owns the transactions begun through it. The config a module sends is checked
(it must be a valid ``DatabaseConfig``) but does not choose the database.

Statements may use ``?`` or ``$n`` placeholders (the Rust SDK sends ``$n``); they are
translated for the orchestrator's driver. Errors go back as ``"<kind>: <message>"`` (kind:
connection, query, constraint, parameter, timeout, transaction), which the module's proxy
turns back into the typed error. Each operation has a 30 s deadline here too, cancelled on
the database server when it passes.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import decimal
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Mapping
from typing import Any, Final

import attrs
import trio

from actors import DuplicateName
from pywatt.db import (
    DATABASE,
    Begin,
    Commit,
    DatabaseError,
    DatabasePool,
    Execute,
    FetchOne,
    Ping,
    PoolSettings,
    Query,
    Rollback,
    driver_from_url,
    redact,
)
from pywatt.wire import (
    DatabaseConfig,
    DecodeError,
    ServiceOperation,
    ServiceRequest,
    decode_json,
    encode_json_value,
)

from ._host import ServiceError, ServiceHost

__all__ = ["ORCHESTRATOR_DATABASE", "handle_database"]

ORCHESTRATOR_DATABASE: Final = "pywatt.orchestrator.database"
URL_KEYS: Final = ("PYWATT_ORCHESTRATOR_DATABASE_URL", "DATABASE_URL")
OPERATION_DEADLINE: Final = 30.0
_STATE: Final = "database"


@attrs.define(eq=False)
class _Connection:
    module_id: str
    transactions: set[str] = attrs.Factory(set)


@attrs.define(eq=False)
class _Served:
    description: str
    connections: dict[str, _Connection] = attrs.Factory(dict)
    modules: set[str] = attrs.Factory(set)
    tempdir: str | None = None


def _error(kind: str, text: str) -> Exception:
    return ServiceError(f"{kind}: {text}")


async def _served(host: ServiceHost) -> _Served:
    lock: trio.Lock = host.state.setdefault(f"{_STATE}.lock", trio.Lock())
    async with lock:
        served: _Served | None = host.state.get(_STATE)
        if served is not None:
            return served
        url = next((host.environment[k] for k in URL_KEYS if host.environment.get(k)), None)
        tempdir = None
        if url is None:
            tempdir = tempfile.mkdtemp(prefix="pywatt-orchestrator-db-")
            url = "sqlite:///" + os.path.join(tempdir, "orchestrator.db")
        driver = driver_from_url(url, name="orchestrator database")
        settings = PoolSettings(min_connections=1, max_connections=10)
        with contextlib.suppress(DuplicateName):  # kept across a restart of the services actor
            await host.system.spawn(
                lambda: DatabasePool(driver, settings),
                name=ORCHESTRATOR_DATABASE,
                protocol=DATABASE,
            )
        served = _Served(redact(url), tempdir=tempdir)
        host.state[_STATE] = served
        if tempdir is not None:
            host.at_stop(lambda: _remove(tempdir))
        host.console.info(f"service proxies: databases are served from {served.description}")
        return served


async def handle_database(
    host: ServiceHost, module_id: str, message: ServiceRequest | ServiceOperation
) -> Any:
    """The Database handler of the orchestrator's service proxy (see the module docstring
    and ``pywatt.orchestrator.proxies`` for the contract). Blocks until the
    operation is done; raises ``ServiceError`` with ``"<kind>: <message>"``."""
    served = await _served(host)
    if isinstance(message, ServiceRequest):
        try:
            config = decode_json(encode_json_value(message.config), DatabaseConfig)
        except DecodeError as exc:
            raise _error("connection", f"invalid database config: {exc}") from exc
        connection_id = f"db_{uuid.uuid4().hex}"
        served.connections[connection_id] = _Connection(module_id)
        if module_id not in served.modules:
            served.modules.add(module_id)
            host.on_module_gone(module_id, lambda: _module_gone(host, served, module_id))
        host.console.info(
            f"{module_id} opened a database connection ({config.db_type.value} "
            f"{config.database!r} requested; served from {served.description})",
            module_id,
        )
        return connection_id
    connection = served.connections.get(message.connection_id)
    if connection is None or connection.module_id != module_id:
        raise _error("connection", f"unknown database connection {message.connection_id!r}")
    try:
        return await _operate(host, served, connection, message)
    except DatabaseError as exc:
        raise _error(exc.kind, exc.detail) from exc


async def _operate(
    host: ServiceHost, served: _Served, connection: _Connection, message: ServiceOperation
) -> Any:
    system = host.system
    operation = message.operation
    params = message.params if isinstance(message.params, Mapping) else {}
    deadline = trio.current_time() + OPERATION_DEADLINE
    transaction: str | None = None
    if operation.startswith("transaction_"):
        transaction = params.get("transaction_id")
        if not isinstance(transaction, str) or transaction not in connection.transactions:
            raise _error("transaction", f"unknown transaction {transaction!r} on this connection")
        operation = operation.removeprefix("transaction_")
        if operation in ("commit", "rollback"):
            connection.transactions.discard(transaction)
            end = (
                Commit(transaction, deadline)
                if operation == "commit"
                else Rollback(transaction, deadline)
            )
            await system.ask(ORCHESTRATOR_DATABASE, end)
            return None
    if operation in ("execute", "query", "query_one"):
        sql = params.get("query")
        values = params.get("params", [])
        if not isinstance(sql, str) or not isinstance(values, list):
            raise _error(
                "parameter", f"{message.operation} needs a 'query' text and a 'params' array"
            )
        if operation == "execute":
            count = await system.ask(
                ORCHESTRATOR_DATABASE,
                Execute(sql, values, transaction, deadline, allow_numbered=True),
            )
            return max(count, 0)
        if operation == "query_one":
            row = await system.ask(
                ORCHESTRATOR_DATABASE,
                FetchOne(sql, values, transaction, deadline, allow_numbered=True),
            )
            return None if row is None else {"data": _json_row(row)}
        result = await system.ask(
            ORCHESTRATOR_DATABASE, Query(sql, values, transaction, deadline, allow_numbered=True)
        )
        return [{"data": _json_row(row)} for row in result.dicts()]
    if operation == "begin_transaction":
        tx_id = await system.ask(ORCHESTRATOR_DATABASE, Begin(deadline))
        connection.transactions.add(tx_id)
        return tx_id
    if operation == "ping":
        await system.ask(ORCHESTRATOR_DATABASE, Ping(deadline))
        return None
    if operation == "close":
        await _close(host, served, message.connection_id)
        return None
    raise _error("query", f"unknown database operation {message.operation!r}")


async def _close(host: ServiceHost, served: _Served, connection_id: str) -> None:
    connection = served.connections.pop(connection_id, None)
    if connection is None:
        return
    for transaction in connection.transactions:
        with contextlib.suppress(DatabaseError):  # closing ignores rollback errors (§13.2)
            await host.system.ask(ORCHESTRATOR_DATABASE, Rollback(transaction))


async def _module_gone(host: ServiceHost, served: _Served, module_id: str) -> None:
    served.modules.discard(module_id)
    for connection_id in [
        c for c, conn in served.connections.items() if conn.module_id == module_id
    ]:
        await _close(host, served, connection_id)


async def _remove(tempdir: str) -> None:
    """Remove the default SQLite database's directory (the orchestrator is ending)."""
    await trio.to_thread.run_sync(lambda: shutil.rmtree(tempdir, ignore_errors=True))


def _json_row(row: Mapping[str, Any]) -> dict[str, Any]:
    return {str(k): _json_value(v) for k, v in row.items()}


def _json_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)

"""Fixtures of the database tests: one facade per backend, on real servers.

``DATABASE_URL`` (PostgreSQL) and ``MYSQL_URL`` (MariaDB) come from the environment
(``just test`` starts the servers); a missing one fails the tests that need it. The proxy
backend is the module's real link actor talking to the embedded orchestrator's service
proxy (``dispatch``) over memory streams, served from the orchestrator's default SQLite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio
import trio.testing

import actors
from pywatt.db import DATABASE, DatabaseFacade, DatabasePool, PoolSettings, database_children
from pywatt.db._config import driver_from_url
from pywatt.db._sqlite import SqliteDriver
from pywatt.link import StdioLink
from pywatt.orchestrator import Console
from pywatt.orchestrator.proxies import ServiceHost, dispatch
from pywatt.wire import (
    NEED_DATA,
    InitBlob,
    LineDecoder,
    ModuleToOrchestrator,
    ServiceOperation,
    ServiceRequest,
    SocketAddress,
    decode_json,
    encode_json,
    encode_line,
)

BACKENDS = ["postgresql", "sqlite", "mysql", "proxy"]


def server_url(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        pytest.fail(
            f"{name} is not set: the database tests need a real server "
            "(run them with `just test`, or source the services environment)"
        )
    return url


def unique_table(prefix: str = "t") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


async def serve_orchestrator_side(
    host: ServiceHost,
    module_id: str,
    module_stdout: trio.abc.ReceiveStream,
    module_stdin: trio.abc.SendStream,
    lines: list[bytes],
) -> None:
    """The orchestrator's half: decode the module's stdout lines, answer each with the
    service proxy's dispatcher, concurrently, one whole line at a time."""
    decoder = LineDecoder(first_line_max=None)
    writing = trio.Lock()
    async with trio.open_nursery() as nursery:
        while True:
            line = decoder.next_line()
            if line is NEED_DATA:
                data = await module_stdout.receive_some(65536)
                if not data:
                    return
                decoder.feed(data)
                continue
            assert isinstance(line, bytes)
            lines.append(line)
            message = decode_json(line, ModuleToOrchestrator)
            assert isinstance(message, ServiceRequest | ServiceOperation), message

            async def answer(m: ServiceRequest | ServiceOperation) -> None:
                reply = await dispatch(host, module_id, m)
                async with writing:
                    await module_stdin.send_all(encode_line(encode_json(reply)))

            nursery.start_soon(answer, message)


@asynccontextmanager
async def open_proxy_link(
    system: actors.ActorSystem, environment: dict[str, str] | None = None
) -> AsyncIterator[tuple[ServiceHost, list[bytes]]]:
    """``pywatt.link`` in ``system``, wired to an orchestrator-side service proxy."""
    to_module_send, to_module_recv = trio.testing.memory_stream_one_way_pair()
    from_module_send, from_module_recv = trio.testing.memory_stream_one_way_pair()
    lines: list[bytes] = []
    async with actors.open_actor_system() as orchestrator, trio.open_nursery() as nursery:
        host = ServiceHost(orchestrator, environment or {}, Console(lambda line: None))
        nursery.start_soon(
            serve_orchestrator_side, host, "db-test", from_module_recv, to_module_send, lines
        )
        await system.spawn(
            lambda: StdioLink(
                stdin=to_module_recv,
                stdout=from_module_send,
                decoder=LineDecoder(first_line_max=None),
                module_id="db-test",
            ),
            name="pywatt.link",
        )
        try:
            yield host, lines
        finally:
            await system.stop("pywatt.link")
            await host.all_gone()
            nursery.cancel_scope.cancel()


def init_blob() -> InitBlob:
    return InitBlob(
        orchestrator_api="http://127.0.0.1:1",
        module_id="db-test",
        env={},
        listen=SocketAddress.parse("127.0.0.1:9"),
    )


@asynccontextmanager
async def open_database(
    backend: str, tmp_path: Path, settings: PoolSettings | None = None
) -> AsyncIterator[tuple[actors.ActorSystem, DatabaseFacade]]:
    """A system running the database actor of ``backend`` as ``pywatt.db``."""
    settings = settings or PoolSettings(min_connections=1, max_connections=4)
    async with actors.open_actor_system() as system:
        if backend == "proxy":
            async with open_proxy_link(system):
                pool = settings.max_connections
                config = {"proxy": True, "type": "sqlite", "database": "app",
                          "pool_config": {"min_connections": settings.min_connections,
                                          "max_connections": pool}}  # fmt: skip
                for spec in database_children(config, init_blob()):
                    assert isinstance(spec, actors.ChildSpec)
                    await system.spawn(spec.factory, name=spec.name, protocol=spec.protocol)
                yield system, DatabaseFacade(system)
                await system.stop("pywatt.db")
            return
        if backend == "postgresql":
            driver = driver_from_url(server_url("DATABASE_URL"))
        elif backend == "mysql":
            driver = driver_from_url(server_url("MYSQL_URL"))
        else:
            driver = SqliteDriver(str(tmp_path / "test.db"))
        await system.spawn(
            lambda: DatabasePool(driver, settings), name="pywatt.db", protocol=DATABASE
        )
        yield system, DatabaseFacade(system)


@pytest.fixture(params=BACKENDS)
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DatabaseFacade]:
    async with open_database(request.param, tmp_path) as (_, facade):
        facade.backend = request.param  # type: ignore[attr-defined]
        yield facade

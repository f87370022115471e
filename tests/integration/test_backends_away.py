"""A module's database and cache servers away, as real processes see it: the module starts
anyway and says so in one line per backend, its ``/health`` (and the gateway's) is degraded
naming the backend and the reason, requests get a 503 naming the backend (not a 500 and a
traceback), and everything comes back by itself when the servers start. ``required`` makes
a server that is down at start a start failure (one line, exit 1: restartable), a refusing
server exit 78, and a malformed database URL is one line and exit 78, never restarted.

The servers are private ones (a free port, a temporary directory), started only when the
test says so: the module's URLs point at them before they exist."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import trio

from benchmarks.faults._srv_procs import (
    PrivateMariadb,
    PrivateMemcached,
    PrivatePostgres,
    PrivateRedis,
    PrivateServer,
    free_port,
)
from pywatt.orchestrator import ModuleState, RestartPolicy
from pywatt.testing import ModuleUnderTest, open_module
from pywatt.wire import EXIT_CANNOT_START

from .conftest import MODULES, remember

MODULE = MODULES / "uses_backends.py"
RESTARTABLE = RestartPolicy(max_restarts=1, within=60.0)


@asynccontextmanager
async def prepared(*servers: PrivateServer) -> AsyncIterator[None]:
    """``servers`` ready to start (data directories made), not started; removed after."""
    try:
        for server in servers:
            await server.prepare()
        yield
    finally:
        with trio.CancelScope(shield=True):
            for server in servers:
                await server.cleanup()


def _env(
    database: dict[str, Any] | None = None, cache: dict[str, Any] | None = None
) -> dict[str, str]:
    env: dict[str, str] = {}
    if database is not None:
        env["BACKENDS_DATABASE"] = json.dumps(database)
    if cache is not None:
        env["BACKENDS_CACHE"] = json.dumps(cache)
    return env


def _lines(module: ModuleUnderTest, text: str) -> list[str]:
    """The module's console lines (as a person sees them) that contain ``text``."""
    lines = [line.render() for line in module.console if line.from_module]
    return [line for line in lines if text in line]


async def _get(url: str) -> tuple[int, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.get(url)
    return reply.status_code, reply.json()


@pytest.mark.parametrize(
    ("database", "cache"),
    [("postgres", "redis"), pytest.param("mariadb", "memcached", marks=pytest.mark.slow)],
)
async def test_servers_down_at_start_degrade_the_module_until_they_come_back(
    database: str, cache: str
) -> None:
    db_server = PrivatePostgres() if database == "postgres" else PrivateMariadb()
    cache_server = PrivateRedis() if cache == "redis" else PrivateMemcached()
    db_kind = "postgresql" if database == "postgres" else "mysql"
    if database == "postgres":
        db_url = f"postgresql://postgres@{db_server.address}/postgres"
        db_target = f"postgresql at {db_server.address}/postgres"
    else:
        db_url = f"mysql://root@{db_server.address}"
        db_target = f"mysql at {db_server.address}/"
    cache_config: dict[str, Any] = {"type": cache, "url": f"redis://{cache_server.address}/0"}
    cache_target = f"redis at {cache_server.address}/0"
    if cache == "memcached":
        cache_config = {"type": cache, "address": cache_server.address}
        cache_target = f"memcached at {cache_server.address}"
    env = _env({"url": db_url, "pool_config": {"acquire_timeout": 5}}, cache_config)
    with trio.fail_after(120):
        async with prepared(db_server, cache_server), open_module(MODULE, env=env) as module:
            gateway = module.orchestrator.orchestrator_api
            # Started and announced, with one line per backend saying why it is not there.
            db_down = f"pywatt.db: cannot reach {db_target}: "
            cache_down = f"cache: cannot reach {cache_target}: "
            for text in (db_down, cache_down):
                await module.handle.wait_stderr(text)
                (line,) = _lines(module, text)
                assert line.startswith("[uses_backends] WARNING ")
                assert "Connection refused" in line
                assert line.endswith("; will keep retrying")

            status, own = await _get(f"http://{module.announce.listen}/health")
            assert (status, own["status"]) == (200, "degraded")
            assert own["backends"]["pywatt.db"]["state"] == "down"
            assert own["backends"]["pywatt.db"]["target"] == db_target
            assert "Connection refused" in own["backends"]["pywatt.db"]["reason"]
            assert own["backends"]["cache"]["state"] == "down"
            assert [r.split(": ")[0] for r in own["reasons"]] == ["pywatt.db", "cache"]

            status, combined = await _get(f"{gateway}/health")
            assert (status, combined["status"]) == (200, "degraded")
            (reason,) = combined["reasons"]
            assert reason.startswith("uses_backends: degraded; ")
            assert db_down in reason
            assert cache_down in reason

            # Requests get the typed error as a 503 naming the backend.
            status, body = await _get(f"{gateway}/db")
            assert status == 503
            assert body["backend"] == "pywatt.db"
            assert f"cannot reach {db_target}" in body["error"]
            status, body = await _get(f"{gateway}/cache")
            assert (status, body["backend"]) == (503, cache)

            await db_server.start()
            await cache_server.start()
            await module.handle.wait_stderr(f"pywatt.db: reconnected to {db_target} after ")
            await module.handle.wait_stderr(f"cache: reconnected to {cache_target} after ")

            status, own = await _get(f"http://{module.announce.listen}/health")
            assert (status, own["status"]) == (200, "healthy")
            assert {name: b["state"] for name, b in own["backends"].items()} == {
                "pywatt.db": "up", "cache": "up",
            }  # fmt: skip
            assert "reasons" not in own
            status, combined = await _get(f"{gateway}/health")
            assert (status, combined["status"]) == (200, "healthy")
            assert await _get(f"{gateway}/db") == (200, {"answer": 42})
            assert await _get(f"{gateway}/cache") == (200, {"visits": 7})

            # Said once each, however many times the backends retried meanwhile.
            for text in (db_down, cache_down):
                assert len([x for x in _lines(module, text) if "keep retrying" in x]) == 1
            assert module.restarts == 0
            assert db_kind in db_target
            text = module.console_text()
            assert "Traceback" not in text
            assert f"GET /db: pywatt.db: cannot reach {db_target}" in text  # the 503's line
            remember({}, text)


@pytest.mark.parametrize("backend", ["database", "cache"])
async def test_a_required_server_that_is_down_stops_the_start_with_one_line_and_is_restarted(
    backend: str,
) -> None:
    port = free_port()  # nothing listens there
    if backend == "database":
        env = _env({"url": f"postgresql://postgres@127.0.0.1:{port}/postgres", "required": True})
        said = f"pywatt.db: cannot reach postgresql at 127.0.0.1:{port}/postgres: "
    else:
        env = _env(cache={"type": "redis", "url": f"redis://127.0.0.1:{port}/0", "required": True})
        said = f"cache: cannot reach redis at 127.0.0.1:{port}/0: Connection refused"
    with trio.fail_after(60):
        async with open_module(MODULE, env=env, restart=RESTARTABLE, wait_announced=None) as module:
            await module.handle.wait_until(lambda h: h.state is ModuleState.GAVE_UP)
    # A server that is down may come back: exit 1, which the orchestrator restarts.
    assert module.restarts == 1
    assert module.handle.last_exit == 1
    line = "failed to start: required backend unavailable: " + said
    failures = _lines(module, "failed to start")
    assert len(failures) == 2, failures  # one line per run, twice: restarted once
    assert all(line in failure for failure in failures)
    text = module.console_text()
    assert "will keep retrying" not in text
    assert "Traceback" not in text
    remember({}, text)


async def test_a_required_server_that_refuses_is_exit_78_and_not_restarted() -> None:
    url = os.environ.get("DATABASE_URL")
    if not url:
        pytest.fail("DATABASE_URL is not set: run with .ci/with-services.sh (or `just test`)")
    server = url.split("@", 1)[1].split("/", 1)[0]
    env = _env({"url": f"postgresql://nosuchrole@{server}/postgres", "required": True})
    with trio.fail_after(60):
        async with open_module(MODULE, env=env, restart=RESTARTABLE, wait_announced=None) as module:
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
    assert module.restarts == 0
    assert module.handle.last_exit == EXIT_CANNOT_START
    (line,) = _lines(module, "cannot start")
    assert (
        "cannot start: required backend unavailable: pywatt.db: cannot use postgresql at "
        f"{server}/postgres: " in line
    )
    assert 'role "nosuchrole" does not exist' in line
    assert "Traceback" not in module.console_text()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("nosuch://db/app", "database url 'nosuch://db/app': unknown scheme 'nosuch'"),
        ("postgresql://%zz@127.0.0.1/app", 'database url: invalid percent-encoded token: "%zz"'),
        ("postgresql://app@127.0.0.1:notaport/app", "database url: the port 'notaport' is not"),
        ("mysql://root@127.0.0.1:notaport/app", "database url: Port could not be cast"),
    ],
)
async def test_a_bad_database_url_is_one_line_and_exit_78_not_restarted(
    url: str, said: str
) -> None:
    with trio.fail_after(60):
        async with open_module(
            MODULE, env=_env({"url": url}), restart=RESTARTABLE, wait_announced=None
        ) as module:
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
    assert module.restarts == 0
    assert module.handle.last_exit == EXIT_CANNOT_START
    (line,) = _lines(module, "cannot start")
    assert f"module uses_backends cannot start: {said}" in line
    assert "Traceback" not in module.console_text()

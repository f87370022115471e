"""A backend outage as HTTP sees it: ``/health`` degraded (unhealthy for a required backend)
naming the backend and the reason, and an outage escaping the app answered 503 naming the
backend with one warning line, instead of a 500 and a traceback; other errors unchanged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse

import actors
from pywatt.backends import BackendReporter
from pywatt.cache import CacheUnavailable
from pywatt.db import DatabaseConnectionError
from pywatt.http import HealthTracker, HttpConfig
from pywatt.http._app import ServedApp


async def test_health_names_each_backend_that_is_not_up() -> None:
    async with actors.open_actor_system() as system:
        health = HealthTracker(system)
        cache = BackendReporter(system, "cache", "redis at db:6379/0")
        database = BackendReporter(system, "pywatt.db", "postgresql at db:5432/app")
        database.up()
        code, body = health.report("m")
        assert (code, body["status"]) == (200, "degraded")  # the cache is still connecting
        assert body["reasons"] == ["cache: connecting to redis at db:6379/0 (no answer yet)"]
        cache.down("Connection refused")
        code, body = health.report("m")
        assert (code, body["status"]) == (200, "degraded")
        assert body["reasons"] == ["cache: cannot reach redis at db:6379/0: Connection refused"]
        assert body["backends"] == {
            "cache": {
                "state": "down",
                "target": "redis at db:6379/0",
                "reason": "cannot reach redis at db:6379/0: Connection refused",
            },
            "pywatt.db": {"state": "up", "target": "postgresql at db:5432/app"},
        }
        cache.up()
        code, body = health.report("m")
        assert (code, body["status"]) == (200, "healthy")
        assert "reasons" not in body


async def test_a_required_backend_that_is_down_makes_the_module_unhealthy() -> None:
    async with actors.open_actor_system() as system:
        health = HealthTracker(system)
        database = BackendReporter(system, "pywatt.db", "postgresql at db:5432/app", required=True)
        database.up()
        assert health.report("m")[1]["status"] == "healthy"
        database.down("EOF")
        code, body = health.report("m")
        assert (code, body["status"]) == (503, "unhealthy")
        assert body["backends"]["pywatt.db"]["required"] is True


def _app() -> FastAPI:
    app = FastAPI()

    @app.get("/cache")
    async def cache() -> None:
        raise CacheUnavailable("redis", "cannot connect to db:6379: Connection refused")

    @app.get("/db")
    async def database() -> None:
        raise DatabaseConnectionError("cannot reach postgresql at db:5432/app", backend="pywatt.db")

    @app.get("/bug")
    async def bug() -> None:
        raise RuntimeError("a bug of the app's own")

    @app.get("/own-500")
    async def own() -> JSONResponse:
        return JSONResponse({"error": "the app's own 500"}, status_code=500)

    return app


async def _get(
    served: ServedApp, path: str, events: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """The events the app sent for ``GET path`` (also in ``events``, if given)."""
    events = [] if events is None else events

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(event: dict[str, Any]) -> None:
        events.append(event)

    scope = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [], "http_version": "1.1", "scheme": "http",
             "root_path": "", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 9)}  # fmt: skip
    await served.handle_http(scope, receive, send, transport="http")
    return events


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (
            "/cache",
            b'{"error":"redis cache is unavailable: cannot connect to db:6379: Connection '
            b'refused","backend":"redis"}',
        ),
        (
            "/db",
            b'{"error":"pywatt.db: cannot reach postgresql at db:5432/app","backend":"pywatt.db"}',
        ),
    ],
)
async def test_an_outage_escaping_the_app_is_a_503_naming_the_backend_in_one_line(
    path: str, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with actors.open_actor_system() as system:
        served = ServedApp(_app(), system=system, config=HttpConfig(), module_id="m")
        events = await _get(served, path)
    assert [e["type"] for e in events] == ["http.response.start", "http.response.body"]
    assert events[0]["status"] == 503
    assert events[1]["body"] == body
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1
    assert errors[0].getMessage().startswith(f"GET {path}: ")
    assert errors[0].getMessage().endswith("; answered 503")
    assert errors[0].exc_info is None  # no traceback


async def test_other_errors_and_the_apps_own_500s_are_left_alone() -> None:
    async with actors.open_actor_system() as system:
        served = ServedApp(_app(), system=system, config=HttpConfig(), module_id="m")
        events = await _get(served, "/own-500")
        assert events[0]["status"] == 500
        assert events[1]["body"] == b'{"error":"the app\'s own 500"}'
        sent: list[dict[str, Any]] = []
        with pytest.raises(RuntimeError, match="a bug of the app's own"):
            await _get(served, "/bug", sent)
    assert sent[0]["status"] == 500  # the framework's answer, held back, then sent as it was
    assert sent[1]["body"] == b"Internal Server Error"

"""examples/flask_module.py: Flask views reach the module's cache and secrets from their
worker threads with trio.from_thread.run (docs/http-and-jwt.md), on the module's own
listener and through the orchestrator's gateway (HTTP over IPC)."""

from __future__ import annotations

from pathlib import Path

import httpx
import trio

from pywatt.testing import open_module

EXAMPLE = Path(__file__).parents[2] / "examples" / "flask_module.py"


async def test_flask_views_use_the_cache_and_secrets_from_their_threads() -> None:
    with trio.fail_after(60):
        async with open_module(
            EXAMPLE, secrets={"GREETING": "hello-from-the-flask-test"}, echo=lambda line: None
        ) as module:
            gateway = module.orchestrator.orchestrator_api
            async with (
                module.http_client() as direct,
                httpx.AsyncClient(base_url=gateway, timeout=10) as through_gateway,
            ):
                assert (await direct.get("/visits")).json() == {"visits": 1}
                assert (await through_gateway.get("/visits")).json() == {"visits": 2}
                # Ten at once: each blocks a worker thread on the trio side, none is lost.
                async with trio.open_nursery() as nursery:
                    for _ in range(10):
                        nursery.start_soon(direct.get, "/visits")
                assert (await direct.get("/visits")).json() == {"visits": 13}

                stored = await direct.put("/notes/todo", json={"items": ["tea"]})
                assert (stored.status_code, stored.json()) == (201, {"stored": "todo"})
                read = await through_gateway.get("/notes/todo")
                assert read.json() == {"name": "todo", "note": {"items": ["tea"]}}
                missing = await direct.get("/notes/other")
                assert (missing.status_code, missing.json()) == (404, {"error": "no note 'other'"})

                greeting = (await direct.get("/greeting")).json()
                assert greeting == {"greeting": "hello-from-the-flask-test"}
                assert (await direct.get("/whoami")).json() == {
                    "module": "flask_module",
                    "asked": 1,
                }

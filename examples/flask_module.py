"""A Flask (WSGI) module whose views use the module's cache and secrets.

A Flask view is plain synchronous code, and pywatt runs it in a worker thread (WSGI apps are
wrapped once by ``pywatt.http.WsgiAdapter``). The module's facade is async and lives on the
trio side, so a view reaches it with ``trio.from_thread.run``, which runs an async call in
the module's trio loop and blocks the worker thread until it returns. The worker threads
are trio's own, so no token has to be passed.

* ``GET /visits`` counts visits with ``state.cache.increment``;
* ``PUT /notes/<name>`` / ``GET /notes/<name>`` store and read JSON in the cache (a keyword
  argument goes through ``functools.partial``);
* ``GET /greeting`` reads the ``GREETING`` secret;
* ``GET /whoami`` finds the actor system in the WSGI environ instead of a closure.

docs/http-and-jwt.md walks through it; ``tests/examples/test_flask_example.py`` runs it::

    pywatt run examples/flask_module.py --secret GREETING=hello
"""

from __future__ import annotations

import functools
from typing import Any

import trio
from flask import Flask, request

from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.cache import CacheFacade

ENDPOINTS = [
    AnnouncedEndpoint("/visits", ["GET"]),
    AnnouncedEndpoint("/notes/{name}", ["GET", "PUT"]),
    AnnouncedEndpoint("/greeting", ["GET"]),
    AnnouncedEndpoint("/whoami", ["GET"]),
]


def build_app(state: AppState[None]) -> Flask:
    app = Flask("flask_module")

    @app.get("/visits")
    def visits() -> dict[str, Any]:
        count = trio.from_thread.run(state.cache.increment, "visits")
        return {"visits": count}

    @app.put("/notes/<name>")
    def put_note(name: str) -> tuple[dict[str, Any], int]:
        note = request.get_json()
        trio.from_thread.run(functools.partial(state.cache_set, f"note:{name}", note, ttl=600))
        return {"stored": name}, 201

    @app.get("/notes/<name>")
    def get_note(name: str) -> tuple[dict[str, Any], int]:
        note = trio.from_thread.run(state.cache_get, f"note:{name}")
        if note is None:
            return {"error": f"no note {name!r}"}, 404
        return {"name": name, "note": note}, 200

    @app.get("/greeting")
    def greeting() -> dict[str, Any]:
        return {"greeting": trio.from_thread.run(state.get_secret, "GREETING")}

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        pywatt = request.environ["pywatt.scope"]["extensions"]["pywatt"]
        cache = CacheFacade(pywatt["system"])  # what state.cache is, built from the system
        seen = trio.from_thread.run(cache.increment, "whoami")
        return {"module": pywatt["module_id"], "asked": seen}

    return app


@pywatt_module(secrets=["GREETING"], endpoints=ENDPOINTS, cache_config={"type": "memory"})
async def create_app(state: AppState[None]) -> Flask:
    return build_app(state)


if __name__ == "__main__":
    raise SystemExit(create_app.run())

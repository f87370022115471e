"""A comprehensive PyWatt module: the seed's Phase 2 features together, in pywatt's API.

A small user service:

* **Database** (SQLite here; ``DatabaseType.POSTGRESQL`` / ``MYSQL`` the same way): a
  ``users`` table, written in a transaction, read with ``execute_query``.
* **Cache** (in memory): user records cached on read, a counter with ``increment``.
* **JWT**: ``POST /users`` is announced with ``auth="jwt"``; the key is the ``JWT_SECRET``
  secret (re-read when it rotates); the handler reads the caller from the claims.
* **Discovery**: registers as a ``ServiceType.USER_MANAGEMENT`` provider; ``GET /stats``
  discovers the ``ServiceType.ANALYTICS`` providers.
* **Registration**: registers with the orchestrator with its ``service_capabilities`` and
  reports health by heartbeat.
* **Messaging**: tells the analytics module ``user_event`` when a user is created, asks it
  for ``stats``, and serves ``lookup`` requests from other modules.

Run it with its partner, ``examples/phase2_analytics.py``::

    pywatt run examples/phase2_example.py examples/phase2_analytics.py \\
        --secret JWT_SECRET=a-long-random-secret-of-32-bytes-or-more
    curl http://127.0.0.1:<gateway port>/users
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from pywatt import (
    AnnouncedEndpoint,
    AppState,
    DatabaseType,
    JwtConfig,
    ServiceType,
    extract_jwt_claims,
    pywatt_module,
)

log = logging.getLogger("phase2")

ENDPOINTS = [
    AnnouncedEndpoint(path="/users", methods=["GET", "POST"], auth="jwt"),
    AnnouncedEndpoint(path="/users/{user_id}", methods=["GET"]),
    AnnouncedEndpoint(path="/stats", methods=["GET"]),
]


async def set_up(state: AppState[None]) -> None:
    """Schema, discovery registration and the ``lookup`` endpoint for other modules."""
    await state.execute_query(
        "CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "name TEXT NOT NULL, email TEXT NOT NULL UNIQUE, created_by TEXT)"
    )
    await state.register_service_provider(
        ServiceType.USER_MANAGEMENT,
        {"version": "1.0.0", "endpoints": ["/users", "/stats"], "capabilities": ["crud"]},
    )

    async def lookup(request: dict[str, Any]) -> dict[str, Any]:
        rows = await state.execute_query(
            "SELECT id, name, email FROM users WHERE email = ?", [request["email"]]
        )
        return {"found": bool(rows), "user": rows[0] if rows else None}

    await state.serve("lookup", lookup)


def build_app(state: AppState[None]) -> FastAPI:
    app = FastAPI(title="phase2 users")

    @app.get("/users")
    async def list_users(request: Request) -> dict[str, Any]:
        rows = await state.execute_query("SELECT id, name, email FROM users ORDER BY id")
        return {"users": rows, "asked_by": extract_jwt_claims(request, "fastapi").sub}

    @app.post("/users", status_code=201)
    async def create_user(body: dict[str, Any], request: Request) -> dict[str, Any]:
        caller = extract_jwt_claims(request, "fastapi").sub
        async with state.database.transaction() as tx:
            await tx.execute(
                "INSERT INTO users (name, email, created_by) VALUES (?, ?, ?)",
                [body["name"], body["email"], caller],
            )
            (row,) = await tx.execute_query("SELECT max(id) AS id FROM users")
        created = await state.cache.increment("users_created")
        try:
            await state.send_message(
                "analytics:user_event", {"event": "user_created", "user_id": row["id"]}
            )
        except Exception as exc:  # analytics is optional
            log.warning("analytics not told: %s", exc)
        return {"id": row["id"], "created_by": caller, "users_created": created}

    @app.get("/users/{user_id}")
    async def get_user(user_id: int) -> dict[str, Any]:
        cached = await state.cache_get(f"user:{user_id}")
        if cached is not None:
            return {**cached, "cached": True}
        rows = await state.execute_query(
            "SELECT id, name, email FROM users WHERE id = ?", [user_id]
        )
        if not rows:
            raise HTTPException(status_code=404, detail="no such user")
        await state.cache_set(f"user:{user_id}", rows[0], ttl=300)
        return {**rows[0], "cached": False}

    @app.get("/stats")
    async def stats() -> dict[str, Any]:
        providers = await state.discover_service_providers(ServiceType.ANALYTICS)
        answers = []
        for provider in providers:
            answers.append(
                await state.send_request(
                    f"{provider.name}:stats", {"from": state.module_id}, response_type=dict
                )
            )
        return {"analytics_providers": len(providers), "stats": answers}

    return app


@pywatt_module(
    secrets=["JWT_SECRET"],
    endpoints=ENDPOINTS,
    metrics=True,
    database_config={
        "type": DatabaseType.SQLITE,
        "path": os.environ.get("PHASE2_DB", "phase2_example.db"),
    },
    cache_config={"type": "memory", "max_entries": 10_000, "default_ttl": 600},
    jwt_config=JwtConfig(key_secrets="JWT_SECRET", algorithm="HS256"),
    enable_module_registration=True,
    service_capabilities=["user_management", "crud"],
    registration_config={"description": "users, the Phase 2 example"},
)
async def create_app(state: AppState[None]) -> FastAPI:
    await set_up(state)
    log.info("phase2 example ready on channels %s", [c.name for c in state.available_channels()])
    return build_app(state)


if __name__ == "__main__":
    raise SystemExit(create_app.run())

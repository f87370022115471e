"""An inventory service written for the reference Python SDK (Phase 2 style), ported to
pywatt by changing its import lines to ``pywatt.compat``.

What it uses of the reference API: ``config=AppConfig(...)`` carrying the database, cache
and JWT configuration (``DatabaseType.SQLITE``, ``CacheType.IN_MEMORY`` with ``max_size``,
a ``jwt_config`` with ``verify_exp``); ``enable_service_discovery`` and a provider
registration with ``ServiceType``; ``execute_query`` for DDL and queries;
``cache_get``/``cache_set``; ``validate_jwt_token(token, JwtClaims)``; ``send_message``
to another module; ``state.available_channels()``, ``state.database is not None``.

    INVENTORY_JWT_KEY=... INVENTORY_DB=/tmp/inventory.db pywatt run \\
        examples/ported/inventory_service.py examples/ported/audit_log.py
"""

import os
from typing import Any

from fastapi import FastAPI, HTTPException, Request

from pywatt.compat import (
    AnnouncedEndpoint,
    AppConfig,
    AppState,
    CacheType,
    DatabaseType,
    JwtClaims,
    JwtError,
    ServiceType,
    info,
    pywatt_module,
    warning,
)

app_config = AppConfig(
    database_config={
        "type": DatabaseType.SQLITE,
        "database": os.environ.get("INVENTORY_DB", "inventory.db"),
        "pool_config": {"min_connections": 1, "max_connections": 4},
    },
    cache_config={"type": CacheType.IN_MEMORY, "max_size": 1000, "default_ttl": 300},
    jwt_config={
        "secret_key": os.environ.get("INVENTORY_JWT_KEY", "change-me-inventory-key-0123456789"),
        "algorithm": "HS256",
        "verify_exp": True,
    },
    enable_module_registration=False,
)


@pywatt_module(
    endpoints=[
        AnnouncedEndpoint(path="/items", methods=["GET", "POST"]),
        AnnouncedEndpoint(path="/items/{sku}", methods=["GET"]),
    ],
    health="/health",
    framework="fastapi",
    enable_service_discovery=True,
    config=app_config,
)
async def create_app(state: AppState[None]) -> FastAPI:
    await state.execute_query(
        "CREATE TABLE IF NOT EXISTS items (sku TEXT PRIMARY KEY, name TEXT NOT NULL, "
        "quantity INTEGER NOT NULL)"
    )
    await state.register_service_provider(
        ServiceType.STORAGE,
        {"version": "1.0.0", "endpoints": ["/items"], "capabilities": ["inventory", "crud"]},
    )
    info(
        "inventory ready",
        channels=[channel.name for channel in state.available_channels()],
        database=state.database is not None,
    )
    app = FastAPI(title="inventory")

    async def caller(request: Request) -> str:
        header = request.headers.get("Authorization", "")
        try:
            token = header.replace("Bearer ", "", 1)
            claims = await state.validate_jwt_token(token, JwtClaims)
        except JwtError as exc:
            raise HTTPException(status_code=401, detail=f"invalid token: {exc}") from None
        return str(claims.sub)

    @app.get("/items")
    async def list_items() -> dict[str, Any]:
        rows = await state.execute_query("SELECT sku, name, quantity FROM items ORDER BY sku")
        return {"items": rows}

    @app.get("/items/{sku}")
    async def get_item(sku: str) -> dict[str, Any]:
        cached = await state.cache_get(f"item:{sku}")
        if cached is not None:
            return {**cached, "cached": True}
        rows = await state.execute_query(
            "SELECT sku, name, quantity FROM items WHERE sku = ?", [sku]
        )
        if not rows:
            raise HTTPException(status_code=404, detail="no such item")
        await state.cache_set(f"item:{sku}", rows[0], ttl=60)
        return {**rows[0], "cached": False}

    @app.post("/items")
    async def add_item(item: dict[str, Any], request: Request) -> dict[str, Any]:
        user = await caller(request)
        await state.execute_query(
            "INSERT INTO items (sku, name, quantity) VALUES (?, ?, ?)",
            [item["sku"], item["name"], int(item.get("quantity", 0))],
        )
        try:
            await state.send_message(
                "audit:record", {"action": "item_added", "sku": item["sku"], "by": user}
            )
        except Exception as exc:  # the audit log is best effort, as in the original
            warning(f"audit log unavailable: {exc}")
        return {"sku": item["sku"], "added_by": user}

    return app

"""Spans of the backends a handler uses, in one process: cache operations (a real memory
cache actor behind the facade) and JWT validation (the ASGI middleware over a real app),
each a child of the span current where the call was made, never carrying keys, values or
tokens."""

from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI, Request
from opentelemetry.trace import SpanKind, StatusCode

import actors
from pywatt.cache import CACHE, CacheFacade, MemoryCache
from pywatt.jwt import create_jwt_middleware, extract_jwt_claims

from ..jwt.tokens import HS_SECRET, mint, oct_key
from .conftest import Spans, parent_of


async def test_cache_operations_are_child_spans_without_keys_or_values(spans: Spans) -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(MemoryCache, name="cache", protocol=CACHE)
        cache = CacheFacade(system)
        with spans.provider.get_tracer("test").start_as_current_span("handler") as handler:
            await cache.set("secret-key", "secret-value")
            assert await cache.get("secret-key") == "secret-value"
    names = [s.name for s in spans.finished() if s.name.startswith("cache ")]
    assert names == ["cache set", "cache get"]
    for name in names:
        span = spans.named(name)
        assert span.kind is SpanKind.CLIENT
        assert parent_of(span) == handler.get_span_context().span_id
        assert span.attributes is not None
        assert span.attributes["pywatt.cache.name"] == "cache"
        assert "secret" not in repr(dict(span.attributes))


async def test_jwt_validation_is_a_span_and_a_refused_token_an_error(spans: Spans) -> None:
    app = FastAPI()
    config = {"secret_key": HS_SECRET, "algorithms": "HS256"}
    app.add_middleware(create_jwt_middleware("fastapi", config))

    @app.get("/me")
    async def me(request: Request) -> dict[str, Any]:
        return {"sub": extract_jwt_claims(request, "fastapi").sub}

    good = mint(oct_key(), "HS256", {"sub": "bob", "exp": 4_000_000_000})
    transport = httpx.ASGITransport(app=app)
    tracer = spans.provider.get_tracer("test")
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with tracer.start_as_current_span("request") as request:
            reply = await client.get("/me", headers={"Authorization": f"Bearer {good}"})
            assert reply.json() == {"sub": "bob"}
            reply = await client.get("/me", headers={"Authorization": "Bearer not.a.token"})
            assert reply.status_code == 401
    ok, refused = [s for s in spans.finished() if s.name == "jwt validate"]
    assert {parent_of(ok), parent_of(refused)} == {request.get_span_context().span_id}
    assert ok.status.status_code is StatusCode.UNSET
    assert refused.status.status_code is StatusCode.ERROR
    assert good not in repr([dict(s.attributes or {}) for s in spans.finished()])

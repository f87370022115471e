"""The embedded orchestrator's side of the cache proxy (docs/protocol.md §13, service type Cache).

A module's ``service_request`` opens a connection: this gives it an id and a backend, the
orchestrator's own cache actor for the request's namespace (one in-memory cache per
namespace, spawned on first use in the orchestrator's actor system; a Redis cache under
that namespace instead when the request asks for ``Redis`` and the orchestrator knows a
``REDIS_URL``). Each ``service_operation`` becomes a cache-protocol message to that actor
(``pywatt.cache._proxy_ops``); its reply is the ``result``, and a cache error is
``success: false`` with ``"<ErrorType>: <message>"`` as its text, which the module side
turns back into the same typed error. Every result echoes the operation (the §13.2
correlation rule), so Rust modules find it too.
"""

from __future__ import annotations

import logging
import os
import re
import uuid
from typing import Any

import actors
from pywatt.cache import (
    CACHE,
    CacheError,
    MemoryCache,
    RedisCache,
    error_text,
    from_operation,
    to_result,
)
from pywatt.wire import (
    ServiceOperation,
    ServiceOperationResult,
    ServiceRequest,
    ServiceResponse,
)

__all__ = ["CacheProxy", "handle_cache"]

log = logging.getLogger(__name__)

_SAFE = re.compile(r"[^A-Za-z0-9_.:-]")


class CacheProxy:
    """Serves proxied cache connections from actors in ``system`` (the orchestrator's).

    ``redis_url``: where to serve ``Redis`` requests from (default: ``REDIS_URL`` of the
    orchestrator's environment; without one every request is served from memory).
    """

    def __init__(self, system: actors.ActorSystem, *, redis_url: str | None = None) -> None:
        self.system = system
        self.redis_url = redis_url if redis_url is not None else os.environ.get("REDIS_URL")
        self.connections: dict[str, str] = {}  # connection id -> backend actor name

    async def open(self, request: ServiceRequest) -> ServiceResponse:
        """Answer a ``service_request`` for the cache: a new connection id, or an error."""
        config = request.config if isinstance(request.config, dict) else {}
        namespace = str(config.get("namespace") or "")
        use_redis = config.get("cache_type") == "Redis" and bool(self.redis_url)
        name = f"pywatt.orchestrator.cache.{'redis' if use_redis else 'memory'}"
        if namespace:
            name += "." + _SAFE.sub("_", namespace)
        try:
            if self.system.lookup(name) is None:
                if use_redis:
                    url = str(self.redis_url)
                    factory: Any = lambda: RedisCache.from_url(url, namespace=namespace)  # noqa: E731
                else:
                    factory = MemoryCache
                await self.system.spawn(factory, name=name, protocol=CACHE)
        except actors.DuplicateName:
            pass  # another connection started it meanwhile
        except actors.ActorError as exc:
            log.warning("cannot start a cache for a proxy connection: %s", exc)
            return ServiceResponse(
                id=request.id, service_type=request.service_type, success=False, error=str(exc)
            )
        connection_id = f"cache-{uuid.uuid4()}"
        self.connections[connection_id] = name
        return ServiceResponse(
            id=request.id,
            service_type=request.service_type,
            success=True,
            connection_id=connection_id,
        )

    async def operate(self, operation: ServiceOperation) -> ServiceOperationResult:
        """Answer one ``service_operation`` (the reply echoes it, §13.2). Never raises for
        a bad operation: that is a ``success: false`` result."""
        name = self.connections.get(operation.connection_id)
        if operation.operation in ("ping", "flush"):
            return self._result(operation, name is not None, True, "no such connection")
        if operation.operation == "close":
            self.connections.pop(operation.connection_id, None)
            return self._result(operation, True, True)
        if name is None:
            error = f"CacheUnavailable: no cache connection {operation.connection_id!r}"
            return self._result(operation, False, None, error)
        try:
            message = from_operation(operation.operation, operation.params)
            reply = await self.system.ask(name, message)
        except (CacheError, TypeError, ValueError) as exc:
            return self._result(operation, False, None, error_text(exc))
        except actors.ActorError as exc:
            return self._result(operation, False, None, f"CacheUnavailable: {exc}")
        return self._result(operation, True, to_result(message, reply))

    @staticmethod
    def _result(
        operation: ServiceOperation, success: bool, result: Any, error: str | None = None
    ) -> ServiceOperationResult:
        return ServiceOperationResult(
            success=success,
            result=result if success else None,
            error=None if success else error,
            params=operation,
        )


async def handle_cache(
    proxy: CacheProxy, message: ServiceRequest | ServiceOperation
) -> ServiceResponse | ServiceOperationResult:
    """Answer a cache ``service_request`` or ``service_operation`` with ``proxy``."""
    if isinstance(message, ServiceRequest):
        return await proxy.open(message)
    return await proxy.operate(message)

"""The one ASGI callable a module serves, on both transports.

:class:`ServedApp` wraps the module's own app (ASGI, or WSGI through :class:`WsgiAdapter`)
and adds what every module gets: the built-in ``/health`` and ``/metrics`` endpoints (an
app that serves ``/metrics`` itself keeps it: pywatt's page answers only where the app's is
404), the request body limit (413), the JWT check of protected paths (401) and request
metrics. The
HTTP server and the HTTP-over-IPC dispatcher both call this same object, so a request
behaves the same whichever way it arrives.

Each HTTP scope it passes on carries ``scope["extensions"]["pywatt"]``: the actor system and
the module id, which the JWT middleware and user code can use to reach the module's actors.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

import trio

import actors
from pywatt.metrics import CONTENT_TYPE, SystemMetrics, route_of
from pywatt.tracing import activated, asgi_server_span, end_http_span, jwt_span
from pywatt.wire import path_matches

from ._config import HttpConfig
from ._errors import BodyTooLarge
from ._health import HealthTracker
from ._unavailable import backend_unavailable, unavailable_body
from ._wsgi import Receive, Scope, Send, WsgiAdapter, is_asgi

log = logging.getLogger("pywatt.http")

JWT_ACTOR = "pywatt.jwt"
CLAIMS_KEY = "pywatt.jwt.claims"
"""The scope (and WSGI environ) key under which validated claims are left for the app
(the same as ``pywatt.jwt.CLAIMS_KEY``)."""

AsgiApp = Callable[[Scope, Receive, Send], Any]
_DECISIONS = 4096
"""Paths whose JWT decision is remembered, at most (then forgotten all at once)."""


def as_asgi(app: object, *, threads: int = 8) -> AsgiApp:
    """``app`` itself if it is an ASGI app, else ``app`` wrapped as one (a WSGI app)."""
    if is_asgi(app):
        return app  # type: ignore[return-value]
    if callable(app):
        return WsgiAdapter(app, threads=threads)
    raise TypeError(f"cannot serve {type(app).__name__}: not an ASGI or WSGI app")


class ServedApp:
    """The module's app with pywatt's built-ins (see the module docstring)."""

    def __init__(
        self,
        app: object,
        *,
        system: actors.ActorSystem,
        config: HttpConfig,
        module_id: str,
        metrics: SystemMetrics | None = None,
        health: HealthTracker | None = None,
    ) -> None:
        self.inner = as_asgi(app, threads=config.wsgi_threads)
        self.system = system
        self.config = config
        self.module_id = module_id
        self.metrics = metrics
        self.health = health
        self.lifespan_state: dict[str, Any] = {}
        self.started = trio.Event()
        self.startup_error: str | None = None
        self._extension = {"system": system, "module_id": module_id}
        self._health_path = config.health if health is not None else None
        self._metrics_path = config.metrics if metrics is not None else None
        self._jwt_paths = config.jwt_paths
        self._jwt_decisions: dict[str, bool] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
        elif kind == "http":
            await self.handle_http(scope, receive, send, transport="http")
        else:
            await self.inner(scope, receive, send)

    # -- lifespan --------------------------------------------------------------------------

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = scope.get("state")
        if isinstance(state, dict):
            self.lifespan_state = state  # IPC requests get a copy of it, as connections do

        async def watched_send(event: dict[str, Any]) -> None:
            if event["type"] == "lifespan.startup.complete":
                self.started.set()
            elif event["type"] == "lifespan.startup.failed":
                self.startup_error = str(event.get("message", "")) or "startup failed"
                self.started.set()
            await send(event)

        try:
            await self.inner(scope, receive, watched_send)
        finally:
            # An app without lifespan support raises or returns at once: serve anyway.
            self.started.set()

    # -- requests --------------------------------------------------------------------------

    async def handle_http(
        self, scope: Scope, receive: Receive, send: Send, *, transport: str
    ) -> None:
        """Serve one HTTP request (from the HTTP server, or from the IPC dispatcher)."""
        began = time.perf_counter()
        call = _Call(receive, send, self.config.max_body_size)
        span = asgi_server_span(scope)  # None while tracing is off
        try:
            if span is None:
                await self._route(scope, call)
            else:
                with activated(span):
                    await self._route(scope, call)
        finally:
            metrics = self.metrics
            if metrics is not None or span is not None:
                method = scope.get("method", "GET")
                status = call.status
                route = route_of(scope, status)
                end_http_span(span, method, route, status)
                if metrics is not None:
                    metrics.http.observe(
                        transport=transport, method=method, route=route, status=status,
                        seconds=time.perf_counter() - began,
                    )  # fmt: skip

    async def _route(self, scope: Scope, call: _Call) -> None:
        path: str = scope.get("path", "/")
        if path == self._health_path:
            assert self.health is not None
            scope["route"] = path
            code, body = self.health.report(self.module_id)
            await send_json(call.answer, code, body, head=scope.get("method") == "HEAD")
            return
        if path == self._metrics_path:
            assert self.metrics is not None
            # The app's own page wins; ours answers where the app has none (its 404).
            if not await self._app_answers(scope, call):
                scope["route"] = path
                text = await self.metrics.render()
                await send_body(call.answer, 200, text, CONTENT_TYPE,
                                head=scope.get("method") == "HEAD")  # fmt: skip
            return
        await self._to_app(scope, call)

    async def _app_answers(self, scope: Scope, call: _Call) -> bool:
        """Pass the request to the app; True if it answered, False (and nothing sent) if
        it answered 404 or not at all."""
        answered = False
        swallowed = False
        send = call.answer

        async def peek(event: dict[str, Any]) -> None:
            nonlocal answered, swallowed
            if event["type"] == "http.response.start" and not (answered or swallowed):
                if int(event["status"]) == 404:
                    swallowed = True
                else:
                    answered = True
            if answered:
                await send(event)

        call.answer = peek
        try:
            await self._to_app(scope, call)
        finally:
            call.answer = send
        return answered

    def _protected(self, path: str) -> bool:
        """Whether ``path`` needs a JWT (decided once per path, remembered)."""
        known = self._jwt_decisions.get(path)
        if known is None:
            known = any(path_matches(p, path) for p in self.config.jwt_paths)
            if len(self._jwt_decisions) >= _DECISIONS:
                self._jwt_decisions.clear()
            self._jwt_decisions[path] = known
        return known

    async def _to_app(self, scope: Scope, call: _Call) -> None:
        """The body limit, the JWT check of protected paths, then the app."""
        limit = call.limit
        length = header(scope, b"content-length")
        if length is not None:
            try:
                too_large = int(length) > limit
            except ValueError:
                await send_json(call.answer, 400, {"error": "invalid Content-Length"})
                return
            if too_large:
                await send_json(call.answer, 413, {"error": f"request body over {limit} bytes"})
                return
        extensions = scope.get("extensions")
        if extensions is None:
            scope["extensions"] = {"pywatt": self._extension}
        else:
            scope["extensions"] = {**extensions, "pywatt": self._extension}
        if self._jwt_paths and self._protected(scope.get("path", "/")):
            claims = await self._check_jwt(scope, call.answer)
            if claims is None:
                return
            scope[CLAIMS_KEY] = claims
        try:
            await self.inner(scope, call.receive, call.send)
        except BodyTooLarge:
            if call.started:
                await call.flush()
                raise
        except Exception as exc:
            outage = backend_unavailable(exc)
            if outage is None or not call.replaceable():
                await call.flush()
                raise
            log.warning("%s %s: %s; answered 503", scope.get("method"), scope.get("path"), outage)
            await send_json(call.answer, 503, unavailable_body(outage))
            return
        await call.flush()
        if call.over and not call.started:
            await send_json(call.answer, 413, {"error": f"request body over {limit} bytes"})

    async def _check_jwt(self, scope: Scope, send: Send) -> Any:
        from pywatt.jwt import JwtError, ValidateToken, ValidatorUnavailable, bearer_token

        token = bearer_token(header(scope, b"authorization"))
        if token is None:
            await send_json(send, 401, {"error": "Missing Authorization header"}, bearer=True)
            return None
        if self.system.lookup(JWT_ACTOR) is None:
            log.error("a request for a JWT-protected path, but no %s actor runs", JWT_ACTOR)
            await send_json(send, 503, {"error": "JWT validation is not available"})
            return None
        try:
            with jwt_span():
                return await self.system.ask(JWT_ACTOR, ValidateToken(token))
        except ValidatorUnavailable as exc:
            log.error("JWT validation is unavailable: %s", exc.reason)
            await send_json(send, 503, {"error": f"JWT validation unavailable: {exc.reason}"})
            return None
        except JwtError as exc:
            await send_json(send, 401, {"error": f"Unauthorized: {exc.reason}"}, bearer=True)
            return None
        except actors.ActorError as exc:
            log.error("JWT validation failed to run: %s", exc)
            await send_json(send, 503, {"error": "JWT validation is not available"})
            return None


def header(scope: Scope, name: bytes) -> str | None:
    """The last value of header ``name`` (lower-case bytes) in an ASGI scope, or None."""
    found = None
    for key, value in scope.get("headers", ()):
        if key == name:
            found = value
    return None if found is None else found.decode("latin-1")


async def send_body(
    send: Send, status: int, body: bytes, content_type: str, *, head: bool = False,
    extra: list[tuple[bytes, bytes]] | None = None,
) -> None:  # fmt: skip
    """Send a whole response."""
    headers = [
        (b"content-type", content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *(extra or []),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


async def send_json(
    send: Send, status: int, value: Any, *, head: bool = False, bearer: bool = False
) -> None:
    """Send a JSON response (``WWW-Authenticate: Bearer`` with ``bearer``)."""
    body = json.dumps(value, separators=(",", ":")).encode()
    extra = [(b"www-authenticate", b"Bearer")] if bearer else None
    await send_body(send, status, body, "application/json", head=head, extra=extra)


class _Call:
    """One request's way through :class:`ServedApp`: the body limit on ``receive``, the
    response's status for the metrics, and a 500 held back while the app runs (see
    :mod:`pywatt.http._unavailable`). One object per request, its methods the app's
    ``receive`` and ``send``."""

    __slots__ = ("_receive", "_send", "answer", "held", "limit", "over", "received", "started",
                 "status")  # fmt: skip

    def __init__(self, receive: Receive, send: Send, limit: int) -> None:
        self._receive = receive
        self._send = send
        self.answer: Send = self._answer
        """Where pywatt's own answers go (the status counted, nothing held)."""
        self.limit = limit
        self.received = 0
        self.over = False
        self.started = False  # the app's response started (a held 500 counts)
        self.status = 500
        self.held: list[dict[str, Any]] | None = None

    async def _answer(self, event: dict[str, Any]) -> None:
        if event["type"] == "http.response.start":
            self.status = int(event["status"])
        await self._send(event)

    async def receive(self) -> Any:
        event = await self._receive()
        if event["type"] == "http.request":
            self.received += len(event.get("body", b""))
            if self.received > self.limit:
                self.over = True
                raise BodyTooLarge(self.limit)
        return event

    async def send(self, event: dict[str, Any]) -> None:
        if self.over and not self.started:
            return  # the app's answer to the error we raised (a 500): ours is the 413
        if self.held is not None:
            self.held.append(event)
            return
        if event["type"] == "http.response.start":
            self.started = True
            if int(event["status"]) == 500:
                self.held = [event]
                return
        await self.answer(event)

    def replaceable(self) -> bool:
        """Whether another answer can still be sent: nothing went out but a held 500."""
        return not self.started or self.held is not None

    async def flush(self) -> None:
        """Send what was held, as the app meant it."""
        events, self.held = self.held, None
        for event in events or ():
            await self.answer(event)

"""The embedded orchestrator's HTTP gateway on ``orchestrator_api``.

A small ASGI app served by :func:`pywatt.http.serve_http1` (HTTP/1.1 on trio) on the API
socket the orchestrator has held since it started. A request is routed by the endpoints the
modules announced (the first running module, in start order, that announced a matching
path: exact, ``/x/*`` prefixes, ``{name}`` segments) and forwarded, by ``transport``:

* ``"auto"`` (the default): to a pywatt module over a pooled keep-alive HTTP/1.1
  connection to its announced listen address (:class:`pywatt.http.Http1Pool`: the request
  whole in one write, no task per request, no JSON wrapper; an answer chunked or over
  ``STREAM_THRESHOLD`` goes on to the client part by part as the module sends it, the
  rest read whole); to a
  foreign (Rust SDK) module, which speaks only the §9.2 wrapper, over IPC as below;
* ``"ipc"``: an ``http_request`` line on the module's stdin, written by its
  process actor (the only writer of that pipe); the module answers with the §9.2 wrapper on
  stdout, which the process actor's stdout reader hands to the gateway actor
  (:class:`HttpWrapperLine`), matched by ``request_id``;
* ``"http"``: over HTTP to the module's announced listen address (TCP, or a Unix socket
  path), bodies streamed.

Streams: over HTTP, request and response bodies pass through chunk by chunk (an upload is
read from the client only as fast as the module takes it; a Server-Sent Events stream or any
``more_body`` response reaches the client part by part). With ``"auto"`` and ``"ipc"``,
whose paths carry a whole body, a request goes streamed over HTTP to the module's listen
address instead when its body is over ``STREAM_THRESHOLD`` bytes or of unknown length (chunked), or
when it accepts ``text/event-stream``. Streamed bodies are limited by the module's own
``max_body_size``, not the gateway's.

The gateway answers 404 when no module announced the path, 405 when it did for other
methods, 503 (with ``Retry-After: 1``) while the module that served the path is down and
will be started again, 502 when it is down for good (stopped, failed, gave up) or went away
mid-request, 504 after
``timeout`` seconds (30 by default), and 413 for a body over ``max_body_size``. Everything
else is the module's own answer, headers and body as the module produced them. It checks
no token itself: a module protects its ``auth="jwt"`` endpoints.

Three paths are the gateway's own, whatever the modules announced: ``/health`` (every
module's state and its own ``/health`` report; 200 ``healthy`` when all are healthy, 200
``degraded`` with the reasons when some only are degraded (a backend down, an actor
restarting), 503 ``unhealthy`` with the reasons otherwise), ``/metrics`` (every module's
``/metrics`` page in one, each sample labelled ``module="<id>"``, with ``pywatt_module_up``)
and ``/metrics/<id>`` (that module's page as it serves it). A pywatt module is asked over
IPC (it answers even without an app); a foreign one over the gateway's transport, and only
for a path it announced.

With a ``dashboard``, everything under ``/_pywatt`` is the dashboard's (not logged).

Every request is one access-log line on the console (method, path, status, milliseconds,
module), redacted like every console line.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any, Final, Literal

import attrs
import trio

from actors import Actor, ActorError, Crashed, DeferredReply, Event, Request, Stopped
from pywatt._extras import have
from pywatt.http import answer_lifespan
from pywatt.tracing import Span, activated, end_http_span, gateway_span, inject
from pywatt.wire import (
    AnnounceBlob,
    IpcHttpRequest,
    RemoteProtocolError,
    decode_json_value,
    path_matches,
)

from .._errors import describe_exit
from ..config import GATEWAY_NAME, ModuleKind
from ..console import Console
from ..dashboard import Dashboard, EndpointLatency, is_dashboard_path
from ..processes import ForwardHttp, HttpWrapperLine, ModuleHandle, ModuleState

__all__ = [
    "GATEWAY_NAME",
    "ExchangeHttp",
    "ForwardHttp",
    "Gateway",
    "GatewayResponse",
    "HttpWrapperLine",
    "find_route",
]

HEALTH_PATH: Final = "/health"
METRICS_PATH: Final = "/metrics"
PROBE_TIMEOUT: Final = 5.0
"""Seconds each module has to answer the gateway's ``/health`` and ``/metrics`` probes."""
METRICS_CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024
STREAM_THRESHOLD: Final = 1024 * 1024
"""Request bodies over this many bytes go to the module over HTTP, streamed (IPC transport)."""
_NO_LIMIT: Final = 1 << 62
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te",
     "trailer", "proxy-connection"}
)  # fmt: skip

_REMEMBERED: Final = 4096
"""Access-log texts (paths, methods) whose redaction the gateway remembers, at most."""
_HOP_BY_HOP_BYTES: Final = frozenset(name.encode() for name in _HOP_BY_HOP)

log = logging.getLogger("pywatt.orchestrator.gateway")

Transport = Literal["auto", "ipc", "http"]


@attrs.frozen
class GatewayResponse:
    """A module's answer: status, headers (names lower-case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


@attrs.frozen
class _StreamedResponse:
    """A module's answer arriving over HTTP: its head, and its body still to be read."""

    status: int
    headers: list[tuple[str, str]]
    reply: Any  # httpx.Response, opened with stream=True


@attrs.frozen
class _ForwardedResponse:
    """A pywatt module's whole answer over the gateway's pooled connection: headers as
    sent (bytes, names lower-case, repeats kept)."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    rest: Any = None
    """A streamed answer's body still to come (:class:`pywatt.http.UpstreamBody`): the
    answer is chunked or over ``STREAM_THRESHOLD``, and goes on to the client part by part."""


@attrs.frozen
class ExchangeHttp(Request[GatewayResponse]):
    """Send ``request`` to module ``module_id`` over IPC and wait for its answer.

    Raises :class:`GatewayFailure` (502) when the module is not running or ends first; the
    deadline is the caller's.
    """

    module_id: str
    request: IpcHttpRequest


class GatewayFailure(Exception):
    """The gateway could not get an answer from the module (its status says how)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@attrs.frozen
class _ModuleDown:
    module_id: str


GatewayMessage = ExchangeHttp | HttpWrapperLine | _ModuleDown


def find_route(
    handles: list[ModuleHandle], method: str, path: str
) -> tuple[ModuleHandle | None, list[str]]:
    """The running module that serves ``method path``, or ``(None, methods)`` where
    ``methods`` are those announced for the path by someone (empty: nobody has it)."""
    allowed: list[str] = []
    for handle in handles:
        announce: AnnounceBlob | None = handle.announce
        if announce is None or handle.state is not ModuleState.RUNNING:
            continue
        found, methods = _serves(announce, method, path)
        if found:
            return handle, []
        allowed += methods
    return None, sorted(set(allowed))


def find_down_module(handles: list[ModuleHandle], method: str, path: str) -> ModuleHandle | None:
    """The module, not running now, whose last announce served ``method path`` (None: none)."""
    for handle in handles:
        announce = handle.last_announce
        if announce is None or handle.state is ModuleState.RUNNING:
            continue
        if _serves(announce, method, path)[0]:
            return handle
    return None


def _serves(announce: AnnounceBlob, method: str, path: str) -> tuple[bool, list[str]]:
    """Whether ``announce`` serves ``method path``; else the methods it has for the path."""
    allowed: list[str] = []
    for endpoint in announce.endpoints:
        if not path_matches(endpoint.path, path):
            continue
        methods = [m.upper() for m in endpoint.methods]
        if method in methods or (method == "HEAD" and "GET" in methods) or "*" in methods:
            return True, []
        allowed += methods
    return False, allowed


class Gateway(Actor[GatewayMessage]):
    """The gateway actor (registered as ``pywatt.gateway``; see the module docstring).

    ``sock`` is the bound API socket (it starts listening here); ``handles`` returns every
    module's handle in start order; ``process_name`` maps a module id to its process actor;
    ``console`` gets one access-log line per request (none when it is None); ``latency``
    counts each request a module answered; ``dashboard`` serves ``/_pywatt/`` (the
    ``dashboard`` package).
    """

    reply_errors = (GatewayFailure,)

    def __init__(
        self,
        sock: socket.socket,
        handles: Callable[[], list[ModuleHandle]],
        process_name: Callable[[str], str],
        *,
        transport: Transport = "auto",
        timeout: float = DEFAULT_TIMEOUT,
        max_body_size: int = DEFAULT_MAX_BODY,
        console: Console | None = None,
        probe_timeout: float = PROBE_TIMEOUT,
        dashboard: Dashboard | None = None,
        latency: EndpointLatency | None = None,
    ) -> None:
        self.sock = sock
        self.dashboard = dashboard
        self.latency = latency
        self.console = console
        self.probe_timeout = probe_timeout
        self.handles = handles
        self.process_name = process_name
        self.transport = transport
        self._wire: Transport = "ipc" if transport == "auto" else transport
        """How a request that is not pooled goes: over IPC, or streamed over HTTP."""
        self.timeout = timeout
        self.max_body_size = max_body_size
        self.pending: dict[tuple[str, str], DeferredReply | _Waiter] = {}
        self._ids = itertools.count()
        self._id_prefix = uuid.uuid4().hex[:16]
        self.stopping = trio.Event()
        self.finished = trio.Event()
        self.forwarded = 0
        self.unmatched = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._clients: dict[str, Any] = {}  # listen address -> httpx.AsyncClient
        self._redacted_texts: dict[str, str] = {}
        self._redacted_for = -1
        self._pools: dict[str, Any] = {}  # module id -> pywatt.http.Http1Pool
        self._unbound: dict[str, int] = {}  # module id -> an incarnation that binds nothing

    async def on_start(self) -> None:
        self._by_process = {self.process_name(h.id): h.id for h in self.handles()}
        self._unsubscribe = self.ctx.system.events.subscribe(self._on_event)
        self.sock.listen(1024)
        self.sock.setblocking(False)
        self.ctx.start_task(self._serve)

    async def on_stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
        self.stopping.set()
        with trio.move_on_after(2.0):
            await self.finished.wait()
        for client in self._clients.values():
            with trio.move_on_after(1.0):
                await client.aclose()
        for pool in self._pools.values():
            pool.close()

    def _on_event(self, event: Event) -> None:
        if isinstance(event, Crashed | Stopped):
            module_id = self._by_process.get(event.name)
            if module_id is not None:
                # Runs inside the runtime's event emission: it must never raise. By name,
                # so a gateway that is gone (or restarting) only leaves a dead letter.
                with contextlib.suppress(ActorError):
                    self.ctx.system.tell_nowait(GATEWAY_NAME, _ModuleDown(module_id))

    # -- the actor: IPC exchanges ----------------------------------------------------------

    async def receive(self, message: GatewayMessage) -> GatewayResponse | None:
        if isinstance(message, ExchangeHttp):
            await self._forward(message)
        elif isinstance(message, HttpWrapperLine):
            self._answered(message.module_id, message.line)
        else:
            pool = self._pools.pop(message.module_id, None)
            if pool is not None:  # its connections went with the process
                pool.close()
            for key in [k for k in self.pending if k[0] == message.module_id]:
                self.pending.pop(key).fail(
                    GatewayFailure(502, f"module {message.module_id!r} ended before answering")
                )
        return None

    async def _forward(self, message: ExchangeHttp) -> None:
        module_id, request = message.module_id, message.request
        target = self.process_name(module_id)
        if self.ctx.system.lookup(target) is None:
            raise GatewayFailure(502, f"module {module_id!r} is not running")
        key = (module_id, request.request_id)
        if key in self.pending:
            raise GatewayFailure(502, f"request id {request.request_id!r} is already in flight")
        self.pending[key] = self.ctx.defer_reply()
        self.forwarded += 1
        await self.ctx.system.tell(target, ForwardHttp(request))

    def _answered(self, module_id: str, line: bytes) -> None:
        try:
            value = decode_json_value(line)
            content = value["content"]
            request_id = str(content["request_id"])
            response = GatewayResponse(
                status=int(content["status_code"]),
                headers={str(k): str(v) for k, v in (content.get("headers") or {}).items()},
                body=bytes(content.get("body") or b""),
            )
        except (RemoteProtocolError, KeyError, TypeError, ValueError) as exc:
            self.unmatched += 1
            log.warning("module %s wrote an unusable HTTP response line: %s", module_id, exc)
            return
        reply = self.pending.pop((module_id, request_id), None)
        if reply is None:
            self.unmatched += 1
            log.warning("module %s answered HTTP request %r nobody waits for", module_id,
                        request_id)  # fmt: skip
            return
        reply.reply(response)

    # -- the HTTP front --------------------------------------------------------------------

    async def _serve(self) -> None:
        # httptools is the [http] extra: the orchestrator runs without it, gateway off.
        if not have("http"):
            self.sock.close()
            self.finished.set()
            return
        from pywatt.http import Http1Settings, serve_http1

        # Bodies are limited where they are buffered (_read_body), not when streamed.
        settings = Http1Settings(max_body_size=_NO_LIMIT, graceful_timeout=1.0)
        # The server closes the socket it is given when it stops, and a crash of this actor
        # stops it too: it gets a copy, so the next incarnation serves on the same socket.
        listening = self.sock.dup()
        try:
            await serve_http1(self._app, listening, settings, shutdown=self.stopping)
        finally:
            listening.close()
            self.finished.set()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if self.dashboard is not None and is_dashboard_path(scope["path"]):
            await self.dashboard.serve(scope, receive, send, self.stopping)
            return
        began = time.perf_counter()
        served = _Served()
        status = 500  # what the span records if serving fails on an unforeseen error
        try:
            try:
                response = await self._route(scope, receive, served)
            except GatewayFailure as exc:
                response = _json(exc.status, {"error": str(exc)})
            status = response.status
            await self._answer(scope, send, response, began, served)
        finally:
            end_http_span(served.span, scope["method"], None, status)

    async def _answer(
        self,
        scope: dict[str, Any],
        send: Any,
        response: GatewayResponse | _StreamedResponse | _ForwardedResponse,
        began: float,
        served: _Served,
    ) -> None:
        """Write ``response`` to the client."""
        if isinstance(response, _StreamedResponse):
            await self._send_streamed(scope, send, response, began, served.module)
            return
        if isinstance(response, _ForwardedResponse) and response.rest is not None:
            await self._send_rest(scope, send, response, began, served.module)
            return
        if isinstance(response, _ForwardedResponse):
            raw = [(k, v) for k, v in response.headers if k not in _HOP_BY_HOP_BYTES]
            raw.append((b"content-length", b"%d" % len(response.body)))
            await send({"type": "http.response.start", "status": response.status, "headers": raw})
            self._access_line(scope, response.status, began, served.module)
            body = b"" if scope["method"] == "HEAD" else response.body
            await send({"type": "http.response.body", "body": body})
            return
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.items()
            if k.lower() not in _HOP_BY_HOP
        ]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        # Logged before the body goes out: whoever has the whole answer can see its line.
        self._access_line(scope, response.status, began, served.module)
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})

    async def _send_streamed(
        self,
        scope: dict[str, Any],
        send: Any,
        response: _StreamedResponse,
        began: float,
        module: str | None,
    ) -> None:
        """Pass a module's streamed answer on part by part (its Content-Length kept)."""
        import httpx

        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers
            if k.lower() not in _HOP_BY_HOP or k.lower() == "content-length"
        ]
        reply = response.reply
        try:
            await send({"type": "http.response.start", "status": response.status,
                        "headers": headers})  # fmt: skip
            self._access_line(scope, response.status, began, module)
            if scope["method"] != "HEAD":
                async for part in reply.aiter_raw():
                    if part:
                        await send({"type": "http.response.body", "body": part,
                                    "more_body": True})  # fmt: skip
            await send({"type": "http.response.body", "body": b""})
        except httpx.HTTPError as exc:  # the module went away mid-body: the client sees a cut
            log.warning("module %s: the streamed answer broke off: %s", module, exc)
        finally:
            with trio.move_on_after(1) as cleanup:
                cleanup.shield = True
                await reply.aclose()

    async def _send_rest(
        self,
        scope: dict[str, Any],
        send: Any,
        response: _ForwardedResponse,
        began: float,
        module: str | None,
    ) -> None:
        """Pass a pooled answer's streamed body on part by part as the module sends it
        (its Content-Length kept when it had one; chunked otherwise)."""
        from pywatt.http import UpstreamError

        rest = response.rest
        headers = [
            (k, v)
            for k, v in response.headers
            if k not in _HOP_BY_HOP_BYTES or k == b"content-length"
        ]
        try:
            await send({"type": "http.response.start", "status": response.status,
                        "headers": headers})  # fmt: skip
            self._access_line(scope, response.status, began, module)
            part = response.body
            while True:
                if part:
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                with trio.fail_after(self.timeout):  # no progress: as over HTTP
                    part = await rest.read()
                if not part:
                    break
            await send({"type": "http.response.body", "body": b""})
        except UpstreamError as exc:  # the module went away mid-body: the client sees a cut
            log.warning("module %s: the streamed answer broke off: %s", module, exc)
        except trio.TooSlowError:
            log.warning(
                "module %s: the streamed answer made no progress in %g s; cut off",
                module, self.timeout,
            )  # fmt: skip
        finally:
            rest.close()

    def _access_line(
        self, scope: dict[str, Any], status: int, began: float, module: str | None
    ) -> None:
        seconds = time.perf_counter() - began
        if self.latency is not None and module is not None:
            self.latency.record(module, scope["method"].upper(), scope["path"], status, seconds)
        console = self.console
        if console is None:
            return
        level = logging.WARNING if status >= 500 else logging.INFO
        if not console.enabled(level):
            return
        # What the client chose (method, path) is redacted as the one text the line shows, so
        # a secret that straddles the two is caught; once per distinct request line. The rest
        # (status, time, module id) is the gateway's own. Never the query: it may hold a secret.
        request_line = self._redacted(console, f"{scope['method'].upper()} {scope['path']}")
        method, _, path = request_line.partition(" ")
        ms = round(seconds * 1000, 1)
        console.emit(
            level,
            f"{method} {path} {status} {ms} ms ({module or 'gateway'})",
            module,
            fields={"access": True, "method": method, "path": path, "status": status,
                    "ms": ms, "module": module},
            redacted=True,
        )  # fmt: skip

    def _redacted(self, console: Console, text: str) -> str:
        """``text`` redacted by the console's redactor, remembered until it learns a
        secret (at most ``_REMEMBERED`` texts)."""
        redactor = console.redact
        known = len(redactor)
        if known != self._redacted_for:
            self._redacted_texts.clear()
            self._redacted_for = known
        shown = self._redacted_texts.get(text)
        if shown is None:
            shown = redactor.redact(text)
            if len(self._redacted_texts) >= _REMEMBERED:
                self._redacted_texts.clear()
            self._redacted_texts[text] = shown
        return shown

    async def _route(
        self, scope: dict[str, Any], receive: Any, served: _Served
    ) -> GatewayResponse | _StreamedResponse | _ForwardedResponse:
        method: str = scope["method"].upper()
        path: str = scope["path"]
        if path in (HEALTH_PATH, METRICS_PATH) or path.startswith(METRICS_PATH + "/"):
            if method not in ("GET", "HEAD"):
                response = _json(405, {"error": f"{method} is not allowed on {path}"})
                response.headers["allow"] = "GET, HEAD"
                return response
            if path == HEALTH_PATH:
                return await self._health()
            if path == METRICS_PATH:
                return await self._all_metrics()
            return await self._module_metrics(path[len(METRICS_PATH) + 1 :], served)
        handle, allowed = find_route(self.handles(), method, path)
        if handle is None:
            if allowed:
                response = _json(405, {"error": f"{method} is not allowed on {path}"})
                response.headers["allow"] = ", ".join(allowed)
                return response
            return _no_route(self.handles(), method, path)
        served.module = handle.id
        raw_path = scope.get("raw_path") or path.encode()
        uri = raw_path.decode("latin-1")
        if scope.get("query_string"):
            uri += "?" + scope["query_string"].decode("latin-1")
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        # The gateway hop's span (None while tracing is off); the module's app continues it.
        # It ends once the answer is written to the client (see ``_app``), so it spans the
        # module's own HTTP span, a streamed body included.
        span = served.span = gateway_span(headers, method, path, handle.id)
        if self._streams(handle, headers):
            with activated(span):
                if span is not None:
                    inject(headers)
                return await self._stream_over_http(handle, method, uri, headers, receive)
        body = await _read_body(receive, self.max_body_size)
        answer: GatewayResponse | _ForwardedResponse
        with trio.move_on_after(self.timeout) as deadline, activated(span):
            if span is not None:
                inject(headers)
            pooled = None
            if self._pooled(handle):
                pooled = await self._over_pool(handle, method, uri, headers, body)
            if pooled is not None:
                answer = pooled
            else:
                answer = await self._exchange(handle, self._wire, method, uri, headers, body)
        if deadline.cancelled_caught:
            raise GatewayFailure(504, f"module {handle.id!r} did not answer in {self.timeout:g} s")
        return answer

    def _pooled(self, handle: ModuleHandle) -> bool:
        """Whether a request goes to ``handle`` over the pooled HTTP/1.1 connections to its
        listen address: a pywatt module's (a foreign one speaks only the §9.2 wrapper)."""
        return (
            self.transport == "auto"
            and handle.spec.kind is ModuleKind.PYWATT
            and handle.announce is not None
            and bool(handle.announce.listen)
            and self._unbound.get(handle.id) != handle.incarnation
        )

    async def _over_pool(
        self, handle: ModuleHandle, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> _ForwardedResponse | None:
        """One request to a pywatt module over a pooled keep-alive connection to its listen
        address: the body as bytes, no JSON wrapper, no task of its own. None when nothing
        listens there (a module serving over stdio only, ``bind_http=False``): that
        incarnation is then reached over IPC."""
        from pywatt.http import Http1Pool, UpstreamError, UpstreamUnreachable

        announce = handle.announce
        assert announce is not None
        listen = announce.listen
        pool = self._pools.get(handle.id)
        if pool is None or pool.address != _pool_address(listen):
            if pool is not None:
                pool.close()
            # The module binds 127.0.0.1:<port> (only the port of listen counts, §8).
            pool = self._pools[handle.id] = Http1Pool(
                _pool_address(listen), max_body_size=_NO_LIMIT
            )
        forwarded = [
            (name.encode("latin-1"), value.encode("latin-1"))
            for name, value in headers.items()
            if name not in _HOP_BY_HOP
        ]
        self.forwarded += 1
        try:
            reply = await pool.request(method, uri, forwarded, body, stream_above=STREAM_THRESHOLD)
        except UpstreamUnreachable as exc:
            self.forwarded -= 1
            log.info("module %s: %s; reaching it over IPC", handle.id, exc)
            self._unbound[handle.id] = handle.incarnation
            return None
        except UpstreamError as exc:
            raise GatewayFailure(502, f"module {handle.id!r}: {exc}") from None
        return _ForwardedResponse(reply.status, reply.headers, reply.body, reply.rest)

    async def _exchange(
        self,
        handle: ModuleHandle,
        transport: Transport,
        method: str,
        uri: str,
        headers: dict[str, str],
        body: bytes,
    ) -> GatewayResponse:
        if transport == "http":
            return await self._over_http(handle, method, uri, headers, body)
        request_id = f"{self._id_prefix}-{next(self._ids)}"
        request = IpcHttpRequest(
            request_id=request_id, method=method, uri=uri, headers=headers, body=body
        )
        # This runs in the gateway's own task: wait here, no ask to itself.
        target = self.process_name(handle.id)
        if self.ctx.system.lookup(target) is None:
            raise GatewayFailure(502, f"module {handle.id!r} is not running")
        key = (handle.id, request_id)
        waiter = self.pending[key] = _Waiter()
        self.forwarded += 1
        try:
            await self.ctx.system.tell(target, ForwardHttp(request))
            await waiter.done.wait()
        finally:
            if self.pending.get(key) is waiter:  # cancelled (a 504): a late answer is unmatched
                del self.pending[key]
        return waiter.result()

    # -- the gateway's own paths: /health, /metrics, /metrics/<id> -------------------------

    async def _probe(
        self, handle: ModuleHandle, path: str, timeout: float
    ) -> GatewayResponse | str | None:
        """Ask a running module for ``path``: its answer, a reason it has none (str), or
        None for a foreign module that did not announce the path."""
        transport: Transport = "ipc"
        if handle.spec.kind is not ModuleKind.PYWATT:
            if handle.announce is None or find_route([handle], "GET", path)[0] is None:
                return None
            transport = self._wire
        with trio.move_on_after(timeout):
            try:
                return await self._exchange(handle, transport, "GET", path, {}, b"")
            except GatewayFailure as exc:
                return str(exc)
        return f"did not answer GET {path} within {timeout:g} s"

    async def _health(self) -> GatewayResponse:
        handles = self.handles()
        entries: dict[str, dict[str, Any]] = {}

        async def check(handle: ModuleHandle) -> None:
            entries[handle.id] = await self._module_health(handle)

        async with trio.open_nursery() as nursery:
            for handle in handles:
                nursery.start_soon(check, handle)
        modules = {h.id: entries[h.id] for h in handles}
        reasons = [
            f"{module_id}: {entry['reason']}"
            for module_id, entry in modules.items()
            if entry["status"] != "healthy"
        ]
        statuses = {entry["status"] for entry in modules.values()}
        if "unhealthy" in statuses:
            return _json(503, {"status": "unhealthy", "reasons": reasons, "modules": modules})
        if reasons:  # degraded: serving, short of something
            return _json(200, {"status": "degraded", "reasons": reasons, "modules": modules})
        return _json(200, {"status": "healthy", "modules": modules})

    async def _module_health(self, handle: ModuleHandle) -> dict[str, Any]:
        entry: dict[str, Any] = {"state": handle.state.value}
        if handle.state is not ModuleState.RUNNING:
            return {**entry, "status": "unhealthy", "reason": _not_running(handle)}
        answer = await self._probe(handle, HEALTH_PATH, self.probe_timeout)
        if answer is None:  # nothing to ask: running is all we know
            return {**entry, "status": "healthy"}
        if isinstance(answer, str):
            return {**entry, "status": "unhealthy", "reason": answer}
        report = _json_body(answer)
        if answer.status == 404 or _serves_no_app(answer.status, report):
            return {**entry, "status": "healthy"}  # it serves no /health of its own
        if isinstance(report, dict) and report.get("status") in _REPORTED:
            entry["health"] = report
            status = str(report["status"])
            if status == "healthy" and answer.status < 400:
                return {**entry, "status": "healthy"}
            return {**entry, "status": status, "reason": _health_reason(status, report)}
        if 200 <= answer.status < 300:
            return {**entry, "status": "healthy"}
        return {**entry, "status": "unhealthy",
                "reason": f"GET {HEALTH_PATH} answered {answer.status}"}  # fmt: skip

    async def _module_metrics(self, module_id: str, served: _Served) -> GatewayResponse:
        handles = {h.id: h for h in self.handles()}
        handle = handles.get(module_id)
        if handle is None:
            known = ", ".join(handles) or "none"
            return _json(404, {"error": f"no module {module_id!r} (modules: {known})"})
        served.module = module_id
        if handle.state is not ModuleState.RUNNING:
            raise GatewayFailure(
                502, f"module {module_id!r} is not running ({_not_running(handle)})"
            )
        transport: Transport = "ipc" if handle.spec.kind is ModuleKind.PYWATT else self._wire
        with trio.move_on_after(self.timeout):
            return await self._exchange(handle, transport, "GET", METRICS_PATH, {}, b"")
        raise GatewayFailure(504, f"module {module_id!r} did not answer in {self.timeout:g} s")

    async def _all_metrics(self) -> GatewayResponse:
        handles = self.handles()
        pages: dict[str, GatewayResponse | str | None] = {}

        async def fetch(handle: ModuleHandle) -> None:
            if handle.state is ModuleState.RUNNING:
                pages[handle.id] = await self._probe(handle, METRICS_PATH, self.probe_timeout)

        async with trio.open_nursery() as nursery:
            for handle in handles:
                nursery.start_soon(fetch, handle)
        # prometheus_client is in the http extra, as the gateway's server is.
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        from pywatt.metrics import merge_pages

        up = GaugeMetricFamily(
            "pywatt_module_up", "1 if the module is running (announced).", labels=["module"]
        )
        restarts = CounterMetricFamily(
            "pywatt_module_restarts", "Restarts of the module's process.", labels=["module"]
        )
        for handle in handles:
            up.add_metric([handle.id], int(handle.state is ModuleState.RUNNING))
            restarts.add_metric([handle.id], handle.restarts)
        texts: dict[str, str] = {}
        notes: list[str] = []
        for handle in handles:
            page = pages.get(handle.id)
            if isinstance(page, GatewayResponse) and page.status == 200:
                texts[handle.id] = page.body.decode("utf-8", "replace")
            elif isinstance(page, GatewayResponse) and not (
                page.status == 404 or _serves_no_app(page.status, _json_body(page))
            ):
                notes.append(f"module {handle.id}: GET {METRICS_PATH} answered {page.status}")
            elif isinstance(page, str):
                notes.append(f"module {handle.id}: {page}")
        body, unread = merge_pages(texts, first=[up, restarts])
        comments = "".join("# " + note.replace("\n", " ") + "\n" for note in notes + unread)
        return GatewayResponse(
            200, {"content-type": METRICS_CONTENT_TYPE}, body + comments.encode()
        )

    def _streams(self, handle: ModuleHandle, headers: dict[str, str]) -> bool:
        """Whether this request goes to the module over HTTP, its bodies streamed."""
        if handle.announce is None or not handle.announce.listen:
            return False
        if self.transport == "http" or "transfer-encoding" in headers:
            return True
        if "text/event-stream" in headers.get("accept", ""):
            return True
        length = headers.get("content-length", "0")
        return not length.isdigit() or int(length) > STREAM_THRESHOLD

    async def _stream_over_http(
        self,
        handle: ModuleHandle,
        method: str,
        uri: str,
        headers: dict[str, str],
        receive: Any,
    ) -> _StreamedResponse:
        """Send the request to the module's listen address, its body read from the client
        as the module takes it; return once the answer's head arrived."""
        import httpx

        client = self._client(handle)
        forwarded = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP and k != "host"}
        has_body = "transfer-encoding" in headers or headers.get("content-length", "0") != "0"
        if "content-length" in headers and "transfer-encoding" not in headers:
            forwarded["content-length"] = headers["content-length"]
        request = client.build_request(
            method, uri, headers=forwarded, content=_body_parts(receive) if has_body else None
        )
        try:
            reply = await client.send(request, stream=True)
        except httpx.TimeoutException:
            raise GatewayFailure(
                504, f"module {handle.id!r} made no progress in {self.timeout:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise GatewayFailure(502, f"module {handle.id!r}: {exc}") from None
        return _StreamedResponse(reply.status_code, list(reply.headers.multi_items()), reply)

    def _client(self, handle: ModuleHandle) -> Any:
        """The keep-alive client to ``handle``'s announced listen address (made once)."""
        import httpx

        announce = handle.announce
        assert announce is not None
        listen = announce.listen
        client = self._clients.get(listen)
        if client is None:
            timeout = httpx.Timeout(self.timeout)  # each read, write, connect: no progress
            if listen.startswith("/"):
                transport = httpx.AsyncHTTPTransport(uds=listen)
                client = httpx.AsyncClient(
                    transport=transport, base_url="http://localhost", timeout=timeout
                )
            else:  # the module binds 127.0.0.1:<port> (only the port of listen counts, §8)
                port = listen.rsplit(":", 1)[-1]
                client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=timeout)
            self._clients[listen] = client
        return client

    async def _over_http(
        self, handle: ModuleHandle, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> GatewayResponse:
        import httpx

        listen = handle.announce.listen if handle.announce is not None else ""
        client = self._client(handle)
        forwarded = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP and k != "host"}
        try:
            reply = await client.request(method, uri, headers=forwarded, content=body)
        except httpx.HTTPError as exc:
            raise GatewayFailure(502, f"module {handle.id!r} at {listen}: {exc}") from None
        return GatewayResponse(reply.status_code, dict(reply.headers), reply.content)


def _pool_address(listen: str) -> str:
    """Where the gateway connects for a module's ``listen``: a Unix socket path as it is,
    else ``127.0.0.1:<port>``."""
    return listen if listen.startswith("/") else "127.0.0.1:" + listen.rsplit(":", 1)[-1]


async def _read_body(receive: Any, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise GatewayFailure(400, "the client went away")
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise GatewayFailure(413, f"request body over {limit} bytes")
        chunks.append(chunk)
        if not event.get("more_body", False):
            return b"".join(chunks)


async def _body_parts(receive: Any) -> AsyncIterator[bytes]:
    """The request body, part by part, as the module's connection takes it."""
    while True:
        event = await receive()
        if event["type"] == "http.disconnect":
            raise GatewayFailure(400, "the client went away")
        chunk = event.get("body", b"")
        if chunk:
            yield chunk
        if not event.get("more_body", False):
            return


def _json(status: int, value: Any) -> GatewayResponse:
    return GatewayResponse(status, {"content-type": "application/json"}, json.dumps(value).encode())


def _no_route(handles: list[ModuleHandle], method: str, path: str) -> GatewayResponse:
    """No running module serves ``method path``: 503 while the module that served it will
    be back, 502 when it is down for good, 404 when nobody ever announced it."""
    down = find_down_module(handles, method, path)
    if down is None:
        return _json(404, {"error": f"no module serves {method} {path}"})
    state = down.state.value
    if down.state.final:
        return _json(502, {"error": f"module {down.id!r} serves {path} but is {state}"})
    response = _json(
        503, {"error": f"module {down.id!r} serves {path} but is {state}; retry shortly"}
    )
    response.headers["retry-after"] = "1"
    return response


class _Waiter:
    """An exchange the gateway's HTTP front waits for: answered like a deferred reply."""

    def __init__(self) -> None:
        self.done = trio.Event()
        self._response: GatewayResponse | None = None
        self._error: BaseException | None = None

    def reply(self, response: GatewayResponse) -> None:
        self._response = response
        self.done.set()

    def fail(self, error: BaseException) -> None:
        self._error = error
        self.done.set()

    def result(self) -> GatewayResponse:
        if self._error is not None:
            raise self._error
        assert self._response is not None
        return self._response


class _Served:
    """Which module a request went to (for its access-log line), and the gateway hop's
    span (ended once the answer is written)."""

    module: str | None = None
    span: Span | None = None


_REPORTED: Final = ("healthy", "degraded", "unhealthy")


def _json_body(response: GatewayResponse) -> object:
    try:
        return json.loads(response.body)
    except ValueError:
        return None


def _serves_no_app(status: int, body: object) -> bool:
    """A pywatt module without an app answers HTTP over IPC with this 503 (pywatt.link)."""
    return (
        status == 503
        and isinstance(body, dict)
        and body.get("status") == "error"
        and "serves no HTTP app" in str(body.get("message"))
    )


def _health_reason(status: str, report: dict[str, Any]) -> str:
    parts = [status]
    for key in ("restarting", "stuck"):
        names = report.get(key)
        if isinstance(names, list) and names:
            parts.append(f"{key}: {', '.join(map(str, names))}")
    for key in ("reason", "reasons"):
        value = report.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
        elif isinstance(value, list) and value:
            parts.extend(map(str, value))
    return "; ".join(parts)


def _not_running(handle: ModuleHandle) -> str:
    state = handle.state
    failure = str(handle.failure).splitlines()[0] if handle.failure is not None else ""
    exit_text = describe_exit(handle.last_exit) if handle.last_exit is not None else ""
    if state is ModuleState.STARTING:
        return "starting (it has not announced yet)"
    if state is ModuleState.RESTARTING:
        return f"restarting (restart {handle.restarts})"
    if state is ModuleState.CRASHED:
        return f"crashed ({exit_text})" if exit_text else "crashed"
    if state in (ModuleState.STOPPING, ModuleState.STOPPED):
        return "stopped"
    if state is ModuleState.EXITED:
        return exit_text or "exited"
    if state is ModuleState.GAVE_UP:
        return f"gave up after {handle.restarts} restarts" + (f": {failure}" if failure else "")
    return "could not start" + (
        f": {failure}" if failure else f" ({exit_text})" if exit_text else ""
    )

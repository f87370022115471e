"""The embedded orchestrator's HTTP gateway on ``orchestrator_api``.

A small ASGI app served by hypercorn's trio worker on the API socket the orchestrator has
held since it started. A request is routed by the endpoints the modules announced (the
first running module, in start order, that announced a matching path: exact, ``/x/*``
prefixes, ``{name}`` segments) and forwarded

* over IPC (the default): an ``http_request`` line on the module's stdin, written by its
  process actor (the only writer of that pipe); the module answers with the §9.2 wrapper on
  stdout, which the process actor's stdout reader hands to the gateway actor
  (:class:`HttpWrapperLine`), matched by ``request_id``;
* or over HTTP to the module's announced listen address (TCP, or a Unix socket path).

The gateway answers 404 when no module announced the path, 405 when it did for other
methods, 502 when the module is not running or went away mid-request, 504 after
``timeout`` seconds (30 by default), and 413 for a body over ``max_body_size``. Everything
else is the module's own answer, headers and body as the module produced them. It checks
no token itself: a module protects its ``auth="jwt"`` endpoints.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import uuid
from collections.abc import Callable
from typing import Any, Final, Literal

import attrs
import trio

from actors import Actor, ActorError, Crashed, DeferredReply, LifecycleEvent, Request, Stopped
from pywatt._extras import have
from pywatt.wire import AnnounceBlob, IpcHttpRequest, RemoteProtocolError, decode_json_value

from ._handle import ModuleHandle, ModuleState

__all__ = [
    "GATEWAY_NAME",
    "ExchangeHttp",
    "ForwardHttp",
    "Gateway",
    "GatewayResponse",
    "HttpWrapperLine",
    "find_route",
]

GATEWAY_NAME: Final = "pywatt.gateway"
DEFAULT_TIMEOUT: Final = 30.0
DEFAULT_MAX_BODY: Final = 16 * 1024 * 1024
_HOP_BY_HOP: Final = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "upgrade", "te",
     "trailer", "proxy-connection"}
)  # fmt: skip

log = logging.getLogger("pywatt.orchestrator.gateway")

Transport = Literal["ipc", "http"]


@attrs.frozen
class ForwardHttp:
    """Told to a module's process actor: write this ``http_request`` on the module's stdin."""

    request: IpcHttpRequest


@attrs.frozen
class HttpWrapperLine:
    """Told to the gateway by a process actor: a §9.2 wrapper line the module wrote."""

    module_id: str
    line: bytes


@attrs.frozen
class GatewayResponse:
    """A module's answer: status, headers (names lower-case) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


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
    from pywatt.http import path_matches

    allowed: list[str] = []
    for handle in handles:
        announce: AnnounceBlob | None = handle.announce
        if announce is None or handle.state is not ModuleState.RUNNING:
            continue
        for endpoint in announce.endpoints:
            if not path_matches(endpoint.path, path):
                continue
            methods = [m.upper() for m in endpoint.methods]
            if method in methods or (method == "HEAD" and "GET" in methods) or "*" in methods:
                return handle, []
            allowed += methods
    return None, sorted(set(allowed))


class Gateway(Actor[GatewayMessage]):
    """The gateway actor (registered as ``pywatt.gateway``; see the module docstring).

    ``sock`` is the bound API socket (it starts listening here); ``handles`` returns every
    module's handle in start order; ``process_name`` maps a module id to its process actor.
    """

    reply_errors = (GatewayFailure,)

    def __init__(
        self,
        sock: socket.socket,
        handles: Callable[[], list[ModuleHandle]],
        process_name: Callable[[str], str],
        *,
        transport: Transport = "ipc",
        timeout: float = DEFAULT_TIMEOUT,
        max_body_size: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.sock = sock
        self.handles = handles
        self.process_name = process_name
        self.transport = transport
        self.timeout = timeout
        self.max_body_size = max_body_size
        self.pending: dict[tuple[str, str], DeferredReply] = {}
        self.stopping = trio.Event()
        self.finished = trio.Event()
        self.forwarded = 0
        self.unmatched = 0
        self._unsubscribe: Callable[[], None] | None = None
        self._clients: dict[str, Any] = {}  # listen address -> httpx.AsyncClient

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

    def _on_event(self, event: LifecycleEvent) -> None:
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
            for key in [k for k in self.pending if k[0] == message.module_id]:
                self.pending.pop(key).fail(
                    GatewayFailure(502, f"module {message.module_id!r} ended before answering")
                )
        return None

    async def _forward(self, message: ExchangeHttp) -> None:
        module_id, request = message.module_id, message.request
        target = self.process_name(module_id)
        if self.ctx.system.registry.lookup(target) is None:
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
        # hypercorn is the [http] extra: the orchestrator runs without it, gateway off.
        if not have("http"):
            self.sock.close()
            self.finished.set()
            return
        from hypercorn.config import Config as HypercornConfig
        from hypercorn.config import Sockets
        from hypercorn.trio.run import worker_serve
        from hypercorn.utils import wrap_app

        config = HypercornConfig()
        config.errorlog = logging.getLogger("pywatt.orchestrator.gateway.server")
        config.accesslog = None
        config.graceful_timeout = 1.0
        try:
            await worker_serve(
                wrap_app(self._app, self.max_body_size, "asgi"),  # type: ignore[arg-type]
                config,
                sockets=Sockets(secure_sockets=[], insecure_sockets=[self.sock], quic_sockets=[]),
                shutdown_trigger=self.stopping.wait,
            )
        finally:
            self.finished.set()

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                event = await receive()
                if event["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif event["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        try:
            response = await self._route(scope, receive)
        except GatewayFailure as exc:
            response = _json(exc.status, {"error": str(exc)})
        headers = [
            (k.encode("latin-1"), v.encode("latin-1"))
            for k, v in response.headers.items()
            if k.lower() not in _HOP_BY_HOP
        ]
        headers.append((b"content-length", str(len(response.body)).encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        body = b"" if scope["method"] == "HEAD" else response.body
        await send({"type": "http.response.body", "body": body})

    async def _route(self, scope: dict[str, Any], receive: Any) -> GatewayResponse:
        method: str = scope["method"].upper()
        path: str = scope["path"]
        handle, allowed = find_route(self.handles(), method, path)
        if handle is None:
            if allowed:
                response = _json(405, {"error": f"{method} is not allowed on {path}"})
                response.headers["allow"] = ", ".join(allowed)
                return response
            return _json(404, {"error": f"no module serves {method} {path}"})
        body = await _read_body(receive, self.max_body_size)
        raw_path = scope.get("raw_path") or path.encode()
        uri = raw_path.decode("latin-1")
        if scope.get("query_string"):
            uri += "?" + scope["query_string"].decode("latin-1")
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope.get("headers", ()):
            name = raw_name.decode("latin-1").lower()
            value = raw_value.decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        with trio.move_on_after(self.timeout) as deadline:
            if self.transport == "http":
                response = await self._over_http(handle, method, uri, headers, body)
            else:
                request = IpcHttpRequest(
                    request_id=str(uuid.uuid4()), method=method, uri=uri, headers=headers,
                    body=body,
                )  # fmt: skip
                response = await self.ctx.system.ask(GATEWAY_NAME, ExchangeHttp(handle.id, request))
        if deadline.cancelled_caught:
            raise GatewayFailure(504, f"module {handle.id!r} did not answer in {self.timeout:g} s")
        return response

    async def _over_http(
        self, handle: ModuleHandle, method: str, uri: str, headers: dict[str, str], body: bytes
    ) -> GatewayResponse:
        import httpx

        announce = handle.announce
        assert announce is not None
        listen = announce.listen
        client = self._clients.get(listen)
        if client is None:
            if listen.startswith("/"):
                transport = httpx.AsyncHTTPTransport(uds=listen)
                client = httpx.AsyncClient(transport=transport, base_url="http://localhost")
            else:  # the module binds 127.0.0.1:<port> (only the port of listen counts, §8)
                port = listen.rsplit(":", 1)[-1]
                client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}")
            self._clients[listen] = client
        forwarded = {k: v for k, v in headers.items() if k not in _HOP_BY_HOP and k != "host"}
        try:
            reply = await client.request(method, uri, headers=forwarded, content=body)
        except httpx.HTTPError as exc:
            raise GatewayFailure(502, f"module {handle.id!r} at {listen}: {exc}") from None
        return GatewayResponse(reply.status_code, dict(reply.headers), reply.content)


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


def _json(status: int, value: Any) -> GatewayResponse:
    return GatewayResponse(status, {"content-type": "application/json"}, json.dumps(value).encode())

"""An HTTP/1.1 server on trio for ASGI 3 apps: httptools parses, one task per connection.

:func:`serve_http1` accepts connections on a listening socket until ``shutdown`` is set,
and serves each in one task: it reads until a request's head is complete, calls the app
with that request's ``http`` scope, and reads the body only as the app asks for it (so an
upload is never buffered whole, and a slow app slows the client). Responses go out as the
app sends them: with the app's ``Content-Length``, else its only body part's length, else
chunked. Connections are kept alive (HTTP/1.1 default, ``keep_alive_timeout`` idle) and
pipelined requests are answered in order.

Bad requests get a clean answer and the connection is closed: 400 (malformed), 413
(``Content-Length`` over ``max_body_size``), 414/431 (target or head over
``max_header_size``). An app that fails before it starts its response gets a 500; after,
the connection is closed. On shutdown the listener closes at once, idle connections close,
and requests in progress have ``graceful_timeout`` seconds to finish.

Lifespan events are the caller's (:class:`~pywatt.http.HttpServer` runs them around this).
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any, Final

import attrs
import trio

from ._h1 import LAST_CHUNK, HttpParseError, ParsedRequest, RequestParser, chunk, response_head

__all__ = ["Http1Settings", "serve_http1"]

log = logging.getLogger("pywatt.http.server")

Scope = dict[str, Any]
Event = dict[str, Any]
AsgiApp = Callable[[Scope, Callable[[], Awaitable[Event]], Callable[[Event], Awaitable[None]]],
                   Awaitable[None]]  # fmt: skip

READ_SIZE: Final = 64 * 1024
PIPELINE_BUFFER: Final = 1024 * 1024
"""Bytes of later pipelined requests read ahead while one is answered, at most."""
_NO_BODY_STATUS: Final = frozenset({204, 304})


@attrs.frozen
class Http1Settings:
    """Limits and timeouts of :func:`serve_http1`."""

    max_header_size: int = 64 * 1024
    max_body_size: int = 16 * 1024 * 1024
    keep_alive_timeout: float = 30.0
    graceful_timeout: float = 3.0


class _Date:
    """The ``Date`` header value, formatted once a second."""

    second = 0
    value = b""

    @classmethod
    def now(cls) -> bytes:
        second = int(time.time())
        if second != cls.second:
            cls.second = second
            cls.value = formatdate(second, usegmt=True).encode()
        return cls.value


class _Closed(Exception):
    """The connection is over (the peer left, or we must not read any more)."""


class _Socket:
    """A connected non-blocking socket driven by trio's readiness waits: one system call
    per read or write once the socket is ready, and no read tried on an idle connection
    before it is readable (what ``trio.SocketStream`` does costs a call more each way)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    async def receive(self, *, wait_first: bool) -> bytes:
        if self.closed:
            raise _Closed
        if wait_first:
            await trio.lowlevel.wait_readable(self.sock)
        while True:
            try:
                return self.sock.recv(READ_SIZE)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(self.sock)
            except OSError:  # reset by the peer
                raise _Closed from None

    async def send_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            if self.closed:
                raise _Closed
            try:
                sent = self.sock.send(view)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(self.sock)
                continue
            except OSError:  # the peer is gone
                raise _Closed from None
            view = view[sent:]

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


class _Connection:
    def __init__(
        self,
        sock: socket.socket,
        app: AsgiApp,
        settings: Http1Settings,
        state: dict[str, Any],
        server: _Server,
    ) -> None:
        self.stream = _Socket(sock)
        self.app = app
        self.settings = settings
        self.state = state
        self.server = server
        self.parser = RequestParser(
            max_header_size=settings.max_header_size, max_body_size=settings.max_body_size
        )
        self.reading = False  # one read at a time (the app's receive and _watch may race)
        self.read_done: trio.Event | None = None
        self.eof = False
        self.broken = False
        self.scope = trio.CancelScope()
        """Cancelled by the server's sweeper (a wait over ``keep_alive_timeout``) or its
        shutdown (an idle connection), only while the connection waits for a request."""
        self.waiting_since: float | None = None
        self.waiting_idle = False
        self.timed_out = False
        self.client = _address(sock.getpeername())
        self.server_address = _address(sock.getsockname())

    async def run(self) -> None:
        try:
            with self.scope:
                while not self.server.closing:
                    request = await self._next_request()
                    if request is None or not await self._serve(request):
                        return
            if self.scope.cancelled_caught and not self.waiting_idle:  # a head never finished
                await self._refuse(408, "request head not received in time")
        except _Closed:
            pass
        except HttpParseError as exc:
            await self._refuse(exc.status, str(exc))
        finally:
            self.stream.close()

    # -- reading ---------------------------------------------------------------------------

    async def _read(self, *, idle: bool = False) -> None:
        """Receive once and feed the parser; :class:`_Closed` at the end of the stream."""
        if self.eof or self.broken:
            raise _Closed
        while self.reading:  # another task reads: wait for it (no lock: no checkpoint)
            if self.read_done is None:
                self.read_done = trio.Event()
            await self.read_done.wait()
            if self.eof or self.broken:
                raise _Closed
        self.reading = True
        try:
            data = await self.stream.receive(wait_first=idle)
        finally:
            self.reading = False
            if self.read_done is not None:
                self.read_done.set()
                self.read_done = None
        if not data:
            self.eof = True
            raise _Closed
        self.parser.feed(data)

    async def _next_request(self) -> ParsedRequest | None:
        requests = self.parser.requests
        while not requests or requests[0].head is None:
            # Idle, or in the middle of a head: either way, keep_alive_timeout per read,
            # enforced by the server's sweeper (a cancel scope per read costs more than
            # the rest of the wait).
            idle = not requests
            if idle and self.server.closing:
                return None
            self.waiting_idle = idle
            self.waiting_since = trio.current_time()
            try:
                await self._read(idle=idle)
            finally:
                self.waiting_since = None
        if self.timed_out:  # the sweeper fired as the data came: never cancel the app
            return None
        return requests[0]

    # -- one request -----------------------------------------------------------------------

    async def _serve(self, request: ParsedRequest) -> bool:
        """Answer ``request``; whether the connection may serve another one."""
        head = request.head
        assert head is not None
        scope: Scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": head.http_version,
            "method": head.method,
            "scheme": "http",
            "path": head.path,
            "raw_path": head.raw_path,
            "query_string": head.query_string,
            "root_path": "",
            "headers": head.headers,
            "client": self.client,
            "server": self.server_address,
            "state": dict(self.state),
        }
        exchange = _Exchange(self, request, head.method == "HEAD", head.http_version)
        try:
            await self.app(scope, exchange.receive, exchange.send)
        except Exception:
            log.exception("%s %s: the app failed", head.method, head.path)
            if not exchange.started:
                await self._refuse(500, "internal server error")
                return False
            if not exchange.complete:
                return False
        finally:
            exchange.finished.set()
        if not exchange.complete:
            if not exchange.started:
                await self._refuse(500, "the app sent no response")
            return False
        self.parser.requests.popleft()
        if not request.complete or not exchange.keep_alive or not head.keep_alive:
            return False  # an unread body: closing is cheaper and safer than reading it
        return not self.server.closing

    async def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` with ``message`` and close the connection."""
        body = json.dumps({"error": message}).encode()
        head = response_head(status, [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)), (b"connection", b"close"),
        ], [(b"date", _Date.now())])  # fmt: skip
        with trio.move_on_after(1), contextlib.suppress(_Closed):
            await self.stream.send_all(head + body)


class _Exchange:
    """The ``receive`` and ``send`` of one request."""

    def __init__(
        self, connection: _Connection, request: ParsedRequest, head_only: bool, version: str
    ) -> None:
        self.connection = connection
        self.request = request
        self.head_only = head_only
        self.http10 = version == "1.0"
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.started = False  # the response head is out
        self.complete = False
        self.chunked = False
        self.length: int | None = None
        self.sent = 0
        self.keep_alive = True
        self.continued = False
        self.body_taken = False
        self.disconnected = False
        self.finished = trio.Event()

    async def receive(self) -> Event:
        connection, request = self.connection, self.request
        while True:
            if self.disconnected or connection.broken:
                return {"type": "http.disconnect"}
            if request.body or (request.complete and not self.body_taken):
                self.body_taken = request.complete
                return {"type": "http.request", "body": request.take_body(),
                        "more_body": not request.complete}  # fmt: skip
            if request.complete:  # all read: wait for the response to end or the peer to go
                if self.complete or not await self._watch():
                    return {"type": "http.disconnect"}
                continue
            head = request.head
            if (
                head is not None
                and head.expect_continue
                and not self.started
                and not self.continued
            ):
                self.continued = True
                await self._write(b"HTTP/1.1 100 Continue\r\n\r\n")
            try:
                await connection._read()
            except _Closed:
                self.disconnected = True
            except HttpParseError:
                connection.broken = True

    async def _watch(self) -> bool:
        """Wait, after the whole body was read, for the response to end (True) or the
        peer to go (False)."""
        connection = self.connection
        ahead = sum(r.buffered for r in connection.parser.requests)
        if connection.eof or connection.broken or ahead > PIPELINE_BUFFER:
            await self.finished.wait()
            return not connection.eof
        async with trio.open_nursery() as nursery:
            outcome = [True]

            async def read() -> None:
                try:
                    await connection._read()
                except (_Closed, HttpParseError):
                    outcome[0] = False
                    self.disconnected = True
                nursery.cancel_scope.cancel()

            async def finished() -> None:
                await self.finished.wait()
                nursery.cancel_scope.cancel()

            nursery.start_soon(read)
            nursery.start_soon(finished)
        return outcome[0] or self.complete

    async def send(self, event: Event) -> None:
        kind = event["type"]
        if kind == "http.response.start":
            if self.started or self.status:
                raise RuntimeError("http.response.start sent twice")
            self.status = int(event["status"])
            self.headers = list(event.get("headers") or ())
            return
        if kind != "http.response.body":
            raise RuntimeError(f"unexpected ASGI event {kind!r} for an HTTP request")
        if not self.status:
            raise RuntimeError("http.response.body before http.response.start")
        if self.complete:
            raise RuntimeError("http.response.body after the response was complete")
        body: bytes = event.get("body", b"")
        more: bool = event.get("more_body", False)
        out = b""
        if not self.started:
            out = self._head(body, more)
            self.started = True
        if self.head_only or self.status in _NO_BODY_STATUS:
            body = b""
        self.sent += len(body)
        if self.chunked:
            out += chunk(body)
            if not more:
                out += LAST_CHUNK
        else:
            out += body
        if not more:
            self.complete = True
            if self.length is not None and self.sent != self.length and not self.head_only:
                self.keep_alive = False  # the app broke its own Content-Length
        if out:
            await self._write(out)
        if not more:
            self.finished.set()

    def _head(self, body: bytes, more: bool) -> bytes:
        extra = [(b"date", _Date.now())]
        for name, value in self.headers:
            if b"\n" in value or b"\r" in value or b"\n" in name or b"\r" in name:
                raise ValueError(f"response header {name!r} holds a line break")
            lower = name.lower()
            if lower == b"content-length":
                self.length = int(value)
            elif lower == b"connection" and value.lower() == b"close":
                self.keep_alive = False
            elif lower == b"transfer-encoding":
                self.chunked = True
        no_body = self.status in _NO_BODY_STATUS or 100 <= self.status < 200
        if self.length is None and not self.chunked and not no_body:
            if not more:
                if not self.head_only or body:
                    extra.append((b"content-length", b"%d" % len(body)))
            elif self.http10:
                self.keep_alive = False  # delimited by the end of the connection
            else:
                self.chunked = True
                extra.append((b"transfer-encoding", b"chunked"))
        if not self.keep_alive or self.connection.server.closing:
            if not any(n.lower() == b"connection" for n, _ in self.headers):
                extra.append((b"connection", b"close"))
            self.keep_alive = False
        return response_head(self.status, self.headers, extra)

    async def _write(self, data: bytes) -> None:
        if self.disconnected:
            return
        try:
            await self.connection.stream.send_all(data)
        except _Closed:
            self.disconnected = True
            self.keep_alive = False


class _Server:
    def __init__(self) -> None:
        self.closing = False
        self.connections: set[_Connection] = set()

    def sweep(self, timeout: float) -> None:
        """Cancel the waits of connections waiting longer than ``timeout`` (0: all idle
        ones, at shutdown)."""
        now = trio.current_time()
        for connection in self.connections:
            since = connection.waiting_since
            if since is None or connection.timed_out:
                continue
            if (timeout == 0 and connection.waiting_idle) or (
                timeout > 0 and now - since >= timeout
            ):
                connection.timed_out = True
                connection.scope.cancel()

    async def sweeper(self, timeout: float) -> None:
        """Enforce ``keep_alive_timeout`` on waiting connections (a quarter of it late, at
        most a second)."""
        period = min(1.0, timeout / 4)
        while True:
            await trio.sleep(period)
            self.sweep(timeout)


async def serve_http1(
    app: AsgiApp,
    sock: socket.socket,
    settings: Http1Settings,
    *,
    shutdown: trio.Event,
    state: dict[str, Any] | None = None,
    task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` on the listening ``sock`` until ``shutdown`` is set (see the module
    docstring); ``state`` is the lifespan state each request's scope gets a copy of."""
    server = _Server()
    lifespan_state = state if state is not None else {}
    sock.setblocking(False)
    tcp = sock.family in (socket.AF_INET, socket.AF_INET6)

    async def handle(conn: socket.socket) -> None:
        connection = _Connection(conn, app, settings, lifespan_state, server)
        server.connections.add(connection)
        try:
            await connection.run()
        finally:
            server.connections.discard(connection)

    async with trio.open_nursery() as connections:
        async with trio.open_nursery() as acceptor:

            async def accept() -> None:
                while True:
                    await trio.lowlevel.wait_readable(sock)
                    try:
                        conn, _ = sock.accept()
                    except BlockingIOError:
                        continue
                    except OSError as exc:  # EMFILE and friends: wait, keep serving
                        log.warning("accept failed: %s", exc)
                        await trio.sleep(0.1)
                        continue
                    conn.setblocking(False)
                    if tcp:
                        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    connections.start_soon(handle, conn)

            acceptor.start_soon(accept)
            acceptor.start_soon(server.sweeper, settings.keep_alive_timeout)
            task_status.started()
            await shutdown.wait()
            acceptor.cancel_scope.cancel()
        server.closing = True
        trio.lowlevel.notify_closing(sock)
        sock.close()
        server.sweep(0)
        connections.cancel_scope.deadline = trio.current_time() + settings.graceful_timeout


def _address(address: Any) -> tuple[str, int] | None:
    if isinstance(address, tuple) and len(address) >= 2:
        return (str(address[0]), int(address[1]))
    return None

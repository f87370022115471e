"""A pooled keep-alive HTTP/1.1 client on trio for one upstream: what the gateway forwards with.

:class:`Http1Pool` keeps idle connections to one address (``host:port``, or a Unix socket
path) and sends each request, head and body in one write, on one of them; the answer is read
whole (:class:`~pywatt.http._h1.ResponseParser`, httptools underneath) and the connection
goes back to the pool unless the answer closes it. A connection that was idle and turns out
to be closed by the upstream (it restarted, or dropped the connection after its keep-alive
timeout) is seen so before anything is sent on it (a non-blocking peek) and replaced: a
request is never sent twice. Every failure is an :class:`UpstreamError`
(:class:`UpstreamUnreachable` when no connection could be opened). A request cancelled midway
(a deadline) closes its connection: it is never reused with an answer still on its way.
"""

from __future__ import annotations

import socket
from typing import Final

import attrs
import trio

from ._h1 import HttpParseError, ResponseParser, request_head

__all__ = [
    "Http1Pool", "UpstreamBody", "UpstreamError", "UpstreamResponse", "UpstreamUnreachable",
]  # fmt: skip

READ_SIZE: Final = 64 * 1024
MAX_IDLE: Final = 64
"""Idle connections kept per upstream, at most."""


class UpstreamError(Exception):
    """The upstream could not be reached, or went away, or answered something unusable."""


class UpstreamUnreachable(UpstreamError):
    """No connection to the upstream could be opened: nothing of the request was sent."""


@attrs.frozen
class UpstreamResponse:
    """An upstream's answer: status, headers (names lower-case, as sent, repeats kept) and
    body: the whole body, or (``rest`` not None: a streamed answer) the part read so far."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    rest: UpstreamBody | None = None
    """The rest of a streamed answer's body, still to be read (see ``stream_above``)."""


class UpstreamBody:
    """The rest of a streamed answer's body, read part by part as the caller asks for it
    (so the upstream's pace follows the caller's). Its connection goes back to the pool
    once the body is read to its end; :meth:`close` before that closes it."""

    def __init__(self, pool: Http1Pool, connection: _Connection, parser: ResponseParser) -> None:
        self._pool = pool
        self._connection: _Connection | None = connection
        self._parser = parser

    async def read(self) -> bytes:
        """The next part of the body; ``b""`` at its end. Raises :class:`UpstreamError`."""
        connection, parser = self._connection, self._parser
        if connection is None:
            return b""
        while not parser.complete:
            await _receive(self._pool.address, connection.sock, parser)
            if parser.body:
                return parser.take_body()
        self._connection = None
        self._pool._release(connection, parser)
        return parser.take_body()

    def close(self) -> None:
        """Give up the rest (the connection is closed, never reused midway)."""
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()


class _Connection:
    __slots__ = ("closed", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            trio.lowlevel.notify_closing(self.sock)
            self.sock.close()


class Http1Pool:
    """Keep-alive connections to ``address`` (``host:port`` or an absolute Unix socket
    path); see the module docstring. ``max_body_size`` bounds an answer's body."""

    def __init__(self, address: str, *, max_body_size: int, max_idle: int = MAX_IDLE) -> None:
        self.address = address
        self.max_body_size = max_body_size
        self.max_idle = max_idle
        self._idle: list[_Connection] = []
        self._closed = False
        if address.startswith("/"):
            self._family, self._target = socket.AF_UNIX, address
        else:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"not a host:port or a Unix socket path: {address!r}")
            host = host.strip("[]")
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            self._family, self._target = family, (host, int(port))  # type: ignore[assignment]

    @property
    def idle(self) -> int:
        """Connections waiting in the pool."""
        return len(self._idle)

    async def request(
        self,
        method: str,
        target: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        *,
        stream_above: int | None = None,
    ) -> UpstreamResponse:
        """Send one request (``headers`` without ``Content-Length``: it is added) and
        return its whole answer. With ``stream_above``, an answer whose body is chunked or
        longer than that returns once its head arrived, its body to read from
        :attr:`UpstreamResponse.rest` (which the caller must read to the end or close).
        Raises :class:`UpstreamError`."""
        if self._closed:
            raise UpstreamError(f"the pool to {self.address} is closed")
        data = request_head(method, target, [*headers, (b"content-length", b"%d" % len(body))])
        data = data + body if body else data
        connection = None
        while self._idle:
            candidate = self._idle.pop()
            if _usable(candidate.sock):
                connection = candidate
                break
            candidate.close()  # closed by the upstream while idle: never sent on
        if connection is None:
            connection = await self._connect()
        parser = ResponseParser(max_body_size=self.max_body_size, head_only=method == "HEAD")
        return await self._exchange(connection, data, parser, stream_above)

    async def _connect(self) -> _Connection:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        sock.setblocking(False)
        if self._family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection = _Connection(sock)
        try:
            try:
                sock.connect(self._target)
            except BlockingIOError:
                await trio.lowlevel.wait_writable(sock)
                error = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if error:
                    raise OSError(error, f"connect: {_strerror(error)}") from None
        except OSError as exc:
            connection.close()
            raise UpstreamUnreachable(f"cannot connect to {self.address}: {exc}") from None
        except BaseException:
            connection.close()
            raise
        return connection

    async def _exchange(
        self,
        connection: _Connection,
        data: bytes,
        parser: ResponseParser,
        stream_above: int | None,
    ) -> UpstreamResponse:
        sock = connection.sock
        done = streamed = False
        try:
            view = memoryview(data)
            while view:
                try:
                    sent = sock.send(view)
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(sock)
                    continue
                except OSError as exc:
                    raise UpstreamError(f"{self.address} went away: {exc}") from None
                view = view[sent:]
            while not parser.complete:
                await _receive(self.address, sock, parser)
                if (
                    stream_above is not None
                    and parser.head_complete
                    and not parser.complete
                    and (parser.length is None or parser.length > stream_above)
                ):
                    streamed = True
                    break
            done = True
        finally:
            if not done:
                connection.close()
            elif not streamed:
                self._release(connection, parser)
        if streamed:
            rest = UpstreamBody(self, connection, parser)
            return UpstreamResponse(parser.status, parser.headers, parser.take_body(), rest)
        return UpstreamResponse(parser.status, parser.headers, parser.take_body())

    def _release(self, connection: _Connection, parser: ResponseParser) -> None:
        """``connection`` is done with an answer: back to the pool if it may be reused."""
        if parser.keep_alive and not self._closed and len(self._idle) < self.max_idle:
            self._idle.append(connection)
        else:
            connection.close()

    def close(self) -> None:
        """Close the idle connections; the pool takes no more requests (those under way
        finish, then close theirs)."""
        self._closed = True
        self.drop_idle()

    def drop_idle(self) -> None:
        """Close the idle connections (the upstream restarted): new requests connect anew."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()


async def _receive(address: str, sock: socket.socket, parser: ResponseParser) -> None:
    """Wait for bytes of the answer on ``sock`` and feed them to ``parser``."""
    await trio.lowlevel.wait_readable(sock)
    try:
        chunk = sock.recv(READ_SIZE)
    except BlockingIOError:
        return
    except OSError as exc:
        raise UpstreamError(f"{address} went away: {exc}") from None
    if not chunk:
        raise UpstreamError(f"{address} closed the connection mid-answer")
    try:
        parser.feed(chunk)
    except HttpParseError as exc:
        raise UpstreamError(f"{address}: {exc}") from None


def _usable(sock: socket.socket) -> bool:
    """Whether an idle connection is still open and has nothing unasked-for to read."""
    try:
        sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    except BlockingIOError:
        return True
    except OSError:
        return False
    return False  # the end of the stream, or bytes nobody asked for


def _strerror(code: int) -> str:
    import os

    return os.strerror(code)

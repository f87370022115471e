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

__all__ = ["Http1Pool", "UpstreamError", "UpstreamResponse", "UpstreamUnreachable"]

READ_SIZE: Final = 64 * 1024
MAX_IDLE: Final = 64
"""Idle connections kept per upstream, at most."""


class UpstreamError(Exception):
    """The upstream could not be reached, or went away, or answered something unusable."""


class UpstreamUnreachable(UpstreamError):
    """No connection to the upstream could be opened: nothing of the request was sent."""


@attrs.frozen
class UpstreamResponse:
    """An upstream's whole answer: status, headers (names lower-case, as sent, repeats
    kept) and body."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


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
        self, method: str, target: str, headers: list[tuple[bytes, bytes]], body: bytes
    ) -> UpstreamResponse:
        """Send one request (``headers`` without ``Content-Length``: it is added) and
        return its whole answer. Raises :class:`UpstreamError`."""
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
        return await self._exchange(connection, data, parser)

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
        self, connection: _Connection, data: bytes, parser: ResponseParser
    ) -> UpstreamResponse:
        sock = connection.sock
        done = False
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
                await trio.lowlevel.wait_readable(sock)
                try:
                    chunk = sock.recv(READ_SIZE)
                except BlockingIOError:
                    continue
                except OSError as exc:
                    raise UpstreamError(f"{self.address} went away: {exc}") from None
                if not chunk:
                    raise UpstreamError(f"{self.address} closed the connection mid-answer")
                try:
                    parser.feed(chunk)
                except HttpParseError as exc:
                    raise UpstreamError(f"{self.address}: {exc}") from None
            done = True
        finally:
            if done and parser.keep_alive and not self._closed and len(self._idle) < self.max_idle:
                self._idle.append(connection)
            else:
                connection.close()
        body = parser.body[0] if len(parser.body) == 1 else b"".join(parser.body)
        return UpstreamResponse(parser.status, parser.headers, body)

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

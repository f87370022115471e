"""HTTP/1.1 requests parsed and responses framed, sans-io (httptools' C parser underneath).

:class:`RequestParser` is fed the bytes a connection received and queues what they hold:
each request's head once its headers are complete, then its body chunks as they arrive,
then its end. Pipelined requests queue behind one another. A malformed request, a head
over ``max_header_size`` bytes or a ``Content-Length`` over ``max_body_size`` raise
:class:`HttpParseError` with the status to answer (400, 431, 413). Nothing here does I/O
or keeps a clock; :mod:`pywatt.http._h1_server` drives it on trio sockets.

:func:`response_head`, :func:`chunk` and :data:`LAST_CHUNK` produce the bytes of a
response.
"""

from __future__ import annotations

import http
from collections import deque
from typing import Final
from urllib.parse import unquote

import attrs
import httptools

__all__ = [
    "LAST_CHUNK",
    "HttpParseError",
    "ParsedRequest",
    "RequestHead",
    "RequestParser",
    "ResponseParser",
    "chunk",
    "request_head",
    "response_head",
]

LAST_CHUNK: Final = b"0\r\n\r\n"
_REASONS: Final = {s.value: s.phrase.encode() for s in http.HTTPStatus}


class HttpParseError(Exception):
    """The peer sent something that is not an acceptable HTTP/1.1 request."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@attrs.define
class RequestHead:
    """A request line and its headers (names lower-case, values as sent)."""

    method: str
    raw_path: bytes
    query_string: bytes
    http_version: str
    headers: list[tuple[bytes, bytes]]
    keep_alive: bool
    expect_continue: bool

    @property
    def path(self) -> str:
        """The percent-decoded path (ASGI's ``path``)."""
        return unquote(self.raw_path.decode("latin-1"), encoding="utf-8", errors="replace")


@attrs.define(eq=False)
class ParsedRequest:
    """One request as far as it has arrived: its head, body chunks not yet taken, its end."""

    head: RequestHead | None = None
    body: deque[bytes] = attrs.Factory(deque)
    buffered: int = 0
    """Bytes in ``body``."""
    complete: bool = False

    def take_body(self) -> bytes:
        """Every body byte received and not yet taken."""
        data = b"".join(self.body) if len(self.body) != 1 else self.body[0]
        self.body.clear()
        self.buffered = 0
        return data


class RequestParser:
    """Feed it bytes; it queues :class:`ParsedRequest` objects in :attr:`requests`."""

    def __init__(self, *, max_header_size: int, max_body_size: int) -> None:
        self.max_header_size = max_header_size
        self.max_body_size = max_body_size
        self.requests: deque[ParsedRequest] = deque()
        self._parser = httptools.HttpRequestParser(self)
        self._current: ParsedRequest | None = None
        self._url = bytearray()
        self._headers: list[tuple[bytes, bytes]] = []
        self._head_size = 0
        self._error: HttpParseError | None = None

    def feed(self, data: bytes) -> None:
        """Parse ``data``; raises :class:`HttpParseError` (and keeps raising it) on bad input."""
        if self._error is not None:
            raise self._error
        try:
            self._parser.feed_data(data)
        except HttpParseError as exc:
            self._error = exc
        except httptools.HttpParserUpgrade:
            pass  # no protocol switch here: the request is served as plain HTTP
        except httptools.HttpParserError as exc:
            cause = exc.__context__ or exc.__cause__
            self._error = (
                cause if isinstance(cause, HttpParseError)
                else HttpParseError(400, f"malformed HTTP request: {exc}")
            )  # fmt: skip
        if self._error is not None:
            raise self._error
        if self._current is not None and self._current.head is None:
            self._head_size += len(data)
            if self._head_size > self.max_header_size:
                self._error = HttpParseError(431, f"request head over {self.max_header_size} bytes")
                raise self._error

    # -- httptools callbacks ---------------------------------------------------------------

    def on_message_begin(self) -> None:
        self._current = ParsedRequest()
        self._url.clear()
        self._headers = []
        self._head_size = 0
        self.requests.append(self._current)

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.max_header_size:
            raise HttpParseError(414, f"request target over {self.max_header_size} bytes")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._head_size += len(name) + len(value) + 4
        if self._head_size > self.max_header_size:
            raise HttpParseError(431, f"request head over {self.max_header_size} bytes")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        current = self._current
        assert current is not None
        url = bytes(self._url)
        path, _, query = url.partition(b"?")
        if not path.startswith(b"/"):
            if path == b"*" or b"://" not in path:
                path = path if path == b"*" else b"/" + path
            else:  # absolute-form: keep the path part
                path = b"/" + path.split(b"://", 1)[1].partition(b"/")[2]
        expect = False
        for name, value in self._headers:
            if name == b"content-length":
                try:
                    length = int(value)
                except ValueError:
                    raise HttpParseError(400, "Content-Length is not a number") from None
                if length > self.max_body_size:
                    raise HttpParseError(413, f"request body over {self.max_body_size} bytes")
            elif name == b"expect" and value.lower() == b"100-continue":
                expect = True
        current.head = RequestHead(
            method=parser.get_method().decode("ascii"),
            raw_path=path,
            query_string=query,
            http_version=parser.get_http_version(),
            headers=self._headers,
            keep_alive=parser.should_keep_alive(),
            expect_continue=expect,
        )

    def on_body(self, body: bytes) -> None:
        current = self._current
        assert current is not None
        current.body.append(body)
        current.buffered += len(body)

    def on_message_complete(self) -> None:
        current = self._current
        assert current is not None
        current.complete = True
        self._current = None


def response_head(
    status: int, headers: list[tuple[bytes, bytes]], extra: list[tuple[bytes, bytes]]
) -> bytes:
    """The status line and headers of a response (``extra`` after the app's own)."""
    reason = _REASONS.get(status, b"")
    lines = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
    for name, value in headers:
        lines.append(b"%s: %s\r\n" % (name, value))
    for name, value in extra:
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    return b"".join(lines)


def chunk(data: bytes) -> bytes:
    """``data`` as one chunk of a chunked body (empty data: nothing)."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""


class ResponseParser:
    """Feed it the bytes of one response (httptools' C parser); :attr:`complete` once its
    end arrived. ``head_only`` for the answer to a HEAD request: complete with its head.
    A malformed response, or one over ``max_body_size``, raises :class:`HttpParseError`
    (502: it is an upstream's fault)."""

    def __init__(self, *, max_body_size: int, head_only: bool = False) -> None:
        self.max_body_size = max_body_size
        self.head_only = head_only
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.complete = False
        self.head_complete = False
        self.keep_alive = False
        self.length: int | None = None
        """The body's announced ``Content-Length``; None for a chunked (or unknown) body."""
        self._parser = httptools.HttpResponseParser(self)

    def feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except HttpParseError:
            raise
        except httptools.HttpParserError as exc:
            cause = exc.__context__ or exc.__cause__
            if isinstance(cause, HttpParseError):
                raise cause from None
            raise HttpParseError(502, f"malformed HTTP response: {exc}") from None

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        self.status = parser.get_status_code()
        self.keep_alive = parser.should_keep_alive()
        self.head_complete = True
        chunked = False
        for name, value in self.headers:
            if name == b"transfer-encoding":
                chunked = chunked or b"chunked" in value.lower()
            elif name == b"content-length" and value.strip().isdigit():
                self.length = int(value)
        if chunked:
            self.length = None
        if self.head_only:
            self.complete = True
            self.keep_alive = False  # the parser would wait for a body that never comes

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self.max_body_size:
            raise HttpParseError(502, f"response body over {self.max_body_size} bytes")
        self.body.append(body)

    def take_body(self) -> bytes:
        """The body bytes parsed since the last call (for an answer read part by part)."""
        body, self.body = self.body, []
        return body[0] if len(body) == 1 else b"".join(body)

    def on_message_complete(self) -> None:
        self.complete = True
        self.keep_alive = self._parser.should_keep_alive()


def request_head(method: str, target: str, headers: list[tuple[bytes, bytes]]) -> bytes:
    """The request line and headers of a request (``target`` as sent: path and query)."""
    lines = [b"%s %s HTTP/1.1\r\n" % (method.encode("ascii"), target.encode("latin-1"))]
    for name, value in headers:
        lines.append(b"%s: %s\r\n" % (name, value))
    lines.append(b"\r\n")
    return b"".join(lines)

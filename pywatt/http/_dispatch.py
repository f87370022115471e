"""HTTP over IPC: a stdin ``http_request`` through the app, answered as docs/protocol.md §9.2.

:func:`dispatch` turns an :class:`~pywatt.wire.IpcHttpRequest` into an ASGI HTTP scope, calls
the app in-process (a real ASGI call: the same object the HTTP server serves), and collects the
whole response. The response headers follow the Rust SDK's rules (§9.1): names lower-case,
values that are not visible ASCII become ``""``, repeated headers collapse to the last.
A request that cannot be an HTTP request (a bad method, URI or header) is answered 400, an
oversized body 413, an app that fails 500: never a dead module (§16 A4).

:func:`stdout_wrapper` builds the §9.2 line: ``{"content":{"body","headers","request_id",
"status_code"},"metadata":{"id","properties":{"correlation_id"},"source"}}``, every level
key-sorted as serde_json's ``Value`` writes it.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit

import trio

from pywatt.wire import IpcHttpRequest, encode_json_value

from ._errors import BadHttpRequest, BodyTooLarge

log = logging.getLogger("pywatt.http.ipc")

_TOKEN = re.compile(rb"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_BAD_VALUE = re.compile(rb"[\x00\r\n]")

Handler = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


def build_scope(
    request: IpcHttpRequest,
    *,
    max_body_size: int,
    state: dict[str, Any] | None = None,
    server: tuple[str, int | None] | None = None,
) -> dict[str, Any]:
    """The ASGI HTTP scope of ``request``. Raises :class:`BadHttpRequest` or
    :class:`BodyTooLarge`."""
    method = request.method.encode("utf-8", "replace")
    if not _TOKEN.match(method):
        raise BadHttpRequest("method", f"{request.method!r} is not an HTTP method token")
    uri = request.uri
    if not uri or any(c in uri for c in " \r\n\t\x00"):
        raise BadHttpRequest("uri", "empty or contains whitespace or control characters")
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise BadHttpRequest("uri", str(exc)) from None
    raw_path = parts.path or "/"
    if not raw_path.startswith("/"):
        raise BadHttpRequest("uri", "the path must start with '/'")
    headers: list[tuple[bytes, bytes]] = []
    for name, value in request.headers.items():
        raw_name = name.lower().encode("latin-1", "replace")
        if not _TOKEN.match(raw_name):
            raise BadHttpRequest("header", f"{name[:64]!r} is not a valid header name")
        try:
            raw_value = value.encode("latin-1")
        except UnicodeEncodeError:
            raw_value = value.encode("utf-8")
        if _BAD_VALUE.search(raw_value):
            raise BadHttpRequest("header", f"the value of {name[:64]!r} has a control character")
        headers.append((raw_name, raw_value))
    body = request.body or b""
    if len(body) > max_body_size:
        raise BodyTooLarge(max_body_size)
    if parts.netloc and not any(k == b"host" for k, _ in headers):
        headers.append((b"host", parts.netloc.encode("latin-1", "replace")))
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": request.method.upper(),
        "scheme": "http",
        "path": unquote(raw_path),
        "raw_path": raw_path.encode("latin-1", "replace"),
        "query_string": parts.query.encode("latin-1", "replace"),
        "root_path": "",
        "headers": headers,
        "client": None,
        "server": server,
        "state": dict(state or {}),
        "extensions": {"pywatt.ipc": {"request_id": request.request_id}},
    }


async def dispatch(
    handler: Handler,
    request: IpcHttpRequest,
    *,
    max_body_size: int,
    state: dict[str, Any] | None = None,
    server: tuple[str, int | None] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """Run ``request`` through the ASGI ``handler``; returns ``(status, headers, body)``.

    Never raises for anything the request or the app did: those become 400, 413 or 500
    responses (an app error is logged). Cancellation propagates.
    """
    try:
        scope = build_scope(request, max_body_size=max_body_size, state=state, server=server)
    except BadHttpRequest as exc:
        log.warning("refused HTTP-over-IPC request %s: %s", request.request_id, exc)
        return _error(400, str(exc))
    except BodyTooLarge as exc:
        return _error(413, str(exc))
    body = request.body or b""
    delivered = False
    done = trio.Event()
    status: int | None = None
    headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(event: dict[str, Any]) -> None:
        nonlocal status
        kind = event["type"]
        if kind == "http.response.start":
            status = int(event["status"])
            for raw_name, raw_value in event.get("headers", ()):
                headers[_text(raw_name).lower()] = _visible_ascii(raw_value)
        elif kind == "http.response.body":
            chunks.append(bytes(event.get("body", b"")))
            if not event.get("more_body", False):
                done.set()

    try:
        await handler(scope, receive, send)
    except Exception:
        log.exception("the app failed on HTTP-over-IPC request %s", request.request_id)
        if status is None:
            return _error(500, "internal server error")
    finally:
        done.set()
    if status is None:
        log.error("the app sent no response to HTTP-over-IPC request %s", request.request_id)
        return _error(500, "the app sent no response")
    return status, headers, b"".join(chunks)


def stdout_wrapper(
    request_id: str,
    status: int,
    headers: dict[str, str],
    body: bytes,
    *,
    source: str,
    message_id: str | None = None,
) -> bytes:
    """The §9.2 stdout line (without newline) answering ``request_id``."""
    return encode_json_value(
        {
            "content": {
                "body": list(body),
                "headers": headers,
                "request_id": request_id,
                "status_code": status,
            },
            "metadata": {
                "id": message_id or str(uuid.uuid4()),
                "properties": {"correlation_id": request_id},
                "source": source,
            },
        }
    )


def _error(status: int, message: str) -> tuple[int, dict[str, str], bytes]:
    body = encode_json_value({"error": message})
    return status, {"content-type": "application/json"}, body


def _text(raw: bytes | str) -> str:
    return raw if isinstance(raw, str) else raw.decode("latin-1")


def _visible_ascii(raw: bytes | str) -> str:
    """A header value as the Rust SDK passes it on: ``""`` unless it is visible ASCII
    (``HeaderValue::to_str``: tab and 0x20-0x7E)."""
    data = raw.encode("latin-1", "replace") if isinstance(raw, str) else bytes(raw)
    if all(b == 9 or 32 <= b < 127 for b in data):
        return data.decode("ascii")
    return ""

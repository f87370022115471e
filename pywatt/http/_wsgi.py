"""A WSGI app (Flask) as an ASGI app on trio: each request runs in a worker thread.

Hypercorn can serve WSGI itself, but HTTP over IPC must dispatch through the very same app
object the server runs, so the module serves one ASGI callable and a WSGI app is wrapped
here once. The request body is read in full on the trio side (the body limit applies before
the app runs), the app is called in a thread from a bounded pool (``trio.to_thread`` with a
``CapacityLimiter``), and its response is collected in that thread and sent back whole.
Streaming WSGI responses are therefore buffered.

The environ carries ``pywatt.scope`` (the ASGI scope, with the actor system in its
``extensions``), so code in the thread can reach the module's actors with
``trio.from_thread.run``.
"""

from __future__ import annotations

import inspect
import io
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

import trio

from ._lifespan import answer_lifespan

log = logging.getLogger("pywatt.http.wsgi")

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


class _LogStream(io.TextIOBase):
    """``wsgi.errors``: what the app writes goes to the (redacted) log, not raw stderr."""

    def write(self, text: str) -> int:
        if text.strip():
            log.warning("%s", text.rstrip())
        return len(text)


class WsgiAdapter:
    """An ASGI app that runs the WSGI app ``wsgi`` (see the module docstring).

    ``threads`` bounds the worker threads used at once. Lifespan events are answered at
    once (WSGI has none). Does not support websockets (closed with 1000).
    """

    def __init__(self, wsgi: WsgiApp, *, threads: int = 8) -> None:
        self.wsgi = wsgi
        self.limiter = trio.CapacityLimiter(threads)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await answer_lifespan(receive, send)
            return
        if kind != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        chunks = []
        while True:
            event = await receive()
            if event["type"] == "http.disconnect":
                return
            chunks.append(event.get("body", b""))
            if not event.get("more_body", False):
                break
        environ = build_environ(scope, b"".join(chunks))
        status, headers, body = await trio.to_thread.run_sync(
            self._call, environ, limiter=self.limiter
        )
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """Runs in a worker thread: call the app and collect its whole response."""
        started: list[tuple[str, list[tuple[str, str]]]] = []
        written: list[bytes] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None and started:
                raise exc_info[1].with_traceback(exc_info[2])
            started[:] = [(status, headers)]
            return written.append

        result = self.wsgi(environ, start_response)
        try:
            for chunk in result:
                if chunk:
                    written.append(bytes(chunk))
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        if not started:
            raise RuntimeError("the WSGI app returned without calling start_response")
        status_text, header_list = started[0]
        code = int(status_text.split(" ", 1)[0])
        raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in header_list]
        return code, raw_headers, b"".join(written)


def build_environ(scope: Scope, body: bytes) -> dict[str, Any]:
    """The PEP 3333 environ of an ASGI HTTP scope with its complete body."""
    server = scope.get("server") or ("localhost", 80)
    client = scope.get("client")
    path = scope.get("path", "/")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": root.encode("utf-8").decode("latin-1"),
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.get("query_string", b"").decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1] if server[1] is not None else 80),
        "SERVER_PROTOCOL": f"HTTP/{scope.get('http_version', '1.1')}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": _LogStream() if sys.stderr is not None else io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "pywatt.scope": scope,
    }
    if client:
        environ["REMOTE_ADDR"] = str(client[0])
        environ["REMOTE_PORT"] = str(client[1])
    for raw_name, raw_value in scope.get("headers", ()):
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            environ["CONTENT_LENGTH"] = value
            continue
        key = f"HTTP_{name}"
        environ[key] = f"{environ[key]},{value}" if key in environ else value
    if body and "CONTENT_LENGTH" not in environ:
        environ["CONTENT_LENGTH"] = str(len(body))
    return environ


def is_asgi(app: object) -> bool:
    """Whether ``app`` is an ASGI callable (an ``async`` function or an object with an
    ``async def __call__(scope, receive, send)``, as Starlette and FastAPI apps are) rather
    than a WSGI one."""
    if inspect.iscoroutinefunction(app):
        return True
    method = inspect.getattr_static(type(app), "__call__", None)
    return inspect.iscoroutinefunction(method)

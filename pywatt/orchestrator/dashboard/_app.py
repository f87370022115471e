"""The dashboard's HTTP side: the page, its static files, JSON snapshots and the live
stream (Server-Sent Events), all under ``/_pywatt/`` on the gateway."""

from __future__ import annotations

import contextlib
import importlib.resources
import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any, Final, Protocol

import attrs
import trio

import actors
from pywatt._version import __version__
from pywatt.observe import EventsDropped

from ..console import Console
from ..processes import Observed, event_line, tree_reply
from ._access import Access, DashboardSettings
from ._history import History
from ._latency import EndpointLatency
from ._traces import TraceRing


class Watched(Observed, Protocol):
    """What the dashboard reads of a running orchestrator (the orchestrator itself)."""

    console: Console


__all__ = ["PREFIX", "Dashboard", "is_dashboard_path", "start_dashboard"]

PREFIX: Final = "/_pywatt"
STATE_EVERY: Final = 1.0
"""Seconds between the stream's ``state`` messages (also sent at once after a crash, a module
state change or a rotation)."""
TREES_EVERY: Final = 2.0
"""Seconds between the stream's ``trees`` messages (each asks every module for its tree)."""
STREAM_BUFFER: Final = 1024
_PUSH_STATE: Final = frozenset({"module_state", "crashed", "gave_up", "secret_rotated"})
_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
_SECURITY: Final = [
    (b"content-security-policy",
     b"default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
     b"img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
]  # fmt: skip


def is_dashboard_path(path: str) -> bool:
    """Whether the gateway hands ``path`` to the dashboard."""
    return path == PREFIX or path.startswith(PREFIX + "/")


def _static_files() -> dict[str, bytes]:
    folder = importlib.resources.files(__package__ or __name__).joinpath("static")
    return {
        entry.name: entry.read_bytes()
        for entry in folder.iterdir()
        if entry.is_file() and os.path.splitext(entry.name)[1] in _TYPES
    }


class Dashboard:
    """The gateway's dashboard (docs/observability.md): modules and their states, their
    supervision trees, recent crashes and rotations, the slowest endpoints, the latest
    traces, pushed live.

    ``history``, ``latency`` and ``traces`` are kept by the orchestrator (they outlive the
    gateway actor); ``access`` says who may look.
    """

    def __init__(
        self,
        orch: Watched,
        history: History,
        latency: EndpointLatency,
        access: Access,
        traces: TraceRing | None = None,
    ) -> None:
        self.orch = orch
        self.history = history
        self.latency = latency
        self.traces = traces if traces is not None else TraceRing(orch.console.redact.redact)
        self.access = access
        self._files = _static_files()
        self.streams = 0
        """Live streams open now (pages watching)."""

    # -- what it shows ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Modules, recent crashes and rotations, the slowest endpoints: no module is asked."""
        orch = self.orch
        return {
            "at": time.time(),
            "orchestrator": {
                "pid": os.getpid(),
                "api": orch.orchestrator_api,
                "version": __version__,
            },
            "modules": [attrs.asdict(status) for status in orch.status()],
            "crashes": list(self.history.crashes),
            "rotations": list(self.history.rotations),
            "endpoints": self.latency.top(),
        }

    def trace_list(self) -> dict[str, Any]:
        """The traces kept, latest first (summaries), and what was lost on the way."""
        ring = self.traces
        return {
            "traces": ring.summaries(),
            "keep": ring.keep,
            "dropped": ring.dropped,
            "rejected": ring.rejected,
        }

    async def trees(self) -> dict[str, Any]:
        """Every module's tree (or why there is none) and the orchestrator's."""
        return await tree_reply(self.orch)

    # -- HTTP ------------------------------------------------------------------------------

    async def serve(
        self, scope: dict[str, Any], receive: Any, send: Any, stopping: trio.Event
    ) -> int:
        """Answer one request under ``/_pywatt``; returns the status sent."""
        method: str = scope["method"].upper()
        path: str = scope["path"]
        refusal = self.access.check(scope)
        if refusal is not None:
            self.orch.console.warning(f"dashboard: {method} {path} refused ({refusal.status})")
            challenge = [(b"www-authenticate", b'Bearer realm="pywatt dashboard"')]
            headers = challenge if refusal.status == 401 else []
            return await _error(send, refusal.status, refusal.message, headers)
        if method not in ("GET", "HEAD"):
            allow = [(b"allow", b"GET, HEAD")]
            return await _error(send, 405, f"{method} is not allowed on {path}", allow)
        token = self.access.from_query(scope)
        if path == PREFIX or (token is not None and not path.startswith(PREFIX + "/api/")):
            # The page's address keeps no token: it moves into a cookie of the dashboard's.
            headers = [(b"location", (PREFIX + "/").encode())]
            if token is not None:
                headers.append((b"set-cookie", self.access.cookie(token).encode()))
            return await _reply(send, 303, b"", b"text/plain", headers)
        rest = path[len(PREFIX) + 1 :]
        head = method == "HEAD"
        if rest in ("", "index.html"):
            return await self._file(send, "index.html", head)
        if rest.startswith("static/"):
            return await self._file(send, rest[len("static/") :], head)
        if rest == "api/state":
            return await _reply(send, 200, _json(self.state()), b"application/json", head=head)
        if rest == "api/trees":
            body = _json(await self.trees())
            return await _reply(send, 200, body, b"application/json", head=head)
        if rest == "api/traces":
            body = _json(self.trace_list())
            return await _reply(send, 200, body, b"application/json", head=head)
        if rest.startswith("api/traces/"):
            trace_id = rest[len("api/traces/") :]
            found = self.traces.trace(trace_id)
            if found is None:
                return await _error(send, 404, f"no trace {trace_id[:64]!r} is kept (any more)")
            return await _reply(send, 200, _json(found), b"application/json", head=head)
        if rest == "api/stream":
            await self._stream(receive, send, stopping)
            return 200
        return await _error(send, 404, f"no dashboard page {path}")

    async def _file(self, send: Any, name: str, head: bool) -> int:
        body = self._files.get(name)
        if body is None:
            return await _error(send, 404, f"no dashboard file {name!r}")
        kind = _TYPES[os.path.splitext(name)[1]].encode()
        return await _reply(send, 200, body, kind, head=head)

    async def _stream(self, receive: Any, send: Any, stopping: trio.Event) -> None:
        """Server-Sent Events until the client goes or the gateway stops: ``state`` now and
        every second (and at once after a crash, a state change or a rotation), ``traces``
        (the list) now and within a second of a change, ``trees`` now and every two seconds,
        and each ``event`` as ``pywatt events --json`` prints it."""
        lock = trio.Lock()

        async def push(kind: str, data: Any) -> None:
            payload = json.dumps(data, separators=(",", ":"))
            async with lock:
                await send({"type": "http.response.body", "more_body": True,
                            "body": f"event: {kind}\ndata: {payload}\n\n".encode()})  # fmt: skip

        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"text/event-stream; charset=utf-8"), *_SECURITY,
            (b"x-accel-buffering", b"no")]})  # fmt: skip
        with _counted(self):
            try:
                async with (
                    self.orch.events(buffer=STREAM_BUFFER) as events,
                    trio.open_nursery() as n,
                ):

                    async def until_gone() -> None:
                        while (await receive())["type"] != "http.disconnect":
                            pass
                        n.cancel_scope.cancel()

                    async def until_stopping() -> None:
                        await stopping.wait()
                        n.cancel_scope.cancel()

                    async def states() -> None:
                        seen = -1
                        while True:
                            await push("state", self.state())
                            if self.traces.version != seen:
                                seen = self.traces.version
                                await push("traces", self.trace_list())
                            await trio.sleep(STATE_EVERY)

                    async def trees() -> None:
                        while True:
                            await push("trees", await self.trees())
                            await trio.sleep(TREES_EVERY)

                    for task in (until_gone, until_stopping, states, trees):
                        n.start_soon(task)
                    reported = 0
                    async for event in events:
                        if events.dropped != reported:  # this page fell behind: say how far
                            gap = EventsDropped(events.dropped - reported)
                            reported = events.dropped
                            await push("event", event_line(gap))
                        data = event_line(event)
                        if data is None:
                            continue
                        await push("event", data)
                        if data.get("kind") in _PUSH_STATE:
                            await push("state", self.state())
            except* (trio.BrokenResourceError, trio.ClosedResourceError, OSError):
                pass  # the page went away: its stream ends, nothing else does
        with contextlib.suppress(Exception):  # the client may be gone already
            await send({"type": "http.response.body", "body": b""})


@contextlib.contextmanager
def _counted(dashboard: Dashboard) -> Iterator[None]:
    dashboard.streams += 1
    try:
        yield
    finally:
        dashboard.streams -= 1


async def _reply(
    send: Any,
    status: int,
    body: bytes,
    kind: bytes,
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    head: bool = False,
) -> int:
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", kind), (b"content-length", str(len(body)).encode()), *_SECURITY,
        *(headers or [])]})  # fmt: skip
    await send({"type": "http.response.body", "body": b"" if head else body})
    return status


async def _error(
    send: Any, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> int:
    return await _reply(send, status, _json({"error": message}), b"application/json", headers)


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def start_dashboard(
    orch: Watched,
    settings: DashboardSettings,
    latency: EndpointLatency,
    traces: TraceRing,
    bound: str,
    subscribe: Callable[[Callable[[actors.Event], None]], object],
) -> Dashboard | None:
    """The dashboard of ``orch`` (None when ``settings`` turn it off), its history subscribed
    to the orchestrator's events (``subscribe``) from now on. ``bound`` is the gateway
    socket's host."""
    if not settings.enabled:
        return None
    history = History()
    subscribe(history.on_event)
    if settings.token:
        orch.console.redact.register(settings.token)
    return Dashboard(orch, history, latency, Access(settings.token, bound), traces)

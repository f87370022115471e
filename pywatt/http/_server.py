"""The HTTP actor (``pywatt.http``): the module's app served by hypercorn and over stdio.

One incarnation binds the module's listen address (a TCP port, or a Unix socket path) in
``on_start``, so a bind failure is a clear start failure, then runs hypercorn's trio worker
on that socket beside its mailbox and waits for the app's lifespan startup. Its mailbox takes
the link's :class:`~pywatt.link.HttpOverStdio`: each request is dispatched through the same
:class:`ServedApp` in a task of its own (at most ``max_ipc_concurrency`` at once), and
answered with ``SendRaw`` of the §9.2 wrapper to ``pywatt.link``. A graceful stop lets open
requests finish for ``graceful_timeout`` seconds. If the server task fails, the incarnation
crashes and its supervisor restarts it.
"""

from __future__ import annotations

import logging
import os
import socket
import stat
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.config import Sockets
from hypercorn.trio.run import worker_serve
from hypercorn.utils import wrap_app

import actors
from pywatt.channels import ServeHttp
from pywatt.link import HttpOverStdio, SendRaw
from pywatt.metrics import SystemMetrics
from pywatt.wire import InitBlob, IpcHttpRequest, IpcHttpResponse, SocketAddress

from ._app import ServedApp
from ._config import HttpConfig
from ._dispatch import dispatch, stdout_wrapper
from ._errors import AppStartupFailed
from ._health import HealthTracker

log = logging.getLogger("pywatt.http")

LINK_ACTOR = "pywatt.link"


class HttpServer(actors.Actor[HttpOverStdio | ServeHttp]):
    """Serves ``app`` on ``listen`` and over stdio (see the module docstring).

    ``listen`` is the InitBlob's: a :class:`~pywatt.wire.SocketAddress` (only its port is
    used, bound on ``config.bind_host``, docs/protocol.md §8), a Unix socket path, or None to
    serve over stdio only.
    """

    def __init__(
        self,
        app: object,
        config: HttpConfig,
        *,
        module_id: str,
        listen: SocketAddress | str | None,
    ) -> None:
        self.app = app
        self.config = config
        self.module_id = module_id
        self.listen = listen
        self.source = os.environ.get("PYWATT_MODULE_ID") or module_id or "unknown_module"
        self.bound: list[str] = []
        """The addresses served, once started (``http://127.0.0.1:4102``, ``unix:/path``)."""
        self._stop = trio.Event()
        self._finished = trio.Event()
        self._limiter = trio.CapacityLimiter(config.max_ipc_concurrency)
        self._served: ServedApp

    async def on_start(self) -> None:
        system = self.ctx.system
        config = self.config
        metrics = None
        if config.metrics is not None:  # one per system: the counts survive this actor
            metrics = SystemMetrics.of(system)
            metrics.observe()
        health = HealthTracker(system) if config.health is not None else None
        self._metrics = metrics
        self._served = ServedApp(
            self.app, system=system, config=config, module_id=self.module_id,
            metrics=metrics, health=health,
        )  # fmt: skip
        sock = self._bind() if self.listen is not None else None
        if sock is None:
            self.ctx.start_task(self._serve_lifespan_only)
        else:
            self.ctx.start_task(self._serve, sock)
        with trio.move_on_after(config.startup_timeout):
            await self._served.started.wait()
        if not self._served.started.is_set():
            raise AppStartupFailed(
                f"the app's lifespan startup did not finish within {config.startup_timeout:g} s"
            )
        if self._served.startup_error is not None:
            raise AppStartupFailed(f"the app's startup failed: {self._served.startup_error}")
        log.info("serving HTTP on %s", ", ".join(self.bound) or "stdio only")

    async def on_stop(self) -> None:
        self._stop.set()
        with trio.move_on_after(self.config.graceful_timeout + 1.0):
            await self._finished.wait()

    # -- the server ------------------------------------------------------------------------

    def _bind(self) -> socket.socket:
        listen = self.listen
        if isinstance(listen, SocketAddress):
            host = self.config.bind_host
            family = socket.AF_INET6 if ":" in host else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, listen.port))
            except OSError:
                sock.close()
                raise
            self.bound = [f"http://{host}:{sock.getsockname()[1]}"]
        else:
            assert isinstance(listen, str)
            try:
                if stat.S_ISSOCK(os.stat(listen).st_mode):
                    os.unlink(listen)  # a stale socket of an earlier incarnation
            except FileNotFoundError:
                pass
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(listen)
            except OSError:
                sock.close()
                raise
            self.bound = [f"unix:{listen}"]
        sock.listen(1024)
        sock.setblocking(False)
        return sock

    def _hypercorn_config(self) -> HypercornConfig:
        config = HypercornConfig()
        config.errorlog = logging.getLogger("pywatt.http.server")  # redacted JSON lines
        config.accesslog = None
        config.graceful_timeout = self.config.graceful_timeout
        config.h11_max_incomplete_size = 64 * 1024
        config.wsgi_max_body_size = self.config.max_body_size
        config.keep_alive_timeout = 30
        return config

    async def _serve(self, sock: socket.socket) -> None:
        try:
            await worker_serve(
                wrap_app(self._served, self.config.max_body_size, "asgi"),  # type: ignore[arg-type]
                self._hypercorn_config(),
                sockets=Sockets(secure_sockets=[], insecure_sockets=[sock], quic_sockets=[]),
                shutdown_trigger=self._stop.wait,
            )
        finally:
            sock.close()
            self._finished.set()

    async def _serve_lifespan_only(self) -> None:
        """No listen address: run the app's lifespan so IPC requests see a started app."""
        send_channel, receive_channel = trio.open_memory_channel[dict[str, Any]](2)
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        lifespan_done = trio.Event()

        async def run_lifespan() -> None:
            try:
                await self._served(scope, receive_channel.receive, _discard)
            finally:
                lifespan_done.set()

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(run_lifespan)
                await send_channel.send({"type": "lifespan.startup"})
                await self._stop.wait()
                await send_channel.send({"type": "lifespan.shutdown"})
                with trio.move_on_after(self.config.graceful_timeout):
                    await lifespan_done.wait()
                nursery.cancel_scope.cancel()
        finally:
            self._finished.set()

    # -- HTTP over stdio -------------------------------------------------------------------

    async def receive(self, message: HttpOverStdio | ServeHttp) -> None:
        token = object()  # two requests may be equal; a borrower must be unique
        await self._limiter.acquire_on_behalf_of(token)
        reply = self.ctx.defer_reply() if isinstance(message, ServeHttp) else None
        self.ctx.start_task(self._answer, message.request, token, reply)

    async def _answer(
        self, request: IpcHttpRequest, token: object, reply: actors.DeferredReply | None
    ) -> None:
        try:
            served = self._served
            status, headers, body = await dispatch(
                lambda s, r, w: served.handle_http(s, r, w, transport="ipc"),
                request,
                max_body_size=self.config.max_body_size,
                state=served.lifespan_state,
            )
            if reply is not None:
                reply.reply(IpcHttpResponse(
                    request_id=request.request_id, status_code=status, headers=headers, body=body
                ))  # fmt: skip
                return
            line = stdout_wrapper(request.request_id, status, headers, body, source=self.source)
            await self.ctx.system.tell(LINK_ACTOR, SendRaw(line))
        finally:
            self._limiter.release_on_behalf_of(token)


async def _discard(event: dict[str, Any]) -> None:
    return None


def listen_of(init: InitBlob) -> SocketAddress | str:
    """The address to serve: the InitBlob's ``listen``."""
    return init.listen

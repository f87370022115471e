"""What the Redis and Memcached backend actors share: connecting, reconnecting, and failing
fast while the server is away.

Lifecycle: ``on_start`` tries to connect (bounded by the connect timeout). If it cannot,
the actor starts anyway, *down*: every request fails at once with :class:`CacheUnavailable`
and a timer retries the connection with exponential backoff (reset by a connection that
opens). If an established connection breaks, the requests in flight fail with
:class:`CacheUnavailable`, every connection is closed and the actor is down in the same way,
trying again at once and then on the timer. Each change (connected, down, back) is one log
line and the actor's entry on the system's backend board, which ``/health`` reads
(:class:`~pywatt.backends.BackendReporter`). A server failure is an answer, not a crash: a
crash would make the supervisor restart the actor after a backoff that grows while the
server flaps (up to 5 s), and every request meanwhile would wait in the mailbox. Either way
callers get errors, never hangs.
"""

from __future__ import annotations

import os
import ssl
import time
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.backends import BackendReporter

from ._errors import CacheBackendError, CacheError, CacheUnavailable
from ._messages import CacheRequest
from ._pipeline import Pending, PipelinedConnection, ReplyParser, Transform
from ._stats import StatsRecorder


@attrs.frozen
class Reconnect:
    """Internal: the reconnect timer of a backend that is down."""


RETRY_FIRST: Final = 0.1
"""Seconds before a backend that is down first tries again (doubling on each failure)."""
RETRY_CAP: Final = 5.0
"""The longest wait between two attempts."""


@attrs.frozen(kw_only=True)
class Endpoint:
    """Where a server is and how long to wait for it."""

    host: str
    port: int
    tls: bool = False
    connect_timeout: float = 5.0
    operation_timeout: float = 2.0

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class RemoteBackend(actors.Actor[CacheRequest | Reconnect]):
    """Base of the backends that talk to a server over pipelined connections.

    Subclasses set ``backend`` and implement :meth:`make_parser`, :meth:`handshake` and the
    message handlers; they send with :meth:`call` (one deferred reply per message).
    ``required``: a server that cannot be used at start-up stops the module (see
    :func:`~pywatt.backends.check_backends`).
    """

    reply_errors = (CacheError,)
    backend = "remote"
    RETRY_FIRST = RETRY_FIRST
    RETRY_CAP = RETRY_CAP

    def __init__(self, endpoint: Endpoint, *, connections: int = 1, required: bool = False) -> None:
        if connections < 1:
            raise ValueError(f"connections must be at least 1, not {connections}")
        self.endpoint = endpoint
        self.required = required
        self.connection_count = connections
        self.connections: list[PipelinedConnection] = []
        self.stats = StatsRecorder(self.backend)
        self.down: str | None = None
        self.retry_delay = self.RETRY_FIRST

    # -- for subclasses --------------------------------------------------------------------

    def make_parser(self) -> ReplyParser:
        raise NotImplementedError

    def describe(self) -> str:
        """Where it connects, without credentials (for logs and ``/health``)."""
        return f"{self.backend} at {self.endpoint.address}"

    async def handshake(self, connection: PipelinedConnection) -> None:
        """Authenticate / select on a fresh connection (its reader is already running)."""

    def unavailable(self) -> CacheUnavailable:
        """A fresh error for a request that arrives while the backend is down (counted)."""
        self.stats.errors += 1
        return CacheUnavailable(self.backend, self.down or "not connected")

    def connection(self) -> PipelinedConnection:
        """The connection with the fewest requests in flight. Raises while down."""
        if self.down is not None:
            raise self.unavailable()
        connections = self.connections
        if len(connections) == 1:
            return connections[0]
        return min(connections, key=lambda c: len(c.pending))

    def call(self, payload: bytes, count: int, transform: Transform, kinds: Any = None) -> None:
        """Send ``payload`` (``count`` replies) and answer the message in hand with
        ``transform(replies)`` when they arrive. Raises :class:`CacheUnavailable` while down."""
        connection = self.connection()
        pending = Pending(
            count, transform, reply=self.ctx.defer_reply(), stats=self.stats, kinds=kinds
        )
        connection.submit(payload, pending)

    def spawn_operation(self, body: Any, *args: Any) -> None:
        """Answer the message in hand from a task running ``body(*args)`` (several round
        trips, such as a compare-and-swap loop); its return value or CacheError is the reply."""
        reply = self.ctx.defer_reply()
        started = time.perf_counter()
        stats = self.stats

        async def run() -> None:
            try:
                value = await body(*args)
            except CacheError as exc:
                stats.errors += 1
                reply.fail(exc)
            else:
                reply.reply(value)
            finally:
                stats.observe(time.perf_counter() - started)

        self.ctx.start_task(run)

    # -- lifecycle -------------------------------------------------------------------------

    async def on_start(self) -> None:
        self.reporter = BackendReporter(
            self.ctx.system,
            self.ctx.name,
            self.describe(),
            required=self.required,
            settle_within=self.endpoint.connect_timeout,
        )
        await self._connect()

    async def on_stop(self) -> None:
        connections, self.connections = self.connections, []
        for connection in connections:
            await connection.aclose()

    async def _connect(self) -> None:
        endpoint = self.endpoint
        fresh: list[PipelinedConnection] = []
        try:
            with trio.fail_after(endpoint.connect_timeout):
                for _ in range(self.connection_count):
                    fresh.append(await self._open())
        except (OSError, trio.TooSlowError, CacheError) as exc:
            for connection in fresh:
                await connection.aclose()
            detail = (
                f"no connection within {endpoint.connect_timeout:g} s"
                if isinstance(exc, trio.TooSlowError)
                else _os_reason(exc)
            )
            self.down = f"cannot connect to {endpoint.address}: {detail}"
            # The server answering "no" (AUTH, SELECT) is not cured by retrying alone.
            self.reporter.down(detail, heals=not isinstance(exc, CacheBackendError))
            self.ctx.send_after(self.retry_delay, Reconnect())
            self.retry_delay = min(self.RETRY_CAP, self.retry_delay * 2)
            return
        self.connections = fresh
        self.down = None
        self.retry_delay = self.RETRY_FIRST
        self.reporter.up()

    async def _open(self) -> PipelinedConnection:
        endpoint = self.endpoint
        stream: trio.abc.Stream = await trio.open_tcp_stream(endpoint.host, endpoint.port)
        if endpoint.tls:
            stream = trio.SSLStream(
                stream, ssl.create_default_context(), server_hostname=endpoint.host
            )
            await stream.do_handshake()
        connection = PipelinedConnection(
            stream,
            self.make_parser(),
            backend=self.backend,
            address=endpoint.address,
            operation_timeout=endpoint.operation_timeout,
        )
        self.ctx.start_task(self._serve, connection)
        try:
            await self.handshake(connection)
        except BaseException:
            await connection.aclose()
            raise
        return connection

    async def _serve(self, connection: PipelinedConnection) -> None:
        try:
            await connection.run()
        except CacheUnavailable as exc:
            if connection in self.connections:  # an established connection broke
                await self._went_down(exc)
            # else: closed by _went_down, or it never finished its handshake (_connect
            # reports that one)

    async def _went_down(self, error: CacheUnavailable) -> None:
        """Close every connection (their requests in flight fail), answer
        :class:`CacheUnavailable` from now on, and reconnect: at once, then on the timer."""
        connections, self.connections = self.connections, []
        self.down = error.detail
        self.retry_delay = self.RETRY_FIRST
        self.reporter.down(error.detail)
        for connection in connections:
            await connection.aclose()
        self.ctx.send_after(0.0, Reconnect())

    async def on_reconnect(self) -> None:
        """Handle the :class:`Reconnect` timer (subclasses route it here from ``receive``)."""
        if self.down is not None:
            await self._connect()


def _os_reason(error: BaseException) -> str:
    """Why connecting failed, in the OS's words: trio's "all attempts to connect ... failed"
    carries the reasons (each address's error) as its cause."""
    cause = error.__cause__
    if isinstance(cause, BaseExceptionGroup):
        reasons = [
            os.strerror(e.errno) if e.errno else str(e)
            for e in cause.exceptions
            if isinstance(e, OSError)
        ]
        if reasons:
            return ", ".join(dict.fromkeys(reasons))  # "Connection refused"
    return str(error)

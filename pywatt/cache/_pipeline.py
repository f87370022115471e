"""A pipelined connection to a cache server over a trio stream, shared by Redis and Memcached.

Requests are *submitted* without waiting: their bytes join an output buffer that one writer
task flushes (so everything queued while a write was in flight leaves in one ``send_all``),
and a reader task feeds a sans-io parser and completes requests in order, since both servers
answer in the order they were asked. A backend actor submits a request per message and
defers its reply, so while one request waits for the server the actor is already handling
the next message: queued requests are pipelined.

A caller that gives up does not disturb the stream: its reply is still read and dropped, so
the connection stays in step. A connection is discarded only when it breaks: EOF, an I/O
error, a reply the parser cannot read, or no reply within the operation timeout. Then every
request in flight fails with :class:`CacheUnavailable` and :meth:`run` raises it; the owning
actor then closes its connections and connects again (``_remote.py``).
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, Final, Protocol

import trio

import actors

from ._errors import CacheError, CacheProtocolError, CacheUnavailable
from ._stats import StatsRecorder

NEED_DATA: Final = object()
"""Returned by a parser when the reply is not complete yet."""


class ReplyParser(Protocol):
    """Sans-io: bytes in, one reply out per call (or :data:`NEED_DATA`)."""

    def feed(self, data: bytes | bytearray) -> None: ...

    def next_reply(self, kind: object) -> object:
        """The next reply, read as ``kind`` (what the command expects). Raises
        :class:`CacheProtocolError` if the bytes cannot be a reply."""
        ...


Transform = Callable[[list[Any]], Any]


class Pending:
    """One submitted request: how many replies it expects and what to do with them."""

    __slots__ = ("count", "kinds", "replies", "reply", "sink", "started", "stats", "transform")

    def __init__(
        self,
        count: int,
        transform: Transform,
        *,
        reply: actors.DeferredReply | None = None,
        sink: Callable[[Any], None] | None = None,
        stats: StatsRecorder | None = None,
        kinds: Sequence[object] | None = None,
    ) -> None:
        self.count = count
        self.transform = transform
        self.reply = reply
        self.sink = sink
        self.stats = stats
        self.kinds = kinds
        self.replies: list[Any] = []
        self.started = time.perf_counter()

    def deadline(self, timeout: float) -> float:
        """The trio-clock time by which its reply is overdue."""
        return trio.current_time() - (time.perf_counter() - self.started) + timeout

    def finish(self, failure: CacheError | None = None) -> None:
        """Complete the request from its replies (or with ``failure``)."""
        outcome: Any
        if failure is None:
            try:
                outcome = self.transform(self.replies)
            except CacheError as exc:
                outcome = exc
        else:
            outcome = failure
        stats = self.stats
        if stats is not None:
            stats.observe(time.perf_counter() - self.started)
            if isinstance(outcome, CacheError):
                stats.errors += 1
        if self.reply is not None:
            if isinstance(outcome, CacheError):
                self.reply.fail(outcome)
            else:
                self.reply.reply(outcome)
        if self.sink is not None:
            self.sink(outcome)


class PipelinedConnection:
    """One connection: submit requests, run the reader and writer with :meth:`run`."""

    def __init__(
        self,
        stream: trio.abc.Stream,
        parser: ReplyParser,
        *,
        backend: str,
        address: str,
        operation_timeout: float,
        on_push: Callable[[Any], None] | None = None,
    ) -> None:
        self.stream = stream
        self.on_push = on_push
        """Takes the replies that arrive when no request waits (Redis pub/sub messages on a
        subscribed connection); without it such a reply breaks the connection."""
        self.parser = parser
        self.backend = backend
        self.address = address
        self.operation_timeout = operation_timeout
        self.pending: collections.deque[Pending] = collections.deque()
        self.broken: CacheUnavailable | None = None
        self._out: list[bytes] = []
        self._writer = trio.lowlevel.ParkingLot()
        self._read_scope: trio.CancelScope | None = None

    def submit(self, payload: bytes, pending: Pending) -> None:
        """Queue ``payload`` (whole commands) expecting ``pending.count`` replies. Does not
        block; the request completes through ``pending``. A broken connection fails it now."""
        if self.broken is not None:
            pending.finish(self.broken)
            return
        if not self.pending:
            scope = self._read_scope
            if scope is not None:
                scope.deadline = trio.current_time() + self.operation_timeout
        self.pending.append(pending)
        self._out.append(payload)
        if len(self._out) == 1:
            self._writer.unpark()

    async def request(
        self, payload: bytes, count: int = 1, kinds: Sequence[object] | None = None
    ) -> list[Any]:
        """Submit and wait for the raw replies (for handshakes and multi-step operations).

        Raises :class:`CacheUnavailable` if the connection breaks first.
        """
        done = trio.Event()
        box: list[Any] = []

        def sink(outcome: Any) -> None:
            box.append(outcome)
            done.set()

        self.submit(payload, Pending(count, list, sink=sink, kinds=kinds))
        await done.wait()
        outcome = box[0]
        if isinstance(outcome, CacheError):
            raise outcome
        result: list[Any] = outcome
        return result

    async def run(self) -> None:
        """Read and write until the connection breaks; then fail what is in flight and raise
        :class:`CacheUnavailable`. Never returns normally."""
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._guard, self._write_loop, nursery.cancel_scope)
            await self._guard(self._read_loop, nursery.cancel_scope)
        assert self.broken is not None
        raise self.broken

    async def _guard(self, loop: Callable[[], Any], scope: trio.CancelScope) -> None:
        try:
            await loop()
        except (CacheError, trio.BrokenResourceError, trio.ClosedResourceError, OSError) as exc:
            if self.broken is None:
                self._break(exc)
            scope.cancel()

    def _break(self, cause: BaseException) -> None:
        if isinstance(cause, CacheUnavailable):
            error = cause
        else:
            error = CacheUnavailable(self.backend, f"connection to {self.address} broke: {cause}")
            error.__cause__ = cause
        self.broken = error
        pending, self.pending = self.pending, collections.deque()
        for request in pending:
            request.finish(error)

    async def aclose(self) -> None:
        """Close the stream (requests still in flight fail when :meth:`run` notices)."""
        with trio.CancelScope(shield=True):
            await self.stream.aclose()

    async def _write_loop(self) -> None:
        out = self._out
        while True:
            if not out:
                await self._writer.park()
                continue
            data = b"".join(out) if len(out) > 1 else out[0]
            out.clear()
            await self.stream.send_all(data)

    async def _read_loop(self) -> None:
        stream, parser, pending = self.stream, self.parser, self.pending
        while True:
            timeout = self.operation_timeout
            scope = trio.CancelScope(deadline=pending[0].deadline(timeout) if pending else math.inf)
            self._read_scope = scope
            with scope:
                data = await stream.receive_some(65536)
            self._read_scope = None
            if scope.cancelled_caught:
                raise CacheUnavailable(
                    self.backend,
                    f"{self.address} sent no reply within {self.operation_timeout:g} s",
                )
            if not data:
                raise CacheUnavailable(self.backend, f"{self.address} closed the connection")
            parser.feed(data)
            while pending:
                request = pending[0]
                kinds = request.kinds
                reply = parser.next_reply(None if kinds is None else kinds[len(request.replies)])
                if reply is NEED_DATA:
                    break
                request.replies.append(reply)
                if len(request.replies) == request.count:
                    pending.popleft()
                    request.finish()
            else:
                while (pushed := parser.next_reply(None)) is not NEED_DATA:
                    if self.on_push is None:
                        raise CacheProtocolError(f"{self.address} sent a reply nobody asked for")
                    self.on_push(pushed)

"""``open_module_stream``: a stream to another module's streamed endpoint (docs/streams.md).

The producer's router opens the stream (its open frame goes out at once) and the producer
asks the endpoint with a request that names the stream, so the consumer's handler starts,
claims it and reads it; the request's reply is the handler's answer, which the producer
gets when it leaves its block. A request that fails first (no such module or endpoint, the
module down) aborts the stream, so ``send`` raises ``StreamAborted`` with that error as its
``__cause__``.
"""

from __future__ import annotations

import contextlib
import functools
import uuid
from collections.abc import AsyncIterator
from typing import Any, Final

import outcome
import trio

from actors import (
    ActorCrashed,
    ActorError,
    ActorSystem,
    StreamAborted,
    StreamAbortReason,
    StreamStatistics,
)
from pywatt.channels import random_uuid
from pywatt.tracing import client_span
from pywatt.wire import DEFAULT_CHUNK_SIZE, DEFAULT_WINDOW

from ._errors import (
    NoSuchEndpoint,
    NoSuchModule,
    RemoteCrash,
    RemoteError,
    RequestInterrupted,
    RequestTimeout,
)
from ._messages import ROUTER, SendRequest, parse_target
from ._streaming import REQUEST_KEY, STREAM_KEY, OpenStream
from ._streams import MAX_WINDOW, Answer, RemoteOutbound

__all__ = ["ANSWER_TIMEOUT", "ModuleStream", "open_module_stream"]

ANSWER_TIMEOUT: Final = 24 * 3600.0
"""Seconds the announcing request waits for the handler's answer when no ``timeout`` is
given: the stream's own failures end it long before (put a deadline around the block)."""


class ModuleStream:
    """The producer's end of a stream to another module, from ``state.open_stream``."""

    def __init__(self, outbound: RemoteOutbound) -> None:
        self._out = outbound
        self.metadata = outbound.metadata
        self._reply: Any = None
        self._error: BaseException | None = None
        self._answered = trio.Event()

    @property
    def stream_id(self) -> Any:
        return self._out.stream_id

    @property
    def reply(self) -> Any:
        """What the consumer's handler returned, once the block is left."""
        if not self._answered.is_set():
            raise RuntimeError("the consumer has not answered yet")
        if self._error is not None:
            raise RuntimeError("the consumer answered with an error") from self._error
        return self._reply

    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Send ``data`` in chunks of at most ``chunk_size`` bytes, waiting while the
        consumer is ``window`` chunks behind. Raises ``StreamAborted``."""
        await self._out.send(data)

    def abort(
        self, detail: str = "", reason: StreamAbortReason = StreamAbortReason.APPLICATION
    ) -> None:
        """Give up now; the consumer's iteration raises ``StreamAborted``."""
        self._out.abort(detail, reason)

    def statistics(self) -> StreamStatistics:
        return self._out.statistics()

    def _on_ask(self, request_id: uuid.UUID, result: outcome.Outcome[Any]) -> None:
        """The ask of the announcing request ended. If our router crashed with it, the
        request is still on its way: its reply reaches the next incarnation, which hands it
        to the stream table (:meth:`_on_answer`)."""
        table = self._out.table
        if (
            isinstance(result, outcome.Error)
            and isinstance(result.error, ActorCrashed)
            and table.orphan(request_id)
        ):
            return
        table.take_answer(request_id)
        self._on_answer(result)

    def _on_failed(self, request_id: uuid.UUID, error: StreamAborted) -> None:
        """The stream failed. If the ask of its request died with our router, its answer
        may never come (the consumer never took the request): the failure is the answer."""
        answer = self._out.table.answers.get(request_id)
        if answer is not None and answer.orphaned:
            self._out.table.take_answer(request_id)
            self._on_answer(outcome.Error(_fresh_copy(error)))

    def _on_answer(self, result: outcome.Outcome[Any]) -> None:
        """The announcing request's outcome (called once, synchronously, by the router)."""
        if self._answered.is_set():
            return
        if isinstance(result, outcome.Value):
            self._reply = result.value
        elif isinstance(result, outcome.Error):
            error = self._error = result.error
            if self._out.sending:
                # The handler's answer came before the stream's end: the stream is over. The
                # consumer's own abort may still be on its way (on another connection): say
                # here what it would say.
                aborted = _as_abort(error)
                aborted.__cause__ = error
                self._out.fail(aborted)
        self._answered.set()
        self._out.release()


@contextlib.asynccontextmanager
async def open_module_stream(
    system: ActorSystem,
    target: str,
    metadata: dict[str, str] | None = None,
    *,
    endpoint: str | None = None,
    window: int = DEFAULT_WINDOW,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    timeout: float | None = None,
) -> AsyncIterator[ModuleStream]:
    """Open a stream to ``"module:endpoint"`` (served with ``state.serve_stream``) and yield
    its sending end. Leaving the block ends the stream and waits for the handler's answer
    (``stream.reply``); an error in the block aborts it (``crashed``, or ``cancelled``).

    Raises ``StreamsUnsupported`` when the orchestrator carries no streams, ``BadTarget``,
    ``ValueError`` for a window outside 1 to 64 chunks or a chunk size outside 1 byte to
    64 KiB (what a receiving module takes),
    ``StreamAborted`` and the handler's error (a ``RemoteError``) from the block.
    """
    if not 1 <= window <= MAX_WINDOW or not 1 <= chunk_size <= DEFAULT_CHUNK_SIZE:
        raise ValueError(
            f"window must be 1 to {MAX_WINDOW} chunks and chunk_size 1 to "
            f"{DEFAULT_CHUNK_SIZE} bytes, not {window} and {chunk_size}"
        )
    module, name = parse_target(target, endpoint)
    # The stream is one request to its endpoint: one client span over the block, whose
    # context the announcing request carries to the consumer's handler.
    with client_span(module, name) as trace:
        async with _open(system, module, name, metadata, window, chunk_size, timeout, trace) as s:
            yield s


@contextlib.asynccontextmanager
async def _open(
    system: ActorSystem,
    module: str,
    name: str,
    metadata: dict[str, str] | None,
    window: int,
    chunk_size: int,
    timeout: float | None,
    trace: dict[str, str] | None,
) -> AsyncIterator[ModuleStream]:
    """:func:`open_module_stream` inside its span (``trace``: the span's carrier)."""
    request_id = random_uuid()
    meta = {k: v for k, v in (metadata or {}).items() if not k.startswith("pywatt.")}
    meta[REQUEST_KEY] = str(request_id)
    outbound: RemoteOutbound = await system.ask(
        ROUTER, OpenStream(module, name, meta, window, chunk_size)
    )
    stream = ModuleStream(outbound)
    request = SendRequest(
        module, name, {STREAM_KEY: str(outbound.stream_id)}, Any, timeout or ANSWER_TIMEOUT,
        trace, request_id=request_id, direct_line=False,
    )  # fmt: skip
    # Asked without waiting (no nursery around the user's block, whose errors then come out
    # of it as they are): the answer arrives by callback. The stream table waits for it
    # too, so that a crash of our router mid-stream does not lose it.
    wait = timeout or ANSWER_TIMEOUT
    outbound.table.await_answer(
        Answer(request_id, module, name, outbound, stream._on_answer, wait,
               trio.current_time() + wait)
    )  # fmt: skip
    outbound.on_failed = functools.partial(stream._on_failed, request_id)
    system.ref(ROUTER).ask_nowait(request, functools.partial(stream._on_ask, request_id))
    try:
        try:
            yield stream
        except trio.Cancelled:
            outbound.abort("the producer was cancelled", StreamAbortReason.CANCELLED)
            raise
        except BaseException as exc:
            detail = f"the producer raised {type(exc).__name__}: {exc}"
            outbound.abort(detail, StreamAbortReason.CRASHED)
            raise
        try:
            outbound.end()
            await stream._answered.wait()
        except trio.Cancelled:
            outbound.abort("the producer was cancelled", StreamAbortReason.CANCELLED)
            raise
    finally:
        outbound.table.take_answer(request_id)  # nobody waits for it any more
    if stream._error is not None:
        raise stream._error


def _as_abort(error: BaseException) -> StreamAborted:
    """The abort that an error answer to the announcing request means for the stream."""
    if isinstance(error, RemoteCrash):
        return StreamAborted(StreamAbortReason.CRASHED, "consumer", str(error))
    if isinstance(error, NoSuchEndpoint | NoSuchModule):
        return StreamAborted(StreamAbortReason.REFUSED, "consumer", str(error))
    if isinstance(error, RemoteError | RequestInterrupted):
        return StreamAborted(StreamAbortReason.STOPPED, "consumer", str(error))
    if isinstance(error, ActorError):  # our router crashed or stopped with the ask
        return StreamAborted(StreamAbortReason.STOPPED, "producer", str(error))
    if isinstance(error, RequestTimeout):
        return StreamAborted(StreamAbortReason.CANCELLED, "producer", str(error))
    return StreamAborted(StreamAbortReason.APPLICATION, "producer", str(error))


def _fresh_copy(error: StreamAborted) -> StreamAborted:
    copy = StreamAborted(error.reason, error.by, error.detail)
    copy.__cause__ = error.__cause__
    return copy

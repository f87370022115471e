"""The router's streams: streamed endpoints, stream replies, and big requests and replies that
switch to a stream by themselves (docs/streams.md, docs/protocol-extensions.md §9.4).

Functions of the :class:`~pywatt.router.Router`; the stream ends live in its
:class:`~pywatt.router.StreamTable`, which belongs to the router's name.

* **A streamed endpoint** (``state.serve_stream``): the producer opens a stream and sends a
  request whose content is ``{"pywatt_stream": "<stream id>"}``; the router claims the stream
  and calls the handler with the :class:`RemoteInbound`. The handler's return value is the
  request's reply, which the producer receives when it leaves its block.
* **A stream reply**: a handler that returns ``state.stream_reply(chunks)`` (or an async
  generator of bytes) answers ``{"Stream":"<stream id>"}`` and a task of the router sends the
  chunks; the caller's ``send_request`` returns the :class:`RemoteInbound`.
* **Big bodies**: a request whose JSON payload is over :data:`STREAM_THRESHOLD` (1 MiB) is sent
  as a small request whose ``pywatt_body`` property names a stream carrying the value as
  MessagePack (bytes as ``bin``); a reply over it is ``{"Body":"<stream id>"}`` and the same.
  The receiving router reads the whole body (up to the endpoint's ``max_request_size``, if it
  set one) and goes on as if it had come in one frame. Only between pywatt modules under an
  orchestrator that carries streams; otherwise the frame limit stays.
"""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import AsyncIterable, Awaitable, Callable
from json.encoder import encode_basestring
from typing import TYPE_CHECKING, Any, Final

import attrs
import outcome
import trio

from actors import ActorError, ActorSystem, Request, StreamAborted, StreamAbortReason
from pywatt.channels import uuid4_text
from pywatt.tracing import Span, end_span
from pywatt.wire import (
    REPLY_MARKER_PROPERTY,
    EncodedMessage,
    EncodingFormat,
    ReplyError,
    decode_body,
    encode_body,
    encode_reply_error,
)

from ._messages import ROUTER
from ._streams import RemoteInbound, RemoteOutbound

if TYPE_CHECKING:
    from ._router import Router

__all__ = [
    "BODY_KIND",
    "BODY_PROPERTY",
    "REQUEST_KEY",
    "STREAM_KEY",
    "STREAM_THRESHOLD",
    "BodyArrived",
    "OpenStream",
    "ResendNotification",
    "StreamHandled",
    "StreamReply",
    "SweepStreams",
    "body_request_payload",
    "claim_body",
    "finish_stream",
    "on_stream_reply",
    "open_body",
    "pump",
    "stream_reply_data",
    "surely_big",
    "write_error",
]

log = logging.getLogger("pywatt.router")

STREAM_THRESHOLD: Final = 1 << 20
"""A request or reply whose JSON is over this many bytes goes as a stream (pywatt peers)."""
BODY_PROPERTY: Final = "pywatt_body"
"""``metadata.properties`` key of a request whose value comes in the stream it names."""
STREAM_KEY: Final = "pywatt_stream"
"""The content key of the request that announces a stream to a streamed endpoint."""
BODY_KIND: Final = "pywatt.body"
"""Stream metadata key saying what a stream the router opened carries."""
REQUEST_KEY: Final = "pywatt.request"
"""Stream metadata key: the id of the request that announces the stream (the orchestrator
answers that request itself if it refuses the stream)."""
NOT_A_MODULE: Final = "pywatt.orchestrator"
"""The caller id of the orchestrator's own requests: a pywatt orchestrator reads the streams
that answer them itself."""
_STREAM_REPLY: Final = b'{"Stream":"'
_BODY_REPLY: Final = b'{"Body":"'


@attrs.frozen
class StreamReply:
    """What a handler returns to answer with a stream: ``chunks`` (bytes, or an async
    iterable of bytes) sent as they come, paced by the caller's reading."""

    chunks: AsyncIterable[bytes] | bytes
    metadata: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class OpenStream(Request[RemoteOutbound]):
    """Open a stream to ``endpoint`` of module ``target``: answered with the producer's end,
    its open frame sent. Raises ``StreamsUnsupported``."""

    target: str
    endpoint: str
    metadata: dict[str, str]
    window: int
    chunk_size: int


@attrs.frozen
class BodyArrived:
    """Internal: the streamed body of a request has arrived whole."""

    channel: str
    message: Any
    body: bytes


@attrs.frozen
class ResendWhole:
    """Internal: the target took no stream for request ``request_id``'s value (a module that
    is not pywatt): send the value in the request itself, as to any Rust module."""

    request_id: uuid.UUID
    message: Any


@attrs.frozen
class StreamHandled:
    """Internal: a streamed endpoint's handler (a lasting task, which may have outlived the
    incarnation that started it) ended; ``result`` is None if the caller's deadline passed."""

    source: str
    request_id: uuid.UUID
    channel: str
    marker: object
    result: outcome.Outcome[Any] | None = None


async def finish_stream(
    system: ActorSystem, awaitable: Awaitable[Any], done: StreamHandled, span: Span | None,
    deadline: float,
) -> None:  # fmt: skip
    """Await a streamed endpoint's handler and tell the router, by name, its outcome: the
    router that writes the answer may be a later incarnation than the one that started it.
    At the caller's deadline the handler is cancelled and nothing is sent."""
    result: outcome.Outcome[Any] | None = None
    try:
        with trio.CancelScope(deadline=deadline):
            result = outcome.Value(await awaitable)
    except Exception as exc:
        end_span(span, exc)
        result = outcome.Error(exc)
    else:
        if result is None:
            end_span(span, TimeoutError("the caller's deadline passed; the handler was cancelled"))
        else:
            end_span(span)
    try:
        await system.tell(ROUTER, attrs.evolve(done, result=result))
    except ActorError as exc:  # the router is gone for good: nobody to answer for
        log.info("the answer to stream request %s is lost: %s", done.request_id, exc)


@attrs.frozen
class ResendNotification:
    """Internal: the target took no stream for notification ``notify_id``'s value (the
    orchestrator answered ``StreamRefused``): send it again whole."""

    notify_id: uuid.UUID


@attrs.frozen
class SweepStreams:
    """Internal timer tick: abort streams nobody claimed (``StreamTable.sweep``)."""


def body_request_payload(endpoint: str, marker: str, stream_id: uuid.UUID) -> EncodedMessage:
    """The JSON payload of a request whose value comes in stream ``stream_id``: content
    ``null`` and the ``pywatt_body`` property beside the reply marker."""
    data = (
        b'{"id":"' + uuid4_text().encode() + b'","content":null,"metadata":{"destination":'
        + encode_basestring(endpoint).encode()
        + b',"properties":{"' + REPLY_MARKER_PROPERTY.encode() + b'":'
        + encode_basestring(marker).encode()
        + b',"' + BODY_PROPERTY.encode() + b'":"' + str(stream_id).encode() + b'"}}}'
    )  # fmt: skip
    return EncodedMessage(data=data, format=EncodingFormat.JSON)


async def serve_stream(inbound: RemoteInbound, handler: Callable[[Any], Any]) -> Any:
    """Run a streamed endpoint's handler once the stream's open has arrived, then abort the
    stream if it was not read to the end: ``crashed`` if the handler raised, ``cancelled`` if
    it returned early."""
    try:
        await inbound.wait_open()
        result = handler(inbound)
        value = await result if inspect.isawaitable(result) else result
    except trio.Cancelled:  # the router stopped for good, or the caller's deadline passed
        inbound.abort(
            "the handler was cancelled: the consumer's router stopped or the deadline passed",
            StreamAbortReason.STOPPED,
        )
        raise
    except BaseException as exc:
        inbound.abort(f"the handler raised {type(exc).__name__}: {exc}",
                      StreamAbortReason.CRASHED)  # fmt: skip
        raise
    inbound.abort("the handler returned before the end of the stream")
    return value


def surely_big(value: object, threshold: int) -> bool:
    """Whether ``value``'s JSON is surely over ``threshold`` without writing it: bytes are a
    JSON array of at least two characters per byte."""
    return isinstance(value, bytes | bytearray | memoryview) and 2 * len(value) > threshold


def is_stream_reply(result: object) -> bool:
    return isinstance(result, StreamReply) or inspect.isasyncgen(result)


def stream_reply_id(data: bytes) -> tuple[bool, uuid.UUID] | None:
    """``(is a whole body, stream id)`` of a ``{"Stream":..}`` / ``{"Body":..}`` reply."""
    for prefix, body in ((_STREAM_REPLY, False), (_BODY_REPLY, True)):
        if data.startswith(prefix) and data.endswith(b'"}'):
            try:
                return body, uuid.UUID(data[len(prefix) : -2].decode())
            except (ValueError, UnicodeDecodeError):
                return None
    return None


async def pump(
    out: RemoteOutbound,
    chunks: AsyncIterable[bytes | bytearray | memoryview] | bytes,
    *,
    release: bool = True,
) -> None:
    """Send ``chunks`` on ``out`` and end it; an error of the source aborts the stream
    (``crashed``), a cancellation too (``cancelled``); the consumer giving up ends it.
    ``release``: forget the stream once sent (False: its owner does)."""
    try:
        if isinstance(chunks, bytes | bytearray | memoryview):
            await out.send(chunks)
        else:
            async for chunk in chunks:
                await out.send(chunk)
        out.end()
    except StreamAborted as exc:  # the consumer gave up (it knows), or it stood idle
        log.info("a stream the module sent ended early: reason=%s by=%s: %s",
                 exc.reason.value, exc.by, exc.detail)  # fmt: skip
    except Exception as exc:
        log.info("a stream's producer raised %s: %s", type(exc).__name__, exc)
        out.abort(f"the producer raised {type(exc).__name__}: {exc}", StreamAbortReason.CRASHED)
    finally:
        if out.sending:
            out.abort("the producer was cancelled", StreamAbortReason.CANCELLED)
        if release:
            out.release()
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


def open_body(
    router: Router, target: str, endpoint: str, value: Any, request: uuid.UUID | None = None,
    *, notify: bool = False,
) -> RemoteOutbound:  # fmt: skip
    """Open a stream carrying ``value`` as MessagePack and start sending it; ``request``:
    the request (or, ``notify``, the notification) it is the value of."""
    body = encode_body(value)
    metadata = {BODY_KIND: "value"}
    if request is not None:
        metadata[REQUEST_KEY] = str(request)
    out = router.streams.open_outbound(target, endpoint, metadata)
    # A request's body is released with the request (a refusal may come after its end). A
    # notification's has nobody waiting for it: a lasting task, like a stream reply's.
    if notify:
        router.streams.host(router.ctx, pump, out, body)
    else:
        router.ctx.start_task(functools.partial(pump, out, body, release=request is None))
    return out


def stream_reply_data(
    router: Router, result: Any, json_size: int | None, source: str, request_id: uuid.UUID,
    channel: str | None,
) -> bytes | None:  # fmt: skip
    """The reply data that sends ``result`` as a stream, or None to answer as usual.
    ``json_size``: the size of its JSON (None for a stream reply)."""
    from ._router import LOCAL_CHANNEL

    stream = json_size is None
    if not stream and (
        (json_size is not None and json_size <= router.stream_threshold)
        or channel == LOCAL_CHANNEL
        or not router.streams.supported()
    ):
        return None
    if channel == LOCAL_CHANNEL:
        return _error_reply(
            router.module_id, request_id, "StreamAborted",
            "a stream reply to the module itself is not supported",
        )  # fmt: skip
    # To the orchestrator's own request (source ``pywatt.orchestrator``) as to a module's: a
    # pywatt orchestrator takes the stream itself (it is the stream's target).
    if stream:
        chunks = result.chunks if isinstance(result, StreamReply) else result
        metadata = dict(result.metadata) if isinstance(result, StreamReply) else {}
        try:
            out = router.streams.open_outbound(source, "pywatt.reply", metadata)
        except Exception as exc:
            return _error_reply(router.module_id, request_id, "StreamAborted", str(exc))
        router.streams.host(router.ctx, pump, out, chunks)  # outlives a crash of the router
        return _STREAM_REPLY + str(out.stream_id).encode() + b'"}'
    out = open_body(router, source, "pywatt.reply", result)
    return _BODY_REPLY + str(out.stream_id).encode() + b'"}'


def claim_body(
    router: Router, channel: str, message: Any, stream_id: str, limit: int | None,
    *, reply: bool = True,
) -> None:  # fmt: skip
    """A request (``reply``) or notification whose value comes in stream ``stream_id``:
    read it in a task, then serve it (:class:`BodyArrived`); a body over ``limit`` is
    refused (a notification's failure is logged: nobody waits for an answer)."""
    source, request_id = message.source_module_id, message.original_request_id
    try:
        inbound = router.streams.claim(uuid.UUID(stream_id))
    except (ValueError, LookupError) as exc:
        if reply:
            router.ctx.start_task(
                write_error, router, channel, source, request_id, "StreamAborted", str(exc)
            )
        else:
            log.warning("dropped a notification from %s: %s", source, exc)
        return

    # A lasting task that tells the router by name: the body goes on arriving across a
    # crash of the router, and the incarnation serving then handles the request.
    router_ref, module_id, counts = router.ctx.self_ref, router.module_id, router.counts

    async def read() -> None:
        from ._messages import HandlerReply

        try:
            body = await inbound.read_all(limit)
        except StreamAborted as exc:
            error_type = (
                "RequestTooLarge" if exc.reason is StreamAbortReason.TOO_LARGE
                else "StreamAborted"
            )  # fmt: skip
            if exc.reason is StreamAbortReason.TOO_LARGE:
                counts["too_large"] += 1
            if reply:
                data = _error_reply(module_id, request_id, error_type, str(exc))
                await router_ref.tell(HandlerReply(source, request_id, data, channel))
            else:
                log.warning("dropped a notification from %s: %s", source, exc)
            return
        await router_ref.tell(BodyArrived(channel, message, body))

    router.streams.host(router.ctx, read)


async def write_error(
    router: Router, channel: str, source: str, request_id: uuid.UUID, error_type: str, text: str
) -> None:
    from ._messages import HandlerReply

    data = _error_reply(router.module_id, request_id, error_type, text)
    await router._write_reply(HandlerReply(source, request_id, data, channel))


def on_stream_reply(router: Router, request_id: uuid.UUID, data: bytes) -> bool:
    """A reply that is a stream (``{"Stream":..}``) or a value in one (``{"Body":..}``);
    False if ``data`` is neither."""
    found = stream_reply_id(data)
    if found is None:
        return False
    whole, stream_id = found
    request = router.requests.get(request_id)
    try:
        inbound = router.streams.claim(stream_id)
    except LookupError:
        return True
    if request is None:
        router.counts["late_replies"] += 1
        inbound.abort("the request had ended (timed out or interrupted) before the reply")
        return True
    if not whole:
        del router.requests[request_id]
        router._finished()
        router.counts["replies"] += 1
        router.replies.resolve(request_id, inbound)
        return True

    async def read() -> None:
        try:
            body = await inbound.read_all()
        except StreamAborted as exc:
            if router.requests.pop(request_id, None) is not None:
                router._finished()
                router.replies.fail(request_id, exc)
            return
        if router.requests.pop(request_id, None) is None:
            return  # timed out while the body came
        router._finished()
        try:
            value = decode_body(body, request.response_type)
        except Exception as exc:
            from ._errors import BadReply

            router.counts["malformed"] += 1
            error = BadReply(request.target, request.endpoint, request_id, str(exc))
            router.replies.fail(request_id, error)
            return
        router.counts["replies"] += 1
        router.replies.resolve(request_id, value)

    router.ctx.start_task(read)
    return True


def _error_reply(module: str, request_id: uuid.UUID, error_type: str, text: str) -> bytes:
    return encode_reply_error(
        ReplyError(error_type=error_type, message=text, module=module, request_id=request_id)
    )

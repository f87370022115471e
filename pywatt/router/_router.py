"""The router actor: requests and notifications between modules (docs/architecture.md, decision 7).

Outgoing: a request is a ``route_to_module`` whose payload is a ``Message`` with
``metadata.destination`` = the endpoint and the ``{"pywatt_reply":"result"}`` marker; a
notification carries ``{"pywatt_reply":"none"}`` and gets no reply. Each request has a
deadline (30 s by default) and exactly one outcome: the reply, the remote error
(:class:`RemoteError`), :class:`RequestTimeout`, or :class:`RequestInterrupted` when the
connection that carried it closes first. A reply that arrives after that is dropped and
counted (``late_replies``). At most ``max_in_flight`` requests are outstanding; further ones
wait (the asker is blocked, the mailbox is not) until a slot frees.

Incoming: the handler is found by ``metadata.destination``; a request without one (a Rust
module's) goes to the handler registered for its source module. A plain function runs right
in the router (it cannot wait, so a task would only add a hand-off) and its reply is written
at once; a handler that returns an awaitable (an ``async def``) and an actor handler run as
tasks beside the mailbox, so a slow one never blocks routing, and write their reply
themselves. The reply is a ``route_to_module`` back to the source with the same
``request_id`` and endpoint ``pywatt.reply``: ``{"Ok":value}`` / ``{"Err":{...}}`` for a
pywatt requester, the bare value for a Rust one.

Frames go straight into the chosen connection's outbox through the channels actor's
:class:`~pywatt.channels.Writer` (asked for once with ``GetWriter``, and again when the
channels actor has restarted and revoked it), not through a message per frame; above the
outbox's high-water mark the router waits for room (back-pressure).

Errors: an ``{"Err":...}`` reply becomes the :class:`RemoteError` subclass its ``type`` names
(:meth:`RemoteError.from_reply`). A handler's exception is sent as its class name and message;
an actor handler that crashed on the request is sent as ``ActorCrashed`` with what the actor
raised in the message, so the caller sees the cause.

To itself: a request or notification whose target is this module's own id never leaves the
process. It is encoded as for the wire, served by this router as if it had come on a channel,
and its reply goes straight to the waiting caller (channel :data:`LOCAL_CHANNEL`). No
orchestrator is involved, so it works the same under any orchestrator and with no channel
up, and a request cannot be mistaken for its own reply (they share a request id).

Readiness: a request to endpoint ``pywatt.ready`` (``READY_ENDPOINT``) that no handler serves
is answered ``true`` by the router itself (``state.wait_for_module``'s probe).

Limits: a request or notification whose frame would be over the frame limit fails alone
with :class:`MessageTooLarge`; a reply over it goes to its caller at once as a
``ReplyTooLarge`` error. Neither stops the router.

Startup: a module's channel is up (and, after a restart of the module, receiving requests)
before its setup has registered its endpoints. A router made with ``hold_until_ready`` holds
a request for an endpoint not served yet until the endpoint is registered or the module
says its setup is done (:class:`EndpointsReady`), and only then answers ``NoSuchEndpoint``.

Restarts: the endpoints served are in an :class:`Endpoints` table that belongs to the name
(:func:`router_spec` hands the same one to every incarnation), so a restarted router serves
them at once; so are the requests held. What dies with an incarnation fails at once rather
than at a deadline: asks in flight get ``ActorCrashed``, and callers whose handler was still
running get a ``RequestInterrupted`` error reply. Streams are the exception (docs/streams.md,
"What survives a crash"): the :class:`StreamTable` is the name's too, and a stream handler,
the sending of a stream reply or of a notification's body and the reading of a request's
body are lasting tasks, which a crash does not cancel (a stop for good does, in
``on_stop``); they tell their outcome to the router by name.
"""

from __future__ import annotations

import collections
import contextlib
import inspect
import logging
import math
import time
import uuid
from typing import Any, Final

import attrs
import outcome
import trio

from actors import (
    Actor,
    ActorCrashed,
    ActorError,
    AskTimeout,
    ChildSpec,
    DeferredReply,
    PendingReplies,
)
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelInbound,
    ConnectionLost,
    GetWriter,
    LineReady,
    NoChannel,
    Writer,
    WriterRevoked,
    random_uuid,
    route_frame,
)
from pywatt.metrics import Histogram
from pywatt.tracing import Span, activated, end_span, server_span, trace_carrier
from pywatt.wire import (
    DEFAULT_MAX_FRAME_SIZE,
    LINE_ENDPOINT,
    READY_ENDPOINT,
    REPLY_ENDPOINT,
    REPLY_MARKER_PROPERTY,
    REPLY_MARKER_VALUE,
    DecodeError,
    EncodedMessage,
    EncodeError,
    EncodingFormat,
    PayloadTooLarge,
    ReplyError,
    RequestCancelled,
    RoutedModuleMessage,
    RoutedModuleResponse,
    StreamFrame,
    binary_route_frame,
    decode_body,
    decode_payload,
    decode_payload_message,
    decode_reply,
    encode_json,
    encode_reply_error,
    encode_reply_ok,
)

from ._cancel import (
    CallerGaveUp,
    CancelledByCaller,
    caller_gave_up,
    cancel_remote,
    end_scope,
    handler_scope,
    on_cancelled,
    watch_asker,
)
from ._direct_replies import DirectReplies
from ._direct_requests import DirectRequests
from ._endpoints import Endpoints, Handler
from ._errors import (
    BadReply,
    BadTarget,
    MessageTooLarge,
    RemoteError,
    RequestInterrupted,
    RequestTimeout,
    handler_error_type,
)
from ._messages import (
    ROUTER,
    ROUTER_PROTOCOL,
    DirectReplyFailed,
    EndpointsReady,
    GetRouterStatistics,
    HandlerReply,
    RegisterHandler,
    RouterStatistics,
    SendMessage,
    SendRequest,
    Unpark,
    UnregisterHandler,
)
from ._payloads import budget_of, read_request, request_payload
from ._streaming import (
    BODY_PROPERTY,
    STREAM_KEY,
    STREAM_THRESHOLD,
    BodyArrived,
    OpenStream,
    ResendNotification,
    ResendWhole,
    StreamHandled,
    SweepStreams,
    body_request_payload,
    claim_body,
    finish_stream,
    is_stream_reply,
    on_stream_reply,
    open_body,
    serve_stream,
    stream_reply_data,
    surely_big,
    write_error,
)
from ._streams import (
    CLAIM_TIMEOUT,
    IDLE_TIMEOUT,
    RemoteInbound,
    RemoteOutbound,
    StreamsUnsupported,
    StreamTable,
)

__all__ = ["LOCAL_CHANNEL", "NOTIFY_MARKER_VALUE", "Router", "router_spec"]

log = logging.getLogger("pywatt.router")

NOTIFY_MARKER_VALUE: Final = "none"
"""``metadata.properties.pywatt_reply`` of a one-way notification: the callee never replies."""

LOCAL_CHANNEL: Final = "pywatt.router.local"
"""The channel name of a request a module sent to itself: served and answered in-process."""


@attrs.frozen
class _Request:
    """What a request in flight was: for decoding its reply and naming it in errors."""

    target: str
    endpoint: str
    response_type: Any
    channel: str
    timeout: float
    sent: float
    """``time.perf_counter()`` when it was sent, for the latency histogram."""


RouterMessage = (
    SendMessage
    | SendRequest
    | RegisterHandler
    | UnregisterHandler
    | EndpointsReady
    | GetRouterStatistics
    | ChannelInbound
    | ConnectionLost
    | LineReady
    | Unpark
    | HandlerReply
    | OpenStream
    | ResendWhole
    | BodyArrived
    | SweepStreams
    | StreamHandled
    | ResendNotification
    | CallerGaveUp
    | DirectReplyFailed
)
_STREAM_FRAMES: Final = StreamFrame.__args__


def router_spec(
    module_id: str,
    *,
    default_timeout: float = 30.0,
    max_in_flight: int = 1024,
    shutdown: float = 5.0,
    hold_until_ready: bool = False,
    stream_idle_timeout: float = IDLE_TIMEOUT,
    cancels: bool = False,
    streams: StreamTable | None = None,
    direct_replies: DirectReplies | None = None,
    direct_requests: DirectRequests | None = None,
) -> ChildSpec:
    """The child spec of ``pywatt.router``: one :class:`Endpoints` table for the name, handed
    to every incarnation, so the endpoints served survive a restart. ``streams``: the
    stream table of the name (made here when None; the module hands the same one to its
    channels, which give it stream frames directly). ``hold_until_ready``:
    hold requests for endpoints not served yet until told :class:`EndpointsReady` (see the
    module docstring). ``stream_idle_timeout``: seconds a stream may stand still with chunks
    waiting for a consumer that takes none before both sides get ``idle`` (docs/streams.md;
    the table's own when ``streams`` is given). ``cancels``: the orchestrator is pywatt, so a
    request the caller gives up on is cancelled at the callee (``_cancel``).
    ``direct_replies``: the name's hook through which the module's connections resolve
    replies as they read them (``_direct_replies``; the module hands the same to its
    channels). ``direct_requests``: the name's hook through which askers send requests in
    their own task (``_direct_requests``; the module's state holds the same). Raises
    ``ValueError`` for a non-positive timeout or a ``max_in_flight`` below 1."""
    if default_timeout <= 0 or max_in_flight < 1:
        raise ValueError("default_timeout must be positive and max_in_flight at least 1")
    endpoints = Endpoints(ready=not hold_until_ready, max_held=max_in_flight)
    if streams is None:
        streams = StreamTable(idle_timeout=stream_idle_timeout)
    return ChildSpec(
        ROUTER,
        lambda: Router(
            module_id,
            endpoints=endpoints,
            streams=streams,
            default_timeout=default_timeout,
            max_in_flight=max_in_flight,
            cancels=cancels,
            direct_replies=direct_replies,
            direct_requests=direct_requests,
        ),
        protocol=ROUTER_PROTOCOL,
        shutdown=shutdown,
    )


class Router(Actor[RouterMessage]):
    """Registered as ``pywatt.router`` (see the module docstring).

    ``endpoints``: the table of the name (see :func:`router_spec`); without one the router
    keeps its own, which a restart forgets.
    """

    reply_errors = (NoChannel, EncodeError, MessageTooLarge, BadTarget, StreamsUnsupported)

    def __init__(
        self,
        module_id: str,
        *,
        endpoints: Endpoints | None = None,
        streams: StreamTable | None = None,
        default_timeout: float = 30.0,
        max_in_flight: int = 1024,
        stream_threshold: int = STREAM_THRESHOLD,
        channels: str = CHANNELS_ACTOR,
        cancels: bool = False,
        direct_replies: DirectReplies | None = None,
        direct_requests: DirectRequests | None = None,
    ) -> None:
        if default_timeout <= 0 or max_in_flight < 1:
            raise ValueError("default_timeout must be positive and max_in_flight at least 1")
        self.module_id = module_id
        self.channels = channels
        self.writer: Writer | None = None
        self.endpoints = endpoints if endpoints is not None else Endpoints()
        self.streams = streams if streams is not None else StreamTable()
        """The module's streams, by id (``_streams``): like ``endpoints``, the name's."""
        self.stream_threshold = stream_threshold
        self.bodies: dict[uuid.UUID, RemoteOutbound] = {}
        self.notified: dict[uuid.UUID, tuple[SendMessage, float]] = {}
        """Notifications whose value went in a stream, by id, until a refusal of it may
        still come (:data:`CLAIM_TIMEOUT`): a refused one goes again whole."""
        self.resent: set[uuid.UUID] = set()
        """Requests re-sent whole after their target refused the stream of their value: the
        orchestrator's ``StreamRefused`` answer to the first sending is not their outcome."""
        """Requests in flight whose value goes in a stream: aborted if the request ends."""
        self.default_timeout = default_timeout
        self.max_in_flight = max_in_flight
        # A request in flight is in both, together: ``requests`` says what it was, ``replies``
        # who waits until when (a timeout takes it out of ``requests`` by ``_expired``).
        self.requests: dict[uuid.UUID, _Request] = {}
        self.parked: collections.deque[tuple[SendRequest, DeferredReply]] = collections.deque()
        # Requests whose handler runs as a task of this incarnation: (source, request_id) ->
        # the channel it came on. Whoever takes an entry out writes that request's one reply.
        self.serving: dict[tuple[str, uuid.UUID], str] = {}
        # The cancel scopes of those handler tasks, for a caller that gives up (_cancel).
        self.scopes: dict[tuple[str, uuid.UUID], trio.CancelScope] = {}
        self.cancels = cancels
        """The orchestrator is pywatt: tell it when a caller gives up on a request."""
        self.counts: collections.Counter[str] = collections.Counter()
        self.latency = Histogram()
        self.direct_replies = direct_replies
        self.direct_requests = direct_requests

    async def on_start(self) -> None:
        self.replies = PendingReplies[uuid.UUID](
            self.ctx, timeout_error=self._timeout_error, on_expire=self._expired
        )
        # Often enough that an idle stream ends within a quarter of its timeout.
        self.ctx.send_interval(min(5.0, self.streams.idle_timeout / 4), SweepStreams())
        # Streams write through the channels actor's writer too; the sync parts of the stream
        # table (picking a connection) need one at hand, so it is asked for at once.
        self.streams.renew = self._stream_writer
        self.streams.kick = self._kick_writer
        self.ctx.start_task(self._prime_writer)
        if self.direct_replies is not None:
            self.direct_replies.hook = self._direct_reply
            self.direct_replies.serve = self._direct_serve
        if self.direct_requests is not None:
            self.direct_requests.hook = self._direct_request

    def _direct_reply(self, channel: str, inbound: RoutedModuleResponse) -> None:
        """A reply as a connection reads it (``_direct_replies``)."""
        try:
            self._on_reply(inbound.source_module_id, inbound.request_id, inbound.payload)
        except Exception as exc:  # crash as if it had come through the mailbox
            if self.direct_replies is not None:
                self.direct_replies.hook = None
            self.ctx.self_ref.tell_nowait(DirectReplyFailed(exc))

    def _direct_request(self, message: SendRequest) -> DeferredReply | None:
        """A request sent in its asker's task (``_direct_requests``)."""
        try:
            return self._request_now(message)
        except Exception as exc:  # crash as if it had come through the mailbox
            if self.direct_requests is not None:
                self.direct_requests.hook = None
            self.ctx.self_ref.tell_nowait(DirectReplyFailed(exc))
            raise ActorCrashed(self.ctx.cell.name, type(message).__name__) from exc

    def _request_now(self, message: SendRequest) -> DeferredReply | None:
        """``_send_request`` for the common case, in one synchronous call: the asker's reply
        handle once the frame is queued, or None (nothing done) when the request must go
        through the mailbox: no writer yet or no room, requests parked, to this module
        itself, or its value goes in a stream."""
        writer = self.writer
        if (
            writer is None
            or writer.revoked
            or self.parked
            or self.ctx.ended
            or len(self.replies) >= self.max_in_flight
            or message.target == self.module_id
            or (surely_big(message.payload, self.stream_threshold) and self.streams.supported())
        ):
            return None
        now = trio.current_time()
        timeout = self.default_timeout if message.timeout is None else message.timeout
        scopes = trio.current_effective_deadline()  # this is the asker's task
        deadline = min(now + timeout, now if scopes == -math.inf else scopes)
        budget_ms = max(math.ceil((deadline - now) * 1000.0), 0)
        request_id = message.request_id or random_uuid()
        try:
            payload = request_payload(
                message.payload, message.endpoint, REPLY_MARKER_VALUE, message.trace, budget_ms
            )
            if len(payload.data) > self.stream_threshold and self.streams.supported():
                return None
            # A direct line to the target, if one is up (a stream's announcing request goes
            # the way of its stream: through the orchestrator).
            line = writer.line(message.target) if message.direct_line else None
            frame = self._route_frame(message.target, message.endpoint, request_id, payload, line)
        except (EncodeError, MessageTooLarge) as exc:
            reply = self.ctx.reply_to_caller()
            reply.fail(exc)
            return reply
        channel = writer.offer(frame, line)
        if channel is None:
            return None
        reply = self.ctx.reply_to_caller()
        self._sent(message, request_id, reply, channel, deadline, now)
        return reply

    def _sent(
        self,
        message: SendRequest,
        request_id: uuid.UUID,
        reply: DeferredReply,
        channel: str,
        deadline: float,
        now: float,
    ) -> None:
        """Bookkeeping of a request just queued on ``channel``: awaiting its reply."""
        self.requests[request_id] = _Request(
            message.target,
            message.endpoint,
            message.response_type,
            channel,
            deadline - now,
            time.perf_counter(),
        )
        self.replies.add(request_id, reply, deadline=deadline)
        watch_asker(self, request_id, reply)
        self.counts["sent"] += 1

    async def _prime_writer(self) -> None:
        with contextlib.suppress(NoChannel):
            await self._stream_writer()

    def _kick_writer(self) -> None:
        """A stream frame waits for a writer (the channels actor restarted): have the router
        ask for the new one (``SweepStreams`` does, by name: whatever the incarnation). In
        any task: never raises."""
        with contextlib.suppress(Exception):
            self.ctx.self_ref.tell_nowait(SweepStreams())

    async def _stream_writer(self) -> Writer:
        writer = self.writer
        if writer is None or writer.revoked:
            writer = self.writer = await self._new_writer("a stream frame")
        self.streams.renewed(writer)
        return writer

    async def on_stop(self) -> None:
        if self.direct_replies is not None and self.direct_replies.hook == self._direct_reply:
            self.direct_replies.hook = None  # replies wait in the mailbox for the next one
        if self.direct_replies is not None and self.direct_replies.serve == self._direct_serve:
            self.direct_replies.serve = None  # requests too
        if self.direct_requests is not None and self.direct_requests.hook == self._direct_request:
            self.direct_requests.hook = None  # requests are asked of the next one
        if self.ctx.failure is None:  # stopped for good, not a crash: streams end too
            self.streams.end_hosted()
        # Requests in flight die with this incarnation (their askers get ActorCrashed or
        # ActorStopped): their callees stop working on them. A stream's announcing request
        # is not one of them: the stream table waits for its answer across a crash.
        for request_id, request in list(self.requests.items()):
            if request_id not in self.streams.answers:
                cancel_remote(self, request.target, request_id, request.channel)
        # Handler tasks end with this incarnation (a crash or a stop): their callers hear it
        # now instead of at their deadline (streamed endpoints' handlers outlive a crash).
        serving, self.serving = self.serving, {}
        for (source, request_id), channel in serving.items():
            error = ReplyError(
                error_type="RequestInterrupted",
                message=f"module {self.module_id!r} stopped or restarted its router while the "
                "handler ran",
                module=self.module_id,
                request_id=request_id,
            )
            reply = HandlerReply(source, request_id, encode_reply_error(error), channel)
            try:
                await self._write_reply(reply)
            except ActorError as exc:  # the connection is going too: nobody to tell
                log.info("could not tell %s that request %s was interrupted: %s",
                         source, request_id, exc)  # fmt: skip

    # -- dispatch --------------------------------------------------------------------------

    async def receive(self, message: RouterMessage) -> Any:
        if isinstance(message, ChannelInbound):
            inbound = message.message
            if isinstance(inbound, _STREAM_FRAMES):
                self.streams.on_frame(message.channel, inbound)
            elif isinstance(inbound, RoutedModuleResponse):
                self._on_reply(inbound.source_module_id, inbound.request_id, inbound.payload)
            elif isinstance(inbound, RoutedModuleMessage):
                await self._on_routed(message.channel, inbound)
            elif isinstance(inbound, RequestCancelled):
                on_cancelled(self, message.channel, inbound.source_module_id, inbound.request_id)
            return None
        if isinstance(message, SendRequest):
            reply = self.ctx.defer_reply()
            if len(self.replies) >= self.max_in_flight:
                self.parked.append((message, reply))
            else:
                await self._send_request(message, reply)
            return None
        if isinstance(message, HandlerReply):
            await self._write_reply(message)
            return None
        if isinstance(message, SendMessage):
            await self._send_notification(message)
            return None
        if isinstance(message, OpenStream):
            return self.streams.open_outbound(
                message.target, message.endpoint, message.metadata,
                window=message.window, chunk_size=message.chunk_size,
            )  # fmt: skip
        if isinstance(message, StreamHandled):
            await self._stream_handled(message)
            return None
        if isinstance(message, BodyArrived):
            await self._serve_request(message.channel, message.message, message.body)
            return None
        if isinstance(message, ResendNotification):
            await self._resend_notification(message.notify_id)
            return None
        if isinstance(message, ResendWhole):
            await self._resend_whole(message.request_id, message.message)
            return None
        if isinstance(message, SweepStreams):
            if self.streams.backlog:  # frames wait for the channels actor's new writer
                self.ctx.start_task(self._prime_writer)
            now = trio.current_time()
            self.streams.sweep(now)
            for notify_id, (_, sent) in list(self.notified.items()):
                if now - sent >= CLAIM_TIMEOUT:  # no refusal came: it was taken
                    del self.notified[notify_id]
            return None
        if isinstance(message, DirectReplyFailed):
            raise message.error
        if isinstance(message, CallerGaveUp):
            caller_gave_up(self, message.request_id)
            return None
        if isinstance(message, ConnectionLost):
            self.streams.connection_lost(message.channel, message.reason)
            self._on_connection_lost(message)
        elif isinstance(message, LineReady):
            await self._line_ready(message)
            return None
        elif isinstance(message, RegisterHandler):
            self.endpoints.register(message)
            await self._release_held()
            return None
        elif isinstance(message, EndpointsReady):
            self.endpoints.ready = True
            await self._release_held()
            return None
        elif isinstance(message, UnregisterHandler):
            self.endpoints.unregister(message.endpoint)
            return None
        elif isinstance(message, GetRouterStatistics):
            return self._statistics()
        await self._unpark()
        return None

    def _statistics(self) -> RouterStatistics:
        c = self.counts
        return RouterStatistics(
            in_flight=len(self.replies),
            parked=len(self.parked),
            sent=c["sent"],
            notifications=c["notifications"],
            replies=c["replies"],
            remote_errors=c["remote_errors"],
            timeouts=c["timeouts"],
            interrupted=c["interrupted"],
            late_replies=c["late_replies"],
            handled=c["handled"],
            handler_errors=c["handler_errors"],
            unroutable=c["unroutable"],
            malformed=c["malformed"],
            too_large=c["too_large"],
            endpoints=self.endpoints.names(),
            held=self.endpoints.held,
            latency=self.latency.snapshot(),
            expired=c["expired"],
            gave_up=c["cancelled"],
            cancelled_by_caller=c["cancelled_by_caller"],
            streams=len(self.streams.inbound) + len(self.streams.outbound),
            bodies=len(self.bodies),
        )

    # -- sending ---------------------------------------------------------------------------

    async def _send_frame(self, frame: bytes, what: str, prefer: str | None = None) -> str:
        """Queue ``frame`` on ``prefer`` if it is up, else on the connection the preferences
        pick, with the channels actor's writer; returns the connection's name. Raises
        :class:`NoChannel`."""
        writer = self.writer
        if writer is not None:
            name = writer.offer(frame, prefer)  # the common case: room, no wait
            if name is not None:
                return name
        while True:
            if writer is None or writer.revoked:
                writer = self.writer = await self._new_writer(what)
                self.streams.renewed(writer)
            try:
                return await writer.send(frame, prefer, what)
            except WriterRevoked:  # the channels actor restarted meanwhile
                writer = None

    async def _line_ready(self, message: LineReady) -> None:
        """A direct line to ``message.peer`` is up: fence it, then let it carry what this
        module sends the peer. The fence goes the way every frame before it went (this
        mailbox, the same writer), so nothing sent earlier can follow it; the line is
        published in the same step as the fence is queued."""
        payload = request_payload({"line": message.nonce}, LINE_ENDPOINT, NOTIFY_MARKER_VALUE)
        try:
            frame = self._route_frame(message.peer, LINE_ENDPOINT, random_uuid(), payload)
            await self._send_frame(frame, f"the fence of the line to {message.peer}")
        except (NoChannel, EncodeError, MessageTooLarge) as exc:
            log.info("the line to %s stays unused: %s", message.peer, exc)
            return
        if self.writer is not None:
            self.writer.publish_line(message.peer, message.channel)

    def _line(self, target: str) -> str | None:
        """The direct line to ``target`` if one is up (the connection to prefer)."""
        writer = self.writer
        return None if writer is None or writer.revoked else writer.line(target)

    async def _new_writer(self, what: str) -> Writer:
        """The channels actor's current writer (it waits for a restarting one).
        Raises :class:`NoChannel` when this module runs no channels actor."""
        try:
            return await self.ctx.system.ask(self.channels, GetWriter())
        except ActorError as exc:
            raise NoChannel(what) from exc

    def _frame(
        self,
        target: str,
        endpoint: str,
        request_id: uuid.UUID,
        payload: EncodedMessage,
        prefer: str | None = None,
    ) -> bytes:
        """The frame of a request, notification or reply: in the binary form when the
        connection it will go on (``prefer`` if up) has both ends declared MessagePack
        (extensions §5.1), else as the Rust SDK writes it. Raises ``PayloadTooLarge``,
        ``EncodeError``."""
        writer = self.writer
        if writer is not None and writer.binary(prefer):
            return binary_route_frame(target, endpoint, request_id, payload)
        return route_frame(target, endpoint, request_id, payload)

    def _route_frame(
        self,
        target: str,
        endpoint: str,
        request_id: uuid.UUID,
        payload: EncodedMessage,
        prefer: str | None = None,
    ) -> bytes:
        """``_frame``, or :class:`MessageTooLarge` when the frame is over the limit."""
        try:
            return self._frame(target, endpoint, request_id, payload, prefer)
        except PayloadTooLarge as exc:
            self.counts["too_large"] += 1
            raise MessageTooLarge(target, endpoint, exc.size, exc.limit) from exc

    async def _send_notification(self, message: SendMessage, whole: bool = False) -> None:
        """Send a notification; over the stream threshold its value goes in a stream, as a
        request's does (``whole``: never, its target took no stream)."""
        local = message.target == self.module_id
        big = (
            not local
            and not whole
            and surely_big(message.payload, self.stream_threshold)
            and self.streams.supported()
        )
        payload = (
            EncodedMessage(data=b"", format=EncodingFormat.JSON)  # not written: see below
            if big
            else request_payload(
                message.payload, message.endpoint, NOTIFY_MARKER_VALUE, message.trace
            )
        )
        if local:  # to itself: served here, never on the wire
            self.counts["notifications"] += 1
            await self._serve_request(LOCAL_CHANNEL, self._local(random_uuid(), payload))
            return
        notify_id = random_uuid()
        prefer = self._line(message.target)
        if not whole and (
            big or (len(payload.data) > self.stream_threshold and self.streams.supported())
        ):
            # The value goes in a stream (_streaming); a target that takes no streams makes
            # the orchestrator answer StreamRefused, and it goes again whole (_on_reply).
            body = open_body(
                self, message.target, message.endpoint, message.payload, notify_id, notify=True
            )
            self.notified[notify_id] = (message, trio.current_time())
            payload = body_request_payload(message.endpoint, NOTIFY_MARKER_VALUE, body.stream_id)
            prefer = body.channel
        await self._send_frame(
            self._route_frame(message.target, message.endpoint, notify_id, payload, prefer),
            f"a message to {message.target}/{message.endpoint}",
            prefer=prefer,
        )
        self.counts["notifications"] += 1

    async def _resend_notification(self, notify_id: uuid.UUID) -> None:
        """The target of a big notification took no stream: send it again whole (up to the
        frame limit, as to any Rust module; over it, it is dropped and logged)."""
        found = self.notified.pop(notify_id, None)
        if found is None:
            return
        message = found[0]
        try:
            if surely_big(message.payload, DEFAULT_MAX_FRAME_SIZE):  # not worth writing
                size = 2 * len(message.payload)
                raise MessageTooLarge(
                    message.target, message.endpoint, size, DEFAULT_MAX_FRAME_SIZE
                )
            await self._send_notification(message, whole=True)
        except (NoChannel, EncodeError, MessageTooLarge) as exc:
            self.counts["too_large"] += isinstance(exc, MessageTooLarge)
            log.warning("a notification to %s/%s is lost: its target takes no streams and %s",
                        message.target, message.endpoint, exc)  # fmt: skip

    def _local(self, request_id: uuid.UUID, payload: EncodedMessage) -> RoutedModuleMessage:
        """A request or notification to this module, as it would arrive on a channel."""
        return RoutedModuleMessage(
            source_module_id=self.module_id, original_request_id=request_id, payload=payload
        )

    async def _send_request(self, message: SendRequest, reply: DeferredReply) -> None:
        request_id = message.request_id or random_uuid()
        local = message.target == self.module_id
        # The deadline: the request's timeout, or the asker's own deadline if earlier (it
        # inherits its cancel scopes'); it travels as the budget left, in whole ms.
        now = trio.current_time()
        timeout = self.default_timeout if message.timeout is None else message.timeout
        deadline = min(now + timeout, reply.deadline)
        budget_ms = max(math.ceil((deadline - now) * 1000.0), 0)
        try:
            big = (
                not local
                and surely_big(message.payload, self.stream_threshold)
                and self.streams.supported()
            )
            payload = (
                EncodedMessage(data=b"", format=EncodingFormat.JSON)  # not written: see below
                if big
                else request_payload(
                    message.payload, message.endpoint, REPLY_MARKER_VALUE, message.trace, budget_ms
                )
            )
            if local:  # to itself: served here once it is pending, never on the wire
                channel = LOCAL_CHANNEL
            elif big or (len(payload.data) > self.stream_threshold and self.streams.supported()):
                # Too big for one frame's comfort: the value goes in a stream (_streaming).
                body = open_body(
                    self, message.target, message.endpoint, message.payload, request_id
                )
                body.on_refused = lambda _: self._refused(request_id, message)
                self.bodies[request_id] = body
                payload = body_request_payload(message.endpoint, REPLY_MARKER_VALUE, body.stream_id)
                channel = await self._send_frame(
                    self._route_frame(
                        message.target, message.endpoint, request_id, payload, body.channel
                    ),
                    f"a request to {message.target}/{message.endpoint}",
                    prefer=body.channel,
                )
            else:
                line = self._line(message.target) if message.direct_line else None
                channel = await self._send_frame(
                    self._route_frame(message.target, message.endpoint, request_id, payload, line),
                    f"a request to {message.target}/{message.endpoint}",
                    prefer=line,
                )
        except (NoChannel, EncodeError, MessageTooLarge) as exc:
            reply.fail(exc)
            return
        self._sent(message, request_id, reply, channel, deadline, now)
        if local:
            await self._serve_request(LOCAL_CHANNEL, self._local(request_id, payload))

    async def _unpark(self) -> None:
        while self.parked and len(self.replies) < self.max_in_flight:
            message, reply = self.parked.popleft()
            if reply.pending:
                await self._send_request(message, reply)

    def _finished(self) -> None:
        if self.parked:
            self.ctx.self_ref.tell_nowait(Unpark())

    # -- outcomes --------------------------------------------------------------------------

    def _on_reply(self, source: str, request_id: uuid.UUID, payload: EncodedMessage) -> bool:
        asked = self.requests.get(request_id)
        noted = self.notified.get(request_id)
        if (asked is not None and asked.target != source) or (
            noted is not None and noted[0].target != source
        ):  # not from the module asked: a peer on a direct line answering what it was not
            self.counts["late_replies"] += 1  # asked (the orchestrator checks it on its hop)
            return False
        if request_id in self.notified and b'"type":"StreamRefused"' in payload.data:
            self.ctx.self_ref.tell_nowait(ResendNotification(request_id))
            return False
        if request_id in self.resent and b'"type":"StreamRefused"' in payload.data:
            self.resent.discard(request_id)  # the first sending's answer: it was sent again
            return False
        self._end_body(request_id)
        if payload.data[:1] == b"{" and on_stream_reply(self, request_id, payload.data):
            return True
        request = self.requests.pop(request_id, None)
        if request is None and self._answer_orphan(request_id, payload):
            return True
        if request is None:
            self.counts["late_replies"] += 1
            log.info("dropped a late or unknown reply from %s (request %s)", source, request_id)
            return False
        self.latency.observe(time.perf_counter() - request.sent)
        self._finished()
        try:
            result = decode_reply(payload.data, request.response_type)
        except Exception as exc:  # a reply that cannot be read as the asked
            # type (or a type the converter cannot build) is that request's outcome, never a
            # crash of the router that every other request depends on.
            self.counts["malformed"] += 1
            error = BadReply(request.target, request.endpoint, request_id, str(exc))
            return self.replies.fail(request_id, error)
        if isinstance(result, ReplyError):
            self.counts["remote_errors"] += 1
            return self.replies.fail(
                request_id,
                RemoteError.from_reply(
                    result.error_type,
                    result.message,
                    result.module,
                    result.request_id,
                    endpoint=request.endpoint,
                ),
            )
        self.counts["replies"] += 1
        return self.replies.resolve(request_id, result)

    def _answer_orphan(self, request_id: uuid.UUID, payload: EncodedMessage) -> bool:
        """The reply to a stream's announcing request that a crashed incarnation of this
        router had sent: hand it to the stream that waits for it (docs/streams.md)."""
        answer = self.streams.take_answer(request_id)
        if answer is None:
            return False
        try:
            result = decode_reply(payload.data, Any)
        except Exception as exc:
            self.counts["malformed"] += 1
            error = BadReply(answer.target, answer.endpoint, request_id, str(exc))
            answer.deliver(outcome.Error(error))
            return True
        self.counts["replies"] += 1
        if isinstance(result, ReplyError):
            self.counts["remote_errors"] += 1
            remote = RemoteError.from_reply(
                result.error_type, result.message, result.module, result.request_id,
                endpoint=answer.endpoint,
            )  # fmt: skip
            answer.deliver(outcome.Error(remote))
        else:
            answer.deliver(outcome.Value(result))
        return True

    def _refused(self, request_id: uuid.UUID, message: SendRequest) -> None:
        """The stream of a request's value was refused: its first sending's answer (the
        orchestrator's ``StreamRefused``) is not its outcome; send it again whole."""
        self.resent.add(request_id)
        self.ctx.self_ref.tell_nowait(ResendWhole(request_id, message))

    async def _resend_whole(self, request_id: uuid.UUID, message: SendRequest) -> None:
        """Send request ``request_id`` again with its value in its own payload (its target
        takes no streams), as to any Rust module: over the frame limit it fails with
        ``MessageTooLarge``."""
        request = self.requests.get(request_id)
        if request is None:
            return
        self.bodies.pop(request_id, None)
        try:
            if surely_big(message.payload, DEFAULT_MAX_FRAME_SIZE):  # not worth writing
                self.counts["too_large"] += 1
                size = 2 * len(message.payload)
                raise MessageTooLarge(
                    message.target, message.endpoint, size, DEFAULT_MAX_FRAME_SIZE
                )
            payload = request_payload(message.payload, message.endpoint, REPLY_MARKER_VALUE)
            line = self._line(message.target)
            channel = await self._send_frame(
                self._route_frame(message.target, message.endpoint, request_id, payload, line),
                f"a request to {message.target}/{message.endpoint}",
                prefer=line,
            )
        except (NoChannel, EncodeError, MessageTooLarge) as exc:
            self.resent.discard(request_id)
            if self.requests.pop(request_id, None) is not None:
                self._finished()
                self.replies.fail(request_id, exc)
            return
        self.requests[request_id] = attrs.evolve(request, channel=channel)

    def _end_body(self, request_id: uuid.UUID) -> None:
        """The request is answered or over: a body still being sent is not needed any more
        (a reply before the whole body is a refusal, such as ``RequestTooLarge``)."""
        body = self.bodies.pop(request_id, None)
        if body is not None:
            if body.sending:
                body.abort("the request was answered or ended before its body was sent")
            body.release()

    def _on_connection_lost(self, message: ConnectionLost) -> None:
        channel, reason = message.channel, message.reason
        for request_id, request in list(self.requests.items()):
            if request.channel == channel:
                self._end_body(request_id)
                del self.requests[request_id]
                self.counts["interrupted"] += 1
                error: Exception
                if message.peer is None:
                    error = RequestInterrupted(request.target, request.endpoint, request_id, reason)
                else:  # the callee's end of a direct line: as the orchestrator says it
                    error = RemoteError(
                        "ChannelLost",
                        f"the direct line to module {request.target!r} closed before it "
                        f"replied ({reason})",
                        request.target,
                        request_id,
                        endpoint=request.endpoint,
                    )
                self.replies.fail(request_id, error)
        if message.peer is not None:  # its caller is gone: what it asked is cancelled
            for (source, request_id), came_on in list(self.serving.items()):
                if came_on == channel:
                    on_cancelled(self, channel, source, request_id)
            self.endpoints.drop_channel(channel)

    def _timeout_error(self, request_id: uuid.UUID, seconds: float) -> RequestTimeout:
        """The asker's error when request ``request_id`` passes its deadline."""
        request = self.requests[request_id]
        return RequestTimeout(request.target, request.endpoint, request_id, request.timeout)

    def _expired(self, request_id: uuid.UUID) -> None:
        """Request ``request_id`` timed out (its asker has the error): forget it, and let a
        parked request have its slot."""
        del self.requests[request_id]
        self._end_body(request_id)
        self.counts["timeouts"] += 1
        self._finished()

    # -- serving ---------------------------------------------------------------------------

    async def _on_routed(self, channel: str, message: RoutedModuleMessage) -> None:
        request = self.requests.get(message.original_request_id)
        if request is not None and request.target == message.source_module_id:
            # An orchestrator that forwards replies as routed_module_message (decision 7).
            self._on_reply(message.source_module_id, message.original_request_id, message.payload)
            return
        await self._serve_request(channel, message)

    async def _serve_request(
        self, channel: str, message: RoutedModuleMessage, body: bytes | None = None
    ) -> None:
        """Find the handler of a request or notification and run it (or answer for it).
        ``body``: the value of a request that came in a stream (MessagePack)."""
        fast = read_request(message.payload)  # the form pywatt writes, read fast
        endpoint: str | None
        marker: object
        streamed: object = None
        carrier: dict[str, str] | None
        budget: int | None
        if fast is not None:
            content, endpoint, marker, carrier, budget = fast
        else:
            try:
                envelope = decode_payload_message(message.payload, Any)
            except DecodeError as exc:
                self.counts["malformed"] += 1
                log.warning(
                    "refused a malformed request from %s (request %s): %s",
                    message.source_module_id,
                    message.original_request_id,
                    exc,
                )
                return
            meta = envelope.metadata
            content = envelope.content
            marker = (meta.properties or {}).get(REPLY_MARKER_PROPERTY)
            endpoint = meta.destination
            streamed = (meta.properties or {}).get(BODY_PROPERTY)
            carrier = trace_carrier(meta.properties)
            budget = budget_of(meta.properties)
        source, request_id = message.source_module_id, message.original_request_id
        # The caller's deadline on this process's clock (the budget counts from its arrival).
        deadline = math.inf if budget is None else trio.current_time() + budget / 1000.0
        if budget == 0:  # the caller had given up before it was written
            self.counts["expired"] += 1
            return
        entry = self.endpoints.find(endpoint, source)
        if body is not None:
            try:
                content = decode_body(body, Any)
            except DecodeError as exc:
                self.counts["malformed"] += 1
                await write_error(self, channel, source, request_id, "BadRequest", str(exc))
                return
        elif isinstance(streamed, str) and entry is not None:
            claim_body(self, channel, message, streamed, entry.max_size,
                       reply=marker == REPLY_MARKER_VALUE)  # fmt: skip
            return
        elif (
            entry is not None
            and entry.max_size is not None
            and len(message.payload.data) > entry.max_size
        ):
            self.counts["too_large"] += 1
            text = (
                f"the request is {len(message.payload.data)} bytes; endpoint {endpoint!r} "
                f"takes at most {entry.max_size}"
            )
            await write_error(self, channel, source, request_id, "RequestTooLarge", text)
            return
        if endpoint == LINE_ENDPOINT:  # a peer's fence: its line may be read from now on
            if isinstance(content, dict) and isinstance(content.get("line"), str):
                with contextlib.suppress(NoChannel):  # no channels: no lines either
                    writer = self.writer
                    if writer is None or writer.revoked:
                        writer = self.writer = await self._new_writer("a fence")
                    writer.line_fenced(source, content["line"])
            return
        if entry is None and endpoint == READY_ENDPOINT:  # a readiness probe: we are here
            if marker == REPLY_MARKER_VALUE:
                self.counts["handled"] += 1
                data = encode_reply_ok(True)
                await self._write_reply(HandlerReply(source, request_id, data, channel))
            return
        if entry is None and not self.endpoints.ready and self.endpoints.hold(channel, message):
            return  # the module's setup may still register it
        if entry is None:
            self.counts["unroutable"] += 1
            log.warning(
                "no handler for %s (from %s, request %s)",
                f"endpoint {endpoint!r}" if endpoint else "requests without a destination",
                source,
                request_id,
            )
            if marker == REPLY_MARKER_VALUE:
                error = ReplyError(
                    error_type="NoSuchEndpoint",
                    message=f"module {self.module_id!r} serves no endpoint {endpoint!r}",
                    module=self.module_id,
                    request_id=request_id,
                )
                await self._write_reply(
                    HandlerReply(source, request_id, encode_reply_error(error), channel)
                )
            return
        handler = entry.handler
        span = server_span(
            carrier,
            source,
            endpoint,
            actor=handler if isinstance(handler, str) else None,
            notify=marker == NOTIFY_MARKER_VALUE,
        )
        if isinstance(handler, str):
            self._track(source, request_id, marker, channel)
            with activated(span):  # the task starts in the span's context
                self.ctx.start_task(
                    self._serve, entry, content, message, marker, span, deadline, body
                )
            return
        # A function runs here: it cannot wait, so a task would only add a hand-off.
        try:
            with activated(span):
                request = self._request_value(entry, content, message, body)
                result: Any
                if isinstance(request, RemoteInbound):  # a streamed endpoint's handler
                    # A lasting task: the stream goes on across a crash of this router.
                    self.streams.host(
                        self.ctx, finish_stream, self.ctx.system, serve_stream(request, handler),
                        StreamHandled(source, request_id, channel, marker), span, deadline,
                    )  # fmt: skip
                    return
                else:
                    result = handler(request)
                if inspect.isawaitable(result):  # an async handler: awaited beside the mailbox
                    self._track(source, request_id, marker, channel)
                    # A streamed endpoint's handler ends with its stream (aborted when the
                    # producer gives up or goes), not with a cancel (_cancel).
                    cancellable = not isinstance(request, RemoteInbound)
                    self.ctx.start_task(
                        self._finish, result, message, marker, span, deadline, cancellable
                    )
                    return
        except Exception as exc:
            end_span(span, exc)
            data = self._error_data(exc, source, request_id)
        else:
            end_span(span)
            data = self._ok_data(result, marker, source, request_id, channel)
        if marker != NOTIFY_MARKER_VALUE:
            await self._write_reply(HandlerReply(source, request_id, data, channel))

    def _reply_frame(self, message: HandlerReply) -> bytes:
        """The frame of a reply; over the frame limit, the frame of a ``ReplyTooLarge``
        error instead (the caller learns it now rather than at its deadline)."""
        source, request_id = message.source, message.request_id
        payload = EncodedMessage(data=message.data, format=EncodingFormat.JSON)
        try:
            return self._frame(source, REPLY_ENDPOINT, request_id, payload, message.channel)
        except PayloadTooLarge as exc:
            self.counts["too_large"] += 1
            log.warning("the reply to %s (request %s) is a %d-byte frame, over the %d-byte "
                        "limit; the caller gets ReplyTooLarge", source, request_id, exc.size,
                        exc.limit)  # fmt: skip
            error = ReplyError(
                error_type="ReplyTooLarge",
                message=f"the reply would be a {exc.size}-byte frame; the limit is "
                f"{exc.limit} bytes",
                module=self.module_id,
                request_id=request_id,
            )
            payload = EncodedMessage(data=encode_reply_error(error), format=EncodingFormat.JSON)
            return self._frame(source, REPLY_ENDPOINT, request_id, payload, message.channel)

    def _direct_serve(self, channel: str, message: RoutedModuleMessage) -> bool:
        """A request as a connection reads it (``_direct_replies``): served now when
        :meth:`_serve_now` can; False when it must be told to the router instead."""
        try:
            return self._serve_now(channel, message)
        except Exception as exc:  # crash as if it had come through the mailbox
            if self.direct_replies is not None:
                self.direct_replies.hook = self.direct_replies.serve = None
            self.ctx.self_ref.tell_nowait(DirectReplyFailed(exc))
            return True

    def _serve_now(self, channel: str, message: RoutedModuleMessage) -> bool:
        """``_serve_request`` in the reader's step, for the common case only: a request (not
        a notification: those keep their order through the mailbox) in the form pywatt
        writes, for an endpoint served by a function, while nothing waits in the mailbox
        ahead of it. The function runs here as it would in the router; an awaitable it
        returns runs as a task, as there. False (nothing done) for anything else."""
        writer = self.writer
        if (
            writer is None
            or writer.revoked
            or self.ctx.ended
            or len(self.ctx.cell.mailbox)
            or message.original_request_id in self.requests  # a reply in the old form
        ):
            return False
        fast = read_request(message.payload)
        if fast is None:
            return False
        content, endpoint, marker, carrier, budget = fast
        if marker != REPLY_MARKER_VALUE or budget == 0:
            return False
        source, request_id = message.source_module_id, message.original_request_id
        entry = self.endpoints.find(endpoint, source)
        if (
            entry is None
            or entry.stream
            or isinstance(entry.handler, str)
            or (entry.max_size is not None and len(message.payload.data) > entry.max_size)
        ):
            return False
        deadline = math.inf if budget is None else trio.current_time() + budget / 1000.0
        span = server_span(carrier, source, endpoint, actor=None, notify=False)
        try:
            with activated(span):
                result = entry.handler(self._request_value(entry, content, message, None))
                if inspect.isawaitable(result):  # an async handler: awaited beside the mailbox
                    self._track(source, request_id, marker, channel)
                    self.ctx.start_task(self._finish, result, message, marker, span, deadline, True)
                    return True
        except Exception as exc:
            end_span(span, exc)
            data = self._error_data(exc, source, request_id)
        else:
            end_span(span)
            data = self._ok_data(result, marker, source, request_id, channel)
        reply = HandlerReply(source, request_id, data, channel)
        if writer.offer(self._reply_frame(reply), channel) is None:  # no room: wait for it
            self.ctx.start_task(self._write_reply, reply)
        return True

    async def _stream_handled(self, done: StreamHandled) -> None:
        """A streamed endpoint's handler (a lasting task) ended: write its answer."""
        if done.result is None:
            self._gave_up(done.source, done.request_id, None)
            return
        if isinstance(done.result, outcome.Error):
            error = done.result.error
            assert isinstance(error, Exception)
            data = self._error_data(error, done.source, done.request_id)
        else:
            assert isinstance(done.result, outcome.Value)
            data = self._ok_data(
                done.result.value, done.marker, done.source, done.request_id, done.channel
            )
        if done.marker != NOTIFY_MARKER_VALUE:
            await self._write_reply(HandlerReply(done.source, done.request_id, data, done.channel))

    async def _release_held(self) -> None:
        """Dispatch the held requests again: to a handler registered since, or (once ready)
        to the usual ``NoSuchEndpoint``; the others are held again."""
        for channel, message in self.endpoints.take_held():
            await self._on_routed(channel, message)

    def _track(self, source: str, request_id: uuid.UUID, marker: object, channel: str) -> None:
        """Note a request whose handler runs as a task (a notification needs no reply)."""
        if marker != NOTIFY_MARKER_VALUE:
            self.serving[(source, request_id)] = channel

    async def _reply_once(self, source: str, request_id: uuid.UUID, data: bytes) -> None:
        """Write a task's reply unless its request was answered already (by ``on_stop``)."""
        channel = self.serving.pop((source, request_id), None)
        if channel is not None:
            await self._write_reply(HandlerReply(source, request_id, data, channel))

    def _request_value(
        self, entry: Handler, content: Any, message: RoutedModuleMessage, body: bytes | None
    ) -> Any:
        """The request as the handler takes it: decoded as its type, or the stream it
        announced for a streamed endpoint. Raises ``DecodeError``, ``LookupError``."""
        if entry.stream:
            if not isinstance(content, dict) or not isinstance(content.get(STREAM_KEY), str):
                raise DecodeError(f"a streamed endpoint takes {{{STREAM_KEY!r}: <stream id>}}")
            return self.streams.claim(uuid.UUID(content[STREAM_KEY]))
        if entry.request_type is Any:
            return content
        if body is not None:
            return decode_body(body, entry.request_type)
        return decode_payload(message.payload, entry.request_type)

    def _ok_data(
        self,
        result: Any,
        marker: object,
        source: str,
        request_id: uuid.UUID,
        channel: str | None = None,
    ) -> bytes:
        try:
            if marker == REPLY_MARKER_VALUE and is_stream_reply(result):
                data = stream_reply_data(self, result, None, source, request_id, channel)
            else:
                streamed = None
                if marker == REPLY_MARKER_VALUE and surely_big(result, self.stream_threshold):
                    size = 2 * len(result)
                    streamed = stream_reply_data(self, result, size, source, request_id, channel)
                data = streamed or (
                    encode_reply_ok(result) if marker == REPLY_MARKER_VALUE
                    else encode_json(result)
                )  # fmt: skip
                if (
                    marker == REPLY_MARKER_VALUE
                    and not streamed
                    and len(data) > self.stream_threshold
                ):
                    data = (
                        stream_reply_data(self, result, len(data), source, request_id, channel)
                        or data
                    )
            assert data is not None
        except Exception as exc:  # a result without a JSON form is the caller's error
            return self._error_data(exc, source, request_id)
        self.counts["handled"] += 1
        return data

    def _error_data(self, exc: Exception, source: str, request_id: uuid.UUID) -> bytes:
        self.counts["handler_errors"] += 1
        log.info("handler for a request from %s raised %s: %s", source, type(exc).__name__, exc)
        message = str(exc)
        cause = exc.__cause__
        if isinstance(exc, ActorCrashed) and cause is not None:  # say what the actor raised
            message = f"{message}: {type(cause).__name__}: {cause}"
        return encode_reply_error(
            ReplyError(
                error_type=handler_error_type(exc),
                message=message,
                module=self.module_id,
                request_id=request_id,
            )
        )

    async def _finish(
        self,
        awaitable: Any,
        message: RoutedModuleMessage,
        marker: object,
        span: Span | None,
        deadline: float,
        cancellable: bool = True,
    ) -> None:
        """Await an async handler's result and write its reply (a task of the router). At
        the caller's deadline, or when the caller cancels (if ``cancellable``), the handler
        is cancelled and nothing is sent: the caller has its outcome already."""
        source, request_id = message.source_module_id, message.original_request_id
        try:
            scope = handler_scope(self, source, request_id, deadline, cancellable=cancellable)
            try:
                with scope:
                    result = await awaitable
            finally:
                by_caller = end_scope(self, source, request_id)
            if scope.cancelled_caught:
                if by_caller:
                    end_span(span, CancelledByCaller())
                    return
                self._gave_up(source, request_id, span)
                return
        except Exception as exc:
            end_span(span, exc)
            data = self._error_data(exc, source, request_id)
        else:
            end_span(span)
            channel = self.serving.get((source, request_id))
            data = self._ok_data(result, marker, source, request_id, channel)
        await self._reply_once(source, request_id, data)

    async def _serve(
        self,
        entry: Handler,
        content: Any,
        message: RoutedModuleMessage,
        marker: object,
        span: Span | None,
        deadline: float,
        body: bytes | None = None,
    ) -> None:
        """Ask (or tell) the actor named by ``entry`` and write its reply (a task). The ask
        carries the caller's deadline (the actor sees it as ``ctx.deadline``); past it the
        actor's handler is cancelled and nothing is sent."""
        source, request_id = message.source_module_id, message.original_request_id
        try:
            request = self._request_value(entry, content, message, body)
            assert isinstance(entry.handler, str)
            result: Any = None
            scope = handler_scope(self, source, request_id, math.inf, cancellable=not entry.stream)
            try:
                with scope:  # the caller's cancel: the ask, and so the actor's handler
                    result = await self._ask_actor(entry.handler, request, deadline)
            finally:
                by_caller = end_scope(self, source, request_id)
            if by_caller:
                end_span(span, CancelledByCaller())
                return
        except AskTimeout:
            self._gave_up(source, request_id, span)
            return
        except Exception as exc:
            end_span(span, exc)
            data = self._error_data(exc, source, request_id)
        else:
            end_span(span)
            channel = self.serving.get((source, request_id))
            data = self._ok_data(result, marker, source, request_id, channel)
        await self._reply_once(source, request_id, data)

    async def _ask_actor(self, name: str, request: Any, deadline: float) -> Any:
        from actors import Request

        ref = self.ctx.system.ref(name)
        if isinstance(request, Request):
            if deadline == math.inf:
                return await ref.ask(request)
            return await ref.ask(request, deadline=deadline)
        await ref.tell(request)
        return None

    def _gave_up(self, source: str, request_id: uuid.UUID, span: Span | None) -> None:
        """The caller's deadline passed while its handler ran: no reply (it would be late)."""
        end_span(span, TimeoutError("the caller's deadline passed; the handler was cancelled"))
        self.serving.pop((source, request_id), None)
        self.counts["expired"] += 1
        log.info("the deadline of request %s from %s passed; its handler was cancelled",
                 request_id, source)  # fmt: skip

    async def _write_reply(self, message: HandlerReply) -> None:
        source, request_id = message.source, message.request_id
        if message.channel == LOCAL_CHANNEL:  # a request to itself: no frame, no size limit
            self._on_reply(
                source, request_id, EncodedMessage(data=message.data, format=EncodingFormat.JSON)
            )
            return
        frame = self._reply_frame(message)
        try:
            await self._send_frame(
                frame,
                f"the reply to {source} (request {request_id})",
                prefer=message.channel,
            )
        except NoChannel as exc:
            log.warning("%s; the reply is lost (the caller gets an error or a timeout)", exc)

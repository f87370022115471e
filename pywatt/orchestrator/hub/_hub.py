"""The hub: the orchestrator's side of channels, routing, discovery and registration.

Connections accepted by the listeners register here (``Opened`` / ``Closed``) and every
decoded frame arrives as :class:`FromConnection`, except requests and replies, which the
listener that read them routes with the hub's own routing, lent to it (``_direct``). The hub

* routes ``route_to_module`` (decision 7): a request becomes ``routed_module_message`` on
  one of the target's connections (the one the target last sent on, which its own channel
  preferences chose; else the open ones in turn) and is remembered; the target's reply (endpoint
  ``pywatt.reply``, same request id) becomes one ``routed_module_response`` to the caller,
  on the connection the request came from when it is still open. A reply nobody waits for
  is dropped and counted. When the target's connection closes with requests unanswered,
  each pywatt caller gets an ``Err`` reply at once; a request to a module without an open
  connection gets one too, ``ModuleUnavailable`` for a module of the manifest and
  ``NoSuchModule`` for any other id (a Rust caller, which cannot read it, waits out its
  deadline);
* answers readiness probes (endpoint ``pywatt.ready``) for the target: ``{"Ok":true}`` once
  it has an open connection and its current process has announced, holding the probe until
  then (``state.wait_for_module``);
* keeps the provider registry (§11) and pushes ``discovery_update`` to every module that
  declared itself pywatt (decision 9); a module's providers become unhealthy while it has
  no connection and leave when its process ends;
* answers registration, capabilities, registration heartbeats and unregistration (§10)
  with bare replies on the connection they came on.

What it was told (connections, routes, providers, registrations) is a :class:`HubState`
that outlives each incarnation, so a crash of the hub loses only the message in hand
(``_hub_state`` says why and how). ``KillHub`` crashes it on purpose.
"""

from __future__ import annotations

import contextlib
import secrets
import time
import uuid
from collections.abc import Collection
from typing import Any, Final

import attrs
import trio

from actors import Actor, DeferredReply, Request, StreamAborted
from pywatt.channels import (
    RawRoute,
    payload_json,
    route_budget_ms,
    routed_message_frame,
    routed_response_frame,
)
from pywatt.observe import ChannelChanged
from pywatt.router import STREAM_THRESHOLD, body_request_payload, stream_reply_id, surely_big
from pywatt.wire import (
    DEFAULT_MAX_FRAME_SIZE,
    READY_ENDPOINT,
    REPLY_ENDPOINT,
    REPLY_MARKER_PROPERTY,
    REPLY_MARKER_VALUE,
    BinaryRoute,
    CancelRequest,
    CapabilitiesRequest,
    CapabilitiesResponse,
    DecodeError,
    DiscoverServiceProvidersRequest,
    DiscoverServiceProvidersResponse,
    DiscoveryEvent,
    DiscoveryUpdate,
    EncodedMessage,
    EncodeError,
    EncodingFormat,
    HeartbeatRequest,
    HeartbeatResponse,
    LineRequest,
    MessageMetadata,
    PayloadTooLarge,
    RegisteredModule,
    RegisterServiceProviderRequest,
    RegisterServiceProviderResponse,
    RegistrationRequest,
    RegistrationResponse,
    ReplyError,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    ServiceProviderInfo,
    UnregisterServiceProviderRequest,
    UnregisterServiceProviderResponse,
    UnregistrationRequest,
    UnregistrationResponse,
    binary_budget_ms,
    binary_routed_frame,
    decode_body,
    decode_payload_message,
    decode_reply,
    encode_payload,
    encode_reply_error,
    encode_reply_ok,
)

from .._errors import ModuleCallFailed
from ..console import Console
from ._cancel import CallAbandoned, cancel_from, cancel_routes_of, on_call_abandoned
from ._connection import ServerConnection, encode_bare
from ._hub_state import HubState, ReadyWaiter, RegistrationRecord, Route
from ._lines import grant_line
from ._stream_relay import RelayedStreamFrame
from ._tokens import same_token

__all__ = [
    "HUB_NAME",
    "ORCHESTRATOR_CALLER",
    "CallModule",
    "Closed",
    "ConnectionInfo",
    "FromConnection",
    "GetConnections",
    "GetHubStatistics",
    "GetProviders",
    "GetRegistration",
    "Hub",
    "HubKilled",
    "HubStatistics",
    "KillHub",
    "ModuleAnnounced",
    "ModuleEnded",
    "Opened",
    "RegistrationRecord",
]

HUB_NAME: Final = "pywatt.hub"
ROUTE_TTL: Final = 300.0
"""Seconds an unanswered route is remembered (notifications are never answered)."""


@attrs.frozen(eq=False)
class Opened:
    conn: ServerConnection


@attrs.frozen(eq=False)
class Closed:
    conn: ServerConnection


@attrs.frozen(eq=False)
class FromConnection:
    conn: ServerConnection
    content: Any


@attrs.frozen
class ModuleAnnounced:
    """The module's current process announced: with an open connection it is reachable."""

    module_id: str


@attrs.frozen
class ModuleEnded:
    """The module's process ended: its providers leave."""

    module_id: str


@attrs.frozen
class _Sweep:
    pass


@attrs.frozen
class KillHub:
    """Crash the hub on purpose (tests, fault drills); its supervisor starts it again."""


class HubKilled(Exception):
    """Raised by the hub told :class:`KillHub`."""


@attrs.frozen
class DirectRouteFailed:
    """A route handled by a listener for the hub (``_direct``) raised ``error``: the hub
    crashes with it, as if it had raised in its own task."""

    error: Exception


@attrs.frozen
class ConnectionInfo:
    """A snapshot of one module connection as the orchestrator sees it."""

    label: str
    kind: str
    pywatt: bool
    frames_in: int
    frames_out: int
    malformed: int
    heartbeats_sent: int
    heartbeat_acks: int
    latency_ms: float | None


@attrs.frozen
class HubStatistics:
    routed: int
    replies: int
    late_replies: int
    unroutable: int
    interrupted: int
    pending: int
    updates_pushed: int
    expired: int = 0
    """Requests not forwarded because their caller's budget (``pywatt_deadline_ms``) was
    spent when they arrived."""
    binary: int = 0
    """Requests and replies forwarded in the binary form (both modules pywatt; protocol
    extensions §5.1): their payload bytes passed on as they came."""
    cancelled: int = 0
    """Requests whose caller gave up (a ``cancel_request``, or its connection closed): the
    callee was told ``request_cancelled``."""
    cancels_ignored: int = 0
    """``cancel_request`` for no route of that connection (unknown, finished, not its own)."""
    relayed_streams: int = 0
    """Streams between modules the relay holds now (in flight, or ended moments ago)."""
    own_streams: int = 0
    """The orchestrator's own stream ends now: replies it reads, values it sends."""
    lines_granted: int = 0
    """Direct lines granted between modules (extensions §12): their traffic no longer
    passes here."""
    lines_refused: int = 0
    """Line requests refused (the target unknown, down, or taking no lines)."""


@attrs.frozen
class GetConnections(Request[list[ConnectionInfo]]):
    module_id: str


@attrs.frozen
class GetProviders(Request[list[ServiceProviderInfo]]):
    pass


@attrs.frozen
class GetRegistration(Request[RegistrationRecord | None]):
    module_id: str


@attrs.frozen
class GetHubStatistics(Request[HubStatistics]):
    pass


@attrs.frozen
class CallModule(Request[Any]):
    """The orchestrator itself asks ``endpoint`` of ``module_id`` (as caller
    ``ORCHESTRATOR_CALLER``); answered with the reply as ``response_type``."""

    module_id: str
    endpoint: str
    payload: Any
    response_type: Any = Any


ORCHESTRATOR_CALLER: Final = "pywatt.orchestrator"


HubMessage = (
    CallModule
    | KillHub
    | DirectRouteFailed
    | Opened
    | Closed
    | FromConnection
    | ModuleAnnounced
    | ModuleEnded
    | _Sweep
    | GetConnections
    | GetProviders
    | GetRegistration
    | GetHubStatistics
    | CallAbandoned
)


class Hub(Actor[HubMessage]):
    """Registered as ``pywatt.hub`` (see the module docstring)."""

    def __init__(
        self,
        console: Console,
        state: HubState,
        ports: dict[str, int] | None = None,
        modules: Collection[str] | None = None,
    ) -> None:
        self.console = console
        self.modules = None if modules is None else frozenset(modules)
        """The module ids the orchestrator runs (``None``: any id may be one of them)."""
        self.state = state
        """What others told the hub: the same object for every incarnation (``_hub_state``)."""
        self.ports = ports if ports is not None else {}
        self.conns = state.conns
        self.routes = state.routes
        self.providers = state.providers
        self.registrations = state.registrations
        self.counts = state.counts
        self._last_used = state.last_used
        self._types = state.response_types

    async def on_start(self) -> None:
        self._settle()
        self.ctx.send_interval(10.0, _Sweep())
        self.state.direct.route = self._on_frame  # the listeners route through it (_direct)

    async def on_stop(self) -> None:
        if self.state.direct.route == self._on_frame:
            self.state.direct.route = None

    def _settle(self) -> None:
        """Settle what the state holds that is no longer true (``HubState.stale``): after a
        crash, and on every sweep in case a ``Closed`` was ever lost."""
        closed, orphaned = self.state.stale()
        for conn in closed:
            self._closed(conn)
        for key in orphaned:  # the asker is gone (an ask of a crashed incarnation)
            del self.routes[key]
            self._types.pop(key[1], None)
            self.state.own.end_body(key[1])

    async def receive(self, message: HubMessage) -> Any:
        if isinstance(message, FromConnection):
            self.state.direct.hub_took()
            self._on_frame(message.conn, message.content)
        elif isinstance(message, Opened):
            self.state.direct.hub_took()
            self._opened(message.conn)
        elif isinstance(message, Closed):
            self.state.direct.hub_took()
            self._closed(message.conn)
        elif isinstance(message, DirectRouteFailed):
            raise message.error  # crash with it: a restart settles what it left (_direct)
        elif isinstance(message, ModuleEnded):
            for provider in [
                p for p in self.providers.values() if p.module_id == message.module_id
            ]:
                del self.providers[provider.provider_id]
                self._push(DiscoveryEvent.LEFT, provider)
            self.registrations.pop(message.module_id, None)
            self.state.announced.discard(message.module_id)
        elif isinstance(message, ModuleAnnounced):
            self.state.announced.add(message.module_id)
            self._release_ready(message.module_id)
        elif isinstance(message, _Sweep):
            self._settle()
            now = trio.current_time()
            self.state.streams.sweep(now)
            self.state.own.sweep(now)
            for key, route in list(self.routes.items()):
                if route.expires < now:
                    del self.routes[key]
            self.state.own.end_bodies_but({request_id for _, request_id in self.routes})
            for module_id, waiters in list(self.state.ready_waiters.items()):
                waiters[:] = [w for w in waiters if w.expires >= now and not w.caller_conn.closed]
                if not waiters:
                    del self.state.ready_waiters[module_id]
        elif isinstance(message, CallModule):
            self._call(message)
        elif isinstance(message, CallAbandoned):
            on_call_abandoned(self, message)
        elif isinstance(message, KillHub):
            raise HubKilled("the hub was killed on request")
        elif isinstance(message, GetConnections):
            return [_info(c) for c in self.conns.get(message.module_id, ())]
        elif isinstance(message, GetProviders):
            return list(self.providers.values())
        elif isinstance(message, GetRegistration):
            return self.registrations.get(message.module_id)
        elif isinstance(message, GetHubStatistics):
            c = self.counts
            return HubStatistics(
                c["routed"], c["replies"], c["late_replies"], c["unroutable"],
                c["interrupted"], len(self.routes), c["updates_pushed"], c["expired"],
                c["binary"], c["cancelled"], c["cancels_ignored"], len(self.state.streams),
                self.state.own.open_ends(), c["lines_granted"], c["lines_refused"],
            )  # fmt: skip
        return None

    # -- connections -----------------------------------------------------------------------

    def _opened(self, conn: ServerConnection) -> None:
        had = bool(self.conns.get(conn.module_id))
        self.conns[conn.module_id].append(conn)
        self.console.debug(f"channel {conn.label} open", conn.module_id)
        self.ctx.system.events.emit(ChannelChanged(conn.label, "open", module=conn.module_id))
        if not had:
            self._set_health(conn.module_id, healthy=True)
        self._release_ready(conn.module_id)

    def _closed(self, conn: ServerConnection) -> None:
        live = self.conns.get(conn.module_id, [])
        if conn in live:
            live.remove(conn)
        self.console.debug(
            f"channel {conn.label} closed: {conn.close_reason or 'closed'}", conn.module_id
        )
        self.ctx.system.events.emit(
            ChannelChanged(conn.label, "closed", conn.close_reason, module=conn.module_id)
        )
        if self._last_used.get(conn.module_id) is conn:
            del self._last_used[conn.module_id]
        self.state.streams.closed(conn)
        self.state.own.closed(conn)
        cancel_routes_of(self, conn)  # its caller gave up on what it asked on it
        for key, route in list(self.routes.items()):
            if route.callee_conn is conn:
                del self.routes[key]
                self.counts["interrupted"] += 1
                callee, request_id = key
                if route.reply is not None:
                    self.state.own.end_body(request_id)
                    route.reply.fail(
                        ModuleCallFailed(callee, "ChannelLost", "its channel closed first")
                    )
                    continue
                self._fail(
                    route.caller, route.caller_conn, callee, request_id, "ChannelLost",
                    f"the channel of module {callee!r} closed before it replied",
                )  # fmt: skip
        if not live:
            self._set_health(conn.module_id, healthy=False)

    def _conn_for(
        self, module_id: str, prefer: ServerConnection | None = None
    ) -> ServerConnection | None:
        if prefer is not None and not prefer.closed:
            return prefer
        last = self._last_used.get(module_id)
        if last is not None and not last.closed:
            return last
        # Nothing sent yet: one connection, kept until the module speaks on another, so
        # what goes to it keeps its order. Its Unix socket first, as a module's own
        # preferences pick by default (protocol §6.3); the oldest of a kind.
        live = [c for c in self.conns.get(module_id, ()) if not c.closed]
        if not live:
            return None
        chosen = next((c for c in live if c.kind == "ipc"), live[0])
        self._last_used[module_id] = chosen
        return chosen

    # -- frames ----------------------------------------------------------------------------

    def _on_frame(self, conn: ServerConnection, content: Any) -> None:
        self._last_used[conn.module_id] = conn
        if isinstance(content, RawRoute):  # the common form, read by the listener's fast path
            self._route(
                conn, content.target_module_id, content.target_endpoint, content.request_id,
                content.payload_json, content,
            )  # fmt: skip
        elif isinstance(content, BinaryRoute):  # from a pywatt module (extensions §5.1)
            self._route(
                conn, content.target_module_id, content.target_endpoint, content.request_id,
                None, content,
            )  # fmt: skip
        elif isinstance(content, RelayedStreamFrame):
            if self.state.own.take(conn, content):  # a reply to orch.request, as a stream
                self.state.streams.settle(content)
            else:
                self.state.streams.on_frame(conn, content, self._conn_for, self._known)
        elif isinstance(content, RouteToModule):
            self._route(
                conn, content.target_module_id, content.target_endpoint, content.request_id,
                payload_json(content.payload), content,
            )  # fmt: skip
        elif isinstance(content, CancelRequest):
            cancel_from(self, conn, content)
        elif isinstance(content, LineRequest):
            grant_line(self, conn, content)
        elif isinstance(content, RegisterServiceProviderRequest):
            self._register_provider(conn, content)
        elif isinstance(content, DiscoverServiceProvidersRequest):
            self._discover(conn, content)
        elif isinstance(content, UnregisterServiceProviderRequest):
            self._unregister_provider(conn, content)
        elif isinstance(
            content,
            RegistrationRequest | CapabilitiesRequest | HeartbeatRequest | UnregistrationRequest,
        ):
            self._registration(conn, content)
        else:
            self.console.info(
                f"{conn.label} sent {getattr(content, 'OP', type(content).__name__)!r} on a "
                "channel; the embedded orchestrator does not handle it there",
                conn.module_id,
            )

    def _route(
        self,
        conn: ServerConnection,
        callee: str,
        endpoint: str,
        request_id: uuid.UUID,
        payload: bytes | None,
        route: RawRoute | RouteToModule | BinaryRoute,
    ) -> None:
        """Forward a ``route_to_module`` whose payload is ``payload`` (the JSON of its
        ``EncodedMessage``, spliced into the outgoing frame as it is), or ``None`` for one
        in the binary form (its bytes go on as they are to a module that reads that form;
        see :func:`_forward_frame`)."""
        source = conn.module_id
        if endpoint == REPLY_ENDPOINT:
            pending = self.routes.pop((source, request_id), None)
            if (
                pending is None
                or pending.caller != callee
                or pending.expires < trio.current_time()  # its caller stopped waiting
            ):
                if pending is not None and pending.caller != callee:  # not this caller's
                    self.routes[(source, request_id)] = pending
                self.counts["late_replies"] += 1
                self.console.debug(
                    f"dropped a reply from {source} nobody waits for ({request_id})", source
                )
                return
            if pending.reply is not None:
                self.state.own.end_body(request_id)
                self._answer(pending.reply, source, request_id, _payload_of(route))
                return
            target = self._conn_for(pending.caller, pending.caller_conn)
            if target is not None:
                frame = self._forward_frame(True, source, request_id, payload, route, target)
                if frame is not None:
                    target.send_nowait(frame)
                    self.counts["replies"] += 1
            return
        # The caller's budget: how long it will wait for this request (none from Rust).
        if isinstance(route, BinaryRoute):
            budget = binary_budget_ms(route.data)
        else:
            budget = None if payload is None else route_budget_ms(payload)
        if budget == 0:  # spent already: the caller has its timeout, nobody waits
            self.counts["expired"] += 1
            return
        if endpoint == READY_ENDPOINT:
            self._ready_probe(conn, callee, request_id, route, budget)
            return
        if self.state.streams.take_refused(source, request_id):
            self._fail(
                source, conn, callee, request_id, "StreamRefused",
                f"module {callee!r} takes no streams, and this request's value was in one",
            )  # fmt: skip
            return
        target = self._conn_for(callee)
        if target is None:
            self.counts["unroutable"] += 1
            if self._known(callee):
                self._fail(
                    source, conn, callee, request_id, "ModuleUnavailable",
                    f"module {callee!r} is not running (no open channel)",
                )  # fmt: skip
            else:
                self._fail(
                    source, conn, callee, request_id, "NoSuchModule",
                    f"no module named {callee!r}",
                )  # fmt: skip
            return
        frame = self._forward_frame(False, source, request_id, payload, route, target)
        if frame is None:
            self._fail(
                source, conn, callee, request_id, "MessageTooLarge",
                f"the request is over the frame limit in the JSON form module {callee!r} reads",
            )  # fmt: skip
            return
        target.send_nowait(frame)
        # Remembered as long as the caller waits: a reply after that is dropped here.
        ttl = ROUTE_TTL if budget is None else min(budget / 1000.0, ROUTE_TTL)
        self.routes[(callee, request_id)] = Route(source, conn, target, trio.current_time() + ttl)
        self.counts["routed"] += 1

    def _forward_frame(
        self,
        response: bool,
        source: str,
        request_id: uuid.UUID,
        payload: bytes | None,
        route: RawRoute | RouteToModule | BinaryRoute,
        target: ServerConnection,
    ) -> bytes | None:
        """The ``routed_module_response`` (``response``) or ``routed_module_message`` frame
        of ``route`` for ``target``: a route that came in the binary form goes on in it to a
        module that declared MessagePack, its payload bytes untouched; any other goes as
        JSON. None when the JSON form would be over the frame limit (counted, logged)."""
        if isinstance(route, BinaryRoute):
            if target.msgpack:
                self.counts["binary"] += 1
                return binary_routed_frame(response, source, request_id, route.data, route.format)
            payload = payload_json(route.payload())
        assert payload is not None
        try:
            if response:
                return routed_response_frame(source, request_id, payload)
            return routed_message_frame(source, request_id, payload)
        except PayloadTooLarge as exc:
            self.counts["too_large"] += 1
            self.console.warning(
                f"dropped {'a reply' if response else 'a request'} from {source} for "
                f"{target.module_id} ({request_id}): {exc.size} bytes as JSON, over the "
                f"{exc.limit}-byte frame limit",
                source,
            )
            return None

    def _known(self, module_id: str) -> bool:
        return self.modules is None or module_id in self.modules

    def _ready(self, module_id: str) -> bool:
        """Reachable: an open connection, and the current process announced (so the
        endpoints it serves in ``main`` are registered)."""
        live = any(not c.closed for c in self.conns.get(module_id, ()))
        return live and module_id in self.state.announced

    def _ready_probe(
        self,
        conn: ServerConnection,
        callee: str,
        request_id: uuid.UUID,
        route: RawRoute | RouteToModule | BinaryRoute,
        budget: int | None = None,
    ) -> None:
        """Answer ``pywatt.ready`` for ``callee``: at once when it is reachable (or does not
        exist), else when it becomes reachable; a probe not answered by the ``wait`` seconds
        it carries (or its caller's budget, if shorter) is dropped (its caller's own
        deadline fails it)."""
        if not self._known(callee):
            self._fail(
                conn.module_id, conn, callee, request_id, "NoSuchModule",
                f"no module named {callee!r}",
            )  # fmt: skip
            return
        if self._ready(callee):
            self._answer_for(conn.module_id, conn, callee, request_id, encode_reply_ok(True))
            return
        wait = ROUTE_TTL
        try:
            content = decode_payload_message(_payload_of(route), Any).content
            if isinstance(content, dict) and isinstance(content.get("wait"), int | float):
                wait = min(max(float(content["wait"]), 0.0), ROUTE_TTL)
        except DecodeError:
            pass
        if budget is not None:
            wait = min(wait, budget / 1000.0)
        waiter = ReadyWaiter(conn.module_id, conn, request_id, trio.current_time() + wait)
        self.state.ready_waiters.setdefault(callee, []).append(waiter)

    def _release_ready(self, module_id: str) -> None:
        """Answer the probes held for ``module_id`` if it is reachable now."""
        if module_id not in self.state.ready_waiters or not self._ready(module_id):
            return
        for waiter in self.state.ready_waiters.pop(module_id):
            if not waiter.caller_conn.closed:
                self._answer_for(
                    waiter.caller, waiter.caller_conn, module_id, waiter.request_id,
                    encode_reply_ok(True),
                )  # fmt: skip

    def _call(self, message: CallModule) -> None:
        reply = self.ctx.defer_reply()
        target = self._conn_for(message.module_id)
        if target is None:
            reply.fail(ModuleCallFailed(message.module_id, "ModuleUnavailable", "no open channel"))
            return
        request_id = uuid.uuid4()
        try:
            frame = self._call_frame(message, target, request_id)
        except PayloadTooLarge as exc:  # this request fails, never the hub
            reply.fail(
                ModuleCallFailed(
                    message.module_id, "PayloadTooLarge",
                    f"{exc}; module {message.module_id!r} takes no streams on this channel (it "
                    "did not declare MessagePack), so the value must fit in one frame",
                )
            )  # fmt: skip
            return
        except EncodeError as exc:
            reply.fail(ModuleCallFailed(message.module_id, "EncodeError", str(exc)))
            return
        target.send_nowait(frame)
        self.routes[(message.module_id, request_id)] = Route(
            ORCHESTRATOR_CALLER, None, target, trio.current_time() + ROUTE_TTL, reply
        )
        self._types[request_id] = message.response_type
        callee, tell = message.module_id, self.ctx.self_ref.tell_nowait

        def abandoned() -> None:  # in the asker's task: never raise there
            with contextlib.suppress(Exception):
                tell(CallAbandoned(callee, request_id))

        reply.on_cancel(abandoned)

    def _call_frame(
        self, message: CallModule, target: ServerConnection, request_id: uuid.UUID
    ) -> bytes:
        """The frame of the orchestrator's own request: the value in it, or, over
        :data:`STREAM_THRESHOLD` of JSON to a module that takes streams, a request naming
        the stream that carries the value (``OwnStreams.send_body``, started here). Raises
        ``PayloadTooLarge`` (without writing a bytes value that is surely over the frame
        limit), ``EncodeError``."""
        value, streams = message.payload, self.state.own.supported_by(target)
        big = surely_big(value, STREAM_THRESHOLD)
        if big and not streams and surely_big(value, DEFAULT_MAX_FRAME_SIZE):
            raise PayloadTooLarge(2 * len(value), DEFAULT_MAX_FRAME_SIZE, what="frame of JSON")
        payload = None
        if not (big and streams):
            payload = encode_payload(
                value,
                metadata=MessageMetadata(
                    destination=message.endpoint,
                    properties={REPLY_MARKER_PROPERTY: REPLY_MARKER_VALUE},
                ),
            )
        if payload is None or (streams and len(payload.data) > STREAM_THRESHOLD):
            out = self.state.own.send_body(self.ctx, target, message.endpoint, value, request_id)
            payload = body_request_payload(message.endpoint, REPLY_MARKER_VALUE, out.stream_id)
        return encode_bare(
            RoutedModuleMessage(
                source_module_id=ORCHESTRATOR_CALLER,
                original_request_id=request_id,
                payload=payload,
            )
        )

    def _answer(
        self, reply: DeferredReply, callee: str, request_id: uuid.UUID, payload: EncodedMessage
    ) -> None:
        response_type = self._types.pop(request_id, Any)
        streamed = stream_reply_id(payload.data) if payload.data[:1] == b"{" else None
        if streamed is not None:
            self._answer_stream(reply, callee, streamed, response_type)
            return
        try:
            result = decode_reply(payload.data, response_type)
        except DecodeError as exc:
            reply.fail(ModuleCallFailed(callee, "BadReply", str(exc)))
            return
        if isinstance(result, ReplyError):
            reply.fail(ModuleCallFailed(callee, result.error_type, result.message))
        else:
            reply.reply(result)

    def _answer_stream(
        self,
        reply: DeferredReply,
        callee: str,
        streamed: tuple[bool, uuid.UUID],
        response_type: Any,
    ) -> None:
        """A reply to the orchestrator's own request that came as a stream: the stream
        itself (``{"Stream":..}``, a ``RemoteInbound`` for the caller to iterate) or a value
        in one (``{"Body":..}``, read whole here and decoded as ``response_type``)."""
        whole, stream_id = streamed
        try:
            inbound = self.state.own.claim_reply(stream_id)
        except LookupError as exc:
            reply.fail(ModuleCallFailed(callee, "BadReply", str(exc)))
            return
        if not whole:
            reply.reply(inbound)
            return

        async def read() -> None:
            try:
                body = await inbound.read_all()
            except StreamAborted as exc:
                reply.fail(ModuleCallFailed(callee, "StreamAborted", str(exc)))
                return
            try:
                value = decode_body(body, response_type)
            except DecodeError as exc:
                reply.fail(ModuleCallFailed(callee, "BadReply", str(exc)))
                return
            reply.reply(value)

        self.ctx.start_task(read)

    def _fail(
        self,
        caller: str,
        caller_conn: ServerConnection | None,
        callee: str,
        request_id: uuid.UUID,
        error_type: str,
        text: str,
    ) -> None:
        error = ReplyError(
            error_type=error_type, message=text, module=callee, request_id=request_id
        )
        self._answer_for(caller, caller_conn, callee, request_id, encode_reply_error(error))

    def _answer_for(
        self,
        caller: str,
        caller_conn: ServerConnection | None,
        callee: str,
        request_id: uuid.UUID,
        data: bytes,
    ) -> None:
        """Send a pywatt caller the reply ``data`` (``{"Ok":...}``/``{"Err":...}``) to its
        request ``request_id``, as if ``callee`` had answered."""
        target = self._conn_for(caller, caller_conn)
        if target is None or not target.pywatt:
            return  # a Rust caller cannot read an Err reply: it waits out its deadline
        payload = EncodedMessage(data=data, format=EncodingFormat.JSON)
        target.send_nowait(
            encode_bare(
                RoutedModuleResponse(
                    source_module_id=callee, request_id=request_id, payload=payload
                )
            )
        )

    # -- discovery -------------------------------------------------------------------------

    def _register_provider(
        self, conn: ServerConnection, request: RegisterServiceProviderRequest
    ) -> None:
        provider_id = str(uuid.uuid4())
        info = ServiceProviderInfo(
            provider_id=provider_id,
            module_id=conn.module_id,
            service_type=request.service_type,
            name=request.name,
            version=request.version,
            address=request.address,
            metadata=dict(request.metadata or {}),
            is_healthy=True,
        )
        self.providers[provider_id] = info
        conn.send_nowait(
            encode_bare(RegisterServiceProviderResponse(success=True, provider_id=provider_id))
        )
        self.console.info(
            f"{conn.module_id} provides {request.name!r} ({request.service_type.variant}"
            f"{':' + request.service_type.name if request.service_type.name else ''})",
            conn.module_id,
        )
        self._push(DiscoveryEvent.APPEARED, info)

    def _unregister_provider(
        self, conn: ServerConnection, request: UnregisterServiceProviderRequest
    ) -> None:
        """The ``unregister_service_provider`` extension: a module removes one of its own."""
        provider = self.providers.get(request.provider_id)
        if provider is None or provider.module_id != conn.module_id:
            error = f"module {conn.module_id!r} has no provider {request.provider_id!r}"
            conn.send_nowait(
                encode_bare(UnregisterServiceProviderResponse(success=False, error=error))
            )
            return
        del self.providers[provider.provider_id]
        conn.send_nowait(encode_bare(UnregisterServiceProviderResponse(success=True)))
        self.console.info(f"{conn.module_id} no longer provides {provider.name!r}", conn.module_id)
        self._push(DiscoveryEvent.LEFT, provider)

    def _discover(self, conn: ServerConnection, request: DiscoverServiceProvidersRequest) -> None:
        found = [p for p in self.providers.values() if p.service_type == request.service_type]
        if not request.all_providers:
            found = [p for p in found if p.is_healthy][:1]
        conn.send_nowait(
            encode_bare(DiscoverServiceProvidersResponse(success=True, providers=found))
        )

    def _set_health(self, module_id: str, *, healthy: bool) -> None:
        for provider in list(self.providers.values()):
            if provider.module_id == module_id and provider.is_healthy != healthy:
                changed = attrs.evolve(provider, is_healthy=healthy)
                self.providers[provider.provider_id] = changed
                self._push(DiscoveryEvent.CHANGED, changed)

    def _push(self, event: DiscoveryEvent, provider: ServiceProviderInfo) -> None:
        frame = encode_bare(DiscoveryUpdate(event=event, provider=provider))
        for module_id in list(self.conns):
            for conn in self.conns[module_id]:
                if conn.pywatt and not conn.closed:
                    if conn.send_nowait(frame):
                        self.counts["updates_pushed"] += 1
                    break

    # -- registration ----------------------------------------------------------------------

    def _registration(self, conn: ServerConnection, request: Any) -> None:
        module_id = conn.module_id
        if isinstance(request, RegistrationRequest):
            module = RegisteredModule(
                info=request.module_info,
                id=uuid.uuid4(),
                token=secrets.token_urlsafe(24),
                orchestrator_host="127.0.0.1",
                orchestrator_port=self.ports.get(module_id, 0),
            )
            self.registrations[module_id] = RegistrationRecord(module)
            self.console.info(
                f"{module_id} registered as {request.module_info.name!r} "
                f"{request.module_info.version}", module_id,
            )  # fmt: skip
            conn.send_nowait(encode_bare(RegistrationResponse(success=True, module=module)))
            return
        record = self.registrations.get(module_id)
        valid = (
            record is not None
            and record.module.id == request.module_id
            and same_token(request.token, record.module.token)
        )
        error = None if valid else "unknown module id or token"
        if isinstance(request, CapabilitiesRequest):
            if valid and record is not None:
                record.capabilities = request.capabilities
            conn.send_nowait(encode_bare(CapabilitiesResponse(success=valid, error=error)))
        elif isinstance(request, HeartbeatRequest):
            status = request.status
            if valid and record is not None:
                record.health, record.details = status, request.details
                record.heartbeats += 1
                record.last_heartbeat = time.time()
            conn.send_nowait(
                encode_bare(HeartbeatResponse(success=valid, error=error, status=status))
            )
        else:
            if valid:
                del self.registrations[module_id]
                self.console.info(f"{module_id} unregistered", module_id)
            conn.send_nowait(encode_bare(UnregistrationResponse(success=valid, error=error)))


def _payload_of(route: RawRoute | RouteToModule | BinaryRoute) -> EncodedMessage:
    """The payload of a route in any of its forms. Raises ``DecodeError`` (never for a
    route read by the listener)."""
    return route.payload if isinstance(route, RouteToModule) else route.payload()


def _info(conn: ServerConnection) -> ConnectionInfo:
    return ConnectionInfo(
        label=conn.label,
        kind=conn.kind,
        pywatt=conn.pywatt,
        frames_in=conn.frames_in,
        frames_out=conn.frames_out,
        malformed=conn.malformed,
        heartbeats_sent=conn.heartbeats_sent,
        heartbeat_acks=conn.heartbeat_acks,
        latency_ms=None if conn.latency is None else conn.latency * 1000.0,
    )

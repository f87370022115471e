"""The registrar: how the module tells the orchestrator who it is, what it serves and how it is.

* ``Announce``: the ``announce`` line on stdout (docs/protocol.md §3.3 step 8).
* ``Register``: registration with capabilities over the module's channel (§10, decision 3):
  ``register``, then ``capabilities``; then a registration heartbeat carrying the module's
  health every ``heartbeat_interval`` seconds. Health is what ``SetHealth`` last said, or,
  by default, Healthy while every channel is connected and Degraded otherwise.
* ``Unregister``: graceful unregistration (the module asks it on shutdown; ``on_stop`` sends
  it without waiting if nobody did).

Registration replies are bare and uncorrelated (§16 A18), so one request is outstanding at a
time and the rest queue; each has the 30 s deadline of §10.
"""

from __future__ import annotations

import collections
import logging
import uuid
from typing import Any, Final

import attrs

import actors
from pywatt.channels import (
    ChannelDirectory,
    ChannelInbound,
    NoChannel,
    SendFrame,
    encode_module_frame,
)
from pywatt.link._messages import Send
from pywatt.wire import (
    AnnounceBlob,
    Capabilities,
    CapabilitiesRequest,
    CapabilitiesResponse,
    EndpointAnnounce,
    HealthStatus,
    HeartbeatRequest,
    HeartbeatResponse,
    Message,
    MessageMetadata,
    ModuleInfo,
    RegisteredModule,
    RegistrationRequest,
    RegistrationResponse,
    UnregistrationRequest,
    UnregistrationResponse,
)

from ._errors import RegistrationFailed, RegistrationTimeout

__all__ = [
    "Announce",
    "GetRegistration",
    "Register",
    "Registrar",
    "RegistrationStatus",
    "SetHealth",
    "Unregister",
]

log = logging.getLogger("pywatt.registrar")

DEADLINE: Final = 30.0
DEFAULT_HEARTBEAT: Final = 30.0


@attrs.frozen
class Announce(actors.Request[AnnounceBlob]):
    """Write the ``announce`` line (docs/protocol.md §3.3 step 8); answered with what was sent."""

    listen: str
    endpoints: tuple[EndpointAnnounce, ...]


@attrs.frozen
class Register(actors.Request[RegisteredModule]):
    """Register with ``info`` and advertise ``capabilities``; answered with the record the
    orchestrator made. Raises :class:`RegistrationFailed`, :class:`RegistrationTimeout` or
    ``NoChannel``."""

    info: ModuleInfo
    capabilities: Capabilities


@attrs.frozen
class SetHealth(actors.Request[None]):
    """Report ``status`` (and ``details``) from the next heartbeat on; None returns to the
    default (from the channels' state)."""

    status: HealthStatus | None
    details: tuple[tuple[str, str], ...] = ()


@attrs.frozen
class Unregister(actors.Request[bool]):
    """Unregister (answered with whether a registration was undone)."""


@attrs.frozen
class RegistrationStatus:
    """What the registrar knows: the record, the last health sent and the orchestrator's
    answer to the last heartbeat."""

    registered: RegisteredModule | None
    health: HealthStatus | None
    orchestrator_view: HealthStatus | None
    heartbeats: int


@attrs.frozen
class GetRegistration(actors.Request[RegistrationStatus]):
    """Ask for the :class:`RegistrationStatus`."""


@attrs.frozen
class _Beat:
    """Internal: send a registration heartbeat."""


@attrs.frozen
class _Expire:
    serial: int


@attrs.define
class _Outgoing:
    what: str
    content: Any
    as_type: Any
    expects: type[Any]
    reply: actors.DeferredReply | None


RegistrarMessage = (
    Announce
    | Register
    | SetHealth
    | Unregister
    | GetRegistration
    | ChannelInbound
    | _Beat
    | _Expire
)


class Registrar(actors.Actor[RegistrarMessage]):
    """Registered as ``pywatt.registrar`` (see the module docstring)."""

    reply_errors = (RegistrationFailed, RegistrationTimeout, NoChannel)

    def __init__(
        self,
        link: str = "pywatt.link",
        *,
        directory: ChannelDirectory | None = None,
        heartbeat_interval: float = DEFAULT_HEARTBEAT,
        deadline: float = DEADLINE,
    ) -> None:
        self.link = link
        self.directory = directory or ChannelDirectory()
        self.heartbeat_interval = heartbeat_interval
        self.deadline = deadline
        self.announced: AnnounceBlob | None = None
        self.registered: RegisteredModule | None = None
        self.health_override: HealthStatus | None = None
        self.details: dict[str, str] | None = None
        self.last_health: HealthStatus | None = None
        self.orchestrator_view: HealthStatus | None = None
        self.heartbeats = 0
        self.queue: collections.deque[_Outgoing] = collections.deque()
        self.current: _Outgoing | None = None
        self.serial = 0
        self._beating: actors.Timer | None = None
        self._capabilities: Capabilities | None = None

    async def receive(self, message: RegistrarMessage) -> Any:
        match message:
            case Announce(listen, endpoints):
                blob = AnnounceBlob(listen=listen, endpoints=list(endpoints))
                await self.ctx.system.tell(self.link, Send(blob))
                self.announced = blob
                return blob
            case Register(info, capabilities):
                self._capabilities = capabilities
                request = RegistrationRequest(module_info=info)
                await self._submit(
                    _Outgoing("registration", request, Message[RegistrationRequest],
                              RegistrationResponse, self.ctx.defer_reply())
                )  # fmt: skip
            case SetHealth(status, details):
                self.health_override = status
                self.details = dict(details) or None
            case Unregister():
                registered = self.registered
                if registered is None:
                    return False
                await self._submit(self._unregistration(registered, self.ctx.defer_reply()))
            case GetRegistration():
                return RegistrationStatus(
                    self.registered, self.last_health, self.orchestrator_view, self.heartbeats
                )
            case _Beat():
                await self._beat()
            case _Expire(serial):
                if self.current is not None and serial == self.serial:
                    current, self.current = self.current, None
                    if current.reply is not None:
                        current.reply.fail(RegistrationTimeout(current.what, self.deadline))
                    else:
                        log.warning("%s: no reply within %g s", current.what, self.deadline)
                    await self._next()
            case ChannelInbound(_, inbound):
                await self._inbound(inbound)
        return None

    async def on_stop(self) -> None:
        registered = self.registered
        if registered is None:
            return
        # Nobody asked for Unregister before the stop: send it, without waiting for the reply.
        state = self.directory.pick()
        if state is not None:
            request = UnregistrationRequest(module_id=registered.id, token=registered.token)
            frame = self._frame(request, Message[UnregistrationRequest])
            await self.ctx.system.tell(state.name, SendFrame(frame))

    # -- requests on the channel -----------------------------------------------------------

    def _unregistration(
        self, registered: RegisteredModule, reply: actors.DeferredReply | None
    ) -> _Outgoing:
        request = UnregistrationRequest(module_id=registered.id, token=registered.token)
        return _Outgoing(
            "unregistration", request, Message[UnregistrationRequest], UnregistrationResponse,
            reply,
        )  # fmt: skip

    def _health(self) -> HealthStatus:
        if self.health_override is not None:
            return self.health_override
        states = list(self.directory.states.values())
        if states and all(s.connected for s in states):
            return HealthStatus.HEALTHY
        if any(s.connected for s in states):
            return HealthStatus.DEGRADED
        return HealthStatus.UNHEALTHY

    async def _beat(self) -> None:
        registered = self.registered
        if registered is None or any(o.expects is HeartbeatResponse for o in self.queue):
            return
        health = self._health()
        self.last_health = health
        request = HeartbeatRequest(
            module_id=registered.id, token=registered.token, status=health, details=self.details
        )
        await self._submit(
            _Outgoing("heartbeat", request, Message[HeartbeatRequest], HeartbeatResponse, None)
        )

    @staticmethod
    def _frame(content: Any, as_type: Any) -> bytes:
        return encode_module_frame(
            content, metadata=MessageMetadata(id=str(uuid.uuid4())), as_type=as_type
        )

    async def _submit(self, outgoing: _Outgoing) -> None:
        self.queue.append(outgoing)
        if self.current is None:
            await self._next()

    async def _next(self) -> None:
        while self.current is None and self.queue:
            outgoing = self.queue.popleft()
            state = self.directory.pick()
            if state is None:
                if outgoing.reply is not None:
                    outgoing.reply.fail(NoChannel(outgoing.what))
                continue
            self.current = outgoing
            self.serial += 1
            self.ctx.send_after(self.deadline, _Expire(self.serial))
            await self.ctx.system.tell(
                state.name, SendFrame(self._frame(outgoing.content, outgoing.as_type))
            )

    async def _inbound(self, message: object) -> None:
        current = self.current
        if current is None or not isinstance(message, current.expects):
            log.warning("unexpected registration reply %r dropped", message)
            return
        self.current = None
        reply = current.reply
        success = getattr(message, "success", False)
        error = getattr(message, "error", None)
        if isinstance(message, RegistrationResponse):
            if not success or message.module is None:
                assert reply is not None
                reply.fail(RegistrationFailed("registration", error or "no module in the reply"))
            else:
                self.registered = message.module
                log.info("registered with the orchestrator as %s", message.module.id)
                capabilities = self._capabilities or Capabilities(endpoints=[])
                request = CapabilitiesRequest(
                    module_id=message.module.id,
                    token=message.module.token,
                    capabilities=capabilities,
                )
                self.queue.appendleft(
                    _Outgoing("capabilities", request, Message[CapabilitiesRequest],
                              CapabilitiesResponse, reply)
                )  # fmt: skip
        elif isinstance(message, CapabilitiesResponse):
            if reply is not None:
                if success and self.registered is not None:
                    reply.reply(self.registered)
                else:
                    reply.fail(RegistrationFailed("capabilities", error))
            if success and self._beating is None:
                self._beating = self.ctx.send_interval(self.heartbeat_interval, _Beat(), first=0.0)
        elif isinstance(message, HeartbeatResponse):
            self.heartbeats += 1
            self.orchestrator_view = message.status
            if not success:
                log.warning("registration heartbeat refused: %s", error or "Unknown error")
        elif isinstance(message, UnregistrationResponse):
            if success:
                self.registered = None
                if self._beating is not None:
                    self._beating.cancel()
                    self._beating = None
            if reply is not None:
                if success:
                    reply.reply(True)
                else:
                    reply.fail(RegistrationFailed("unregistration", error))
        await self._next()

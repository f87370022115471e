"""The registrar: how the module tells the orchestrator who it is, what it serves and how it is.

* ``Announce``: the ``announce`` line on stdout (docs/protocol.md §3.3 step 8).
* ``Register``: registration with capabilities over the module's channel (§10, decision 3):
  ``register``, then ``capabilities``; then a registration heartbeat carrying the module's
  health every ``heartbeat_interval`` seconds. Health is what ``SetHealth`` last said, or,
  by default, Healthy while every channel is connected and Degraded otherwise.
* ``Unregister``: graceful unregistration (the module asks it on shutdown). A registrar that
  stops or crashes without being asked does not unregister: the module lives on and its next
  registrar carries on with the same registration (a module that fails exits, and the
  orchestrator forgets it with its process).

Restarts: what the registrar was told and was given (the announce, the registration record,
the capabilities, the health the module set) is a :class:`RegistrarMemory` that belongs to
the name (:func:`registrar_spec` hands the same one to every incarnation), so a restarted
registrar goes on sending registration heartbeats by itself. Requests in flight when an
incarnation ends fail with it (their askers get the runtime's error).

Registration replies are bare and uncorrelated (§16 A18), so one request is outstanding at a
time and the rest queue; each has the 30 s deadline of §10.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Final

import attrs

import actors
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelHealth,
    ChannelInbound,
    ChannelStatistics,
    ConnectionStatus,
    LineExpired,
    NoChannel,
    Outgoing,
    SerialRequests,
)
from pywatt.link import Send
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
    "RegistrarMemory",
    "RegistrationStatus",
    "SetHealth",
    "Unregister",
    "registrar_spec",
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


RegistrarMessage = (
    Announce
    | Register
    | SetHealth
    | Unregister
    | GetRegistration
    | ChannelInbound
    | _Beat
    | LineExpired
)


@attrs.define
class RegistrarMemory:
    """What a registrar was told and given, kept with its name across its restarts."""

    announced: AnnounceBlob | None = None
    registered: RegisteredModule | None = None
    """The orchestrator's record of this module, once registration succeeded."""
    capabilities: Capabilities | None = None
    confirmed: bool = False
    """The capabilities were accepted: registration heartbeats are due."""
    health_override: HealthStatus | None = None
    details: dict[str, str] | None = None


def registrar_spec(
    *,
    heartbeat_interval: float = DEFAULT_HEARTBEAT,
    shutdown: float = 5.0,
) -> actors.ChildSpec:
    """The child spec of ``pywatt.registrar``: one :class:`RegistrarMemory` for the name,
    handed to every incarnation, so a registration survives a restart of the registrar."""
    memory = RegistrarMemory()
    return actors.ChildSpec(
        "pywatt.registrar",
        lambda: Registrar(heartbeat_interval=heartbeat_interval, memory=memory),
        shutdown=shutdown,
    )


class Registrar(actors.Actor[RegistrarMessage]):
    """Registered as ``pywatt.registrar`` (see the module docstring).

    ``memory``: what belongs to the name (see :func:`registrar_spec`); without one the
    registrar keeps its own, which a restart forgets.
    """

    reply_errors = (RegistrationFailed, RegistrationTimeout, NoChannel)

    def __init__(
        self,
        link: str = "pywatt.link",
        *,
        channels: str = CHANNELS_ACTOR,
        heartbeat_interval: float = DEFAULT_HEARTBEAT,
        deadline: float = DEADLINE,
        memory: RegistrarMemory | None = None,
    ) -> None:
        self.link = link
        self.channels = channels
        self.heartbeat_interval = heartbeat_interval
        self.deadline = deadline
        self.memory = memory if memory is not None else RegistrarMemory()
        self.last_health: HealthStatus | None = None
        self.orchestrator_view: HealthStatus | None = None
        self.heartbeats = 0
        self._beating: actors.Timer | None = None

    @property
    def registered(self) -> RegisteredModule | None:
        return self.memory.registered

    async def on_start(self) -> None:
        self.line = SerialRequests[Outgoing](
            self.ctx,
            deadline=self.deadline,
            timeout_error=RegistrationTimeout,
            log=log,
            channels=self.channels,
        )
        if self.memory.registered is not None and self.memory.confirmed:
            self._start_beating()  # a restart: the registration goes on

    def _start_beating(self) -> None:
        self._beating = self.ctx.send_interval(self.heartbeat_interval, _Beat(), first=0.0)

    async def receive(self, message: RegistrarMessage) -> Any:
        match message:
            case Announce(listen, endpoints):
                blob = AnnounceBlob(listen=listen, endpoints=list(endpoints))
                await self.ctx.system.tell(self.link, Send(blob))
                self.memory.announced = blob
                return blob
            case Register(info, capabilities):
                self.memory.capabilities = capabilities
                request = RegistrationRequest(module_info=info)
                await self.line.submit(
                    Outgoing("registration", request, RegistrationResponse,
                             self.ctx.defer_reply(), Message[RegistrationRequest])
                )  # fmt: skip
            case SetHealth(status, details):
                self.memory.health_override = status
                self.memory.details = dict(details) or None
            case Unregister():
                registered = self.registered
                if registered is None:
                    return False
                await self.line.submit(self._unregistration(registered, self.ctx.defer_reply()))
            case GetRegistration():
                return RegistrationStatus(
                    self.registered, self.last_health, self.orchestrator_view, self.heartbeats
                )
            case _Beat():
                await self._beat()
            case LineExpired():
                await self.line.next()
            case ChannelInbound(_, inbound):
                await self._inbound(inbound)
        return None

    # -- requests on the channel -----------------------------------------------------------

    def _unregistration(
        self, registered: RegisteredModule, reply: actors.DeferredReply | None
    ) -> Outgoing:
        request = UnregistrationRequest(module_id=registered.id, token=registered.token)
        return Outgoing(
            "unregistration", request, UnregistrationResponse, reply,
            Message[UnregistrationRequest],
        )  # fmt: skip

    async def _health(self) -> HealthStatus:
        if self.memory.health_override is not None:
            return self.memory.health_override
        states: list[ChannelStatistics] = []
        # The channels actor answers at once (a restarting one when back); without one, no
        # channel is up.
        with contextlib.suppress(actors.ActorError):
            states = await self.ctx.system.ask(self.channels, ChannelHealth())
        up = [s.status is ConnectionStatus.CONNECTED for s in states]
        if up and all(up):
            return HealthStatus.HEALTHY
        if any(up):
            return HealthStatus.DEGRADED
        return HealthStatus.UNHEALTHY

    async def _beat(self) -> None:
        registered = self.registered
        if registered is None or any(o.expects is HeartbeatResponse for o in self.line.queue):
            return
        health = await self._health()
        self.last_health = health
        request = HeartbeatRequest(
            module_id=registered.id,
            token=registered.token,
            status=health,
            details=self.memory.details,
        )
        await self.line.submit(
            Outgoing("heartbeat", request, HeartbeatResponse, None, Message[HeartbeatRequest])
        )

    async def _inbound(self, message: object) -> None:
        current = self.line.answered(message)
        if current is None:
            log.warning("unexpected registration reply %r dropped", message)
            return
        reply = current.reply
        success = getattr(message, "success", False)
        error = getattr(message, "error", None)
        if isinstance(message, RegistrationResponse):
            if not success or message.module is None:
                assert reply is not None
                reply.fail(RegistrationFailed("registration", error or "no module in the reply"))
            else:
                self.memory.registered = message.module
                self.memory.confirmed = False
                log.info("registered with the orchestrator as %s", message.module.id)
                capabilities = self.memory.capabilities or Capabilities(endpoints=[])
                request = CapabilitiesRequest(
                    module_id=message.module.id,
                    token=message.module.token,
                    capabilities=capabilities,
                )
                await self.line.submit(
                    Outgoing("capabilities", request, CapabilitiesResponse, reply,
                             Message[CapabilitiesRequest]),
                    first=True,
                )  # fmt: skip
        elif isinstance(message, CapabilitiesResponse):
            if reply is not None:
                if success and self.registered is not None:
                    reply.reply(self.registered)
                else:
                    reply.fail(RegistrationFailed("capabilities", error))
            if success:
                self.memory.confirmed = True
                if self._beating is None:
                    self._start_beating()
        elif isinstance(message, HeartbeatResponse):
            self.heartbeats += 1
            self.orchestrator_view = message.status
            if not success:
                log.warning("registration heartbeat refused: %s", error or "Unknown error")
        elif isinstance(message, UnregistrationResponse):
            if success:
                self.memory.registered = None
                self.memory.confirmed = False
                if self._beating is not None:
                    self._beating.cancel()
                    self._beating = None
            if reply is not None:
                if success:
                    reply.reply(True)
                else:
                    reply.fail(RegistrationFailed("unregistration", error))
        await self.line.next()

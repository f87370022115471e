"""The orchestrator-backed discovery actor (docs/protocol.md §11, docs/architecture.md, decision 3).

Requests travel on the module's channel as ``Message``-wrapped ops with ``metadata.id``; the
orchestrator answers with the bare ``*_response`` op. Those replies carry no correlation
(§16 A18), so the actor keeps one request outstanding and queues the rest; each has the
30 s deadline of §11. ``discovery_update`` pushes from a pywatt orchestrator are fanned out
to subscribers. Unregistering one provider uses the ``unregister_service_provider`` extension
(docs/protocol-extensions.md), sent only to a pywatt orchestrator: the Rust protocol has no
such op, so toward a Rust orchestrator it fails with :class:`DiscoveryFailed`.
"""

from __future__ import annotations

import collections
import logging
import uuid
from typing import Any, Final

import attrs

from actors import Actor, DeferredReply
from pywatt.channels import (
    ChannelDirectory,
    ChannelInbound,
    NoChannel,
    SendFrame,
    encode_module_frame,
)
from pywatt.wire import (
    DiscoverServiceProvidersRequest,
    DiscoverServiceProvidersResponse,
    DiscoveryUpdate,
    MessageMetadata,
    ModuleToOrchestrator,
    RegisterServiceProviderResponse,
    UnregisterServiceProviderRequest,
    UnregisterServiceProviderResponse,
)

from ._errors import DiscoveryFailed, DiscoveryTimeout
from ._messages import (
    DiscoverProviders,
    RegisterProvider,
    SubscribeUpdates,
    UnregisterProvider,
    UnsubscribeUpdates,
)
from ._subscribers import Subscribers
from ._types import matches

__all__ = ["OrchestratorDiscovery"]

log = logging.getLogger("pywatt.discovery")

DEADLINE: Final = 30.0


@attrs.frozen
class _Expire:
    serial: int


@attrs.define
class _Outgoing:
    what: str
    content: ModuleToOrchestrator
    expects: type[Any]
    reply: DeferredReply
    query: DiscoverProviders | None = None


DiscoveryMessage = (
    RegisterProvider
    | UnregisterProvider
    | DiscoverProviders
    | SubscribeUpdates
    | UnsubscribeUpdates
    | ChannelInbound
    | _Expire
)


class OrchestratorDiscovery(Actor[DiscoveryMessage]):
    """Registered as ``pywatt.discovery`` (see the module docstring)."""

    reply_errors = (NoChannel, DiscoveryFailed, DiscoveryTimeout)

    def __init__(
        self,
        directory: ChannelDirectory,
        *,
        deadline: float = DEADLINE,
        pywatt_orchestrator: bool = False,
        subscribers: Subscribers | None = None,
    ) -> None:
        self.directory = directory
        self.pywatt_orchestrator = pywatt_orchestrator
        """Whether the orchestrator declared itself pywatt (it then speaks the extensions)."""
        self.deadline = deadline
        self.queue: collections.deque[_Outgoing] = collections.deque()
        self.current: _Outgoing | None = None
        self.serial = 0
        # Handed in by the factory, they outlive this incarnation: who subscribed keeps
        # hearing updates after a restart (docs/architecture.md, decision 11).
        self.subscribers = subscribers if subscribers is not None else Subscribers()

    async def receive(self, message: DiscoveryMessage) -> Any:
        if isinstance(message, RegisterProvider):
            await self._submit(
                _Outgoing(
                    f"registering provider {message.info.name!r}",
                    message.info.to_request(),
                    RegisterServiceProviderResponse,
                    self.ctx.defer_reply(),
                )
            )
        elif isinstance(message, DiscoverProviders):
            request = DiscoverServiceProvidersRequest(
                service_type=message.service_type,
                # Capability matching needs every provider; "first only" is applied after it.
                all_providers=message.all_providers or bool(message.capabilities),
            )
            await self._submit(
                _Outgoing(
                    "discovering providers",
                    request,
                    DiscoverServiceProvidersResponse,
                    self.ctx.defer_reply(),
                    message,
                )
            )
        elif isinstance(message, UnregisterProvider):
            what = f"unregistering provider {message.provider_id!r}"
            if not self.pywatt_orchestrator:
                raise DiscoveryFailed(
                    what,
                    "the orchestrator is not pywatt and the Rust protocol has no op for it "
                    "(providers leave with their module)",
                )
            await self._submit(
                _Outgoing(
                    what,
                    UnregisterServiceProviderRequest(provider_id=message.provider_id),
                    UnregisterServiceProviderResponse,
                    self.ctx.defer_reply(),
                )
            )
        elif isinstance(message, SubscribeUpdates):
            self.subscribers.add(message.send, message.service_type)
        elif isinstance(message, UnsubscribeUpdates):
            self.subscribers.remove(message.send)
        elif isinstance(message, _Expire):
            if self.current is not None and message.serial == self.serial:
                current, self.current = self.current, None
                current.reply.fail(DiscoveryTimeout(current.what, self.deadline))
                await self._next()
        else:
            await self._inbound(message.message)
        return None

    async def _submit(self, outgoing: _Outgoing) -> None:
        self.queue.append(outgoing)
        if self.current is None:
            await self._next()

    async def _next(self) -> None:
        while self.current is None and self.queue:
            outgoing = self.queue.popleft()
            state = self.directory.pick()
            if state is None:
                outgoing.reply.fail(NoChannel(outgoing.what))
                continue
            frame = encode_module_frame(
                outgoing.content, metadata=MessageMetadata(id=str(uuid.uuid4()))
            )
            self.current = outgoing
            self.serial += 1
            self.ctx.send_after(self.deadline, _Expire(self.serial))
            await self.ctx.system.tell(state.name, SendFrame(frame))

    async def _inbound(self, message: object) -> None:
        if isinstance(message, DiscoveryUpdate):
            self.subscribers.publish(message)
            return
        current = self.current
        if current is None or not isinstance(message, current.expects):
            log.warning("unexpected discovery reply %r dropped (Unexpected response type)", message)
            return
        self.current = None
        if isinstance(message, RegisterServiceProviderResponse):
            if message.success and message.provider_id:
                current.reply.reply(message.provider_id)
            else:
                current.reply.fail(DiscoveryFailed(current.what, message.error))
        elif isinstance(message, UnregisterServiceProviderResponse):
            current.reply.reply(message.success)  # False: this module has no such provider
        elif isinstance(message, DiscoverServiceProvidersResponse):
            if not message.success:
                current.reply.fail(DiscoveryFailed(current.what, message.error))
            else:
                query = current.query
                assert query is not None
                found = [p for p in message.providers if matches(p, query.capabilities)]
                if not query.all_providers:
                    found = [p for p in found if p.is_healthy][:1]
                current.reply.reply(found)
        await self._next()

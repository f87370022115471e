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

import logging
from typing import Any, Final

import attrs

from actors import Actor
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelInbound,
    LineExpired,
    NoChannel,
    Outgoing,
    SerialRequests,
)
from pywatt.wire import (
    DiscoverServiceProvidersRequest,
    DiscoverServiceProvidersResponse,
    DiscoveryUpdate,
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


@attrs.define(eq=False)
class _Outgoing(Outgoing):
    query: DiscoverProviders | None = None


DiscoveryMessage = (
    RegisterProvider
    | UnregisterProvider
    | DiscoverProviders
    | SubscribeUpdates
    | UnsubscribeUpdates
    | ChannelInbound
    | LineExpired
)


class OrchestratorDiscovery(Actor[DiscoveryMessage]):
    """Registered as ``pywatt.discovery`` (see the module docstring)."""

    reply_errors = (NoChannel, DiscoveryFailed, DiscoveryTimeout)

    def __init__(
        self,
        *,
        deadline: float = DEADLINE,
        pywatt_orchestrator: bool = False,
        subscribers: Subscribers | None = None,
        channels: str = CHANNELS_ACTOR,
    ) -> None:
        self.channels = channels
        self.pywatt_orchestrator = pywatt_orchestrator
        """Whether the orchestrator declared itself pywatt (it then speaks the extensions)."""
        self.deadline = deadline
        # Handed in by the factory, they outlive this incarnation: who subscribed keeps
        # hearing updates after a restart (docs/architecture.md, decision 11).
        self.subscribers = subscribers if subscribers is not None else Subscribers()

    async def on_start(self) -> None:
        self.line = SerialRequests[_Outgoing](
            self.ctx,
            deadline=self.deadline,
            timeout_error=DiscoveryTimeout,
            log=log,
            channels=self.channels,
        )

    async def receive(self, message: DiscoveryMessage) -> Any:
        if isinstance(message, RegisterProvider):
            await self.line.submit(
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
            await self.line.submit(
                _Outgoing(
                    "discovering providers",
                    request,
                    DiscoverServiceProvidersResponse,
                    self.ctx.defer_reply(),
                    query=message,
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
            await self.line.submit(
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
        elif isinstance(message, LineExpired):
            await self.line.next()
        else:
            await self._inbound(message.message)
        return None

    async def _inbound(self, message: object) -> None:
        if isinstance(message, DiscoveryUpdate):
            self.subscribers.publish(message)
            return
        current = self.line.answered(message)
        if current is None:
            log.warning("unexpected discovery reply %r dropped (Unexpected response type)", message)
            return
        reply = current.reply
        assert reply is not None  # every discovery request has an asker
        if isinstance(message, RegisterServiceProviderResponse):
            if message.success and message.provider_id:
                reply.reply(message.provider_id)
            else:
                reply.fail(DiscoveryFailed(current.what, message.error))
        elif isinstance(message, UnregisterServiceProviderResponse):
            reply.reply(message.success)  # False: this module has no such provider
        elif isinstance(message, DiscoverServiceProvidersResponse):
            if not message.success:
                reply.fail(DiscoveryFailed(current.what, message.error))
            else:
                query = current.query
                assert query is not None
                found = [p for p in message.providers if matches(p, query.capabilities)]
                if not query.all_providers:
                    found = [p for p in found if p.is_healthy][:1]
                reply.reply(found)
        await self.line.next()

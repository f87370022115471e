"""The discovery protocol (``pywatt.discovery``), answered by every discovery backend."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import attrs
import trio

from actors import Protocol, Request
from pywatt.wire import DiscoveryUpdate, ServiceProviderInfo, ServiceType

from ._types import ProviderInfo

__all__ = [
    "DISCOVERY",
    "DISCOVERY_PROTOCOL",
    "DiscoverProviders",
    "RegisterProvider",
    "SubscribeUpdates",
    "UnregisterProvider",
    "UnsubscribeUpdates",
]

DISCOVERY: Final = "pywatt.discovery"


def _frozen(values: Iterable[str]) -> frozenset[str]:
    return frozenset(values)


@attrs.frozen
class RegisterProvider(Request[str]):
    """Register this module as a provider; answered with its provider id. Raises
    :class:`DiscoveryFailed`, :class:`DiscoveryTimeout` or ``NoChannel``."""

    info: ProviderInfo


@attrs.frozen
class UnregisterProvider(Request[bool]):
    """Remove a provider this module registered (answered with whether it existed)."""

    provider_id: str


@attrs.frozen
class DiscoverProviders(Request[list[ServiceProviderInfo]]):
    """Providers of ``service_type`` that have every capability in ``capabilities``.

    ``all_providers`` False asks for the first healthy one only (§11).
    """

    service_type: ServiceType
    all_providers: bool = True
    capabilities: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen)


@attrs.frozen(eq=False)
class SubscribeUpdates(Request[None]):
    """Send every :class:`DiscoveryUpdate` (of ``service_type``, or all when None) to
    ``send``. Updates a full channel cannot take are dropped for it, never waited for."""

    send: trio.MemorySendChannel[DiscoveryUpdate]
    service_type: ServiceType | None = None


@attrs.frozen(eq=False)
class UnsubscribeUpdates(Request[None]):
    """Stop sending updates to ``send``."""

    send: trio.MemorySendChannel[DiscoveryUpdate]


DISCOVERY_PROTOCOL: Final = Protocol(
    "discovery",
    (RegisterProvider, UnregisterProvider, DiscoverProviders, SubscribeUpdates, UnsubscribeUpdates),
)

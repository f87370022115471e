"""Who gets which inbound message: the channels' dispatch table, kept with the channels
actor's name (its spec makes one table for every incarnation) and read by the connections.

The module's services are subscribed when its tree is built (:func:`service_subscriptions`);
any actor can add itself with the channels actor's ``Subscribe(types, name)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from pywatt.wire import (
    DiscoverServiceProvidersResponse,
    DiscoveryUpdate,
    RegisterServiceProviderResponse,
    RoutedModuleMessage,
    RoutedModuleResponse,
    StreamFrame,
    UnregisterServiceProviderResponse,
)

from ._frames import RegistrationReply
from ._messages import ConnectionLost

__all__ = ["DISCOVERY", "REGISTRAR", "ROUTER", "Subscriptions", "service_subscriptions"]

ROUTER: Final = "pywatt.router"
DISCOVERY: Final = "pywatt.discovery"
REGISTRAR: Final = "pywatt.registrar"


class Subscriptions:
    """Which actor gets which inbound message type. Kept with the channels actor's name (its
    spec makes one for every incarnation), read by the connection actors."""

    __slots__ = ("_by_type",)

    def __init__(self, initial: Mapping[type[Any], str] | None = None) -> None:
        self._by_type: dict[type[Any], str] = dict(initial or {})

    def add(self, types: Iterable[type[Any]], name: str) -> None:
        """Send inbound messages of ``types`` to ``name`` (replacing an earlier subscriber)."""
        for cls in types:
            self._by_type[cls] = name

    def target(self, message: object) -> str | None:
        """The subscriber of ``message``'s type (or of a base class), or None."""
        return self.target_of(type(message))

    def target_of(self, cls: type[Any]) -> str | None:
        """The subscriber of type ``cls`` (or of a base class), or None."""
        by_type = self._by_type
        name = by_type.get(cls)
        if name is not None:
            return name
        for base in cls.__mro__[1:]:
            name = by_type.get(base)
            if name is not None:
                by_type[cls] = name
                return name
        return None

    def names(self) -> set[str]:
        """Every subscriber."""
        return set(self._by_type.values())


def service_subscriptions(services: Iterable[str]) -> dict[type[Any], str]:
    """The inbound types each of the module's services takes, for those in ``services``:
    routed messages, replies and stream frames (and lost connections) to the router,
    discovery replies and updates to discovery, registration replies to the registrar."""
    by_service: dict[str, tuple[type[Any], ...]] = {
        ROUTER: (
            RoutedModuleMessage,
            RoutedModuleResponse,
            *StreamFrame.__args__,
            ConnectionLost,
        ),
        DISCOVERY: (
            DiscoveryUpdate,
            RegisterServiceProviderResponse,
            DiscoverServiceProvidersResponse,
            UnregisterServiceProviderResponse,
        ),
        REGISTRAR: RegistrationReply.__args__,
    }
    return {cls: name for name in services for cls in by_service.get(name, ())}

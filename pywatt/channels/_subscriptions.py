"""Who gets which inbound message on a channel: the channels' dispatch table (an
:class:`actors.Subscriptions`, the same kind of table the stdio link reads), kept with the
channels actor's name (its spec makes one table for every incarnation) and read by the
connections.

The module's services are subscribed when its tree is built (:func:`service_subscriptions`);
any actor can add itself with the channels actor's ``Subscribe(types, name)``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from actors import Subscriptions
from pywatt.wire import (
    DiscoverServiceProvidersResponse,
    DiscoveryUpdate,
    RegisterServiceProviderResponse,
    RequestCancelled,
    RoutedModuleMessage,
    RoutedModuleResponse,
    StreamFrame,
    UnregisterServiceProviderResponse,
)

from ._frames import RegistrationReply
from ._messages import ConnectionLost, LineReady

__all__ = ["DISCOVERY", "REGISTRAR", "ROUTER", "Subscriptions", "service_subscriptions"]

ROUTER: Final = "pywatt.router"
DISCOVERY: Final = "pywatt.discovery"
REGISTRAR: Final = "pywatt.registrar"


def service_subscriptions(services: Iterable[str]) -> dict[type[Any], str]:
    """The inbound types each of the module's services takes, for those in ``services``:
    routed messages, replies, cancels and stream frames (and lost connections) to the router,
    discovery replies and updates to discovery, registration replies to the registrar."""
    by_service: dict[str, tuple[type[Any], ...]] = {
        ROUTER: (
            RoutedModuleMessage,
            RoutedModuleResponse,
            RequestCancelled,
            *StreamFrame.__args__,
            ConnectionLost,
            LineReady,
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

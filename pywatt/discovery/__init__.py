"""Service discovery: register providers, discover them by service type, follow updates.

Two actors answer the same protocol under ``pywatt.discovery``: the orchestrator-backed one
(requests on the module's channel, ``discovery_update`` pushes from a pywatt orchestrator)
and the Redis-backed one (one registry for modules on many hosts, updates via pub/sub).
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._discovery import OrchestratorDiscovery as OrchestratorDiscovery
    from ._errors import DiscoveryError as DiscoveryError
    from ._errors import DiscoveryFailed as DiscoveryFailed
    from ._errors import DiscoveryTimeout as DiscoveryTimeout
    from ._errors import RegistryUnavailable as RegistryUnavailable
    from ._messages import DISCOVERY as DISCOVERY
    from ._messages import DISCOVERY_PROTOCOL as DISCOVERY_PROTOCOL
    from ._messages import DiscoverProviders as DiscoverProviders
    from ._messages import RegisterProvider as RegisterProvider
    from ._messages import SubscribeUpdates as SubscribeUpdates
    from ._messages import UnregisterProvider as UnregisterProvider
    from ._messages import UnsubscribeUpdates as UnsubscribeUpdates
    from ._redis import RedisDiscovery as RedisDiscovery
    from ._subscribers import Subscribers as Subscribers
    from ._types import ProviderBuilder as ProviderBuilder
    from ._types import ProviderInfo as ProviderInfo
    from ._types import ServiceTypes as ServiceTypes
    from ._types import capabilities_of as capabilities_of
    from ._types import matches as matches
    from ._types import service_key as service_key

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._discovery": ["OrchestratorDiscovery"],
        "._errors": [
            "DiscoveryError",
            "DiscoveryFailed",
            "DiscoveryTimeout",
            "RegistryUnavailable",
        ],
        "._messages": [
            "DISCOVERY",
            "DISCOVERY_PROTOCOL",
            "DiscoverProviders",
            "RegisterProvider",
            "SubscribeUpdates",
            "UnregisterProvider",
            "UnsubscribeUpdates",
        ],
        "._redis": ["RedisDiscovery"],
        "._subscribers": ["Subscribers"],
        "._types": [
            "ProviderBuilder",
            "ProviderInfo",
            "ServiceTypes",
            "capabilities_of",
            "matches",
            "service_key",
        ],
    },
)

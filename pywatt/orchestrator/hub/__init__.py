"""The channel side: per-module listeners, their connections, and the hub that routes,
registers and discovers between modules."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._hub import HUB_NAME as HUB_NAME
    from ._hub import CallModule as CallModule
    from ._hub import ConnectionInfo as ConnectionInfo
    from ._hub import GetConnections as GetConnections
    from ._hub import GetHubStatistics as GetHubStatistics
    from ._hub import GetProviders as GetProviders
    from ._hub import GetRegistration as GetRegistration
    from ._hub import HubStatistics as HubStatistics
    from ._hub import KillHub as KillHub
    from ._hub import ModuleAnnounced as ModuleAnnounced
    from ._hub import ModuleEnded as ModuleEnded
    from ._hub import RegistrationRecord as RegistrationRecord
    from ._hub_state import HubState as HubState
    from ._listener import ChannelSettings as ChannelSettings
    from ._listener import KillListener as KillListener
    from ._listener import ModuleEndpoints as ModuleEndpoints
    from ._listener import listener_name as listener_name
    from ._wiring import exposure_lines as exposure_lines
    from ._wiring import hub_spec as hub_spec
    from ._wiring import listeners_spec as listeners_spec
    from ._wiring import module_endpoints as module_endpoints
    from ._wiring import server_context as server_context

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._hub": [
            "CallModule",
            "ConnectionInfo",
            "GetConnections",
            "GetHubStatistics",
            "GetProviders",
            "GetRegistration",
            "HUB_NAME",
            "HubStatistics",
            "KillHub",
            "ModuleAnnounced",
            "ModuleEnded",
            "RegistrationRecord",
        ],
        "._hub_state": ["HubState"],
        "._listener": ["ChannelSettings", "KillListener", "ModuleEndpoints", "listener_name"],
        "._wiring": [
            "exposure_lines",
            "hub_spec",
            "listeners_spec",
            "module_endpoints",
            "server_context",
        ],
    },
)

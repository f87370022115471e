"""Module processes: the process actor, its pipes, its handle, its supervisor, the port
registry."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._handle import ModuleHandle as ModuleHandle
    from ._handle import ModuleState as ModuleState
    from ._handle import ModuleStatus as ModuleStatus
    from ._handle import TrafficRecord as TrafficRecord
    from ._http import ForwardHttp as ForwardHttp
    from ._http import HttpWrapperLine as HttpWrapperLine
    from ._observe import EVENTS_BUFFER as EVENTS_BUFFER
    from ._observe import ORCHESTRATOR_SOURCE as ORCHESTRATOR_SOURCE
    from ._observe import TREE_DEADLINE as TREE_DEADLINE
    from ._observe import GetModuleTree as GetModuleTree
    from ._observe import Observed as Observed
    from ._observe import TreeUnavailable as TreeUnavailable
    from ._observe import event_line as event_line
    from ._observe import publish_module_events as publish_module_events
    from ._observe import state_reporter as state_reporter
    from ._observe import tree_reply as tree_reply
    from ._ports import PORTS_NAME as PORTS_NAME
    from ._ports import PortRegistry as PortRegistry
    from ._ports import ReleasePorts as ReleasePorts
    from ._ports import api_url as api_url
    from ._ports import format_address as format_address
    from ._ports import reserve_api_socket as reserve_api_socket
    from ._process import FromModule as FromModule
    from ._process import ModuleProcess as ModuleProcess
    from ._process import NotifyRotated as NotifyRotated
    from ._process import ProcessSettings as ProcessSettings
    from ._supervision import WATCHER_NAME as WATCHER_NAME
    from ._supervision import SupervisionWatcher as SupervisionWatcher
    from ._supervision import WatchModule as WatchModule
    from ._supervision import module_supervisor_spec as module_supervisor_spec

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._handle": ["ModuleHandle", "ModuleState", "ModuleStatus", "TrafficRecord"],
        "._http": ["ForwardHttp", "HttpWrapperLine"],
        "._observe": [
            "EVENTS_BUFFER",
            "ORCHESTRATOR_SOURCE",
            "TREE_DEADLINE",
            "GetModuleTree",
            "Observed",
            "TreeUnavailable",
            "event_line",
            "publish_module_events",
            "state_reporter",
            "tree_reply",
        ],
        "._ports": [
            "PORTS_NAME",
            "PortRegistry",
            "ReleasePorts",
            "api_url",
            "format_address",
            "reserve_api_socket",
        ],
        "._process": ["FromModule", "ModuleProcess", "NotifyRotated", "ProcessSettings"],
        "._supervision": [
            "WATCHER_NAME",
            "SupervisionWatcher",
            "WatchModule",
            "module_supervisor_spec",
        ],
    },
)

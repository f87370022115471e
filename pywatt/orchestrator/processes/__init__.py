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
    from ._ports import PORTS_NAME as PORTS_NAME
    from ._ports import PortRegistry as PortRegistry
    from ._ports import api_url as api_url
    from ._ports import format_address as format_address
    from ._ports import reserve_api_socket as reserve_api_socket
    from ._process import FromModule as FromModule
    from ._process import ModuleProcess as ModuleProcess
    from ._process import NotifyRotated as NotifyRotated
    from ._process import ProcessSettings as ProcessSettings
    from ._supervision import module_supervisor_spec as module_supervisor_spec

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._handle": ["ModuleHandle", "ModuleState", "ModuleStatus", "TrafficRecord"],
        "._http": ["ForwardHttp", "HttpWrapperLine"],
        "._ports": [
            "PORTS_NAME",
            "PortRegistry",
            "api_url",
            "format_address",
            "reserve_api_socket",
        ],
        "._process": ["FromModule", "ModuleProcess", "NotifyRotated", "ProcessSettings"],
        "._supervision": ["module_supervisor_spec"],
    },
)

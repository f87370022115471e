"""The HTTP gateway on the orchestrator's API socket."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._gateway import GATEWAY_NAME as GATEWAY_NAME
    from ._gateway import ForwardHttp as ForwardHttp
    from ._gateway import Gateway as Gateway
    from ._gateway import HttpWrapperLine as HttpWrapperLine
    from ._gateway import Transport as Transport

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._gateway": ["ForwardHttp", "GATEWAY_NAME", "Gateway", "HttpWrapperLine", "Transport"],
    },
)

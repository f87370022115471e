"""The HTTP gateway on the orchestrator's API socket."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._gateway import Gateway as Gateway
    from ._gateway import Transport as Transport

__getattr__, __dir__, __all__ = attach(__name__, {"._gateway": ["Gateway", "Transport"]})

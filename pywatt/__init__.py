"""pywatt: the Python SDK for PyWatt modules, built on the :mod:`actors` runtime.

A module in one line::

    from pywatt import AppState, pywatt_module

    @pywatt_module(secrets=["API_KEY"])
    async def create_app(state: AppState[None]) -> None:
        ...

    if __name__ == "__main__":
        raise SystemExit(create_app.run())
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._errors import ConfigError as ConfigError
    from ._errors import PywattError as PywattError
    from .module import AnnouncedEndpoint as AnnouncedEndpoint
    from .module import AppState as AppState
    from .module import ModuleConfig as ModuleConfig
    from .module import pywatt_module as pywatt_module
    from .module import run_module as run_module
    from .router import ModuleUnavailable as ModuleUnavailable
    from .router import NoSuchEndpoint as NoSuchEndpoint
    from .router import NoSuchModule as NoSuchModule
    from .router import RemoteCrash as RemoteCrash
    from .router import RemoteError as RemoteError

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._errors": ["ConfigError", "PywattError"],
        ".module": ["AnnouncedEndpoint", "AppState", "ModuleConfig", "pywatt_module", "run_module"],
        ".router": [
            "ModuleUnavailable",
            "NoSuchEndpoint",
            "NoSuchModule",
            "RemoteCrash",
            "RemoteError",
        ],
    },
)

"""pywatt: the Python SDK for PyWatt modules, built on the :mod:`actors` runtime.

A module in one line::

    from pywatt import AppState, pywatt_module

    @pywatt_module(secrets=["API_KEY"])
    async def create_app(state: AppState[None]) -> None:
        ...

    if __name__ == "__main__":
        raise SystemExit(create_app.run())

The seed's names are here as it writes them (``DatabaseType``, ``CacheType``,
``ServiceType``, ``JwtConfig``, ``create_jwt_middleware``, ``extract_jwt_claims``);
``pywatt.security`` is the seed's home of the JWT middleware, and :mod:`pywatt.compat`
carries the reference Python SDK's names for modules ported from it (docs/migration.md).
"""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

from ._version import __version__ as __version__

if TYPE_CHECKING:
    from ._errors import BackendUnavailable as BackendUnavailable
    from ._errors import ConfigError as ConfigError
    from ._errors import PywattError as PywattError
    from .jwt import JwtClaims as JwtClaims
    from .jwt import JwtConfig as JwtConfig
    from .jwt import create_jwt_middleware as create_jwt_middleware
    from .jwt import extract_jwt_claims as extract_jwt_claims
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
    from .router import RemoteInbound as RemoteInbound
    from .router import RequestTooLarge as RequestTooLarge
    from .router import StreamsUnsupported as StreamsUnsupported
    from .wire import CacheType as CacheType
    from .wire import DatabaseType as DatabaseType
    from .wire import ServiceType as ServiceType

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._errors": ["BackendUnavailable", "ConfigError", "PywattError"],
        ".jwt": ["JwtClaims", "JwtConfig", "create_jwt_middleware", "extract_jwt_claims"],
        ".module": ["AnnouncedEndpoint", "AppState", "ModuleConfig", "pywatt_module", "run_module"],
        ".router": [
            "ModuleUnavailable",
            "NoSuchEndpoint",
            "NoSuchModule",
            "RemoteCrash",
            "RemoteError",
            "RemoteInbound",
            "RequestTooLarge",
            "StreamsUnsupported",
        ],
        ".wire": ["CacheType", "DatabaseType", "ServiceType"],
    },
)

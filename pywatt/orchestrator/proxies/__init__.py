"""Server-side service proxies (docs/protocol.md §13): the dispatcher by service type and the
database, cache and JWT proxies, built on the public APIs of :mod:`pywatt.db`,
:mod:`pywatt.cache` and :mod:`pywatt.jwt`."""

from typing import TYPE_CHECKING

from pywatt._lazy import attach

if TYPE_CHECKING:
    from ._cache_proxy import CacheProxy as CacheProxy
    from ._cache_proxy import handle_cache as handle_cache
    from ._database_proxy import handle_database as handle_database
    from ._host import ServiceError as ServiceError
    from ._host import ServiceHandler as ServiceHandler
    from ._host import ServiceHost as ServiceHost
    from ._jwt_proxy import handle_jwt as handle_jwt
    from ._service_proxy import SERVICES_NAME as SERVICES_NAME
    from ._service_proxy import Serve as Serve
    from ._service_proxy import ServiceAnswer as ServiceAnswer
    from ._service_proxy import ServiceProxy as ServiceProxy
    from ._service_proxy import answer_detail as answer_detail
    from ._service_proxy import dispatch as dispatch
    from ._service_proxy import request_service as request_service

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "._cache_proxy": ["CacheProxy", "handle_cache"],
        "._database_proxy": ["handle_database"],
        "._jwt_proxy": ["handle_jwt"],
        "._host": ["ServiceError", "ServiceHandler", "ServiceHost"],
        "._service_proxy": [
            "SERVICES_NAME",
            "Serve",
            "ServiceAnswer",
            "ServiceProxy",
            "answer_detail",
            "dispatch",
            "request_service",
        ],
    },
)

"""The data and security parts of a module: database, cache and JWT actors, and their facade.

The actors come from their own packages (``pywatt.db``, ``pywatt.cache``, ``pywatt.jwt``);
this module only decides which to start from the module's configuration and gives
``AppState`` its seed methods, each a message to one of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import actors
from pywatt._errors import ConfigError
from pywatt.wire import InitBlob

# The data layers pull in their drivers (psycopg, redis, joserfc, ...): import them only when
# a module uses them, so a module that does not starts fast.
if TYPE_CHECKING:
    from pywatt.cache import CacheFacade
    from pywatt.db import DatabaseFacade

    from ._config import ModuleConfig

DEFAULT_DATABASE: dict[str, Any] = {"type": "sqlite"}
DEFAULT_CACHE: dict[str, Any] = {"type": "memory"}
DEFAULT_JWT: dict[str, Any] = {"validation": "proxy"}
"""``enable_jwt=True`` without a ``jwt_config``: the orchestrator validates every token
(the seed's proxy validation when running as a module; its JWT service reads the keys from
the ``JWT_SECRET`` secret unless told otherwise)."""


def data_specs(
    config: ModuleConfig, init: InitBlob
) -> list[actors.ChildSpec | actors.SupervisorSpec]:
    """The database, cache and JWT children the configuration asks for (JWT before HTTP)."""
    specs: list[actors.ChildSpec | actors.SupervisorSpec] = []
    if config.database_enabled:
        from pywatt.db import database_children

        specs += database_children(config.database_config or DEFAULT_DATABASE, init)
    if config.cache_enabled:
        from pywatt.cache import cache_children

        specs += cache_children(config.cache_config or DEFAULT_CACHE, init)
    if config.jwt_enabled:
        from pywatt.jwt import jwt_children

        specs += jwt_children(config.jwt_config or DEFAULT_JWT, init)
    return specs


class DataMixin:
    """``AppState``'s database, cache and JWT methods (the seed's names)."""

    system: actors.ActorSystem
    _config: ModuleConfig

    @property
    def database(self) -> DatabaseFacade:
        """The database (``pywatt.db``): ``query``, ``execute``, ``fetch_one``,
        ``transaction()``, ... Raises :class:`ConfigError` if the module runs none."""
        return self._database()

    def _database(self) -> DatabaseFacade:
        if not self._config.database_enabled:
            raise ConfigError(
                "this module has no database: pass enable_database or database_config"
            )
        from pywatt.db import DatabaseFacade

        return DatabaseFacade(self.system)

    async def execute_query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run ``sql`` with ``?`` placeholders; returns its rows as dicts (``[]`` if none).
        ``params`` None is no parameters."""
        return await self._database().execute_query(sql, () if params is None else params)

    @property
    def cache(self) -> CacheFacade:
        """The cache (the actor registered as ``cache``): get, set, delete, exists, set_nx,
        get_set, increment, ... Raises :class:`ConfigError` if the module runs none."""
        return self._cache()

    def _cache(self) -> CacheFacade:
        if not self._config.cache_enabled:
            raise ConfigError("this module has no cache: pass enable_cache or cache_config")
        from pywatt.cache import cache_facade

        return cache_facade(self.system, self._config.cache_config or DEFAULT_CACHE)

    async def cache_get(self, key: str, default: Any = None) -> Any:
        """The cached value of ``key`` (decoded), or ``default``."""
        return await self._cache().get(key, default)

    async def cache_set(self, key: str, value: Any, ttl: float | None = None) -> None:
        """Cache ``value`` under ``key`` for ``ttl`` seconds (the cache's default if None)."""
        if ttl is None:
            await self._cache().set(key, value)
        else:
            await self._cache().set(key, value, ttl=ttl)

    async def validate_jwt_token(self, token: str) -> Any:
        """Validate a JWT with the ``pywatt.jwt`` actor; returns its claims or raises its
        typed error (never showing the token)."""
        if not self._config.jwt_enabled:
            raise ConfigError("this module validates no JWTs: pass enable_jwt and jwt_config")
        from pywatt.jwt import validate_jwt_token

        return await validate_jwt_token(self.system, token)

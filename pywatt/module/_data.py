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


def _check_provider(option: str, provider: object, flag: str, enabled: bool | None) -> None:
    if provider is None:
        return
    if not callable(provider) or isinstance(provider, str):
        raise ConfigError(
            f"{option} must be an actor factory (an Actor subclass or a function returning "
            f"an actor), not {provider!r}"
        )
    if enabled is False:
        raise ConfigError(f"{option} is given but {flag} is False: drop one of them")


def data_specs(
    config: ModuleConfig, init: InitBlob
) -> list[actors.ChildSpec | actors.SupervisorSpec]:
    """The database, cache and JWT children the configuration asks for (JWT before HTTP).

    A ``database_provider`` / ``cache_provider`` is started in the built-in backend's place,
    under the same name and protocol. Raises :class:`ConfigError` for a provider that is not
    an actor factory, or one given beside a config that would be ignored.
    """
    _check_provider(
        "database_provider", config.database_provider, "enable_database", config.enable_database
    )
    _check_provider("cache_provider", config.cache_provider, "enable_cache", config.enable_cache)
    specs: list[actors.ChildSpec | actors.SupervisorSpec] = []
    if config.database_enabled:
        from pywatt.db import database_children

        database = config.database_config
        if database is None:
            database = DEFAULT_DATABASE if config.database_provider is None else {}
        specs += database_children(database, init, provider=config.database_provider)
    if config.cache_enabled:
        from pywatt.cache import cache_children

        cache = config.cache_config
        if cache is None:
            cache = DEFAULT_CACHE if config.cache_provider is None else {}
        specs += cache_children(cache, init, provider=config.cache_provider)
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
        """The database (the actor named by ``database_config["name"]``, ``pywatt.db`` by
        default): ``query``, ``execute``, ``fetch_one``, ``transaction()``, ... Raises
        :class:`ConfigError` if the module configures none and no actor of its own holds
        the name (``state.spawn(..., name="pywatt.db", protocol=DATABASE)``)."""
        return self._database()

    def _database(self) -> DatabaseFacade:
        from pywatt.db import DEFAULT_NAME, DatabaseFacade

        name = str((self._config.database_config or {}).get("name", DEFAULT_NAME))
        if not self._config.database_enabled and self.system.lookup(name) is None:
            raise ConfigError(
                "this module has no database: pass enable_database, database_config or "
                "database_provider"
            )
        return DatabaseFacade(self.system, name)

    async def execute_query(self, sql: str, params: Any = ()) -> list[dict[str, Any]]:
        """Run ``sql`` with ``?`` placeholders; returns its rows as dicts (``[]`` if none).
        ``params`` None is no parameters."""
        return await self._database().execute_query(sql, () if params is None else params)

    @property
    def cache(self) -> CacheFacade:
        """The cache (the actor registered as ``cache``): get, set, delete, exists, set_nx,
        get_set, increment, ... Raises :class:`ConfigError` if the module configures none
        and no actor of its own holds the name (``state.spawn(..., name="cache",
        protocol=CACHE)``)."""
        return self._cache()

    def _cache(self) -> CacheFacade:
        from pywatt.cache import CACHE_NAME, cache_facade

        if not self._config.cache_enabled and self.system.lookup(CACHE_NAME) is None:
            raise ConfigError(
                "this module has no cache: pass enable_cache, cache_config or cache_provider"
            )
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

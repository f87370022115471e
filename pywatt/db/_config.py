"""From the seed's ``database_config`` dict (or a URL) to the database actors.

::

    database_config = {
        "type": DatabaseType.POSTGRESQL,   # or "postgresql" | "mysql" | "mariadb" | "sqlite"
        "host": "localhost", "port": 5432, "database": "myapp",
        "username": "app",
        "password": "...",                 # or "password_secret": "DB_PASSWORD" (rotates)
        "url": "postgresql://app@localhost/myapp",   # instead of host/port/database/username
        "path": "app.db",                  # SQLite: the file (default: "database", else ":memory:")
        "proxy": False,                    # True: through the orchestrator (docs/protocol.md §13)
        "pool_config": {"min_connections": 1, "max_connections": 10, "acquire_timeout": 30,
                        "idle_timeout": 300, "max_lifetime": 1800,
                        "health_check_interval": 30, "transaction_timeout": 300},
        "name": "pywatt.db",               # the actor's name (several databases: several names)
        "required": False,                 # True: a server unusable at start-up stops the module
    }

Every problem is a :class:`~pywatt.ConfigError` naming the key.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Callable, Mapping
from typing import Any, Final

import actors
from pywatt._errors import ConfigError
from pywatt._extras import require
from pywatt._suggest import unknown_keys
from pywatt.wire import DatabaseConfig, DatabaseType, InitBlob, PoolConfig, encode_json

from ._driver import Driver
from ._facade import DEFAULT_NAME
from ._messages import DATABASE
from ._pool import DatabasePool, PoolSettings

__all__ = ["database_children", "driver_from_config", "driver_from_url", "pool_settings"]

_TYPES: Final = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "pg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
}
_KEYS: Final = frozenset(
    {
        "type", "host", "port", "database", "username", "user", "password",
        "password_secret", "url", "path", "proxy", "pool_config", "name", "ssl_mode",
        "extra_params", "secrets", "required",
    }
)  # fmt: skip
_POOL_KEYS: Final = {
    "min_connections": "min_connections",
    "max_connections": "max_connections",
    "acquire_timeout": "acquire_timeout",
    "acquire_timeout_seconds": "acquire_timeout",
    "idle_timeout": "idle_timeout",
    "idle_timeout_seconds": "idle_timeout",
    "max_lifetime": "max_lifetime",
    "max_lifetime_seconds": "max_lifetime",
    "health_check_interval": "health_check_interval",
    "transaction_timeout": "transaction_timeout",
}


def _kind(value: object) -> str:
    raw = value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum) and str(raw).lower() not in _TYPES:
        raw = value.name
    kind = _TYPES.get(str(raw).lower()) if raw is not None else None
    if kind is None:
        raise ConfigError(
            f"database_config['type']: unknown database type {value!r}; "
            "use postgresql, mysql or sqlite"
        )
    return kind


def pool_settings(pool: Mapping[str, Any] | None) -> PoolSettings:
    """:class:`PoolSettings` from ``pool_config`` (seed names and the wire's
    ``*_seconds`` names both work)."""
    values: dict[str, Any] = {}
    for key, value in (pool or {}).items():
        field = _POOL_KEYS.get(key)
        if field is None:
            raise ConfigError(
                f"database_config['pool_config']: {unknown_keys('key', [key], _POOL_KEYS)}"
            )
        values[field] = value
    try:
        return PoolSettings(**values)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"database_config['pool_config']: {exc}") from exc


def driver_from_url(url: str, *, name: str | None = None) -> Driver:
    """A driver for ``postgresql://``, ``mysql://`` or ``sqlite:///path`` URLs
    (``sqlite://:memory:`` or ``sqlite://`` for memory)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"database url {url!r} has no scheme (postgresql://, mysql://, sqlite://)"
        )
    kind = _TYPES.get(scheme.split("+")[0].lower())
    if kind == "postgresql":
        require("postgres", "a PostgreSQL database")
        from ._postgres import PostgresDriver

        return PostgresDriver(url, name=name)
    if kind == "sqlite":
        from ._sqlite import SqliteDriver

        path = rest[1:] if rest.startswith("/") else rest
        return SqliteDriver(path or ":memory:", name=name)
    if kind == "mysql":
        from urllib.parse import unquote, urlsplit

        require("mysql", "a MySQL/MariaDB database")
        from ._mysql import MysqlDriver

        try:
            parts = urlsplit(url)
            port = parts.port or 3306
        except ValueError as exc:
            raise ConfigError(f"database url: {exc}") from None
        return MysqlDriver(
            name=name,
            host=parts.hostname or "localhost",
            port=port,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            database=parts.path.lstrip("/") or None,
        )
    raise ConfigError(f"database url {url!r}: unknown scheme {scheme!r}")


def driver_from_config(config: Mapping[str, Any]) -> Driver:
    """The direct (non-proxy) driver that ``config`` describes. Raises ConfigError."""
    unknown = set(config) - _KEYS
    if unknown:
        raise ConfigError(f"database_config: {unknown_keys('key', unknown, _KEYS)}")
    name = config.get("name", DEFAULT_NAME)
    url = config.get("url")
    if url:
        return driver_from_url(str(url), name=name)
    kind = _kind(config.get("type", "sqlite"))
    user = config.get("username", config.get("user"))
    if kind == "postgresql":
        require("postgres", "a PostgreSQL database")
        from ._postgres import PostgresDriver

        return PostgresDriver(
            name=name,
            host=config.get("host"),
            port=config.get("port"),
            dbname=config.get("database"),
            user=user,
            password=config.get("password"),
            sslmode=config.get("ssl_mode"),
        )
    if kind == "mysql":
        require("mysql", "a MySQL/MariaDB database")
        from ._mysql import MysqlDriver

        try:
            port = int(config.get("port", 3306))
        except (TypeError, ValueError):
            raise ConfigError(
                f"database_config['port'] must be a number, not {config.get('port')!r}"
            ) from None
        return MysqlDriver(
            name=name,
            host=config.get("host", "localhost"),
            port=port,
            user=user,
            password=config.get("password"),
            database=config.get("database"),
        )
    from ._sqlite import SqliteDriver

    return SqliteDriver(str(config.get("path") or config.get("database") or ":memory:"), name=name)


def proxy_config(config: Mapping[str, Any]) -> DatabaseConfig:
    """The wire ``DatabaseConfig`` sent in ``service_request`` for a proxied database."""
    pool = config.get("pool_config") or {}
    settings = pool_settings(pool)
    kind = _kind(config.get("type", "sqlite"))
    return DatabaseConfig(
        db_type={"postgresql": DatabaseType.POSTGRES, "mysql": DatabaseType.MYSQL}.get(
            kind, DatabaseType.SQLITE
        ),
        host=config.get("host"),
        port=config.get("port"),
        database=str(config.get("database") or config.get("path") or ""),
        username=config.get("username", config.get("user")),
        password=config.get("password"),
        ssl_mode=config.get("ssl_mode"),
        pool=PoolConfig(
            max_connections=settings.max_connections,
            min_connections=settings.min_connections,
            idle_timeout_seconds=int(settings.idle_timeout),
            max_lifetime_seconds=int(settings.max_lifetime),
            acquire_timeout_seconds=int(settings.acquire_timeout),
        ),
        extra_params=dict(config.get("extra_params") or {}),
    )


def database_children(
    config: Mapping[str, Any],
    init: InitBlob | None = None,
    *,
    provider: Callable[[], actors.Actor[Any]] | None = None,
) -> list[actors.ChildSpec | actors.SupervisorSpec]:
    """The child specs of the database actors that ``config`` (the seed's
    ``database_config``) describes; put them under the module's services supervisor.

    One pool actor named ``config["name"]`` (default ``pywatt.db``) carrying the
    :data:`~pywatt.db.DATABASE` protocol: direct (PostgreSQL, MySQL, SQLite) or, with
    ``"proxy": True``, through the orchestrator (needs the ``pywatt.link`` actor, so only
    in a module run by an orchestrator). ``init`` names the module in logs. Does not block
    and opens nothing: connections open when the actor starts (a server that is down makes
    the pool answer :class:`~pywatt.db.DatabaseConnectionError` until it is back; it never
    crashes for it). Raises :class:`~pywatt.ConfigError` for a bad config, a URL included.

    ``provider`` (an actor factory answering :data:`~pywatt.db.DATABASE`, such as
    ``lambda: DatabasePool(MyDriver(...), settings)``; docs/custom-providers.md) takes the
    built-in pool's place under that name; ``config`` may then hold only ``name`` (a key
    describing a database would be ignored, so it is a :class:`~pywatt.ConfigError`).
    """
    if not isinstance(config, Mapping):
        raise ConfigError(f"database_config must be a dict, not {type(config).__name__}")
    name = str(config.get("name", DEFAULT_NAME))
    if provider is not None:
        described = sorted(set(config) - {"name"})
        if described:
            raise ConfigError(
                "database_config cannot describe a database when database_provider is given: "
                f"it takes only name (not {', '.join(described)})"
            )
        return [actors.ChildSpec(name, provider, protocol=DATABASE)]
    settings = pool_settings(config.get("pool_config"))
    required = config.get("required", False)
    if not isinstance(required, bool):
        raise ConfigError(f"database_config['required'] must be True or False, not {required!r}")
    password_secret = config.get("password_secret")
    secrets = str(config.get("secrets", "pywatt.secrets"))
    driver: Driver
    if config.get("proxy"):
        from ._proxy import ProxyDriver

        module = init.module_id if init is not None else "module"
        wire = proxy_config(config)
        driver = ProxyDriver(json.loads(encode_json(wire)), name=f"{name} (proxy for {module})")
    else:
        driver = driver_from_config(config)
        from ._sqlite import SqliteDriver, sqlite_settings

        if isinstance(driver, SqliteDriver):
            settings = sqlite_settings(driver.path, settings)

    def factory() -> DatabasePool:
        return DatabasePool(
            driver, settings, password_secret=password_secret, secrets=secrets, required=required
        )

    return [actors.ChildSpec(name, factory, protocol=DATABASE)]

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

import attrs

import actors
from pywatt._config import aliases, structure_config
from pywatt._errors import ConfigError
from pywatt._extras import require
from pywatt._suggest import did_you_mean
from pywatt.wire import DatabaseConfig, DatabaseType, InitBlob, PoolConfig, encode_json

from ._driver import Driver
from ._facade import DEFAULT_NAME
from ._messages import DATABASE
from ._pool import DatabasePool, PoolSettings

__all__ = [
    "DatabaseKind",
    "DatabaseSettings",
    "database_children",
    "database_settings",
    "driver_from_config",
    "driver_from_url",
    "pool_settings",
]

_SPELLINGS: Final = {
    "postgresql": "postgresql",
    "postgres": "postgresql",
    "pg": "postgresql",
    "mysql": "mysql",
    "mariadb": "mysql",
    "sqlite": "sqlite",
    "sqlite3": "sqlite",
}


class DatabaseKind(enum.Enum):
    """The database a ``database_config`` describes (its ``type``)."""

    POSTGRESQL = "postgresql"
    MYSQL = "mysql"
    SQLITE = "sqlite"

    @classmethod
    def parse(cls, value: object) -> DatabaseKind:
        """From a name (``postgres``, ``pg``, ``mariadb``, ``sqlite3`` ... too), this enum
        or the wire's :class:`~pywatt.wire.DatabaseType`. Raises ValueError."""
        if isinstance(value, DatabaseKind):
            return value
        spellings = [value]
        if isinstance(value, enum.Enum):
            spellings = [value.value, value.name]
        for spelling in spellings:
            kind = _SPELLINGS.get(str(spelling).lower())
            if kind is not None:
                return cls(kind)
        raise ValueError(
            f"unknown database type {value!r}; use postgresql, mysql or sqlite"
            + did_you_mean(str(spellings[0]).lower(), _SPELLINGS)
        )


@attrs.frozen(kw_only=True)
class DatabaseSettings:
    """A ``database_config`` read as data (the keys are those of the module docstring)."""

    type: DatabaseKind = DatabaseKind.SQLITE
    url: str | None = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    username: str | None = attrs.field(default=None, metadata=aliases("user"))
    password: str | None = None
    password_secret: str | None = None
    path: str | None = None
    ssl_mode: str | None = None
    extra_params: dict[str, str] = attrs.Factory(dict)
    proxy: bool = False
    pool_config: PoolSettings = attrs.Factory(PoolSettings)
    name: str = DEFAULT_NAME
    secrets: str = "pywatt.secrets"
    required: bool = False


def database_settings(config: Mapping[str, Any] | DatabaseSettings) -> DatabaseSettings:
    """``config`` (a module's ``database_config``) as :class:`DatabaseSettings`. Raises
    :class:`~pywatt.ConfigError` naming the key."""
    settings: DatabaseSettings = structure_config(config, DatabaseSettings, root="database_config")
    return settings


def pool_settings(pool: Mapping[str, Any] | None) -> PoolSettings:
    """:class:`PoolSettings` from ``pool_config`` (seed names and the wire's
    ``*_seconds`` names both work)."""
    settings: PoolSettings = structure_config(
        pool or {}, PoolSettings, root="database_config['pool_config']"
    )
    return settings


def driver_from_url(url: str, *, name: str | None = None) -> Driver:
    """A driver for ``postgresql://``, ``mysql://`` or ``sqlite:///path`` URLs
    (``sqlite://:memory:`` or ``sqlite://`` for memory)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(
            f"database url {url!r} has no scheme (postgresql://, mysql://, sqlite://)"
        )
    kind = _SPELLINGS.get(scheme.split("+")[0].lower())
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


def driver_from_config(config: Mapping[str, Any] | DatabaseSettings) -> Driver:
    """The direct (non-proxy) driver that ``config`` describes. Raises ConfigError."""
    settings = database_settings(config)
    name = settings.name
    if settings.url:
        return driver_from_url(settings.url, name=name)
    if settings.type is DatabaseKind.POSTGRESQL:
        require("postgres", "a PostgreSQL database")
        from ._postgres import PostgresDriver

        return PostgresDriver(
            name=name,
            host=settings.host,
            port=settings.port,
            dbname=settings.database,
            user=settings.username,
            password=settings.password,
            sslmode=settings.ssl_mode,
        )
    if settings.type is DatabaseKind.MYSQL:
        require("mysql", "a MySQL/MariaDB database")
        from ._mysql import MysqlDriver

        return MysqlDriver(
            name=name,
            host=settings.host or "localhost",
            port=settings.port or 3306,
            user=settings.username,
            password=settings.password,
            database=settings.database,
        )
    from ._sqlite import SqliteDriver

    return SqliteDriver(settings.path or settings.database or ":memory:", name=name)


def proxy_config(config: Mapping[str, Any] | DatabaseSettings) -> DatabaseConfig:
    """The wire ``DatabaseConfig`` sent in ``service_request`` for a proxied database."""
    settings = database_settings(config)
    pool = settings.pool_config
    wire_types = {
        DatabaseKind.POSTGRESQL: DatabaseType.POSTGRES,
        DatabaseKind.MYSQL: DatabaseType.MYSQL,
    }
    return DatabaseConfig(
        db_type=wire_types.get(settings.type, DatabaseType.SQLITE),
        host=settings.host,
        port=settings.port,
        database=settings.database or settings.path or "",
        username=settings.username,
        password=settings.password,
        ssl_mode=settings.ssl_mode,
        pool=PoolConfig(
            max_connections=pool.max_connections,
            min_connections=pool.min_connections,
            idle_timeout_seconds=int(pool.idle_timeout),
            max_lifetime_seconds=int(pool.max_lifetime),
            acquire_timeout_seconds=int(pool.acquire_timeout),
        ),
        extra_params=dict(settings.extra_params),
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
    if not isinstance(config, Mapping | DatabaseSettings):
        raise ConfigError(f"database_config must be a dict, not {type(config).__name__}")
    if provider is not None:
        described = sorted(set(config) - {"name"}) if isinstance(config, Mapping) else []
        if described:
            raise ConfigError(
                "database_config cannot describe a database when database_provider is given: "
                f"it takes only name (not {', '.join(described)})"
            )
        name = database_settings(config).name
        return [actors.ChildSpec(name, provider, protocol=DATABASE)]
    settings = database_settings(config)
    name = settings.name
    pool = settings.pool_config
    driver: Driver
    if settings.proxy:
        from ._proxy import ProxyDriver

        module = init.module_id if init is not None else "module"
        wire = proxy_config(settings)
        driver = ProxyDriver(json.loads(encode_json(wire)), name=f"{name} (proxy for {module})")
    else:
        driver = driver_from_config(settings)
        from ._sqlite import SqliteDriver, sqlite_settings

        if isinstance(driver, SqliteDriver):
            pool = sqlite_settings(driver.path, pool)

    def factory() -> DatabasePool:
        return DatabasePool(
            driver,
            pool,
            password_secret=settings.password_secret,
            secrets=settings.secrets,
            required=settings.required,
        )

    return [actors.ChildSpec(name, factory, protocol=DATABASE)]

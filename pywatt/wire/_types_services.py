"""Configs carried by ``service_request`` and the secret client's record (§7, §13).

``ServiceRequest.config`` is JSON (``serde_json::to_value`` of these structs), so on the
wire their keys come out sorted: encode them with ``to_json_value`` before putting them in.
"""

from __future__ import annotations

import enum

import attrs

from ._model import SKIP
from ._types_common import Duration
from ._values import UInt8, UInt16, UInt32, UInt64

__all__ = [
    "CacheConfig",
    "CachePolicy",
    "CacheStats",
    "CacheType",
    "DatabaseConfig",
    "DatabaseType",
    "GetSecretResponse",
    "JwtProxyConfig",
    "PoolConfig",
]


class DatabaseType(enum.Enum):
    """``"postgres"`` | ``"mysql"`` | ``"sqlite"`` (the only lowercase enum).

    ``POSTGRESQL`` is the seed's spelling of ``POSTGRES``: the same member (an alias).
    """

    POSTGRES = "postgres"
    POSTGRESQL = "postgres"
    MYSQL = "mysql"
    SQLITE = "sqlite"


@attrs.frozen(kw_only=True)
class PoolConfig:
    """Connection pool settings; every field has a serde default."""

    max_connections: UInt32 = 10
    min_connections: UInt32 = 2
    idle_timeout_seconds: UInt64 = 300
    max_lifetime_seconds: UInt64 = 1800
    acquire_timeout_seconds: UInt64 = 30


@attrs.frozen(kw_only=True)
class DatabaseConfig:
    """A database connection config; only ``db_type`` and ``database`` are required."""

    db_type: DatabaseType
    host: str | None = None
    port: UInt16 | None = None
    database: str
    username: str | None = None
    password: str | None = None
    ssl_mode: str | None = None
    pool: PoolConfig = attrs.Factory(PoolConfig)
    extra_params: dict[str, str] = attrs.Factory(dict)


class CacheType(enum.Enum):
    """``"InMemory"`` | ``"Redis"`` | ``"Memcached"`` | ``"File"``."""

    IN_MEMORY = "InMemory"
    REDIS = "Redis"
    MEMCACHED = "Memcached"
    FILE = "File"


class CachePolicy(enum.Enum):
    """``"LRU"`` | ``"FIFO"`` | ``"MRU"`` | ``"LFU"`` | ``"None"``."""

    LRU = "LRU"
    FIFO = "FIFO"
    MRU = "MRU"
    LFU = "LFU"
    NONE = "None"


@attrs.frozen(kw_only=True)
class CacheConfig:
    """A cache connection config; every non-Option field is required on input."""

    cache_type: CacheType
    policy: CachePolicy
    max_size_bytes: UInt64 | None = None
    default_ttl_seconds: UInt64
    default_ttl: Duration | None = None
    hosts: list[str]
    port: UInt16 | None = None
    connection_timeout_seconds: UInt64
    operation_timeout_seconds: UInt64
    username: str | None = None
    password: str | None = None
    tls_enabled: bool
    database: UInt8 | None = None
    file_path: str | None = None
    namespace: str | None = None
    pool: PoolConfig
    extra_params: dict[str, str]


@attrs.frozen(kw_only=True)
class CacheStats:
    """Cache statistics; ``additional_metrics`` is required (§16 A27)."""

    hits: UInt64 | None = None
    misses: UInt64 | None = None
    sets: UInt64 | None = None
    deletes: UInt64 | None = None
    item_count: UInt64 | None = None
    memory_used_bytes: UInt64 | None = None
    additional_metrics: dict[str, str]


@attrs.frozen(kw_only=True)
class JwtProxyConfig:
    """The JWT proxy config: ``{"config":{...}}``; ``{}`` reads as an empty map (Rust's
    ``#[serde(default)]``)."""

    config: dict[str, str] = attrs.Factory(dict)


@attrs.frozen(kw_only=True)
class GetSecretResponse:
    """The secret client's local record. Never on the wire between peers.

    Its serializer is hand-written in Rust: ``value`` is always written as
    ``"[REDACTED]"`` and ``rotation_id`` is always written (``null`` when None).
    """

    name: str
    value: str
    rotation_id: str | None = attrs.field(default=None, metadata=SKIP)

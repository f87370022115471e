"""Building the cache actor from a module's ``cache_config`` (the seed's dict).

::

    cache_config={"type": "redis", "url": "redis://127.0.0.1:6379/0", "namespace": "users:"}
    cache_config={"type": CacheType.IN_MEMORY, "policy": "LFU", "max_entries": 10_000}
    cache_config={"type": CacheType.IN_MEMORY, "max_size": 1000}   # max_size: max_entries
    cache_config={"type": "memcached", "host": "127.0.0.1", "port": 11211}
    cache_config={"type": "file", "directory": "/var/cache/my-module", "default_ttl": 3600}
    cache_config={"type": "proxy"}        # the orchestrator's cache, over stdio (PROTOCOL §13)
    cache_config={"type": "redis", "required": True}   # unusable at start-up: the module stops

:func:`cache_children` returns the supervisor and actor to put in the module's tree; the actor
is registered as ``cache`` carrying the cache protocol. :func:`cache_facade` builds the
matching ``state.cache``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

import actors
from actors import Backoff, ChildSpec, SupervisorSpec
from pywatt._config import aliases, register_tagged_union, structure_config
from pywatt._extras import require
from pywatt.wire import InitBlob

from ._codec import Codec
from ._errors import CacheConfigError
from ._facade import CACHE_NAME, CacheFacade
from ._file import FileCache
from ._memory import MemoryCache
from ._messages import CACHE
from ._policies import EvictionPolicy
from ._redis_url import parse_redis_url
from ._remote import Endpoint

SUPERVISOR: Final = "pywatt.cache.supervisor"


@attrs.frozen(kw_only=True)
class _Common:
    namespace: str = ""
    default_ttl: float | None = None
    codec: Codec = Codec.JSON
    required: bool = False


@attrs.frozen(kw_only=True)
class MemorySettings(_Common):
    """``{"type": "memory"}``: the in-process cache (``max_size``: the seed's ``max_entries``)."""

    policy: EvictionPolicy = EvictionPolicy.LRU
    max_entries: int | None = attrs.field(default=None, metadata=aliases("max_size"))
    max_bytes: int | None = attrs.field(default=None, metadata=aliases("max_size_bytes"))
    seed: int | None = None


@attrs.frozen(kw_only=True)
class RedisSettings(_Common):
    """``{"type": "redis"}``: ``url`` or ``host`` (neither: ``REDIS_URL``); the other keys
    override what the URL says."""

    url: str | None = None
    host: str | None = None
    port: int | None = None
    username: str | None = None
    password: str | None = None
    database: int | None = attrs.field(default=None, metadata=aliases("db"))
    tls: bool | None = None
    connections: int = 1
    connection_timeout: float | None = None
    operation_timeout: float | None = None


@attrs.frozen(kw_only=True)
class MemcachedSettings(_Common):
    """``{"type": "memcached"}``: ``host`` and ``port``, or ``address`` (neither:
    ``MEMCACHED_ADDR``)."""

    host: str | None = None
    port: int = 11211
    address: str | None = None
    connections: int = 1
    item_limit: int = 1024 * 1024
    connection_timeout: float | None = None
    operation_timeout: float | None = None


@attrs.frozen(kw_only=True)
class FileSettings(_Common):
    """``{"type": "file"}``: one file per key under ``directory``."""

    directory: str = attrs.field(metadata=aliases("file_path"))
    fsync: bool = False
    sweep_interval: float = 60.0


@attrs.frozen(kw_only=True)
class ProxySettings(_Common):
    """``{"type": "proxy"}``: the orchestrator's cache over the link (``backend``: what the
    orchestrator serves it from, ``memory`` or ``redis``)."""

    backend: str = "memory"
    policy: str = "LRU"
    max_size_bytes: int | None = None
    operation_timeout: float = 30.0


CacheSettings = MemorySettings | RedisSettings | MemcachedSettings | FileSettings | ProxySettings
"""A ``cache_config`` read as data: one class per ``type``."""

register_tagged_union(
    CacheSettings,
    {
        "memory": MemorySettings,
        "redis": RedisSettings,
        "memcached": MemcachedSettings,
        "file": FileSettings,
        "proxy": ProxySettings,
    },
    spellings={"in_memory": "memory", "inmemory": "memory", "orchestrator": "proxy"},
    default="memory",
)


def cache_settings(config: Mapping[str, Any] | CacheSettings) -> CacheSettings:
    """``config`` (a module's ``cache_config``) as one of the settings classes, by its
    ``type`` (``memory`` when absent). Raises :class:`CacheConfigError` naming the key."""
    settings: CacheSettings = structure_config(
        config, CacheSettings, root="cache_config", error=CacheConfigError
    )
    return settings


def _env(init: InitBlob | None, name: str) -> str | None:
    if init is not None and init.env.get(name):
        return init.env[name]
    return os.environ.get(name) or None


def _timeouts(settings: RedisSettings | MemcachedSettings) -> dict[str, float]:
    timeouts = {
        "connect_timeout": settings.connection_timeout,
        "operation_timeout": settings.operation_timeout,
    }
    return {name: value for name, value in timeouts.items() if value is not None}


def backend_factory(
    config: Mapping[str, Any] | CacheSettings, init: InitBlob | None = None
) -> Callable[[], actors.Actor[Any]]:
    """A factory of the backend actor ``config`` describes (a fresh actor per incarnation).

    Redis without ``url``/``host`` uses ``REDIS_URL`` (the InitBlob's env, then the process
    environment); Memcached without ``host``/``address`` uses ``MEMCACHED_ADDR``. Raises
    :class:`CacheConfigError` for a bad or incomplete config.
    """
    settings = cache_settings(config)
    required = settings.required
    if isinstance(settings, MemorySettings):
        memory = settings
        return lambda: MemoryCache(
            policy=memory.policy,
            max_entries=memory.max_entries,
            max_bytes=memory.max_bytes,
            seed=memory.seed,
        )
    if isinstance(settings, RedisSettings):
        require("redis", "cache_config type 'redis'")
        from ._redis import RedisCache

        url = settings.url
        if url is None and settings.host is None:
            url = _env(init, "REDIS_URL")
        if url is not None:
            parts = parse_redis_url(url)
        else:
            parts = {"host": settings.host, "port": 6379, "tls": False,
                     "username": None, "password": None, "db": 0}  # fmt: skip
        endpoint = Endpoint(
            host=parts["host"],
            port=settings.port if settings.port is not None else parts["port"],
            tls=settings.tls if settings.tls is not None else parts["tls"],
            **_timeouts(settings),
        )
        username = settings.username if settings.username is not None else parts["username"]
        password = settings.password if settings.password is not None else parts["password"]
        db = settings.database if settings.database is not None else parts["db"]
        redis = settings
        return lambda: RedisCache(
            endpoint,
            username=username,
            password=password,
            db=db,
            namespace=redis.namespace,
            connections=redis.connections,
            required=required,
        )
    if isinstance(settings, MemcachedSettings):
        require("memcached", "cache_config type 'memcached'")
        from ._memcached import MemcachedCache

        address = settings.address
        if address is None and settings.host is not None:
            address = f"{settings.host}:{settings.port}"
        address = address or _env(init, "MEMCACHED_ADDR")
        if address is None:
            raise CacheConfigError("cache_config for memcached needs host (or MEMCACHED_ADDR)")
        options: dict[str, Any] = {
            "namespace": settings.namespace,
            "item_limit": settings.item_limit,
            "connections": settings.connections,
            "required": required,
            **_timeouts(settings),
        }
        MemcachedCache.from_address(address, **options)  # checks the address
        return lambda: MemcachedCache.from_address(address, **options)
    if isinstance(settings, FileSettings):
        file = settings
        return lambda: FileCache(
            file.directory,
            namespace=file.namespace,
            fsync=file.fsync,
            sweep_interval=file.sweep_interval,
            required=required,
        )
    from ._proxy import ProxyCache, proxy_config

    wire_config = proxy_config(settings)
    timeout = settings.operation_timeout
    return lambda: ProxyCache(wire_config, operation_timeout=timeout, required=required)


FACADE_KEYS: Final = frozenset({"codec", "default_ttl"})
"""The ``cache_config`` keys that shape ``state.cache`` rather than the backend."""


def cache_children(
    config: Mapping[str, Any],
    init: InitBlob | None = None,
    *,
    provider: Callable[[], actors.Actor[Any]] | None = None,
) -> list[ChildSpec | SupervisorSpec]:
    """The cache part of a module's tree: a supervisor (unlimited restarts with backoff, so a
    flapping server never takes the module down) over the backend actor, registered as
    ``cache`` with the cache protocol. Raises :class:`CacheConfigError` at once for a bad
    config; connecting happens when the actor starts (a server that is down makes the actor
    answer :class:`CacheUnavailable` until it is back; with ``"required": True`` in
    ``config``, a server that cannot be used at start-up stops the module instead).

    ``provider`` (an actor factory answering the cache protocol, docs/custom-providers.md)
    takes the built-in backend's place; ``config`` may then hold only :data:`FACADE_KEYS`
    (a key choosing a backend would be ignored, so it is a :class:`CacheConfigError`).
    """
    if provider is None:
        factory = backend_factory(config, init)
    else:
        backend_keys = sorted(set(config) - FACADE_KEYS)
        if backend_keys:
            raise CacheConfigError(
                "cache_config cannot choose a backend when cache_provider is given: it takes "
                f"only {', '.join(sorted(FACADE_KEYS))} (not {', '.join(backend_keys)})"
            )
        factory = provider
    return [
        SupervisorSpec(
            SUPERVISOR,
            [ChildSpec(CACHE_NAME, factory, protocol=CACHE)],
            max_restarts=None,
            backoff=Backoff(first=0.0, base=0.1, cap=5.0),
        )
    ]


def cache_facade(system: actors.ActorSystem, config: Mapping[str, Any]) -> CacheFacade:
    """The ``state.cache`` for ``config``: its ``codec`` (``json`` or ``msgpack``) and its
    ``default_ttl`` (seconds, None for no expiry). Raises :class:`CacheConfigError`."""
    settings = cache_settings(config)
    return CacheFacade(system, CACHE_NAME, codec=settings.codec, default_ttl=settings.default_ttl)

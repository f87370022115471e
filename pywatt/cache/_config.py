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

import actors
from actors import Backoff, ChildSpec, SupervisorSpec
from pywatt._extras import require
from pywatt._suggest import unknown_keys
from pywatt.wire import CacheType, InitBlob

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

_TYPES: Final = {
    "memory": "memory",
    "in_memory": "memory",
    "inmemory": "memory",
    "redis": "redis",
    "memcached": "memcached",
    "file": "file",
    "proxy": "proxy",
    "orchestrator": "proxy",
}
_COMMON: Final = {"type", "namespace", "default_ttl", "codec", "required"}
_KEYS: Final = {
    "memory": {"policy", "max_entries", "max_size", "max_bytes", "max_size_bytes", "seed"},
    "redis": {
        "url", "host", "port", "username", "password", "database", "db", "tls", "connections",
        "connection_timeout", "operation_timeout",
    },
    "memcached": {
        "host", "port", "address", "connections", "item_limit", "connection_timeout",
        "operation_timeout",
    },
    "file": {"directory", "file_path", "fsync", "sweep_interval"},
    "proxy": {"backend", "policy", "max_size_bytes", "operation_timeout"},
}  # fmt: skip


def cache_type(config: Mapping[str, Any]) -> str:
    """The backend named by ``config["type"]`` (``memory`` when absent): ``memory``,
    ``redis``, ``memcached``, ``file`` or ``proxy``. Raises :class:`CacheConfigError`."""
    raw = config.get("type", "memory")
    text = raw.value if isinstance(raw, CacheType) else str(getattr(raw, "value", raw))
    kind = _TYPES.get(text.lower().replace("-", "_"))
    if kind is None:
        names = ", ".join(sorted(set(_TYPES.values())))
        raise CacheConfigError(f"cache_config type {raw!r} is not one of {names}")
    return kind


def check_config(config: Mapping[str, Any]) -> str:
    """Validate the keys of ``config``; returns its backend. Raises :class:`CacheConfigError`
    naming unknown keys."""
    kind = cache_type(config)
    unknown = sorted(set(config) - _COMMON - _KEYS[kind])
    if unknown:
        raise CacheConfigError(
            f"cache_config for {kind}: {unknown_keys('key', unknown, _COMMON | _KEYS[kind])}"
        )
    return kind


def _number(config: Mapping[str, Any], *names: str, default: Any = None) -> Any:
    for name in names:
        if config.get(name) is not None:
            value = config[name]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise CacheConfigError(f"cache_config {name} must be a number, not {value!r}")
            return value
    return default


def _env(init: InitBlob | None, name: str) -> str | None:
    if init is not None and init.env.get(name):
        return init.env[name]
    return os.environ.get(name) or None


def backend_factory(
    config: Mapping[str, Any], init: InitBlob | None = None
) -> Callable[[], actors.Actor[Any]]:
    """A factory of the backend actor ``config`` describes (a fresh actor per incarnation).

    Redis without ``url``/``host`` uses ``REDIS_URL`` (the InitBlob's env, then the process
    environment); Memcached without ``host``/``address`` uses ``MEMCACHED_ADDR``. Raises
    :class:`CacheConfigError` for a bad or incomplete config.
    """
    kind = check_config(config)
    namespace = str(config.get("namespace") or "")
    required = config.get("required", False)
    if not isinstance(required, bool):
        raise CacheConfigError(f"cache_config required must be True or False, not {required!r}")
    timeouts: dict[str, float] = {}
    for option, names in (
        ("connect_timeout", ("connection_timeout", "connection_timeout_seconds")),
        ("operation_timeout", ("operation_timeout", "operation_timeout_seconds")),
    ):
        value = _number(config, *names)
        if value is not None:
            timeouts[option] = float(value)
    if kind == "memory":
        try:
            policy = EvictionPolicy.parse(config.get("policy", EvictionPolicy.LRU))
        except ValueError as exc:
            raise CacheConfigError(f"cache_config policy: {exc}") from None
        max_entries = _number(config, "max_entries", "max_size")  # the reference SDK's name
        max_bytes = _number(config, "max_bytes", "max_size_bytes")
        seed = config.get("seed")
        return lambda: MemoryCache(
            policy=policy, max_entries=max_entries, max_bytes=max_bytes, seed=seed
        )
    if kind == "redis":
        require("redis", "cache_config type 'redis'")
        from ._redis import RedisCache

        url = config.get("url")
        if url is None and config.get("host") is None:
            url = _env(init, "REDIS_URL")
        if url is not None:
            parts = parse_redis_url(str(url))
        else:
            parts = {"host": str(config["host"]), "port": 6379, "tls": False,
                     "username": None, "password": None, "db": 0}  # fmt: skip
        parts["port"] = int(_number(config, "port", default=parts["port"]))
        parts["tls"] = bool(config.get("tls", parts["tls"]))
        endpoint = Endpoint(host=parts["host"], port=parts["port"], tls=parts["tls"], **timeouts)
        username = config.get("username", parts["username"])
        password = config.get("password", parts["password"])
        db = int(_number(config, "database", "db", default=parts["db"]))
        connections = int(_number(config, "connections", default=1))
        return lambda: RedisCache(
            endpoint,
            username=username,
            password=password,
            db=db,
            namespace=namespace,
            connections=connections,
            required=required,
        )
    if kind == "memcached":
        require("memcached", "cache_config type 'memcached'")
        from ._memcached import MemcachedCache

        address = config.get("address")
        if address is None and config.get("host") is not None:
            address = f"{config['host']}:{int(_number(config, 'port', default=11211))}"
        address = address or _env(init, "MEMCACHED_ADDR")
        if address is None:
            raise CacheConfigError("cache_config for memcached needs host (or MEMCACHED_ADDR)")
        item_limit = int(_number(config, "item_limit", default=1024 * 1024))
        connections = int(_number(config, "connections", default=1))
        options: dict[str, Any] = {"namespace": namespace, "item_limit": item_limit,
                                   "connections": connections, "required": required}  # fmt: skip
        MemcachedCache.from_address(str(address), **options, **timeouts)  # checks the address
        return lambda: MemcachedCache.from_address(str(address), **options, **timeouts)
    if kind == "file":
        directory = config.get("directory") or config.get("file_path")
        if not directory:
            raise CacheConfigError("cache_config for file needs directory")
        fsync = bool(config.get("fsync", False))
        sweep = _number(config, "sweep_interval", default=60.0)
        return lambda: FileCache(
            str(directory),
            namespace=namespace,
            fsync=fsync,
            sweep_interval=sweep,
            required=required,
        )
    from ._proxy import ProxyCache, proxy_config

    wire_config = proxy_config(config)
    timeout = float(_number(config, "operation_timeout", default=30.0))
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
    check_config(config)
    try:
        codec = Codec.parse(config.get("codec", Codec.JSON))
    except ValueError as exc:
        raise CacheConfigError(f"cache_config codec: {exc}") from None
    ttl = _number(config, "default_ttl")
    return CacheFacade(system, CACHE_NAME, codec=codec, default_ttl=ttl)

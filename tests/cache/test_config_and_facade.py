"""cache_children / cache_facade from a module's cache_config, and the facade's codecs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import actors
from pywatt.cache import (
    CACHE_NAME,
    CacheConfigError,
    CacheFacade,
    CodecError,
    FileCache,
    InvalidKey,
    MemcachedCache,
    MemoryCache,
    ProxyCache,
    RedisCache,
    Set,
    cache_children,
    cache_facade,
)
from pywatt.cache._config import backend_factory
from pywatt.cache._proxy import proxy_config
from pywatt.wire import CacheConfig, CacheType, decode_json, encode_json


def _actor(config: dict[str, Any]) -> actors.Actor[Any]:
    return backend_factory(config)()


def test_each_type_builds_its_backend(tmp_path: Path) -> None:
    assert isinstance(_actor({}), MemoryCache)
    assert isinstance(_actor({"type": CacheType.IN_MEMORY, "policy": "lfu"}), MemoryCache)
    redis = _actor({"type": CacheType.REDIS, "host": "h", "port": 7000, "password": "p"})
    assert isinstance(redis, RedisCache)
    assert (redis.endpoint.host, redis.endpoint.port, redis.password) == ("h", 7000, "p")
    url = _actor({"type": "redis", "url": "redis://u:pw@r:6380/2", "namespace": "n:"})
    assert isinstance(url, RedisCache)
    assert (url.endpoint.port, url.username, url.db, url.namespace) == (6380, "u", 2, "n:")
    mc = _actor({"type": "Memcached", "host": "m", "port": 1})
    assert isinstance(mc, MemcachedCache)
    assert mc.endpoint.address == "m:1"
    assert isinstance(_actor({"type": "file", "directory": str(tmp_path)}), FileCache)
    assert isinstance(_actor({"type": "proxy", "namespace": "x"}), ProxyCache)


@pytest.mark.parametrize(
    ("config", "complaint"),
    [
        ({"type": "mongo"}, "is not one of"),
        ({"type": "memory", "url": "redis://x"}, "unknown key 'url'"),
        ({"type": "memory", "policy": "oldest"}, "unknown eviction policy"),
        ({"type": "memory", "max_entries": "ten"}, "must be a number"),
        ({"type": "file"}, "needs directory"),
        ({"type": "redis", "url": "http://x"}, "redis://"),
        ({"type": "proxy", "backend": "mongo"}, "memory or redis"),
    ],
)
def test_a_bad_config_is_a_clear_error(config: dict[str, Any], complaint: str) -> None:
    with pytest.raises(CacheConfigError, match=complaint):
        backend_factory(config)


def test_cache_children_registers_cache_with_the_protocol_under_its_supervisor() -> None:
    (supervisor,) = cache_children({"type": "memory"})
    assert isinstance(supervisor, actors.SupervisorSpec)
    assert supervisor.max_restarts is None
    (child,) = supervisor.children
    assert isinstance(child, actors.ChildSpec)
    assert child.name == CACHE_NAME
    assert child.protocol is not None
    assert child.protocol.name == "cache"


def test_the_proxy_config_is_a_wire_cache_config() -> None:
    config = proxy_config({"type": "proxy", "namespace": "ns:", "default_ttl": 60})
    again = decode_json(encode_json(config), CacheConfig)
    assert again == config
    assert (config.cache_type, config.namespace, config.default_ttl_seconds) == (
        CacheType.IN_MEMORY, "ns:", 60,
    )  # fmt: skip


@pytest.mark.parametrize("codec", ["json", "msgpack"])
async def test_the_facade_encodes_values_and_applies_the_default_ttl(codec: str) -> None:
    async with actors.open_actor_system() as system:
        (spec,) = cache_children({"type": "memory"})
        await system.start_supervisor(spec)  # type: ignore[arg-type]
        cache = cache_facade(system, {"codec": codec, "default_ttl": 30})
        value = {"name": "Ada", "tags": ["a", "b"], "n": 3, "ok": True, "none": None}
        await cache.set("user", value)
        assert await cache.get("user") == value
        assert await cache.get("missing", "default") == "default"
        assert await cache.get_set("user", [1]) == value
        await cache.set_many({"a": 1, "b": "two"}, ttl=None)
        assert await cache.get_many(["a", "b", "c"]) == {"a": 1, "b": "two"}
        assert await cache.delete_many(["a", "b"]) == 2
        assert await cache.set_nx("user", 2) is False
        assert await cache.increment("hits") == 1
        assert await cache.decrement("hits", 3) == -2
        assert await cache.exists("hits")
        assert await cache.delete("hits")
        stats = await cache.stats()
        assert stats.backend == "memory"
        assert stats.hits >= 3
        await cache.clear()
        assert not await cache.exists("user")


async def test_the_facade_never_pickles_and_names_the_key_on_a_codec_error() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(MemoryCache, name=CACHE_NAME)
        cache = CacheFacade(system)
        with pytest.raises(CodecError, match="'obj'"):
            await cache.set("obj", object())
        await system.ask(CACHE_NAME, Set("raw", b"\x80not json"))
        with pytest.raises(CodecError, match="'raw'"):
            await cache.get("raw")
        raw = CacheFacade(system, codec="raw")
        assert await raw.get("raw") == b"\x80not json"
        with pytest.raises(InvalidKey):
            await cache.get("")
        with pytest.raises(InvalidKey):
            await cache.get_many("one string")

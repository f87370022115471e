"""Configuration as data: every settings class survives unstructure → structure unchanged, and
a mistake is one line naming the key path, what is wrong and, for an unknown key, a hint."""

from __future__ import annotations

import enum
import types
import typing
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywatt import ConfigError
from pywatt._config import structure_config, unstructure_config
from pywatt.cache import (
    CacheConfigError,
    CacheSettings,
    FileSettings,
    MemcachedSettings,
    MemorySettings,
    ProxySettings,
    RedisSettings,
    cache_settings,
)
from pywatt.channels import (
    ChannelOptions,
    ExponentialBackoff,
    FixedInterval,
    NoReconnect,
    ReconnectPolicy,
    policy_from_dict,
    preferences_from_dict,
)
from pywatt.db import DatabaseSettings, PoolSettings, database_settings
from pywatt.module import (
    DiscoverySettings,
    MessagingSettings,
    ModuleConfig,
    OrchestratorDiscoverySettings,
    RedisDiscoverySettings,
    RegistrationSettings,
    discovery_settings,
)
from pywatt.wire import ChannelPreferences

_text = st.text(max_size=12)
_seconds = st.floats(min_value=0.001, max_value=1e6, allow_nan=False, allow_infinity=False)
_pools = st.integers(0, 50).flatmap(
    lambda low: st.builds(
        PoolSettings,
        min_connections=st.just(low),
        max_connections=st.integers(max(low, 1), 100),
        acquire_timeout=_seconds,
        idle_timeout=_seconds,
        max_lifetime=_seconds,
        health_check_interval=_seconds,
        transaction_timeout=st.none() | _seconds,
    )
)


def _values(kind: Any) -> st.SearchStrategy[Any]:
    """Any value a field of type ``kind`` may hold and a user may write."""
    args = typing.get_args(kind)
    if typing.get_origin(kind) in (typing.Union, types.UnionType):
        return st.one_of([st.none() if a is type(None) else _values(a) for a in args])
    if typing.get_origin(kind) is dict:
        return st.dictionaries(_text, _text, max_size=3)
    if kind is PoolSettings:
        return _pools
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        return st.sampled_from(list(kind))
    simple: dict[Any, st.SearchStrategy[Any]] = {
        bool: st.booleans(),
        int: st.integers(1, 2**40),
        float: _seconds,
        str: _text,
    }
    return simple[kind]


def _instances(cls: type) -> st.SearchStrategy[Any]:
    hints = typing.get_type_hints(cls)
    fields = {f.name: _values(hints[f.name]) for f in attrs.fields(cls)}
    return st.fixed_dictionaries(fields).map(lambda kwargs: cls(**kwargs))


_CACHE = [MemorySettings, RedisSettings, MemcachedSettings, FileSettings, ProxySettings]


@settings(max_examples=60, deadline=None)
@given(st.one_of([_instances(cls) for cls in _CACHE]))
def test_every_cache_settings_round_trips_through_its_type_tag(value: Any) -> None:
    data = unstructure_config(value, CacheSettings)
    assert data["type"] in {"memory", "redis", "memcached", "file", "proxy"}
    assert cache_settings(data) == value


@settings(max_examples=60, deadline=None)
@given(_instances(DatabaseSettings))
def test_database_settings_round_trip(value: DatabaseSettings) -> None:
    assert database_settings(unstructure_config(value)) == value


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        _instances(OrchestratorDiscoverySettings),
        st.builds(RedisDiscoverySettings, url=_text, prefix=_text, ttl=st.none() | _seconds),
    )
)
def test_discovery_settings_round_trip_through_their_backend_tag(value: Any) -> None:
    assert discovery_settings(unstructure_config(value, DiscoverySettings)) == value


@settings(max_examples=40, deadline=None)
@given(
    st.one_of(
        _instances(MessagingSettings), _instances(RegistrationSettings), _instances(ChannelOptions)
    )
)
def test_messaging_registration_and_channel_settings_round_trip(value: Any) -> None:
    again = structure_config(unstructure_config(value), type(value), root="x")
    assert again == value


_policies = st.one_of(
    _instances(NoReconnect),
    _instances(FixedInterval),
    st.builds(
        ExponentialBackoff,
        initial_delay=_seconds,
        max_delay=_seconds,
        multiplier=_seconds,
        jitter=st.floats(0, 1),
        max_attempts=st.none() | st.integers(1, 100),
        reset_after=_seconds,
    ),
)


@settings(max_examples=40, deadline=None)
@given(_policies)
def test_reconnect_policies_round_trip_through_their_type_tag(value: Any) -> None:
    assert policy_from_dict(unstructure_config(value, ReconnectPolicy)) == value


@pytest.mark.parametrize(
    ("config", "line"),
    [
        (
            {"type": "memory", "max_sise": 3},
            "cache_config for memory: unknown key 'max_sise' (did you mean 'max_size'?)",
        ),
        (
            {"type": "redis", "port": "six"},
            "cache_config['port'] must be a number, not 'six'",
        ),
        ({"type": "redis", "tls": "yes"}, "cache_config['tls'] must be True or False, not 'yes'"),
        ({"type": "file"}, "cache_config for file needs directory"),
        (
            {"type": "mongo"},
            "cache_config: type 'mongo' is not one of file, memcached, memory, proxy, redis",
        ),
        ({"type": "memcahced"}, "(did you mean 'memcached'?)"),
        ({"max_size": 1, "max_entries": 2}, "cache_config: give 'max_entries' or 'max_size'"),
        ("memory", "cache_config must be a dict, not str"),
    ],
)
def test_a_cache_config_mistake_is_one_line_with_the_key_path(config: Any, line: str) -> None:
    with pytest.raises(CacheConfigError) as caught:
        cache_settings(config)
    message = str(caught.value)
    assert "\n" not in message
    assert line in message


@pytest.mark.parametrize(
    ("config", "line"),
    [
        (
            {"pool_config": {"max_connections": "many"}},
            "database_config['pool_config']['max_connections'] must be a number, not 'many'",
        ),
        (
            {"pool_config": {"max_conections": 3}},
            "database_config['pool_config']: unknown key 'max_conections' "
            "(did you mean 'max_connections'?)",
        ),
        (
            {"extra_params": {"sslcert": 3}},
            "database_config['extra_params']['sslcert'] must be a string, not 3",
        ),
        (
            {"type": "oracle"},
            "database_config['type']: unknown database type 'oracle'; "
            "use postgresql, mysql or sqlite",
        ),
        ({"user": "a", "username": "b"}, "database_config: give 'username' or 'user', not both"),
    ],
)
def test_a_database_config_mistake_names_the_nested_key(config: Any, line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        database_settings(config)
    assert str(caught.value) == line


def test_an_unknown_key_without_a_close_match_lists_the_allowed_keys() -> None:
    with pytest.raises(ConfigError) as caught:
        discovery_settings({"backend": "redis", "url": "redis://h", "zzz": 1})
    assert str(caught.value) == (
        "service_discovery_config for redis: unknown key 'zzz'; known: backend, prefix, ttl, url"
    )


def test_an_enum_without_a_parser_names_its_values_and_the_closest() -> None:
    @attrs.frozen(kw_only=True)
    class Shaped:
        kind: _Colour

    with pytest.raises(ConfigError) as caught:
        structure_config({"kind": "gren"}, Shaped, root="shape")
    assert str(caught.value) == (
        "shape['kind'] must be one of red, green, not 'gren' (did you mean 'green'?)"
    )
    assert structure_config({"kind": "GREEN"}, Shaped, root="shape") == Shaped(kind=_Colour.GREEN)


class _Colour(enum.Enum):
    RED = "red"
    GREEN = "green"


def test_channel_preferences_are_a_preset_or_five_flags() -> None:
    assert preferences_from_dict({"preset": "ipc_only"}) == ChannelPreferences.ipc_only()
    assert preferences_from_dict({"use_tcp": False}) == ChannelPreferences(use_tcp=False)
    with pytest.raises(ConfigError) as caught:
        preferences_from_dict({"use_tpc": False})
    assert (
        str(caught.value) == "channel_preferences: unknown key 'use_tpc' (did you mean 'use_tcp'?)"
    )
    with pytest.raises(ConfigError, match=r"not 'tcp_onyl' \(did you mean 'tcp_only'\?\)"):
        preferences_from_dict({"preset": "tcp_onyl"})


@pytest.mark.parametrize(
    ("entry", "line"),
    [
        ({"path": "/a", "methods": "GET"}, "endpoints[0]['methods'] must be a list, not 'GET'"),
        (
            {"path": "/a", "methods": ["GET", 1]},
            "endpoints[0]['methods'][1] must be a string, not 1",
        ),
        ({"pth": "/a"}, "endpoints[0]: unknown key 'pth' (did you mean 'path'?)"),
    ],
)
def test_an_endpoint_dict_is_read_strictly(entry: dict[str, Any], line: str) -> None:
    with pytest.raises(ConfigError) as caught:
        ModuleConfig.from_kwargs(endpoints=[entry])
    assert str(caught.value) == line
    good = ModuleConfig.from_kwargs(endpoints=[{"path": "/a", "methods": ["post"], "auth": "jwt"}])
    assert good.announced()[0].methods == ["POST"]


def test_a_stream_idle_timeout_must_be_positive() -> None:
    good = structure_config({"stream_idle_timeout": 5}, MessagingSettings, root="messaging_config")
    assert good.stream_idle_timeout == 5.0
    assert MessagingSettings().stream_idle_timeout == 120.0
    with pytest.raises(ConfigError, match="'stream_idle_timeout' must be > 0"):
        structure_config({"stream_idle_timeout": 0}, MessagingSettings, root="messaging_config")

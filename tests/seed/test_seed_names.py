"""The seed's names, as its PHASE2 page writes them, with ``pywatt_sdk`` renamed ``pywatt``.

Each test here failed before the name existed; the snippets themselves run inside real
modules in ``test_seed_snippets.py``.
"""

from __future__ import annotations

import pytest

from pywatt import ConfigError
from pywatt.wire import DatabaseType, InitBlob, ServiceType, TcpChannelConfig, encode_json


def test_database_type_postgresql_is_the_seed_spelling_of_postgres() -> None:
    assert DatabaseType.POSTGRESQL is DatabaseType.POSTGRES
    assert encode_json(DatabaseType.POSTGRESQL) == b'"postgres"'
    assert list(DatabaseType) == [DatabaseType.POSTGRES, DatabaseType.MYSQL, DatabaseType.SQLITE]


def test_service_type_carries_the_seed_service_names() -> None:
    assert ServiceType.custom("user_management") == ServiceType.USER_MANAGEMENT
    assert ServiceType.custom("analytics") == ServiceType.ANALYTICS
    assert encode_json(ServiceType.USER_MANAGEMENT) == b'{"Custom":"user_management"}'
    from pywatt.discovery import ServiceTypes

    assert ServiceTypes.ANALYTICS is ServiceType.ANALYTICS  # the older name stays an alias


def test_jwt_config_takes_the_seeds_algorithm_keyword() -> None:
    from pywatt.jwt import JwtConfig

    jwt_config = JwtConfig(secret_key="your-secret", algorithm="HS256")
    assert jwt_config.algorithms == ("HS256",)
    assert JwtConfig.from_value({"secret_key": "k", "algorithm": "RS256"}).algorithms == ("RS256",)


def test_jwt_config_takes_the_reference_sdks_verify_switches_where_they_agree() -> None:
    from pywatt.jwt import JwtConfig

    config = JwtConfig.from_value({"secret_key": "k", "algorithm": "HS256", "verify_exp": True})
    assert config.required_claims == ("exp",)
    assert JwtConfig(secret_key="k", verify_aud=True, audience="api").audience == ("api",)
    assert JwtConfig(secret_key="k", verify_aud=False, verify_iss=False).audience == ()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"verify_exp": False}, "verify_exp=False is not supported: pywatt checks exp whenever "
         "a token has one; pass required_claims=() to also accept tokens without exp"),
        ({"verify_aud": True}, "verify_aud=True needs the audience to check: pass audience=..."),
        ({"verify_iss": False, "issuer": "me"}, "verify_iss=False with an issuer: pywatt checks "
         "the issuer whenever one is given; leave issuer out instead"),
    ],
)  # fmt: skip
def test_a_verify_switch_pywatt_would_not_honour_is_one_line_saying_what_to_pass(
    options: dict[str, object], message: str
) -> None:
    from pywatt.jwt import JwtConfig, JwtConfigError

    with pytest.raises(JwtConfigError) as caught:
        JwtConfig.from_value({"secret_key": "k", **options})
    assert str(caught.value) == message


def _init(**channels: object) -> InitBlob:
    return InitBlob(
        orchestrator_api="http://127.0.0.1:9", module_id="m", env={}, listen="127.0.0.1:1",
        **channels,  # type: ignore[arg-type]
    )  # fmt: skip


def test_tcp_config_takes_the_seeds_timeout_and_enable_tls_keys() -> None:
    from pywatt.channels import channel_configs

    tcp_config = {"host": "127.0.0.1", "port": 4100, "pool_size": 10, "timeout": 30,
                  "enable_tls": True}  # fmt: skip
    (tcp,) = channel_configs(
        _init(), enable_tcp=True, enable_ipc=False, tcp_config=tcp_config, ipc_config=None,
        version="1",
    )  # fmt: skip
    assert (tcp.address, tcp.pool_size, tcp.connect_timeout) == ("127.0.0.1:4100", 10, 30)
    assert tcp.tls is not None
    with pytest.raises(ConfigError, match="give 'connect_timeout' or 'timeout', not both"):
        channel_configs(
            _init(), enable_tcp=True, enable_ipc=False, ipc_config=None, version="1",
            tcp_config={"port": 1, "timeout": 3, "connect_timeout": 4},
        )  # fmt: skip


def test_tls_asked_for_over_a_plain_tcp_offer_is_said_not_silently_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from pywatt.channels import channel_configs

    offered = TcpChannelConfig(address="127.0.0.1:4100", tls_enabled=False, required=False)  # type: ignore[arg-type]
    (tcp,) = channel_configs(
        _init(tcp_channel=offered), enable_tcp=True, enable_ipc=False, ipc_config=None,
        tcp_config={"host": "127.0.0.1", "port": 0, "timeout": 30, "enable_tls": True},
        version="1",
    )  # fmt: skip
    assert tcp.tls is None
    assert "tcp_config asks for TLS but the orchestrator offers plain TCP" in caplog.text


def test_the_seeds_reconnect_policy_names_work() -> None:
    from pywatt.channels import ExponentialBackoff, FixedInterval, policy_from_dict

    assert isinstance(policy_from_dict({"type": "FixedInterval", "delay": 1}), FixedInterval)
    assert isinstance(policy_from_dict({"type": "ExponentialBackoff"}), ExponentialBackoff)


def test_enable_jwt_alone_validates_through_the_orchestrator() -> None:
    from pywatt import ModuleConfig
    from pywatt.jwt import JWT_ACTOR
    from pywatt.module._data import data_specs

    config = ModuleConfig.from_kwargs(enable_jwt=True)
    assert config.jwt_enabled
    (jwt,) = data_specs(config, _init())
    assert jwt.name == JWT_ACTOR
    validator = jwt.factory()  # type: ignore[union-attr]
    assert validator.config.validation == "proxy"


def test_the_seeds_names_import_from_pywatt_and_its_security_package() -> None:
    from pywatt import (  # noqa: F401
        AnnouncedEndpoint,
        AppState,
        CacheType,
        DatabaseType,
        JwtClaims,
        JwtConfig,
        ServiceType,
        extract_jwt_claims,
        pywatt_module,
    )
    from pywatt.security import create_jwt_middleware

    assert CacheType.REDIS.value == "Redis"
    assert callable(create_jwt_middleware)


def test_every_appstate_name_the_seed_lists_is_there() -> None:
    from pywatt import AppState
    from pywatt.cache import CacheFacade, EvictionPolicy
    from pywatt.db import DatabaseFacade

    listed = [
        "get_secret", "set_secret", "execute_query", "cache_get", "cache_set", "send_message",
        "send_request", "register_service_provider", "discover_service_providers",
        "validate_jwt_token", "close", "channel_health", "channel_capabilities",
    ]  # fmt: skip
    assert [name for name in listed if not callable(getattr(AppState, name, None))] == []
    assert isinstance(AppState.database, property)
    assert isinstance(AppState.cache, property)
    cache_ops = ["exists", "set_nx", "get_set", "increment", "decrement", "get_many", "stats"]
    assert [name for name in cache_ops if not hasattr(CacheFacade, name)] == []
    assert callable(DatabaseFacade.transaction)
    assert {p.name for p in EvictionPolicy} >= {"LRU", "LFU", "FIFO", "RANDOM"}


def test_the_seeds_secret_provider_names_work() -> None:
    from pywatt import ModuleConfig

    config = ModuleConfig.from_kwargs(secret_providers=["environment", "memory", "orchestrator"])
    assert config.provider_chain() == [
        "pywatt.secrets.env",
        "pywatt.secrets.memory",
        "pywatt.secrets.orchestrator",
    ]

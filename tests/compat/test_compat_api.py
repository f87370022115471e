"""pywatt.compat without a running module: the reference names, AppConfig's translation,
what is refused and how, the standalone JWT helpers and the log helpers."""

from __future__ import annotations

import logging
import time
from typing import Optional

import pytest

import pywatt
import pywatt.compat as compat
from pywatt.compat import AppConfig, NotSupported
from pywatt.compat._config import options_from_app_config

# What the reference SDK's own examples and README import, by subpackage.
REFERENCE_IMPORTS = {
    "pywatt_sdk": [
        "pywatt_module", "AppState", "AppConfig", "AnnouncedEndpoint", "info", "init_module",
        "safe_log", "PyWattSDKError", "ConfigError", "SecretError", "InitBlob", "AnnounceBlob",
        "EndpointAnnounce", "Secret", "SecretClient", "RequestMode", "get_secret",
        "get_secrets", "subscribe_secret_rotations", "get_typed_secret", "get_string_secret",
        "get_bool_secret", "get_int_secret", "get_float_secret", "JwtConfig", "JwtClaims",
        "JwtError", "create_jwt_middleware", "extract_jwt_claims", "ServiceType",
        "ServiceProviderInfo", "HealthStatus", "ModuleInfo", "Capabilities", "DatabaseType",
        "DatabaseConfig", "CacheType", "CacheConfig", "ChannelType", "ChannelPreferences",
        "ChannelCapabilities", "EncodingFormat", "InternalMessagingError",
    ],
    "pywatt_sdk.security": [
        "JwtAuthError", "JwtValidator", "create_jwt_token", "SecretNotFoundError",
        "SecretString", "get_module_secret_client", "get_global_secret_client",
        "register_secret_for_redaction", "redact_secrets",
    ],
}  # fmt: skip
UNSUPPORTED = {
    "read_init": "@pywatt_module reads the InitBlob",
    "bootstrap_module": "@pywatt_module reads the InitBlob",
    "serve_module": "return the app from create_app",
    "run_module": "declare the module with @pywatt_module",
    "TcpChannel": "pywatt opens the channels the orchestrator offers",
    "IpcChannel": "pywatt opens the channels the orchestrator offers",
    "create_database_connection": "give the module a database_config",
    "create_cache_service": "give the module a cache_config",
    "create_messaging_client": "use state.internal_messaging_client or state.send_request",
    "ServiceDiscoveryClient": "use state.register_service_provider",
    "FlaskJwtManager": "use create_jwt_middleware(framework, config)",
    "Config": "pass the module's options to @pywatt_module",
}


def test_every_name_a_reference_module_imports_is_in_compat() -> None:
    missing = [n for names in REFERENCE_IMPORTS.values() for n in names if not hasattr(compat, n)]
    assert missing == []


def test_the_reference_error_names_are_pywatts_errors_and_catch_them() -> None:
    import pywatt.db
    from pywatt.link import InitBlobError

    assert compat.HandshakeError is InitBlobError
    assert compat.BootstrapError is pywatt.PywattError
    with pytest.raises(compat.DatabaseError):
        raise pywatt.db.QueryError("syntax error at or near SELEC")


def test_names_that_agree_are_pywatts_own_objects() -> None:
    assert compat.ServiceType is pywatt.ServiceType
    assert compat.JwtConfig is pywatt.JwtConfig
    assert compat.DatabaseType is pywatt.DatabaseType
    assert compat.PyWattSDKError is pywatt.PywattError
    assert compat.RequestMode.FORCE_REMOTE.name == "FORCE_REMOTE"
    assert issubclass(compat.AppState, pywatt.AppState)


@pytest.mark.parametrize(("name", "instead"), sorted(UNSUPPORTED.items()))
def test_an_unsupported_name_imports_and_refuses_on_use_in_one_line(
    name: str, instead: str
) -> None:
    value = getattr(compat, name)
    _ = Optional[value]  # usable in annotations  # noqa: UP045
    with pytest.raises(NotSupported) as caught:
        value() if not isinstance(value, type) else value("x")
    message = str(caught.value)
    assert message.startswith(f"pywatt.compat: {name} is not supported: ")
    assert instead in message
    assert "\n" not in message
    assert isinstance(caught.value, pywatt.ConfigError)  # a module using it exits 78
    if isinstance(value, type):
        with pytest.raises(NotSupported):
            _ = value.connect


def test_an_unknown_name_is_still_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        _ = compat.nope


def test_app_config_becomes_module_options() -> None:
    options = options_from_app_config(
        AppConfig(
            database_config={"type": "sqlite"},
            cache_config={"type": "memory"},
            jwt_config={"secret_key": "k", "algorithm": "HS256"},
            tcp_config={"pool_size": 2},
            ipc_timeout_ms=5000,
            ipc_only=True,
            enable_module_registration=False,
            secret_config={"cache_ttl": 60},
        )
    )
    assert options == {
        "enable_service_discovery": True,
        "enable_module_registration": False,
        "tcp_config": {"pool_size": 2},
        "database_config": {"type": "sqlite"},
        "cache_config": {"type": "memory"},
        "jwt_config": {"secret_key": "k", "algorithm": "HS256"},
        "messaging_config": {"default_timeout": 5.0},
        "enable_tcp": False,
        "secret_cache_ttl": 60,
    }
    assert pywatt.ModuleConfig.from_kwargs(**options).database_enabled
    off = options_from_app_config(AppConfig(enable_advanced_features=False))
    assert off["enable_internal_messaging"] is False
    assert off["enable_service_discovery"] is False


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (AppConfig(failover_config={"retries": 3}), "AppConfig.failover_config is not supported"),
        (AppConfig(message_format_primary="msgpack"), "pywatt sends JSON between modules"),
        (AppConfig(secret_config={"provider": "vault"}), "unknown key 'provider'"),
    ],
)
def test_app_config_refuses_what_pywatt_would_not_honour(config: AppConfig, message: str) -> None:
    with pytest.raises(pywatt.ConfigError) as caught:
        options_from_app_config(config)
    assert message in str(caught.value)


def test_jwt_validator_and_create_jwt_token_round_trip() -> None:
    config = {"secret_key": "compat-test-secret-0123456789abcdef", "algorithm": "HS256",
              "verify_exp": True}  # fmt: skip
    token = compat.create_jwt_token({"sub": "ada", "exp": int(time.time()) + 60}, config)
    claims = compat.JwtValidator(config).validate_token(token)
    assert claims["sub"] == "ada"
    assert isinstance(compat.JwtValidator(config, compat.JwtClaims).validate_token(token).sub, str)
    other = compat.create_jwt_token({"sub": "eve", "exp": int(time.time()) + 60},
                                    {"secret_key": "another-secret-0123456789abcdef"})  # fmt: skip
    with pytest.raises(compat.JwtAuthError):
        compat.JwtValidator(config).validate_token(other)
    header = compat.JwtValidator(config).extract_token_from_header(f"Bearer {token}")
    assert header == token


def test_log_helpers_log_with_fields(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    compat.info("user created", user_id=7, module="users")
    compat.safe_log("warning", "slow", ms=900)
    records = [(r.levelname, r.getMessage(), getattr(r, "user_id", None)) for r in caplog.records]
    assert ("INFO", "user created", 7) in records
    assert getattr(caplog.records[0], "module_", None) == "users"  # a LogRecord name, renamed
    assert ("WARNING", "slow", None) in records


def test_redaction_helpers_use_pywatts_redactor() -> None:
    compat.register_secret_for_redaction("compat-secret-value-42")
    assert "compat-secret-value-42" not in compat.redact_secrets("x compat-secret-value-42 y")

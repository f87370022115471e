"""The reference SDK's ``AppConfig`` and ``EncodingFormat``, turned into pywatt options.

``@pywatt_module(config=AppConfig(...))`` (or a dict of the same keys) sets the module
options the fields stand for; what pywatt cannot honour is refused in one line naming what
to do instead, never dropped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, Final

import attrs

from pywatt._errors import ConfigError
from pywatt._suggest import unknown_keys

from ._errors import NotSupported

__all__ = ["AppConfig", "EncodingFormat", "options_from_app_config"]


class EncodingFormat(enum.Enum):
    """Message encodings the reference SDK names. Messages between pywatt modules are JSON
    (the Rust SDK's format); the cache may also store MessagePack (``codec``)."""

    JSON = "json"
    MSGPACK = "msgpack"
    BINCODE = "bincode"


_PLACEHOLDERS: Final = ("routing_config", "failover_config", "sla_config", "alert_config",
                        "stream_config")  # fmt: skip


@attrs.define(kw_only=True)
class AppConfig:
    """The reference SDK's application configuration (same field names and defaults).

    Pass it as ``@pywatt_module(config=AppConfig(...))``: ``tcp_config``, ``ipc_config``,
    ``database_config``, ``cache_config``, ``jwt_config``, ``enable_service_discovery`` and
    ``enable_module_registration`` become the module options of the same names;
    ``ipc_timeout_ms`` the messaging deadline; ``ipc_only`` turns TCP off;
    ``enable_advanced_features=False`` turns messaging, discovery and registration off;
    ``secret_config`` takes ``cache_ttl`` and ``cache_size``. The reference's placeholders
    (``routing_config``, ``failover_config``, ``sla_config``, ``alert_config``,
    ``stream_config``) and a primary format other than JSON are refused with
    :class:`~pywatt.compat.NotSupported`. ``state.config`` is this object.
    """

    message_format_primary: EncodingFormat | str | None = EncodingFormat.JSON
    message_format_secondary: EncodingFormat | str | None = EncodingFormat.MSGPACK
    ipc_timeout_ms: int | None = 30000
    ipc_only: bool = False
    enable_advanced_features: bool = True
    tcp_config: dict[str, Any] | None = None
    ipc_config: dict[str, Any] | None = None
    enable_service_discovery: bool = True
    enable_module_registration: bool = True
    database_config: dict[str, Any] | None = None
    cache_config: dict[str, Any] | None = None
    jwt_config: dict[str, Any] | None = None
    secret_config: dict[str, Any] | None = None
    routing_config: dict[str, Any] | None = None
    failover_config: dict[str, Any] | None = None
    sla_config: dict[str, Any] | None = None
    alert_config: dict[str, Any] | None = None
    stream_config: dict[str, Any] | None = None

    @classmethod
    def from_value(cls, value: AppConfig | Mapping[str, Any]) -> AppConfig:
        """Itself, or one built from a dict of its field names (unknown keys refused)."""
        if isinstance(value, AppConfig):
            return value
        if not isinstance(value, Mapping):
            raise ConfigError(f"config must be an AppConfig or a dict, not {type(value).__name__}")
        unknown = sorted(set(value) - set(attrs.fields_dict(cls)))
        if unknown:
            raise ConfigError(f"config: {unknown_keys('key', unknown, attrs.fields_dict(cls))}")
        return cls(**value)


def _format(value: EncodingFormat | str | None) -> EncodingFormat | None:
    if value is None or isinstance(value, EncodingFormat):
        return value
    try:
        return EncodingFormat(str(value).lower())
    except ValueError:
        raise ConfigError(f"unknown message format {value!r} (json, msgpack)") from None


def options_from_app_config(config: AppConfig) -> dict[str, Any]:
    """The pywatt module options ``config`` stands for. Raises :class:`NotSupported`."""
    for name in _PLACEHOLDERS:
        if getattr(config, name) is not None:
            raise NotSupported(
                f"AppConfig.{name}",
                "the reference SDK never implemented it; leave it out (pywatt picks the "
                "channel by channel_preferences and restarts what fails by supervision)",
            )
    if _format(config.message_format_primary) not in (None, EncodingFormat.JSON):
        raise NotSupported(
            "a primary message format other than JSON",
            "pywatt sends JSON between modules, as the Rust SDK does",
        )
    if _format(config.message_format_secondary) is EncodingFormat.BINCODE:
        raise NotSupported("the Bincode message format", "leave message_format_secondary out")
    options: dict[str, Any] = {
        "enable_service_discovery": config.enable_service_discovery,
        "enable_module_registration": config.enable_module_registration,
    }
    for name in ("tcp_config", "ipc_config", "database_config", "cache_config", "jwt_config"):
        if getattr(config, name) is not None:
            options[name] = getattr(config, name)
    if config.ipc_timeout_ms is not None:
        options["messaging_config"] = {"default_timeout": config.ipc_timeout_ms / 1000}
    if config.ipc_only:
        options["enable_tcp"] = False
    if not config.enable_advanced_features:
        options.update(
            enable_internal_messaging=False,
            enable_service_discovery=False,
            enable_module_registration=False,
        )
    secret = dict(config.secret_config or {})
    if "cache_ttl" in secret:
        options["secret_cache_ttl"] = secret.pop("cache_ttl")
    if "cache_size" in secret:
        options["secret_cache_size"] = secret.pop("cache_size")
    if secret:
        known = ("cache_ttl", "cache_size")
        raise ConfigError(f"AppConfig.secret_config: {unknown_keys('key', secret, known)}")
    return options

"""The module's ``messaging_config``, ``service_discovery_config`` and
``registration_config`` read as data by the one converter (``pywatt._config``).

``service_discovery_config`` is a tagged union on ``backend``: ``orchestrator`` (the default)
or ``redis`` with ``url``, ``prefix`` and ``ttl``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Final

import attrs

from pywatt._config import register_tagged_union, structure_config

__all__ = [
    "DiscoverySettings",
    "MessagingSettings",
    "OrchestratorDiscoverySettings",
    "RedisDiscoverySettings",
    "RegistrationSettings",
    "discovery_settings",
    "messaging_settings",
    "registration_settings",
]

DEFAULT_PREFIX: Final = "pywatt:discovery"


@attrs.frozen(kw_only=True)
class MessagingSettings:
    """``messaging_config``: the router's default reply timeout and in-flight bound, and
    the seconds a stream may stand still with nobody taking its chunks (docs/streams.md)."""

    default_timeout: float = 30.0
    max_in_flight: int = 1024
    stream_idle_timeout: float = attrs.field(default=120.0, validator=attrs.validators.gt(0))


@attrs.frozen(kw_only=True)
class RegistrationSettings:
    """``registration_config``: how the module names itself when it registers, and the
    seconds between its heartbeats."""

    name: str | None = None
    version: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    heartbeat_interval: float = 30.0


@attrs.frozen(kw_only=True)
class OrchestratorDiscoverySettings:
    """``{"backend": "orchestrator"}``: providers registered with the orchestrator."""


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError(f"{attribute.name} must be a positive number, not {value}")


@attrs.frozen(kw_only=True)
class RedisDiscoverySettings:
    """``{"backend": "redis", "url": ...}``: providers kept in Redis under ``prefix``;
    ``ttl``: the seconds a provider outlives its module (None: the actor's default)."""

    url: str
    prefix: str = DEFAULT_PREFIX
    ttl: float | None = attrs.field(default=None, validator=_positive)


DiscoverySettings = OrchestratorDiscoverySettings | RedisDiscoverySettings

register_tagged_union(
    DiscoverySettings,
    {"orchestrator": OrchestratorDiscoverySettings, "redis": RedisDiscoverySettings},
    tag="backend",
    default="orchestrator",
)


def messaging_settings(config: Mapping[str, Any] | None) -> MessagingSettings:
    """``messaging_config`` read; raises :class:`~pywatt.ConfigError` naming the key."""
    settings: MessagingSettings = structure_config(
        config or {}, MessagingSettings, root="messaging_config"
    )
    return settings


def registration_settings(config: Mapping[str, Any] | None) -> RegistrationSettings:
    """``registration_config`` read; raises :class:`~pywatt.ConfigError` naming the key."""
    settings: RegistrationSettings = structure_config(
        config or {}, RegistrationSettings, root="registration_config"
    )
    return settings


def discovery_settings(config: Mapping[str, Any] | None) -> DiscoverySettings:
    """``service_discovery_config`` read; raises :class:`~pywatt.ConfigError` naming the key."""
    settings: DiscoverySettings = structure_config(
        config or {}, DiscoverySettings, root="service_discovery_config"
    )
    return settings

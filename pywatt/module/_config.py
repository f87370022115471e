"""A module's configuration: the seed's decorator keywords, checked once, up front."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from pywatt._errors import ConfigError, NotAvailableYet
from pywatt.wire import EndpointAnnounce, InitBlob


@attrs.frozen
class AnnouncedEndpoint:
    """An endpoint the module announces: a path, its methods, and an auth label (``"jwt"``)."""

    path: str
    methods: Sequence[str] = ("GET",)
    auth: str | None = None

    def to_wire(self, version: str | None = None) -> EndpointAnnounce:
        """The announce entry, with the path under ``/{version}`` when a version is set."""
        path = self.path if version is None else f"/{version.strip('/')}/{self.path.lstrip('/')}"
        return EndpointAnnounce(
            path=path, methods=[m.upper() for m in self.methods], auth=self.auth
        )


StateBuilder = Callable[[InitBlob, dict[str, str]], Any | Awaitable[Any]]

# The seed's feature flags, and why each is not usable yet. Each names the part of pywatt that
# has to land first; until then asking for it is an error, never silently ignored.
_NOT_BUILT: dict[str, str] = {
    "enable_database": "the database layer",
    "enable_cache": "the cache layer",
    "enable_jwt": "JWT authentication",
}
_CONFIGS: dict[str, str] = {
    "database_config": "enable_database",
    "cache_config": "enable_cache",
    "jwt_config": "enable_jwt",
}

_DICT_OPTIONS: tuple[str, ...] = (
    "tcp_config",
    "ipc_config",
    "channel_preferences",
    "messaging_config",
    "service_discovery_config",
    "registration_config",
)

BUILT_IN_PROVIDERS = {
    "memory": "pywatt.secrets.memory",
    "env": "pywatt.secrets.env",
    "orchestrator": "pywatt.secrets.orchestrator",
}


@attrs.frozen(kw_only=True)
class ModuleConfig:
    """Everything ``@pywatt_module`` / ``run_module`` accept (the seed's keyword names).

    ``secrets`` are fetched before the module announces (a failure aborts startup).
    ``rotate``: on the orchestrator's ``rotated``, refetch the keys at once and tell
    subscribers (True), or only drop them from the cache so the next use fetches them (False);
    either way the rotation is acknowledged. ``secret_providers`` is the provider chain:
    built-in names (``memory``, ``env``, ``orchestrator``), names of provider actors the module
    starts itself, or actor factories (an ``Actor`` subclass answering ``ProvideSecret``),
    which the module starts under its providers' supervisor before fetching anything.
    ``shutdown_grace`` bounds each actor's graceful stop.

    Channels: ``enable_tcp`` / ``enable_ipc`` None (the default) connect when the InitBlob
    offers the channel, True also from ``tcp_config`` / ``ipc_config`` alone (``host``,
    ``port`` / ``socket_path``, ``reconnect``, ``pool_size``, ``connect_timeout``, ...),
    False never. ``channel_preferences`` is a §6.3 preset (``{"preset": "prefer_ipc"}``) or
    its five flags. ``enable_internal_messaging`` starts the router (``messaging_config``:
    ``default_timeout``, ``max_in_flight``); ``enable_service_discovery`` the discovery
    actor (``service_discovery_config``: ``backend`` ``orchestrator`` or ``redis`` with
    ``url``); ``enable_module_registration`` registers with ``service_capabilities`` and
    reports health (``registration_config``: ``name``, ``description``,
    ``heartbeat_interval``).
    """

    secrets: tuple[str, ...] = ()
    rotate: bool = True
    endpoints: tuple[AnnouncedEndpoint, ...] = ()
    health: str | None = None
    metrics: bool = False
    version: str | None = None
    state_builder: StateBuilder | None = None
    secret_providers: tuple[str | Callable[[], Any], ...] = ("memory", "orchestrator")
    secret_cache_ttl: float | None = 300.0
    secret_cache_size: int = 256
    shutdown_grace: float = 5.0
    log_level: str = "INFO"
    # Channels, messaging, discovery and registration (docs/modules.md).
    enable_tcp: bool | None = None
    enable_ipc: bool | None = None
    enable_internal_messaging: bool = True
    enable_service_discovery: bool = True
    enable_module_registration: bool = False
    tcp_config: Mapping[str, Any] | None = None
    ipc_config: Mapping[str, Any] | None = None
    channel_preferences: Mapping[str, Any] | None = None
    messaging_config: Mapping[str, Any] | None = None
    service_discovery_config: Mapping[str, Any] | None = None
    registration_config: Mapping[str, Any] | None = None
    service_capabilities: tuple[str, ...] = ()

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ModuleConfig:
        """Build from the decorator's keywords; raises :class:`NotAvailableYet` for a feature
        that is asked for but not built, and :class:`ConfigError` for an unknown keyword."""
        for flag, feature in _NOT_BUILT.items():
            if kwargs.pop(flag, False):
                raise NotAvailableYet(feature, f"{flag}=True cannot be honoured")
        for config, flag in _CONFIGS.items():
            if kwargs.pop(config, None) is not None:
                raise NotAvailableYet(_NOT_BUILT[flag], f"{config} was given")
        if kwargs.get("metrics"):
            raise NotAvailableYet("the /metrics endpoint", "it needs pywatt's HTTP serving")
        if kwargs.get("health"):
            raise NotAvailableYet("the /health endpoint", "it needs pywatt's HTTP serving")
        for key in _DICT_OPTIONS:
            value = kwargs.get(key)
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(f"{key} must be a dict, not {type(value).__name__}")
        if isinstance(kwargs.get("service_capabilities"), str):
            raise ConfigError("service_capabilities must be a list, not a string")
        known = set(attrs.fields_dict(cls))
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(f"unknown module option(s): {', '.join(unknown)}")
        for key in ("secrets", "endpoints", "secret_providers", "service_capabilities"):
            if key in kwargs:
                value = kwargs[key]
                if isinstance(value, str):
                    raise ConfigError(f"{key} must be a list, not the string {value!r}")
                kwargs[key] = tuple(value)
        return cls(**kwargs)

    def provider_chain(self) -> list[str]:
        """Actor names of the secret providers, in order (factories get ``custom-<n>`` names)."""
        return [
            BUILT_IN_PROVIDERS.get(entry, entry)
            if isinstance(entry, str)
            else f"pywatt.secrets.custom-{index}"
            for index, entry in enumerate(self.secret_providers)
        ]

    def custom_providers(self) -> list[tuple[str, Callable[[], Any]]]:
        """The provider factories the module starts itself, with their actor names."""
        return [
            (name, entry)
            for name, entry in zip(self.provider_chain(), self.secret_providers, strict=True)
            if not isinstance(entry, str)
        ]

    def announced(self) -> tuple[EndpointAnnounce, ...]:
        """The endpoints to announce, in order."""
        return tuple(e.to_wire(self.version) for e in self.endpoints)


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The InitBlob ``env`` values that are not ``PYWATT_`` declarations."""
    return {k: v for k, v in env.items() if not k.startswith("PYWATT_")}

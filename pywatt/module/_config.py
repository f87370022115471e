"""A module's configuration: the seed's decorator keywords, checked once, up front."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import attrs

from pywatt._config import structure_config
from pywatt._errors import ConfigError
from pywatt._suggest import unknown_keys
from pywatt.wire import EndpointAnnounce, InitBlob

from ._settings import discovery_settings, messaging_settings, registration_settings


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


def _endpoint(entry: object, index: int) -> AnnouncedEndpoint:
    """An ``endpoints`` entry: an :class:`AnnouncedEndpoint`, a dict of its fields (as the
    wire's announce has them) or a bare path. Raises :class:`ConfigError`."""
    where = f"endpoints[{index}]"
    if isinstance(entry, AnnouncedEndpoint):
        return entry
    if isinstance(entry, str):
        return AnnouncedEndpoint(entry)
    if isinstance(entry, Mapping):
        endpoint: AnnouncedEndpoint = structure_config(entry, AnnouncedEndpoint, root=where)
        return endpoint
    raise ConfigError(
        f"{where} must be an AnnouncedEndpoint, a dict with 'path' (and 'methods', 'auth') "
        f"or a path string, not {type(entry).__name__}"
    )


StateBuilder = Callable[[InitBlob, dict[str, str]], Any | Awaitable[Any]]

# Each data-layer flag and the config dict that goes with it: a flag left at None is turned
# on by its config dict; True without a dict uses the embedded default (SQLite, in-memory).
_DATA_FLAGS: dict[str, str] = {
    "enable_database": "database_config",
    "enable_cache": "cache_config",
    "enable_jwt": "jwt_config",
}

_DICT_OPTIONS: tuple[str, ...] = (
    "tcp_config",
    "ipc_config",
    "channel_preferences",
    "messaging_config",
    "service_discovery_config",
    "registration_config",
    "database_config",
    "cache_config",
)

BUILT_IN_PROVIDERS = {
    "memory": "pywatt.secrets.memory",
    "env": "pywatt.secrets.env",
    "environment": "pywatt.secrets.env",  # the seed's name of the same provider
    "orchestrator": "pywatt.secrets.orchestrator",
}


def _health_option(value: object) -> str | bool | None:
    """``health`` as served: True is the default path; a path must start with '/'."""
    if value is True:
        return "/health"
    if value is None or value is False or (isinstance(value, str) and value.startswith("/")):
        return value
    raise ConfigError(
        f"health must be a path starting with '/' (such as '/health'), True for the default "
        f"'/health' or False for none, not {value!r}"
    )


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
    ``url``, ``prefix`` and ``ttl``, the seconds a provider outlives its module, 15 by
    default); ``enable_module_registration`` registers with ``service_capabilities`` and
    reports health (``registration_config``: ``name``, ``description``,
    ``heartbeat_interval``).

    Data and security: ``enable_database`` (``database_config``, the seed's dict; SQLite by
    default), ``enable_cache`` (``cache_config``; in-memory by default) and ``enable_jwt``
    (``jwt_config``; without one, every token is validated by the orchestrator's JWT service,
    the seed's proxy validation) start the ``pywatt.db`` (or ``database_config["name"]``),
    ``cache`` and ``pywatt.jwt`` actors; a flag left at None is turned on by its config dict,
    False keeps the part off. ``database_provider`` / ``cache_provider`` (an actor factory
    answering the database / cache protocol) take the built-in backend's place under its
    name, so ``state.database`` / ``state.cache`` ask it; the config dict then holds only
    what is not the backend's (``name``; ``codec``, ``default_ttl``). ``health``
    (a path; True serves the default ``/health`` even without an app, False serves none; None
    serves ``/health`` beside an app) and ``metrics`` (serve ``/metrics``) are served with the
    module's app, which ``create_app`` returns (see docs/http-and-jwt.md); ``bind_http=False``
    serves it over stdio and the channels only (HTTP over IPC, as the gateway asks), binding
    no port.
    """

    secrets: tuple[str, ...] = ()
    rotate: bool = True
    endpoints: tuple[AnnouncedEndpoint, ...] = ()
    health: str | bool | None = attrs.field(default=None, converter=_health_option)
    metrics: bool = False
    bind_http: bool = True
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
    # Data, cache and JWT (docs/databases.md, docs/cache-backends.md, docs/http-and-jwt.md).
    enable_database: bool | None = None
    enable_cache: bool | None = None
    enable_jwt: bool | None = None
    database_config: Mapping[str, Any] | None = None
    cache_config: Mapping[str, Any] | None = None
    jwt_config: Any = None
    # Providers of the module's own in place of the built-in backends (docs/custom-providers.md).
    database_provider: Callable[[], Any] | None = None
    cache_provider: Callable[[], Any] | None = None

    @property
    def database_enabled(self) -> bool:
        """Whether the module runs a database actor (built-in or ``database_provider``)."""
        if self.database_provider is not None and self.enable_database is None:
            return True
        return _enabled(self.enable_database, self.database_config)

    @property
    def cache_enabled(self) -> bool:
        """Whether the module runs a cache actor (built-in or ``cache_provider``)."""
        if self.cache_provider is not None and self.enable_cache is None:
            return True
        return _enabled(self.enable_cache, self.cache_config)

    @property
    def jwt_enabled(self) -> bool:
        """Whether the module runs a JWT validator."""
        return _enabled(self.enable_jwt, self.jwt_config)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> ModuleConfig:
        """Build from the decorator's keywords; raises :class:`ConfigError` for an unknown
        keyword or a value of the wrong kind."""
        for key in _DICT_OPTIONS:
            value = kwargs.get(key)
            if value is not None and not isinstance(value, Mapping):
                raise ConfigError(f"{key} must be a dict, not {type(value).__name__}")
        if isinstance(kwargs.get("service_capabilities"), str):
            raise ConfigError("service_capabilities must be a list, not a string")
        known = set(attrs.fields_dict(cls))
        unknown = sorted(set(kwargs) - known)
        if unknown:
            raise ConfigError(unknown_keys("module option", unknown, known))
        for key in ("secrets", "endpoints", "secret_providers", "service_capabilities"):
            if key in kwargs:
                value = kwargs[key]
                if isinstance(value, str):
                    raise ConfigError(f"{key} must be a list, not the string {value!r}")
                kwargs[key] = tuple(value)
        if "endpoints" in kwargs:
            kwargs["endpoints"] = tuple(
                _endpoint(entry, index) for index, entry in enumerate(kwargs["endpoints"])
            )
        config = cls(**kwargs)
        # Read once here, so that a mistake is said before anything starts.
        messaging_settings(config.messaging_config)
        registration_settings(config.registration_config)
        discovery_settings(config.service_discovery_config)
        return config

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


def _enabled(flag: bool | None, config: object) -> bool:
    return bool(flag) if flag is not None else config is not None


def secrets_from_env(env: Mapping[str, str]) -> dict[str, str]:
    """The InitBlob ``env`` values that are not ``PYWATT_`` declarations."""
    return {k: v for k, v in env.items() if not k.startswith("PYWATT_")}

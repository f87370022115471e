"""The reference SDK's ``AppState`` over pywatt's: the same methods (most are pywatt's own),
and its client attributes as small adapters that ask the module's actors.

A ported module gets this ``AppState`` from :func:`pywatt.compat.pywatt_module`. It differs
from :class:`pywatt.AppState` only where the reference behaved differently:
``database``, ``cache``, ``jwt_validator``, ``internal_messaging_client`` are None when the
part is off (pywatt raises ``ConfigError``), ``validate_jwt_token(token, claims_type)``
returns a dict by default, and ``send_message`` / ``send_request`` take the reference's
``preferences`` and a target without an endpoint (``"module"`` is ``"module:default"``).
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import attrs

import actors
import pywatt
from pywatt._errors import ConfigError
from pywatt.jwt import Claims, JwtClaims, JwtError, bearer_token, structure_claims
from pywatt.secrets import FetchMode, GetSecret, Secret, SecretRotated, Subscribe
from pywatt.wire import ChannelPreferences

from ._config import AppConfig, EncodingFormat
from ._errors import NotSupported

if TYPE_CHECKING:
    from pywatt.cache import CacheFacade
    from pywatt.db import DatabaseFacade

__all__ = [
    "AppState",
    "InternalMessagingClient",
    "JwtValidatorHandle",
    "SecretClient",
    "TypedSecret",
    "current_state",
]

S = TypeVar("S")
T = TypeVar("T")

SECRETS = "pywatt.secrets"

_CURRENT: list[AppState[Any]] = []


def current_state() -> AppState[Any]:
    """The running module's state (one process is one module). Raises ``ConfigError``
    outside a running module."""
    if not _CURRENT:
        raise ConfigError(
            "no module is running in this process: call this from a module's create_app or "
            "from code it runs"
        )
    return _CURRENT[-1]


@attrs.frozen
class TypedSecret(Generic[T]):
    """A secret value parsed to a type (the reference's ``Secret[int]`` and so on); its repr
    never shows the value."""

    key: str
    value: T = attrs.field(repr=False)

    def expose_secret(self) -> T:
        return self.value

    def __str__(self) -> str:
        return "[REDACTED]"


def _parse(raw: str, target: type[Any]) -> Any:
    if target is bool:
        text = raw.strip().lower()
        if text in ("true", "1", "yes", "on"):
            return True
        if text in ("false", "0", "no", "off"):
            return False
        raise ValueError("not a boolean")
    return target(raw)


class SecretClient:
    """The reference's secret client, over the module's ``pywatt.secrets`` actor. Returned
    secrets are :class:`pywatt.secrets.Secret` (``expose_secret()``, ``key``, ``version``)."""

    def __init__(self, state: pywatt.AppState[Any]) -> None:
        self._state = state
        self.module_id = state.module_id
        self.orchestrator_api = state.orchestrator_api

    async def get_secret(self, key: str, mode: FetchMode = FetchMode.CACHE_THEN_REMOTE) -> Secret:
        return await self._state.system.ask(SECRETS, GetSecret(key, mode))

    async def get_secrets(self, keys: Iterable[str]) -> list[Secret]:
        return [await self.get_secret(key) for key in keys]

    async def set_secret(
        self, key: str, value: str, metadata: Mapping[str, str] | None = None
    ) -> None:
        await self._state.set_secret(key, value, metadata)

    async def get_typed(self, key: str, target_type: type[T]) -> TypedSecret[T]:
        """The secret parsed as ``target_type`` (``str``, ``int``, ``float``, ``bool`` or
        any type built from a string). Raises ``ValueError`` naming the key, not the value."""
        secret = await self.get_secret(key)
        try:
            return TypedSecret(key, _parse(secret.value, target_type))
        except (TypeError, ValueError):
            raise ValueError(f"secret {key!r} is not a valid {target_type.__name__}") from None

    async def get_string(self, key: str) -> TypedSecret[str]:
        return await self.get_typed(key, str)

    async def get_int(self, key: str) -> TypedSecret[int]:
        return await self.get_typed(key, int)

    async def get_float(self, key: str) -> TypedSecret[float]:
        return await self.get_typed(key, float)

    async def get_bool(self, key: str) -> TypedSecret[bool]:
        return await self.get_typed(key, bool)

    def subscribe_to_rotations(self, callback: Callable[..., Any]) -> None:
        raise NotSupported(
            "SecretClient.subscribe_to_rotations",
            "use await subscribe_secret_rotations(client, keys, callback), or "
            "async with state.secret_rotations(keys) as events",
        )

    async def acknowledge_rotation(self, rotation_id: str, *_: Any, **__: Any) -> None:
        raise NotSupported(
            "SecretClient.acknowledge_rotation", "pywatt acknowledges every rotation itself"
        )

    def close(self) -> None:
        """Nothing to close: the secrets actor belongs to the module."""


class _RotationCallback(actors.Actor[SecretRotated]):
    """Calls ``callback(key, new_value)`` for each rotation of ``keys``."""

    def __init__(self, keys: frozenset[str], callback: Callable[[str, str], Any]) -> None:
        self.keys = keys
        self.callback = callback

    async def on_start(self) -> None:
        await self.ctx.system.ask(SECRETS, Subscribe(self.keys, self.ctx.self_ref))

    async def receive(self, message: SecretRotated) -> None:
        result = self.callback(message.secret.name, message.secret.value)
        if hasattr(result, "__await__"):
            await result


async def subscribe_secret_rotations(
    client: SecretClient, keys: Iterable[str], callback: Callable[[str, str], Any]
) -> None:
    """Call ``callback(key, new_value)`` (sync or async) whenever one of ``keys`` rotates,
    from an actor of the module's own (a failing callback is restarted, not lost)."""
    state = client._state
    await state.spawn(lambda: _RotationCallback(frozenset(keys), callback))


class JwtValidatorHandle:
    """``state.jwt_validator``: validates through the module's ``pywatt.jwt`` actor."""

    def __init__(self, state: pywatt.AppState[Any]) -> None:
        self._state = state

    async def validate_token(self, token: str, claims_type: Any = dict) -> Any:
        return convert_claims(await self._state.validate_jwt_token(token), claims_type)

    @staticmethod
    def extract_token_from_header(authorization_header: str | None) -> str:
        if not authorization_header:
            raise JwtError("Missing Authorization header")
        token = bearer_token(authorization_header)
        if token is None:
            raise JwtError("Authorization header must be 'Bearer <token>'")
        return token


def convert_claims(claims: Claims, claims_type: Any) -> Any:
    """Claims as the reference returned them: a dict by default; a :class:`Claims` for
    ``JwtClaims``/None; an attrs class structured from them."""
    if claims_type is None or claims_type is JwtClaims:
        return claims
    if claims_type is dict:
        return dict(claims.raw)
    if attrs.has(claims_type):
        return structure_claims(claims.raw, claims_type)
    if hasattr(claims_type, "from_dict"):
        return claims_type.from_dict(dict(claims.raw))
    raise ConfigError(f"claims_type must be dict, JwtClaims or an attrs class, not {claims_type!r}")


def _seconds(timeout: float | datetime.timedelta | None) -> float | None:
    if isinstance(timeout, datetime.timedelta):
        return timeout.total_seconds()
    return timeout


def _check_encoding(encoding: EncodingFormat | str | None) -> None:
    if encoding is not None and str(getattr(encoding, "value", encoding)).lower() != "json":
        raise NotSupported(
            f"encoding {encoding!r}", "pywatt sends JSON between modules; leave encoding out"
        )


def convert_reply(raw: Any, response_type: Any) -> Any:
    """The reference's reply conversion: as-is for ``dict`` (or no type), ``from_dict`` when
    the type has one, else the type built from the reply's keys."""
    if response_type is None or response_type is dict or response_type is Any:
        return raw
    if hasattr(response_type, "from_dict"):
        return response_type.from_dict(raw)
    if isinstance(raw, Mapping):
        return response_type(**raw)
    return response_type(raw)


class InternalMessagingClient:
    """``state.internal_messaging_client``: the reference's client over the module's router."""

    def __init__(self, state: pywatt.AppState[Any]) -> None:
        self._state = state
        self.module_id = state.module_id

    async def send_request(
        self,
        target_module_id: str,
        target_endpoint: str,
        request_payload: Any,
        response_type: Any = dict,
        timeout: float | datetime.timedelta | None = None,
        encoding: EncodingFormat | str | None = None,
    ) -> Any:
        _check_encoding(encoding)
        raw: Any = await pywatt.AppState.send_request(
            self._state, target_module_id, request_payload, timeout=_seconds(timeout),
            endpoint=target_endpoint,
        )  # fmt: skip
        return convert_reply(raw, response_type)

    async def send_notification(
        self,
        target_module_id: str,
        target_endpoint: str,
        notification_payload: Any,
        encoding: EncodingFormat | str | None = None,
    ) -> None:
        _check_encoding(encoding)
        await pywatt.AppState.send_message(
            self._state, target_module_id, notification_payload, endpoint=target_endpoint
        )

    async def close(self) -> None:
        """Nothing to close: the router belongs to the module."""


def _target(target: str) -> tuple[str, str | None]:
    """``"module:endpoint"`` as pywatt takes it; a bare ``"module"`` is its ``default``
    endpoint, as the reference sent it."""
    if ":" in target or "/" in target:
        return target, None
    return target, "default"


class AppState(pywatt.AppState[S]):
    """The reference SDK's AppState (see the module docstring)."""

    app_config: AppConfig | None = None

    @classmethod
    def of(cls, state: pywatt.AppState[S], app_config: AppConfig | None = None) -> AppState[S]:
        """The compatible view of a running module's ``state``."""
        view = cls(state.system, state.init, state.user_state, state._config, state._runtime)
        view.app_config = app_config
        return view

    # -- the reference's attributes --------------------------------------------------------

    @property
    def config(self) -> AppConfig:
        """The module's ``AppConfig`` (the one given, or one describing its options)."""
        if self.app_config is not None:
            return self.app_config
        options = self._config
        return AppConfig(
            tcp_config=dict(options.tcp_config) if options.tcp_config else None,
            ipc_config=dict(options.ipc_config) if options.ipc_config else None,
            enable_service_discovery=options.enable_service_discovery,
            enable_module_registration=options.enable_module_registration,
            database_config=dict(options.database_config) if options.database_config else None,
            cache_config=dict(options.cache_config) if options.cache_config else None,
            jwt_config=dict(options.jwt_config)
            if isinstance(options.jwt_config, Mapping)
            else None,
        )

    @property
    def database(self) -> DatabaseFacade | None:  # type: ignore[override]
        """The database, or None when the module runs none."""
        return self._database() if self._config.database_enabled else None

    @property
    def cache(self) -> CacheFacade | None:  # type: ignore[override]
        """The cache, or None when the module runs none."""
        return self._cache() if self._config.cache_enabled else None

    @property
    def secret_client(self) -> SecretClient:
        return SecretClient(self)

    @property
    def secret_manager(self) -> SecretClient:
        return SecretClient(self)

    @property
    def jwt_validator(self) -> JwtValidatorHandle | None:
        return JwtValidatorHandle(self) if self._config.jwt_enabled else None

    @property
    def internal_messaging_client(self) -> InternalMessagingClient | None:
        return InternalMessagingClient(self) if self._config.enable_internal_messaging else None

    # -- methods whose reference signature differs -----------------------------------------

    async def validate_jwt_token(self, token: str, claims_type: Any = dict) -> Any:
        """The claims of a valid token as a dict (or as ``claims_type``: ``JwtClaims``, an
        attrs class, a class with ``from_dict``); raises a ``JwtError`` subclass."""
        return convert_claims(await super().validate_jwt_token(token), claims_type)

    def _check_preferences(self, preferences: ChannelPreferences | None) -> None:
        if preferences is None:
            return
        runtime = self._runtime
        current = runtime.channels.preferences if runtime is not None else ChannelPreferences()
        if preferences != current:
            raise NotSupported(
                "channel preferences per message",
                "set channel_preferences=... on the module; every message follows them",
            )

    async def send_message(
        self,
        target: str,
        message: Any,
        preferences: ChannelPreferences | None = None,
        *,
        endpoint: str | None = None,
    ) -> None:
        """A one-way notification to ``"module:endpoint"`` (``"module"``: its ``default``)."""
        self._check_preferences(preferences)
        target, default = _target(target) if endpoint is None else (target, endpoint)
        await super().send_message(target, message, endpoint=default)

    async def send_request(
        self,
        target: str,
        request: Any,
        response_type: Any = Any,
        preferences: ChannelPreferences | None = None,
        *,
        timeout: float | None = None,
        endpoint: str | None = None,
    ) -> Any:
        """A request to ``"module:endpoint"``; the reply as-is, or as ``response_type``."""
        self._check_preferences(preferences)
        target, default = _target(target) if endpoint is None else (target, endpoint)
        if response_type is dict or response_type is None:
            response_type = Any
        return await super().send_request(
            target, request, response_type=response_type, timeout=timeout, endpoint=default
        )

    async def register_service_provider(
        self, service_type: Any, provider_info: Mapping[str, Any] | None = None
    ) -> str:
        """Register as a provider of ``service_type`` (a ``ServiceType``, or its name as a
        string such as ``"analytics"``) with the reference's info dict."""
        return await super().register_service_provider(_service_type(service_type), provider_info)

    async def discover_service_providers(
        self, service_type: Any, *, all_providers: bool = True, capabilities: Any = ()
    ) -> list[Any]:
        return await super().discover_service_providers(
            _service_type(service_type), all_providers=all_providers, capabilities=capabilities
        )

    async def register_module_message_handler(self, source_module_id: str, handler: Any) -> None:
        raise NotSupported(
            "register_module_message_handler",
            "serve an endpoint: await state.serve(endpoint, handler); requests from any "
            "module arrive there",
        )

    async def remove_module_message_handler(self, source_module_id: str) -> None:
        raise NotSupported("remove_module_message_handler", "await state.stop_serving(endpoint)")

    def recommend_channel(self, target: str, preferences: ChannelPreferences | None = None) -> Any:
        """The kind of channel the next message would take (preferences as configured)."""
        self._check_preferences(preferences)
        available = self.available_channels()
        return available[0] if available else None

    def __repr__(self) -> str:
        return (
            f"AppState(module_id={self.module_id!r}, orchestrator_api={self.orchestrator_api!r}, "
            f"channels={self.available_channels()}, user_state={type(self.user_state).__name__})"
        )


def _service_type(value: Any) -> Any:
    from pywatt.wire import ServiceType

    if isinstance(value, ServiceType):
        return value
    if isinstance(value, str):
        builtin = {"database": ServiceType.DATABASE, "cache": ServiceType.CACHE,
                   "jwt": ServiceType.JWT}  # fmt: skip
        return builtin.get(value.lower(), ServiceType.custom(value.lower()))
    raise ConfigError(f"service_type must be a ServiceType or a name, not {value!r}")

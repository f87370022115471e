"""Reference-SDK names pywatt does not carry: importable (so a ported file loads), and any
use raises :class:`NotSupported` in one line that says what to use instead."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NoReturn

from ._errors import NotSupported

__all__ = ["UNSUPPORTED"]

_LIFECYCLE = (
    "@pywatt_module reads the InitBlob, announces and serves the protocol itself: declare "
    "the module with it and return the app from create_app"
)
_SERVE = "return the app from create_app: pywatt serves it (HTTP and HTTP over IPC)"
_CHANNELS = (
    "pywatt opens the channels the orchestrator offers (enable_tcp/tcp_config, "
    "enable_ipc/ipc_config); send with state.send_message and state.send_request"
)
_JWT_MW = "use create_jwt_middleware(framework, config) and extract_jwt_claims(request, framework)"

_INSTEAD: dict[str, str] = {
    "read_init": _LIFECYCLE,
    "send_announce": _LIFECYCLE,
    "process_ipc_messages": _LIFECYCLE,
    "bootstrap_module": _LIFECYCLE,
    "bootstrap_module_legacy": _LIFECYCLE,
    "BootstrapResult": _LIFECYCLE,
    "AppStateExt": "serve an endpoint with await state.serve(endpoint, handler)",
    "run_module": (
        "declare the module with @pywatt_module (or call pywatt.run_module(main, **options), "
        "which runs the module itself: no asyncio.run)"
    ),
    "ModuleApp": "declare the module with @pywatt_module",
    "serve_module": _SERVE,
    "serve_with_options": _SERVE,
    "serve_module_full": _SERVE,
    "serve_module_with_lifecycle": _SERVE,
    "ServeOptions": _SERVE,
    "negotiate_port": "await state.negotiate_port(port)",
    "TcpChannel": _CHANNELS,
    "IpcChannel": _CHANNELS,
    "MessageChannel": _CHANNELS,
    "ConnectionConfig": _CHANNELS,
    "IpcConnectionConfig": _CHANNELS,
    "create_database_connection": (
        "give the module a database_config and use state.database / state.execute_query"
    ),
    "DatabaseConnection": "give the module a database_config and use state.database",
    "create_cache_service": "give the module a cache_config and use state.cache",
    "CacheService": "give the module a cache_config and use state.cache",
    "create_messaging_client": "use state.internal_messaging_client or state.send_request",
    "ServiceDiscoveryClient": (
        "use state.register_service_provider and state.discover_service_providers"
    ),
    "ModuleRegistrationClient": (
        "pass enable_module_registration=True: pywatt registers, sends heartbeats and "
        "unregisters on shutdown"
    ),
    "SecretManager": "use state.secret_client, or state.get_secret and state.set_secret",
    "create_secret_manager": "use state.secret_client, or state.get_secret and state.set_secret",
    "Config": (
        "pass the module's options to @pywatt_module (log_level=..., metrics=True, ...) and "
        "read other settings from os.environ"
    ),
    "Result": "pywatt raises exceptions: catch them (pywatt.PywattError is their base)",
    "FastAPIJwtMiddleware": _JWT_MW,
    "StarletteJwtMiddleware": _JWT_MW,
    "FlaskJwtManager": _JWT_MW,
}


def _refuse(name: str) -> NoReturn:
    raise NotSupported(name, _INSTEAD[name])


class _RefusingMeta(type):
    """Any attribute of an unsupported class (``TcpChannel.connect``) refuses."""

    def __getattr__(cls, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        _refuse(cls.__name__)


def _unsupported_class(name: str) -> type:
    def __new__(cls: type, *args: Any, **kwargs: Any) -> NoReturn:
        _refuse(name)

    return _RefusingMeta(
        name, (), {"__new__": __new__, "__doc__": f"Not supported: {_INSTEAD[name]}."}
    )


def _unsupported_function(name: str) -> Callable[..., NoReturn]:
    def refuse(*args: Any, **kwargs: Any) -> NoReturn:
        _refuse(name)

    refuse.__name__ = refuse.__qualname__ = name
    refuse.__doc__ = f"Not supported: {_INSTEAD[name]}."
    return refuse


UNSUPPORTED: dict[str, Any] = {
    name: _unsupported_class(name) if name[0].isupper() else _unsupported_function(name)
    for name in _INSTEAD
}

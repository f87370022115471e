"""How a module serves its app: where, with which built-in endpoints and limits."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import attrs

from .._errors import ConfigError

DEFAULT_MAX_BODY = 1024 * 1024
"""Request bodies over 1 MiB are refused with 413 unless configured otherwise."""


class _ModuleOptions(Protocol):
    """What :meth:`HttpConfig.from_module_config` reads of a ``ModuleConfig``."""

    @property
    def health(self) -> str | bool | None: ...
    @property
    def metrics(self) -> bool: ...
    @property
    def endpoints(self) -> Sequence[Any]: ...
    @property
    def version(self) -> str | None: ...
    @property
    def shutdown_grace(self) -> float: ...


def _path_or_none(_: object, attribute: attrs.Attribute[Any], value: str | None) -> None:
    if value is not None and not value.startswith("/"):
        raise ConfigError(f"{attribute.name} must be a path starting with '/', not {value!r}")


def _positive(_: object, attribute: attrs.Attribute[Any], value: float) -> None:
    if value <= 0:
        raise ConfigError(f"{attribute.name} must be positive, not {value!r}")


@attrs.frozen(kw_only=True)
class HttpConfig:
    """Serving options.

    ``health`` / ``metrics``: paths of the built-in endpoints (None turns one off).
    ``jwt_paths``: paths (exact, or ending in ``/*`` for a prefix, ``{name}`` for one segment)
    that need a valid ``Authorization: Bearer`` token, checked by the ``pywatt.jwt`` actor
    before the app sees the request; the endpoints announced with ``auth="jwt"``.
    ``max_body_size``: larger request bodies get 413 on both transports. ``bind_host``: the
    address a TCP ``listen`` is served on (docs/protocol.md §8 takes only the port from
    ``listen``). ``max_ipc_concurrency``: HTTP-over-IPC requests dispatched at once.
    ``startup_timeout``: how long the app's lifespan startup may take. ``graceful_timeout``:
    how long open requests may finish when the server stops.
    """

    health: str | None = attrs.field(default="/health", validator=_path_or_none)
    metrics: str | None = attrs.field(default="/metrics", validator=_path_or_none)
    jwt_paths: tuple[str, ...] = attrs.field(default=(), converter=tuple)
    max_body_size: int = attrs.field(default=DEFAULT_MAX_BODY, validator=_positive)
    bind_host: str = "127.0.0.1"
    max_ipc_concurrency: int = attrs.field(default=64, validator=_positive)
    startup_timeout: float = attrs.field(default=10.0, validator=_positive)
    graceful_timeout: float = attrs.field(default=3.0, validator=_positive)
    wsgi_threads: int = attrs.field(default=8, validator=_positive)

    @classmethod
    def from_module_config(cls, config: _ModuleOptions, **overrides: Any) -> HttpConfig:
        """The serving options a module's configuration implies.

        ``/health`` is served at ``config.health`` (``/health`` when it is None or True, not
        at all when it is False), ``/metrics`` only
        when ``config.metrics`` is true; the endpoints announced with ``auth="jwt"`` (under
        ``/{version}`` when a version is set) are protected. ``overrides`` are passed on.
        """
        version = config.version
        jwt_paths = []
        for endpoint in config.endpoints:
            if getattr(endpoint, "auth", None) == "jwt":
                path = endpoint.path
                if version is not None:
                    path = f"/{version.strip('/')}/{path.lstrip('/')}"
                jwt_paths.append(path)
        health = config.health
        options: dict[str, Any] = {
            "health": "/health" if health is None or health is True else health or None,
            "metrics": "/metrics" if config.metrics else None,
            "jwt_paths": tuple(jwt_paths),
            "graceful_timeout": max(0.1, min(config.shutdown_grace, 10.0)),
        }
        options.update(overrides)
        return cls(**options)

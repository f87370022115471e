"""The ``Jwt`` service's options as data: what a module asks the orchestrator's JWT service
for in its ``service_request`` (``{"config": {...}}``, a map of strings, docs/protocol.md §13),
written by :mod:`pywatt.jwt`'s proxy validation and read by the orchestrator's service, both
through pywatt's one config converter."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from pywatt._config import structure_config, unstructure_config

from ._config import JwtConfig
from ._errors import JwtConfigError

__all__ = ["JwtServiceOptions", "JwtServiceRequest", "comma_names", "jwt_service_request"]


def comma_names(value: str | None) -> tuple[str, ...]:
    """A comma-separated list of the wire as names (blank items dropped)."""
    return tuple(p.strip() for p in (value or "").split(",") if p.strip())


@attrs.frozen(kw_only=True)
class JwtServiceOptions:
    """The options, each a string: ``key_secrets``, ``algorithms``, ``audience`` and
    ``required_claims`` comma-separated, ``leeway`` in seconds; a missing one is the
    service's default."""

    key_secrets: str | None = None
    algorithms: str | None = None
    issuer: str | None = None
    audience: str | None = None
    required_claims: str | None = None
    leeway: str | None = None
    key_id: str | None = None

    @classmethod
    def of(cls, config: JwtConfig) -> JwtServiceOptions:
        """The options that ask the service for validation as ``config`` does."""
        return cls(
            key_secrets=",".join(config.key_secrets) or None,
            algorithms=",".join(config.algorithms),
            issuer=config.issuer,
            audience=",".join(config.audience) or None,
            required_claims=",".join(config.required_claims),
            leeway=f"{config.leeway:g}",
            key_id=config.key_id,
        )

    def to_wire(self) -> dict[str, str]:
        """The map of strings, without the options left to the service's default."""
        data: dict[str, Any] = unstructure_config(self)
        return {key: value for key, value in data.items() if value is not None}


@attrs.frozen(kw_only=True)
class JwtServiceRequest:
    """The ``config`` of a ``Jwt`` ``service_request``."""

    config: JwtServiceOptions = attrs.field(factory=JwtServiceOptions)


def jwt_service_request(data: Mapping[str, Any] | None) -> JwtServiceRequest:
    """A ``Jwt`` ``service_request``'s config read as data. Raises :class:`JwtConfigError` of
    one line naming the key (``Jwt service_request['config']['leeway'] must be a string,
    not 30``; an unknown key with the allowed ones)."""
    request: JwtServiceRequest = structure_config(
        {} if data is None else data,
        JwtServiceRequest,
        root="Jwt service_request",
        error=JwtConfigError,
    )
    return request

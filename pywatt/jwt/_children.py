"""Wiring JWT validation into a module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors import ChildSpec, SupervisorSpec
from pywatt.wire import InitBlob

from ._actor import JWT_ACTOR, JwtValidatorActor
from ._config import JwtConfig
from ._messages import JWT_PROTOCOL


def jwt_children(
    jwt_config: JwtConfig | Mapping[str, Any], init: InitBlob | None = None
) -> list[ChildSpec | SupervisorSpec]:
    """The supervision-tree children that validate tokens: the ``pywatt.jwt`` actor.

    ``jwt_config`` is a :class:`JwtConfig` or the seed's ``jwt_config`` dict. Start them
    after ``pywatt.secrets`` (keys come from secrets) and before ``pywatt.http`` (protected
    paths ask this actor). ``init`` is accepted for symmetry with ``http_children`` and not
    needed. Raises :class:`JwtConfigError` for a bad config (at once, not at start).
    """
    config = JwtConfig.from_value(jwt_config)
    return [ChildSpec(JWT_ACTOR, lambda: JwtValidatorActor(config), protocol=JWT_PROTOCOL)]


async def start_jwt(state: Any, jwt_config: JwtConfig | Mapping[str, Any]) -> None:
    """Start the JWT validator from a module's ``create_app`` (under ``pywatt.services``);
    returns once its keys are loaded. Raises :class:`~actors.StartFailed` (chaining the
    cause: a missing key secret, unusable key material)."""
    supervisor = state.system.supervisor("pywatt.services")
    for child in jwt_children(jwt_config, state.init):
        await supervisor.start_child(child)

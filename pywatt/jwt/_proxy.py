"""Proxy validation: every token checked by the orchestrator's JWT service (docs/protocol.md §13).

The first validation opens a ``Jwt`` connection (``service_request`` with
``{"config": {...}}``: the config's ``proxy_config`` plus its key secrets, algorithms,
issuer, audience, required claims and leeway as strings), then each token is one
``validate`` operation through ``pywatt.link``. The orchestrator's refusal text
``"<ErrorType>: <reason>"`` is turned back into the same :class:`JwtError` subclass; a
connection or link failure is :class:`ValidatorUnavailable` (never a pass).
"""

from __future__ import annotations

import logging
from typing import Any

import actors
from pywatt.link import CallService, LinkError, OpenService, ServiceFailed
from pywatt.wire import ServiceType

from . import _errors
from ._config import JwtConfig
from ._errors import JwtError, ValidatorUnavailable
from ._service_options import JwtServiceOptions

log = logging.getLogger("pywatt.jwt.proxy")

LINK = "pywatt.link"

_REFUSALS: dict[str, type[JwtError]] = {
    cls.__name__: cls
    for cls in vars(_errors).values()
    if isinstance(cls, type) and issubclass(cls, JwtError)
}


def proxy_config(config: JwtConfig) -> dict[str, dict[str, str]]:
    """The ``service_request`` config of a :class:`JwtConfig` (a map of strings): its
    :class:`JwtServiceOptions`, then its ``proxy_config`` (for an orchestrator that takes
    more)."""
    return {"config": {**JwtServiceOptions.of(config).to_wire(), **config.proxy_config}}


def refusal(error_text: str) -> JwtError:
    """The :class:`JwtError` an orchestrator's ``"<ErrorType>: <reason>"`` stands for."""
    kind, _, reason = error_text.partition(": ")
    cls = _REFUSALS.get(kind)
    if cls is None:
        return JwtError(error_text[:200])
    return cls(reason or None)


class OrchestratorJwtProxy:
    """Validates through the orchestrator (see the module docstring). Used by the JWT actor,
    which calls :meth:`validate` from its handler (one validation in flight at a time, as
    the protocol allows one operation per connection)."""

    def __init__(self, system: actors.ActorSystem, config: JwtConfig) -> None:
        self.system = system
        self.config = config
        self.connection_id: str | None = None

    async def validate(self, token: str) -> dict[str, Any]:
        """The claims the orchestrator verified. Raises :class:`JwtError` (a subclass)."""
        system = self.system
        try:
            if self.connection_id is None:
                self.connection_id = await system.ask(
                    LINK, OpenService(ServiceType.JWT, proxy_config(self.config))
                )
            result = await system.ask(
                LINK,
                CallService(self.connection_id, ServiceType.JWT, "validate", {"token": token}),
            )
        except ServiceFailed as exc:
            if exc.what == "a service request" or "no Jwt connection" in exc.error:
                self.connection_id = None
                problem = f"the orchestrator's JWT service: {exc.error}"
                raise ValidatorUnavailable(problem) from None
            raise refusal(exc.error) from None
        except (LinkError, actors.ActorError) as exc:
            self.connection_id = None
            problem = type(exc).__name__
            raise ValidatorUnavailable(f"the orchestrator is unreachable ({problem})") from None
        if not isinstance(result, dict):
            raise ValidatorUnavailable("the orchestrator's JWT service answered no claims")
        return result

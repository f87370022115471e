"""Registration, capabilities and registration heartbeats (docs/protocol.md §10).

Requests travel as ``Message`` content with ``metadata.id`` set; replies come back bare.
The ``request_type`` / ``response_type`` fields default to their usual value in Python but
are still required on input, as in Rust.
"""

from __future__ import annotations

import enum
import uuid

import attrs

from ._model import REQUIRED, SKIP
from ._values import JsonValue, UInt16

__all__ = [
    "Capabilities",
    "CapabilitiesRequest",
    "CapabilitiesResponse",
    "Endpoint",
    "HealthStatus",
    "HeartbeatRequest",
    "HeartbeatResponse",
    "ModuleInfo",
    "RegisteredModule",
    "RegistrationRequest",
    "RegistrationResponse",
    "UnregistrationRequest",
    "UnregistrationResponse",
]


class HealthStatus(enum.Enum):
    """``"Healthy"`` | ``"Degraded"`` | ``"Unhealthy"`` (case-sensitive)."""

    HEALTHY = "Healthy"
    DEGRADED = "Degraded"
    UNHEALTHY = "Unhealthy"


@attrs.frozen(kw_only=True)
class ModuleInfo:
    """Who the module is; ``id`` and ``metadata`` are omitted when None."""

    name: str
    version: str
    description: str
    id: uuid.UUID | None = attrs.field(default=None, metadata=SKIP)
    metadata: dict[str, str] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class Endpoint:
    """A registration endpoint: ``path``, ``methods``, optional ``auth`` and ``metadata``."""

    path: str
    methods: list[str]
    auth: str | None = attrs.field(default=None, metadata=SKIP)
    metadata: dict[str, str] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class Capabilities:
    """What the module offers; ``additional_capabilities`` values are JSON (sorted)."""

    endpoints: list[Endpoint]
    message_types: list[str] | None = attrs.field(default=None, metadata=SKIP)
    additional_capabilities: dict[str, JsonValue] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class RegisteredModule:
    """The orchestrator's registration record for a module."""

    info: ModuleInfo
    id: uuid.UUID
    token: str
    orchestrator_host: str
    orchestrator_port: UInt16
    env: dict[str, str] | None = attrs.field(default=None, metadata=SKIP)
    additional_data: dict[str, JsonValue] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class RegistrationRequest:
    """``{"request_type":"register","module_info":{...}}``."""

    request_type: str = attrs.field(default="register", metadata=REQUIRED)
    module_info: ModuleInfo


@attrs.frozen(kw_only=True)
class RegistrationResponse:
    """The bare reply to a registration; ``module`` is present on success."""

    response_type: str = attrs.field(default="register", metadata=REQUIRED)
    success: bool
    error: str | None = attrs.field(default=None, metadata=SKIP)
    module: RegisteredModule | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class HeartbeatRequest:
    """A registration heartbeat (unrelated to the channel ``heartbeat`` op)."""

    request_type: str = attrs.field(default="heartbeat", metadata=REQUIRED)
    module_id: uuid.UUID
    token: str
    status: HealthStatus
    details: dict[str, str] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class HeartbeatResponse:
    """The bare reply to a registration heartbeat; ``status`` is required."""

    response_type: str = attrs.field(default="heartbeat", metadata=REQUIRED)
    success: bool
    error: str | None = attrs.field(default=None, metadata=SKIP)
    status: HealthStatus
    context: dict[str, str] | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class CapabilitiesRequest:
    """Advertise capabilities for a registered module."""

    request_type: str = attrs.field(default="capabilities", metadata=REQUIRED)
    module_id: uuid.UUID
    token: str
    capabilities: Capabilities


@attrs.frozen(kw_only=True)
class CapabilitiesResponse:
    """The bare reply to a capabilities request."""

    response_type: str = attrs.field(default="capabilities", metadata=REQUIRED)
    success: bool
    error: str | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class UnregistrationRequest:
    """Unregister a module."""

    request_type: str = attrs.field(default="unregister", metadata=REQUIRED)
    module_id: uuid.UUID
    token: str


@attrs.frozen(kw_only=True)
class UnregistrationResponse:
    """The bare reply to an unregistration."""

    response_type: str = attrs.field(default="unregister", metadata=REQUIRED)
    success: bool
    error: str | None = attrs.field(default=None, metadata=SKIP)

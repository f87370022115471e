"""The variants of ``ModuleToOrchestrator`` and ``OrchestratorToModule`` (docs/protocol.md §4).

Each class is both the Rust struct (its bare form, e.g. ``GetSecretRequest`` →
``{"name":"X"}``) and the enum variant (``{"op":"get_secret","name":"X"}``). Encoding a
variant gives the op-tagged form; ask for the bare struct with ``as_type=TheClass``.
Secrets (§7), port negotiation (§8), HTTP over IPC (§9), service discovery (§11),
inter-module routing (§12) and the service proxies (§13) all live here.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

import attrs

from ._model import BARE_SKIP, SKIP
from ._types_common import ServiceType
from ._types_message import EncodedMessage
from ._unions import ModuleToOrchestrator, OrchestratorToModule
from ._values import JsonValue, UInt16

__all__ = [
    "AnnounceBlob",
    "DiscoverServiceProvidersRequest",
    "DiscoverServiceProvidersResponse",
    "EndpointAnnounce",
    "GetSecretRequest",
    "Heartbeat",
    "HeartbeatAck",
    "Identify",
    "IpcHttpRequest",
    "IpcHttpResponse",
    "IpcPortNegotiation",
    "IpcPortNegotiationResponse",
    "RegisterServiceProviderRequest",
    "RegisterServiceProviderResponse",
    "RotatedNotification",
    "RotationAckRequest",
    "RouteToModule",
    "RoutedModuleMessage",
    "RoutedModuleResponse",
    "SecretValueResponse",
    "ServiceOperation",
    "ServiceOperationResult",
    "ServiceProviderInfo",
    "ServiceRequest",
    "ServiceResponse",
    "Shutdown",
]


# --- module → orchestrator -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Identify(ModuleToOrchestrator):
    """``ModuleToOrchestrator::Identify(String)``: has no wire form (§16 A1).

    serde refuses to write a string newtype variant of an internally tagged enum, so every
    encoder raises ``UnserializableError`` for it, and no input decodes as it.
    """

    OP: ClassVar[str] = "identify"

    module_id: str


@attrs.frozen(kw_only=True)
class EndpointAnnounce:
    """One announced HTTP endpoint: ``path``, ``methods``, ``auth`` (omitted when None)."""

    path: str
    methods: list[str]
    auth: str | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class AnnounceBlob(ModuleToOrchestrator):
    """``announce``: the module's listen address (as text) and its endpoints."""

    OP: ClassVar[str] = "announce"

    listen: str
    endpoints: list[EndpointAnnounce]


@attrs.frozen(kw_only=True)
class GetSecretRequest(ModuleToOrchestrator):
    """``get_secret``: ask the orchestrator for one secret by name."""

    OP: ClassVar[str] = "get_secret"

    name: str


@attrs.frozen(kw_only=True)
class RotationAckRequest(ModuleToOrchestrator):
    """``rotation_ack``: ``status`` is ``"success"`` or ``"error"``; ``message`` optional."""

    OP: ClassVar[str] = "rotation_ack"

    rotation_id: str
    status: str
    message: str | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class RegisterServiceProviderRequest(ModuleToOrchestrator):
    """``register_service_provider`` (§11); ``version``/``metadata`` are written as null."""

    OP: ClassVar[str] = "register_service_provider"

    service_type: ServiceType
    name: str
    version: str | None = None
    address: str
    metadata: dict[str, str] | None = None


@attrs.frozen(kw_only=True)
class DiscoverServiceProvidersRequest(ModuleToOrchestrator):
    """``discover_service_providers``: ``all_providers`` false/None means first healthy only."""

    OP: ClassVar[str] = "discover_service_providers"

    service_type: ServiceType
    all_providers: bool | None = None


@attrs.frozen(kw_only=True)
class ServiceRequest(ModuleToOrchestrator):
    """``service_request`` (§13.1): open a proxied connection; ``config`` is sorted JSON."""

    OP: ClassVar[str] = "service_request"

    id: str
    service_type: ServiceType
    config: JsonValue = None


@attrs.frozen(kw_only=True)
class ServiceOperation(ModuleToOrchestrator):
    """``service_operation`` (§13.2): one operation on a proxied connection."""

    OP: ClassVar[str] = "service_operation"

    connection_id: str
    service_type: ServiceType
    operation: str
    params: JsonValue


@attrs.frozen(kw_only=True)
class IpcHttpResponse(ModuleToOrchestrator):
    """``http_response``: the reply to an ``http_request`` (sent Message-wrapped on channels)."""

    OP: ClassVar[str] = "http_response"

    request_id: str
    status_code: UInt16
    headers: dict[str, str]
    body: bytes | None = None


@attrs.frozen(kw_only=True)
class IpcPortNegotiation(ModuleToOrchestrator):
    """``port_request`` (§8): ``specific_port`` None asks for any port."""

    OP: ClassVar[str] = "port_request"

    request_id: str
    specific_port: UInt16 | None = None


@attrs.frozen(kw_only=True)
class RouteToModule(ModuleToOrchestrator):
    """``route_to_module`` (§12): send ``payload`` to ``target_endpoint`` of another module."""

    OP: ClassVar[str] = "route_to_module"

    target_module_id: str
    target_endpoint: str
    request_id: uuid.UUID
    payload: EncodedMessage


@attrs.frozen
class HeartbeatAck(ModuleToOrchestrator):
    """``heartbeat_ack``: the module's answer to a channel ``heartbeat``."""

    OP: ClassVar[str] = "heartbeat_ack"


# --- orchestrator → module -----------------------------------------------------------------


@attrs.frozen(kw_only=True)
class SecretValueResponse(OrchestratorToModule):
    """``secret``: a secret's value (a reply or a push); ``rotation_id`` omitted when None."""

    OP: ClassVar[str] = "secret"

    name: str
    value: str
    rotation_id: str | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class RotatedNotification(OrchestratorToModule):
    """``rotated``: these keys changed; refetch them, then ``rotation_ack``."""

    OP: ClassVar[str] = "rotated"

    keys: list[str]
    rotation_id: str


@attrs.frozen
class Shutdown(OrchestratorToModule):
    """``shutdown``: stop the module (extra keys such as ``reason`` are ignored)."""

    OP: ClassVar[str] = "shutdown"


@attrs.frozen(kw_only=True)
class RegisterServiceProviderResponse(OrchestratorToModule):
    """``register_service_provider_response``."""

    OP: ClassVar[str] = "register_service_provider_response"

    success: bool
    provider_id: str | None = None
    error: str | None = None


@attrs.frozen(kw_only=True)
class ServiceProviderInfo:
    """One provider in a discovery response; ``metadata`` is required (may be ``{}``)."""

    provider_id: str
    module_id: str
    service_type: ServiceType
    name: str
    version: str | None = None
    address: str
    metadata: dict[str, str]
    is_healthy: bool


@attrs.frozen(kw_only=True)
class DiscoverServiceProvidersResponse(OrchestratorToModule):
    """``discover_service_providers_response``; ``providers`` is required."""

    OP: ClassVar[str] = "discover_service_providers_response"

    success: bool
    providers: list[ServiceProviderInfo]
    error: str | None = None


@attrs.frozen(kw_only=True)
class ServiceResponse(OrchestratorToModule):
    """``service_response`` (§13.1), correlated by ``id``."""

    OP: ClassVar[str] = "service_response"

    id: str
    service_type: ServiceType
    success: bool
    error: str | None = None
    connection_id: str | None = None


@attrs.frozen(kw_only=True)
class ServiceOperationResult(OrchestratorToModule):
    """``service_operation_result`` (§13.2).

    ``params`` is the §13.2 correlation echo: the original ``ServiceOperation`` as a bare
    struct under an extra ``"params"`` key, which is how a Rust module finds the pending
    request. It is left out when None (Rust's own type has no such field).
    """

    OP: ClassVar[str] = "service_operation_result"

    success: bool
    result: JsonValue = None
    error: str | None = None
    params: ServiceOperation | None = attrs.field(default=None, metadata=BARE_SKIP)


@attrs.frozen(kw_only=True)
class IpcHttpRequest(OrchestratorToModule):
    """``http_request`` (§9.1): ``headers`` is required, ``body`` an integer array or null."""

    OP: ClassVar[str] = "http_request"

    request_id: str
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes | None = None


@attrs.frozen(kw_only=True)
class IpcPortNegotiationResponse(OrchestratorToModule):
    """``port_response`` (§8): ``port`` is 0 on failure."""

    OP: ClassVar[str] = "port_response"

    request_id: str
    success: bool
    port: UInt16
    error_message: str | None = None


@attrs.frozen(kw_only=True)
class RoutedModuleMessage(OrchestratorToModule):
    """``routed_module_message`` (§12): a request from ``source_module_id``."""

    OP: ClassVar[str] = "routed_module_message"

    source_module_id: str
    original_request_id: uuid.UUID
    payload: EncodedMessage


@attrs.frozen(kw_only=True)
class RoutedModuleResponse(OrchestratorToModule):
    """``routed_module_response`` (§12): the reply to our ``route_to_module``."""

    OP: ClassVar[str] = "routed_module_response"

    source_module_id: str
    request_id: uuid.UUID
    payload: EncodedMessage


@attrs.frozen
class Heartbeat(OrchestratorToModule):
    """``heartbeat``: answered with ``heartbeat_ack`` on the same channel."""

    OP: ClassVar[str] = "heartbeat"

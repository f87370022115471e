"""The Rust conformance vectors and the Python type each ``rust_type`` maps to."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

import attrs

from pywatt import wire as w

VECTORS_PATH = Path(__file__).parent / "data" / "vectors.jsonl"


@attrs.frozen(kw_only=True)
class TestData:
    """The SDK's own test payload (``tests::TestData``): a name and an i32."""

    __test__: ClassVar[bool] = False  # not a pytest test class
    BINCODE_LAYOUT: ClassVar[bool] = True

    name: str
    value: w.Int32


def load_vectors() -> list[dict[str, Any]]:
    with VECTORS_PATH.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


JSON_VALUE = object()  # stands for serde_json::Value (decode/encode with the *_value calls)

TYPES: dict[str, Any] = {
    "String": str,
    "serde_json::Value": JSON_VALUE,
    "tests::TestData": TestData,
    "ipc_types::ListenAddress": w.ListenAddress,
    "ipc_types::TcpChannelConfig": w.TcpChannelConfig,
    "ipc_types::IpcChannelConfig": w.IpcChannelConfig,
    "ipc_types::SecurityLevel": w.SecurityLevel,
    "ipc_types::InitBlob": w.InitBlob,
    "ipc_types::OrchestratorToModule": w.OrchestratorToModule,
    "ipc_types::ModuleToOrchestrator": w.ModuleToOrchestrator,
    "ipc_types::EndpointAnnounce": w.EndpointAnnounce,
    "ipc_types::AnnounceBlob": w.AnnounceBlob,
    "ipc_types::GetSecretRequest": w.GetSecretRequest,
    "ipc_types::SecretValueResponse": w.SecretValueResponse,
    "ipc_types::RotatedNotification": w.RotatedNotification,
    "ipc_types::RotationAckRequest": w.RotationAckRequest,
    "secret_client::GetSecretResponse": w.GetSecretResponse,
    "ipc_types::ServiceType": w.ServiceType,
    "ipc_types::RegisterServiceProviderRequest": w.RegisterServiceProviderRequest,
    "ipc_types::RegisterServiceProviderResponse": w.RegisterServiceProviderResponse,
    "ipc_types::DiscoverServiceProvidersRequest": w.DiscoverServiceProvidersRequest,
    "ipc_types::DiscoverServiceProvidersResponse": w.DiscoverServiceProvidersResponse,
    "ipc_types::ServiceProviderInfo": w.ServiceProviderInfo,
    "database::DatabaseConfig": w.DatabaseConfig,
    "database::PoolConfig": w.PoolConfig,
    "database::DatabaseType": w.DatabaseType,
    "cache::CacheConfig": w.CacheConfig,
    "cache::CachePolicy": w.CachePolicy,
    "cache::CacheType": w.CacheType,
    "cache::CacheStats": w.CacheStats,
    "jwt_auth::JwtProxyConfig": w.JwtProxyConfig,
    "ipc_types::ServiceRequest": w.ServiceRequest,
    "ipc_types::ServiceOperation": w.ServiceOperation,
    "ipc_types::ServiceResponse": w.ServiceResponse,
    "ipc_types::ServiceOperationResult": w.ServiceOperationResult,
    "ipc_types::IpcHttpRequest": w.IpcHttpRequest,
    "ipc_types::IpcHttpResponse": w.IpcHttpResponse,
    "ipc_types::IpcPortNegotiation": w.IpcPortNegotiation,
    "ipc_types::IpcPortNegotiationResponse": w.IpcPortNegotiationResponse,
    "message::EncodingFormat": w.EncodingFormat,
    "message::EncodedMessage": w.EncodedMessage,
    "message::MessageMetadata": w.MessageMetadata,
    "message::Message<String>": w.Message[str],
    "message::Message<u32>": w.Message[w.UInt32],
    "message::Message<serde_json::Value>": w.Message[w.JsonValue],
    "message::Message<tests::TestData>": w.Message[TestData],
    "message::Message<ipc_types::ModuleToOrchestrator>": w.Message[w.ModuleToOrchestrator],
    "message::Message<ipc_types::OrchestratorToModule>": w.Message[w.OrchestratorToModule],
    "message::Message<ipc_types::IpcHttpResponse>": w.Message[w.IpcHttpResponse],
    "registration::ModuleInfo": w.ModuleInfo,
    "registration::Endpoint": w.Endpoint,
    "registration::Capabilities": w.Capabilities,
    "registration::HealthStatus": w.HealthStatus,
    "registration::RegisteredModule": w.RegisteredModule,
    "registration::RegistrationRequest": w.RegistrationRequest,
    "registration::RegistrationResponse": w.RegistrationResponse,
    "registration::HeartbeatRequest": w.HeartbeatRequest,
    "registration::HeartbeatResponse": w.HeartbeatResponse,
    "registration::CapabilitiesRequest": w.CapabilitiesRequest,
    "registration::CapabilitiesResponse": w.CapabilitiesResponse,
    "registration::UnregistrationRequest": w.UnregistrationRequest,
    "registration::UnregistrationResponse": w.UnregistrationResponse,
    "message::Message<registration::RegistrationRequest>": w.Message[w.RegistrationRequest],
    "message::Message<registration::HeartbeatRequest>": w.Message[w.HeartbeatRequest],
    "message::Message<registration::CapabilitiesRequest>": w.Message[w.CapabilitiesRequest],
    "message::Message<registration::UnregistrationRequest>": w.Message[w.UnregistrationRequest],
    "http_tcp::HttpTcpRequest": w.HttpTcpRequest,
    "http_tcp::HttpTcpResponse": w.HttpTcpResponse,
    "message::Message<http_tcp::HttpTcpRequest>": w.Message[w.HttpTcpRequest],
    "message::Message<http_tcp::HttpTcpResponse>": w.Message[w.HttpTcpResponse],
    "http_tcp::ApiResponse<serde_json::Value>": w.HttpTcpApiResponse,
    "http_ipc::ApiResponse<serde_json::Value>": w.HttpIpcApiResponse,
    "communication::ChannelType": w.ChannelType,
    "communication::ChannelPreferences": w.ChannelPreferences,
    "communication::ChannelCapabilities": w.ChannelCapabilities,
    "streaming::StreamChunk": w.StreamChunk,
    "streaming::StreamMetadata": w.StreamMetadata,
    "streaming::StreamPriority": w.StreamPriority,
    "streaming::StreamAck": w.StreamAck,
    "streaming::StreamConfig": w.StreamConfig,
    "streaming::PubSubMessage": w.PubSubMessage,
}


def as_type(t: Any) -> Any:
    """What to pass as ``as_type`` so the value is written as the Rust type ``t``.

    An op-variant class standing for its own struct is written bare (no ``"op"``); other
    types need nothing, except ``ListenAddress``, a union.
    """
    bases = (w.ModuleToOrchestrator, w.OrchestratorToModule)
    if isinstance(t, type) and issubclass(t, bases) and t not in bases:
        return t
    if t is w.ListenAddress or t is w.UInt32:
        return t
    return None


def decode(codec: str, data: bytes, t: Any) -> Any:
    if t is JSON_VALUE:
        if codec == "json":
            return w.decode_json_value(data)
        return w.decode_msgpack(data, w.JsonValue)
    return {"json": w.decode_json, "msgpack": w.decode_msgpack, "bincode": w.decode_bincode}[codec](
        data, t
    )


def encode(codec: str, value: Any, t: Any) -> bytes:
    if t is JSON_VALUE:
        if codec == "json":
            return w.encode_json_value(value)
        return w.encode_msgpack(value, w.JsonValue)
    fn = {"json": w.encode_json, "msgpack": w.encode_msgpack, "bincode": w.encode_bincode}[codec]
    return fn(value, as_type(t) if codec != "bincode" else t)

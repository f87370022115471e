"""Frame helpers shared by the channel actors: what a module writes and how it reads frames."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Final

from pywatt.wire import (
    CapabilitiesResponse,
    DecodeError,
    Frame,
    FrameFormat,
    HeartbeatAck,
    HeartbeatResponse,
    Message,
    MessageMetadata,
    ModuleDeclaration,
    ModuleToOrchestrator,
    OrchestratorToModule,
    RegistrationResponse,
    StreamFrame,
    UnregistrationResponse,
    decode_json,
    decode_msgpack,
    decode_orchestrator_frame,
    decode_stream_data,
    decode_stream_frame,
    encode_frame,
    encode_json,
    parse_binary_routed,
    stream_frame_head,
    to_message,
)

from ._routeframes import parse_routed

__all__ = [
    "RegistrationReply",
    "declaration_frame",
    "decode_inbound",
    "encode_module_frame",
    "heartbeat_ack_frame",
]

RegistrationReply = (
    RegistrationResponse | HeartbeatResponse | CapabilitiesResponse | UnregistrationResponse
)
_REPLY_TYPES: Final[dict[str, type[Any]]] = {
    "register": RegistrationResponse,
    "heartbeat": HeartbeatResponse,
    "capabilities": CapabilitiesResponse,
    "unregister": UnregistrationResponse,
}
_MODULE_MESSAGE: Final = Message[ModuleToOrchestrator]


def encode_module_frame(
    content: Any, *, metadata: MessageMetadata | None = None, as_type: Any = None
) -> bytes:
    """One module→orchestrator frame: ``content`` in a ``Message`` envelope (§5.3).

    ``as_type`` defaults to ``Message[ModuleToOrchestrator]`` (op-tagged content); give
    ``Message[RegistrationRequest]`` etc. for the registration requests of §10. Raises
    ``EncodeError`` / ``PayloadTooLarge``.
    """
    message = to_message(content, metadata=metadata)
    payload = encode_json(message, as_type=_MODULE_MESSAGE if as_type is None else as_type)
    return encode_frame(FrameFormat.JSON, payload)


def heartbeat_ack_frame() -> bytes:
    """A ``heartbeat_ack`` frame with a fresh envelope id and empty metadata (§5.7)."""
    return encode_module_frame(HeartbeatAck())


def declaration_frame(declaration: ModuleDeclaration) -> bytes:
    """The first frame of a pywatt module on a channel: a ``heartbeat_ack`` carrying the
    declaration in ``metadata.properties`` (docs/protocol-extensions.md §1.2)."""
    return encode_module_frame(
        HeartbeatAck(), metadata=MessageMetadata(properties=declaration.to_properties())
    )


def _json_text(frame: Frame) -> bytes:
    if frame.format is FrameFormat.BASE64:
        try:
            return base64.b64decode(frame.payload, validate=True)
        except binascii.Error as exc:
            raise DecodeError(f"invalid base64 frame payload: {exc}") from None
    return frame.payload  # JSON, or Binary holding JSON text as Rust sends it (§5.5)


def decode_inbound(frame: Frame) -> OrchestratorToModule | RegistrationReply | StreamFrame:
    """Decode an orchestrator→module frame: an op (bare or ``Message``-wrapped) or one of
    the bare registration replies of §10. Raises ``DecodeError``."""
    if frame.format is FrameFormat.MSGPACK:
        data = decode_stream_data(frame.payload)  # a stream's chunk, in pywatt's own layout
        if data is not None:
            return data
        routed = parse_binary_routed(frame.payload)  # a request or reply (extensions §5.1)
        if routed is not None:
            return routed
        if stream_frame_head(frame.payload) is not None:  # a stream (extensions §9.4)
            return decode_stream_frame(frame.payload)
        return decode_msgpack(frame.payload, OrchestratorToModule)
    if frame.format is FrameFormat.JSON:  # the frames of inter-module traffic, read fast
        routed = parse_routed(frame.payload)
        if routed is not None:
            return routed
    text = _json_text(frame)
    try:
        return decode_orchestrator_frame(text)
    except DecodeError:
        if b'"response_type"' not in text:
            raise
    for key, type_ in _REPLY_TYPES.items():
        if f'"response_type":"{key}"'.encode() in text:
            return decode_json(text, type_)  # type: ignore[no-any-return]
    raise DecodeError("unknown response_type in a registration reply")

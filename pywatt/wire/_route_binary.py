"""The binary form of the three routing frames, between pywatt peers (extensions §5.1).

Toward a Rust peer a request's payload travels as a JSON array of byte values, three to four
characters a byte, written and read on every hop. Between a pywatt module and a pywatt
orchestrator that both declared MessagePack, the same three ops travel as **code-4 frames**
in the MessagePack shape of section 2, except that ``payload.data`` is a ``bin``:

* module → orchestrator, bare (no ``Message`` envelope, like stream frames):
  ``{"op":"route_to_module","target_module_id":s,"target_endpoint":s,"request_id":bin16,
  "payload":{"data":bin,"format":s}}``
* orchestrator → module: ``{"op":"routed_module_message","source_module_id":s,
  "original_request_id":bin16,"payload":{...}}`` and ``{"op":"routed_module_response",
  "source_module_id":s,"request_id":bin16,"payload":{...}}``.

The readers take exactly this shape (keys in this order, nothing more) and return ``None``
for anything else; nothing here does I/O or raises on bad input.
"""

from __future__ import annotations

import re
import uuid
from typing import Final

import attrs
import msgpack  # type: ignore[import-untyped]

from ._errors import EncodeError
from ._framing import FrameFormat, encode_frame
from ._types_message import EncodedMessage, EncodingFormat
from ._types_ops import RoutedModuleMessage, RoutedModuleResponse

__all__ = [
    "BinaryRoute",
    "binary_budget_ms",
    "binary_route_frame",
    "binary_routed_frame",
    "parse_binary_route",
    "parse_binary_routed",
]

_FORMATS: Final = {f.value: f for f in EncodingFormat}
_ROUTE_KEYS: Final = ["op", "target_module_id", "target_endpoint", "request_id", "payload"]
_MESSAGE_KEYS: Final = ["op", "source_module_id", "original_request_id", "payload"]
_RESPONSE_KEYS: Final = ["op", "source_module_id", "request_id", "payload"]
_PAYLOAD_KEYS: Final = ["data", "format"]
_OP_KEY: Final = b"\xa2op"
"""What follows the map header of every frame here (``"op"``, the first key); a stream
frame's first key is ``"stream"``."""
# The caller's budget as pywatt writes it in a request's JSON payload (``_payloads``): the
# first property, followed by the reply marker; the payload ends with ``}}}``.
_BUDGET: Final = re.compile(rb'"pywatt_deadline_ms":(0|[1-9][0-9]{0,15}),"pywatt_reply":"')


@attrs.frozen
class BinaryRoute:
    """A ``route_to_module`` read by :func:`parse_binary_route`: the payload's bytes as they
    came (never copied into a JSON list on the way through)."""

    target_module_id: str
    target_endpoint: str
    request_id: uuid.UUID
    data: bytes
    format: EncodingFormat

    def payload(self) -> EncodedMessage:
        """The payload as an ``EncodedMessage``."""
        return EncodedMessage(data=self.data, format=self.format)


def _payload(payload: EncodedMessage) -> dict[str, object]:
    return {"data": payload.data, "format": payload.format.value}


def binary_route_frame(
    target_module_id: str, target_endpoint: str, request_id: uuid.UUID, payload: EncodedMessage
) -> bytes:
    """The code-4 frame of a ``route_to_module`` in the binary form. Raises
    ``PayloadTooLarge`` over the frame limit and ``EncodeError`` for a string without a
    UTF-8 form (a lone surrogate)."""
    try:
        body = msgpack.packb(
            {
                "op": "route_to_module",
                "target_module_id": target_module_id,
                "target_endpoint": target_endpoint,
                "request_id": request_id.bytes,
                "payload": _payload(payload),
            },
            use_bin_type=True,
        )
    except UnicodeEncodeError:
        raise EncodeError("string contains a lone surrogate; it has no UTF-8 form") from None
    return encode_frame(FrameFormat.MSGPACK, body)


def binary_routed_frame(
    response: bool, source: str, request_id: uuid.UUID, data: bytes, format: EncodingFormat
) -> bytes:
    """The code-4 frame of a ``routed_module_response`` (``response``) or
    ``routed_module_message`` in the binary form. Raises ``PayloadTooLarge``."""
    body = msgpack.packb(
        {
            "op": "routed_module_response" if response else "routed_module_message",
            "source_module_id": source,
            "request_id" if response else "original_request_id": request_id.bytes,
            "payload": {"data": data, "format": format.value},
        },
        use_bin_type=True,
    )
    return encode_frame(FrameFormat.MSGPACK, body)


def _unpack(data: bytes | bytearray | memoryview) -> dict[str, object] | None:
    if data[1:4] != _OP_KEY or not 0x81 <= data[0] <= 0x8F:
        return None
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=True)
    except (ValueError, TypeError, msgpack.UnpackException):
        return None
    return value if type(value) is dict else None


def _read_payload(value: object) -> tuple[bytes, EncodingFormat] | None:
    if type(value) is not dict or list(value) != _PAYLOAD_KEYS:
        return None
    data, name = value["data"], value["format"]
    fmt = _FORMATS.get(name) if type(name) is str else None
    if type(data) is not bytes or fmt is None:
        return None
    return data, fmt


def _read_id(value: object) -> uuid.UUID | None:
    if type(value) is not bytes or len(value) != 16:
        return None
    return uuid.UUID(bytes=value)


def parse_binary_route(data: bytes | bytearray | memoryview) -> BinaryRoute | None:
    """A code-4 frame payload that is a ``route_to_module`` in the binary form; ``None`` for
    anything else. Does not raise."""
    value = _unpack(data)
    if value is None or list(value) != _ROUTE_KEYS or value["op"] != "route_to_module":
        return None
    target, endpoint = value["target_module_id"], value["target_endpoint"]
    request_id = _read_id(value["request_id"])
    payload = _read_payload(value["payload"])
    if type(target) is not str or type(endpoint) is not str or request_id is None:
        return None
    if payload is None:
        return None
    return BinaryRoute(target, endpoint, request_id, payload[0], payload[1])


def parse_binary_routed(
    data: bytes | bytearray | memoryview,
) -> RoutedModuleMessage | RoutedModuleResponse | None:
    """A code-4 frame payload that is a ``routed_module_message`` or
    ``routed_module_response`` in the binary form; ``None`` for anything else. Does not
    raise."""
    value = _unpack(data)
    if value is None:
        return None
    op = value.get("op")
    keys = list(value)
    if op == "routed_module_message" and keys == _MESSAGE_KEYS:
        id_key = "original_request_id"
    elif op == "routed_module_response" and keys == _RESPONSE_KEYS:
        id_key = "request_id"
    else:
        return None
    source = value["source_module_id"]
    request_id = _read_id(value[id_key])
    payload = _read_payload(value["payload"])
    if type(source) is not str or request_id is None or payload is None:
        return None
    encoded = EncodedMessage(data=payload[0], format=payload[1])
    if id_key == "request_id":
        return RoutedModuleResponse(source_module_id=source, request_id=request_id, payload=encoded)
    return RoutedModuleMessage(
        source_module_id=source, original_request_id=request_id, payload=encoded
    )


def binary_budget_ms(data: bytes) -> int | None:
    """The ``pywatt_deadline_ms`` of a request's JSON payload bytes, read without decoding
    it: None unless it is written the way pywatt writes a request's budget (the payload
    ending ``}}}``). Does not raise."""
    if not data.endswith(b"}}}"):
        return None
    at = data.rfind(b'"pywatt_deadline_ms":')
    if at < 0:
        return None
    match = _BUDGET.match(data, at)
    return None if match is None else int(match.group(1))

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

Speed: these frames cross every request between modules, twice per hop. The writers build
the bytes ``msgpack.packb`` would write from parts (the head of a frame, everything up to
the request id, depends only on the op and its strings, and is kept per target and
endpoint); the readers first try the bytes as ``packb`` writes them, slicing the fields out
without building a dict, and hand anything else (another valid encoding of the same shape,
or not this shape) to the general reader through ``msgpack.unpackb``. The tests check both
against ``msgpack``.
"""

from __future__ import annotations

import re
import struct
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


_U8: Final = struct.Struct(">B")
_U16: Final = struct.Struct(">H")
_U32: Final = struct.Struct(">I")
_FORMAT_TAIL: Final = {f: b"\xa6format" + msgpack.packb(f.value) for f in EncodingFormat}
"""The bytes of a payload's ``"format"`` entry, by format (the payload's last field)."""
_DATA_KEY: Final = b"\xa7payload\x82\xa4data"
"""The ``"payload"`` key, its two-entry map and the ``"data"`` key, before the bin."""
_ID_KEY: Final = b"\xaarequest_id\xc4\x10"
_ORIGINAL_ID_KEY: Final = b"\xb3original_request_id\xc4\x10"
_HEADS_KEPT: Final = 1024
"""At most this many frame heads are kept (per kind); past it the table starts afresh."""


def _str(text: str) -> bytes:
    """``text`` as ``packb`` writes a str. Raises ``EncodeError`` (a lone surrogate)."""
    try:
        raw = text.encode()
    except UnicodeEncodeError:
        raise EncodeError("string contains a lone surrogate; it has no UTF-8 form") from None
    size = len(raw)
    if size < 32:
        return _U8.pack(0xA0 | size) + raw
    if size < 0x100:
        return b"\xd9" + _U8.pack(size) + raw
    if size < 0x10000:
        return b"\xda" + _U16.pack(size) + raw
    return b"\xdb" + _U32.pack(size) + raw


def _bin_head(size: int) -> bytes:
    """The header ``packb`` writes before ``size`` bytes of a bin."""
    if size < 0x100:
        return b"\xc4" + _U8.pack(size)
    if size < 0x10000:
        return b"\xc5" + _U16.pack(size)
    return b"\xc6" + _U32.pack(size)


_route_heads: dict[tuple[str, str], bytes] = {}
_routed_heads: dict[tuple[bool, str], bytes] = {}


def _route_head(target_module_id: str, target_endpoint: str) -> bytes:
    key = (target_module_id, target_endpoint)
    head = _route_heads.get(key)
    if head is None:
        head = (
            b"\x85\xa2op\xafroute_to_module\xb0target_module_id"
            + _str(target_module_id)
            + b"\xaftarget_endpoint"
            + _str(target_endpoint)
            + _ID_KEY
        )
        if len(_route_heads) >= _HEADS_KEPT:
            _route_heads.clear()
        _route_heads[key] = head
    return head


def _routed_head(response: bool, source: str) -> bytes:
    key = (response, source)
    head = _routed_heads.get(key)
    if head is None:
        if response:
            head = b"\x84\xa2op\xb6routed_module_response\xb0source_module_id"
            head += _str(source) + _ID_KEY
        else:
            head = b"\x84\xa2op\xb5routed_module_message\xb0source_module_id"
            head += _str(source) + _ORIGINAL_ID_KEY
        if len(_routed_heads) >= _HEADS_KEPT:
            _routed_heads.clear()
        _routed_heads[key] = head
    return head


def binary_route_frame(
    target_module_id: str, target_endpoint: str, request_id: uuid.UUID, payload: EncodedMessage
) -> bytes:
    """The code-4 frame of a ``route_to_module`` in the binary form. Raises
    ``PayloadTooLarge`` over the frame limit and ``EncodeError`` for a string without a
    UTF-8 form (a lone surrogate)."""
    data = payload.data
    body = b"".join(
        (
            _route_head(target_module_id, target_endpoint),
            request_id.bytes,
            _DATA_KEY,
            _bin_head(len(data)),
            data,
            _FORMAT_TAIL[payload.format],
        )
    )
    return encode_frame(FrameFormat.MSGPACK, body)


def binary_routed_frame(
    response: bool, source: str, request_id: uuid.UUID, data: bytes, format: EncodingFormat
) -> bytes:
    """The code-4 frame of a ``routed_module_response`` (``response``) or
    ``routed_module_message`` in the binary form. Raises ``PayloadTooLarge`` (and
    ``EncodeError`` for a source without a UTF-8 form)."""
    body = b"".join(
        (
            _routed_head(response, source),
            request_id.bytes,
            _DATA_KEY,
            _bin_head(len(data)),
            data,
            _FORMAT_TAIL[format],
        )
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


_ROUTE_HEAD: Final = b"\x85\xa2op\xafroute_to_module\xb0target_module_id"
_RESPONSE_HEAD: Final = b"\x84\xa2op\xb6routed_module_response\xb0source_module_id"
_MESSAGE_HEAD: Final = b"\x84\xa2op\xb5routed_module_message\xb0source_module_id"
_ENDPOINT_KEY: Final = b"\xaftarget_endpoint"
_FORMAT_KEY: Final = b"\xa6format"
_FORMAT_OF: Final = {tail[len(_FORMAT_KEY) :]: f for f, tail in _FORMAT_TAIL.items()}
"""A format's name as ``packb`` writes it (a fixstr), by its bytes."""
_UNKNOWN: Final = uuid.SafeUUID.unknown
# Building these frozen attrs classes through __init__ costs more than reading the frame;
# the fast readers set their slots directly (what __init__ does, minus the frozen-setattr
# indirection), as the frame decoder does for Frame. The tests compare with __init__'s.
_new: Final = object.__new__
_set: Final = object.__setattr__
_set_data: Final = EncodedMessage.__dict__["data"].__set__
_set_format: Final = EncodedMessage.__dict__["format"].__set__
_set_source: Final = RoutedModuleResponse.__dict__["source_module_id"].__set__
_set_id: Final = RoutedModuleResponse.__dict__["request_id"].__set__
_set_payload: Final = RoutedModuleResponse.__dict__["payload"].__set__
_set_msg_source: Final = RoutedModuleMessage.__dict__["source_module_id"].__set__
_set_msg_id: Final = RoutedModuleMessage.__dict__["original_request_id"].__set__
_set_msg_payload: Final = RoutedModuleMessage.__dict__["payload"].__set__


def _size(data: bytes, at: int, lead: int) -> tuple[int, int]:
    """The length of the str (``lead`` 0xD9..0xDB) or bin (0xC4..0xC6) whose header starts
    at ``at``, and where its bytes start; ``(-1, 0)`` for any other lead byte."""
    if lead == 0xD9 or lead == 0xC4:
        return data[at + 1], at + 2
    if lead == 0xDA or lead == 0xC5:
        return _U16.unpack_from(data, at + 1)[0], at + 3
    if lead == 0xDB or lead == 0xC6:
        return _U32.unpack_from(data, at + 1)[0], at + 5
    return -1, 0


def _fast_str(data: bytes, at: int) -> tuple[str, int] | None:
    """The str at ``at`` and where it ends; None if there is none (or it is not UTF-8)."""
    lead = data[at]
    if 0xA0 <= lead <= 0xBF:
        size, start = lead & 0x1F, at + 1
    else:
        size, start = _size(data, at, lead)
        if size < 0 or lead < 0xD9:
            return None
    end = start + size
    if end > len(data):
        return None
    try:
        return data[start:end].decode(), end
    except UnicodeDecodeError:
        return None


def _fast_tail(data: bytes, at: int) -> tuple[uuid.UUID, bytes, EncodingFormat] | None:
    """From ``at`` (the request id's 16 bytes) to the end: the id and the payload, in the
    form ``packb`` writes them; None for anything else."""
    start = at + 16 + len(_DATA_KEY)
    if len(data) < start + 2 or not data.startswith(_DATA_KEY, at + 16):
        return None
    lead = data[start]
    if not 0xC4 <= lead <= 0xC6:
        return None
    size, start = _size(data, start, lead)
    end = start + size
    fmt = _FORMAT_OF.get(data[end + len(_FORMAT_KEY) :])
    if fmt is None or not data.startswith(_FORMAT_KEY, end):
        return None
    made = _new(uuid.UUID)  # uuid.UUID(bytes=...) without its argument checks
    _set(made, "int", int.from_bytes(data[at : at + 16], "big"))
    _set(made, "is_safe", _UNKNOWN)
    return made, data[start:end], fmt


def _fast_route(data: bytes) -> BinaryRoute | None:
    """:func:`parse_binary_route` for the bytes ``binary_route_frame`` writes."""
    at = len(_ROUTE_HEAD)
    try:
        target = _fast_str(data, at)
        if target is None or not data.startswith(_ENDPOINT_KEY, target[1]):
            return None
        endpoint = _fast_str(data, target[1] + len(_ENDPOINT_KEY))
        if endpoint is None or not data.startswith(_ID_KEY, endpoint[1]):
            return None
        tail = _fast_tail(data, endpoint[1] + len(_ID_KEY))
    except (IndexError, struct.error):
        return None
    if tail is None:
        return None
    route = _new(BinaryRoute)
    _set(route, "target_module_id", target[0])
    _set(route, "target_endpoint", endpoint[0])
    _set(route, "request_id", tail[0])
    _set(route, "data", tail[1])
    _set(route, "format", tail[2])
    return route


def _fast_routed(data: bytes, response: bool) -> RoutedModuleMessage | RoutedModuleResponse | None:
    """:func:`parse_binary_routed` for the bytes ``binary_routed_frame`` writes."""
    key = _ID_KEY if response else _ORIGINAL_ID_KEY
    try:
        source = _fast_str(data, len(_RESPONSE_HEAD if response else _MESSAGE_HEAD))
        if source is None or not data.startswith(key, source[1]):
            return None
        tail = _fast_tail(data, source[1] + len(key))
    except (IndexError, struct.error):
        return None
    if tail is None:
        return None
    encoded = _new(EncodedMessage)
    _set_data(encoded, tail[1])
    _set_format(encoded, tail[2])
    if response:
        reply = _new(RoutedModuleResponse)
        _set_source(reply, source[0])
        _set_id(reply, tail[0])
        _set_payload(reply, encoded)
        return reply
    request = _new(RoutedModuleMessage)
    _set_msg_source(request, source[0])
    _set_msg_id(request, tail[0])
    _set_msg_payload(request, encoded)
    return request


def parse_binary_route(data: bytes | bytearray | memoryview) -> BinaryRoute | None:
    """A code-4 frame payload that is a ``route_to_module`` in the binary form; ``None`` for
    anything else. Does not raise."""
    if type(data) is bytes and data.startswith(_ROUTE_HEAD):
        fast = _fast_route(data)
        if fast is not None:
            return fast
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
    if type(data) is bytes:
        fast = None
        if data.startswith(_RESPONSE_HEAD):
            fast = _fast_routed(data, True)
        elif data.startswith(_MESSAGE_HEAD):
            fast = _fast_routed(data, False)
        if fast is not None:
            return fast
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

"""Fast forms of the three routing frames (docs/architecture.md, decision 7), byte-exact with
``pywatt.wire``.

Every inter-module request crosses ``route_to_module`` (module → orchestrator, in a
``Message``), then ``routed_module_message`` and, for the reply, ``routed_module_response``
(orchestrator → module, bare). Through ``pywatt.wire`` each frame is unstructured by
cattrs and its payload bytes written and read as a JSON array of integers, which costs tens
of microseconds per hop. These helpers write the frames from a template and read them with a
pattern that accepts only the *canonical* form — exactly the bytes serde_json (and
``pywatt.wire``) writes: compact, fields in declaration order, lowercase hyphenated UUIDs,
strings without escapes, byte values without leading zeros and at most 255. A frame in any
other form (whitespace, escapes, another field order, extra fields, metadata) is not
refused here: the readers return ``None`` and the caller decodes it with ``pywatt.wire``,
which accepts and refuses exactly what Rust does. So a frame read here decodes to the same
values as through ``pywatt.wire``, and a frame written here has the same bytes; the tests
check both against ``pywatt.wire``.

The orchestrator forwards a route's payload without decoding its integers: the canonical
text of the ``EncodedMessage`` (``{"data":[...],"format":"Json"}``) is carried as
:attr:`RawRoute.payload_json` and spliced into the outgoing frame.
"""

from __future__ import annotations

import re
import uuid
from json.encoder import encode_basestring
from random import getrandbits
from typing import Final

import attrs

from pywatt.wire import (
    DEADLINE_PROPERTY,
    REPLY_MARKER_PROPERTY,
    EncodedMessage,
    EncodeError,
    EncodingFormat,
    FrameFormat,
    RoutedModuleMessage,
    RoutedModuleResponse,
    decode_json,
    encode_frame,
)

__all__ = [
    "RawRoute",
    "parse_route",
    "parse_routed",
    "payload_json",
    "route_budget_ms",
    "route_frame",
    "routed_message_frame",
    "routed_response_frame",
    "uuid4_text",
]

_UUID: Final = rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_STR: Final = rb'[^"\\\x00-\x1f]*'
# A byte value without leading zeros, longest alternative first so that the possessive
# repetition below never needs to backtrack into it.
_BYTE: Final = rb"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
_FORMAT: Final = rb',"format":"(Json|Binary|Base64|Auto)"\}'
_ROUTE: Final = re.compile(
    rb'\{"id":"' + _UUID + rb'","content":\{"op":"route_to_module","target_module_id":"('
    + _STR + rb')","target_endpoint":"(' + _STR + rb')","request_id":"(' + _UUID
    + rb')","payload":(\{"data":\[(?:' + _BYTE + rb"(?:," + _BYTE + rb")*+)?\]" + _FORMAT
    + rb')\},"metadata":\{\}\}'
)  # fmt: skip
# The byte values are checked by the lookup that converts them (_BYTE_OF).
_ROUTED: Final = re.compile(
    rb'\{"op":"routed_module_(message|response)","source_module_id":"(' + _STR
    + rb')","((?:original_)?)request_id":"(' + _UUID + rb')","payload":\{"data":\[([0-9,]*)\]'
    + _FORMAT + rb"\}"
)  # fmt: skip
_FORMATS: Final = {f.value.encode(): f for f in EncodingFormat}
_DIGITS: Final = [str(i).encode() for i in range(256)]
_BYTE_OF: Final = {text: value for value, text in enumerate(_DIGITS)}


@attrs.frozen
class RawRoute:
    """A ``route_to_module`` read by :func:`parse_route`: the fields, and the payload as the
    canonical JSON text of its ``EncodedMessage`` (forwarded as it is)."""

    target_module_id: str
    target_endpoint: str
    request_id: uuid.UUID
    payload_json: bytes

    def payload(self) -> EncodedMessage:
        """The payload as an ``EncodedMessage``. Raises ``DecodeError`` (never for a
        RawRoute made by :func:`parse_route`)."""
        value: EncodedMessage = decode_json(self.payload_json, EncodedMessage)
        return value


_V4_KEEP: Final = ~((0xF000 << 64) | (0xC000 << 48))
_V4_SET: Final = (0x4000 << 64) | (0x8000 << 48)
"""The version (4) and variant (RFC 4122) bits of a random UUID, as ``uuid.uuid4`` sets them."""
_UNKNOWN: Final = uuid.SafeUUID.unknown


def random_uuid() -> uuid.UUID:
    """A random (version 4) UUID, like ``uuid.uuid4()`` at a fraction of the cost: 128 bits
    from Python's ``random`` (no ``getrandom`` system call per id, no argument checks). The
    ids of requests and envelopes name them; they are no secret (a cancel is honoured only
    from the connection that sent the request) and need no cryptographic source."""
    value = getrandbits(128) & _V4_KEEP | _V4_SET
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", _UNKNOWN)
    return made


def uuid4_text() -> str:
    """A random (version 4) UUID in its hyphenated text form, like ``str(uuid.uuid4())``
    (an envelope id that is only ever written; see :func:`random_uuid`)."""
    h = "%032x" % (getrandbits(128) & _V4_KEEP | _V4_SET)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _text(value: str) -> bytes:
    try:
        return encode_basestring(value).encode("utf-8")
    except UnicodeEncodeError:
        raise EncodeError("string contains a lone surrogate; it has no UTF-8 form") from None


def payload_json(payload: EncodedMessage) -> bytes:
    """The JSON of an ``EncodedMessage`` (``{"data":[...],"format":"Json"}``)."""
    return (
        b'{"data":['
        + b",".join(map(_DIGITS.__getitem__, payload.data))
        + b'],"format":"'
        + payload.format.value.encode()
        + b'"}'
    )


def _as_byte_list(text: bytes) -> bytes:
    return b",".join(str(byte).encode() for byte in text)


# A budget in a request payload as pywatt writes it, seen through ``payload_json``'s list of
# byte values: ``"pywatt_deadline_ms":<digits>,"pywatt_reply":"`` in the properties, which
# close the payload (``}}}``), perhaps after trace context fields.
_BUDGET_KEY: Final = b"," + _as_byte_list(b'"' + DEADLINE_PROPERTY.encode() + b'":') + b","
_BUDGET_NEXT: Final = _as_byte_list(b',"' + REPLY_MARKER_PROPERTY.encode() + b'":"') + b","
_PAYLOAD_END: Final = b"," + _as_byte_list(b"}}}") + b'],"format":"Json"}'
_DIGIT_CODES: Final = {str(48 + d).encode(): d for d in range(10)}
_MAX_DIGITS: Final = 16


def route_budget_ms(payload: bytes) -> int | None:
    """The ``pywatt_deadline_ms`` of a request, read from its payload as the canonical JSON of
    its ``EncodedMessage`` (``RawRoute.payload_json``) without decoding it: None unless it is
    written the way pywatt writes a request's budget. Does not raise."""
    if not payload.endswith(_PAYLOAD_END):
        return None
    at = payload.rfind(_BUDGET_KEY)
    if at < 0:
        return None
    start = at + len(_BUDGET_KEY)
    codes = payload[start : start + 3 * (_MAX_DIGITS + 1)].split(b",", _MAX_DIGITS + 1)
    value = digits = consumed = 0
    for code in codes:
        digit = _DIGIT_CODES.get(code)
        if digit is None:
            break
        value = value * 10 + digit
        digits += 1
        consumed += len(code) + 1
    if not 0 < digits <= _MAX_DIGITS or (digits > 1 and codes[0] == b"48"):  # leading zero
        return None
    if not payload.startswith(_BUDGET_NEXT, start + consumed):
        return None
    return value


def route_frame(
    target_module_id: str,
    target_endpoint: str,
    request_id: uuid.UUID,
    payload: EncodedMessage,
    *,
    envelope_id: uuid.UUID | None = None,
) -> bytes:
    """The module→orchestrator frame of a ``route_to_module`` in a ``Message`` with empty
    metadata: the bytes ``encode_module_frame(RouteToModule(...))`` writes. Raises
    ``EncodeError`` / ``PayloadTooLarge``."""
    body = b"".join(
        (
            b'{"id":"',
            (uuid4_text() if envelope_id is None else str(envelope_id)).encode(),
            b'","content":{"op":"route_to_module","target_module_id":',
            _text(target_module_id),
            b',"target_endpoint":',
            _text(target_endpoint),
            b',"request_id":"',
            str(request_id).encode(),
            b'","payload":',
            payload_json(payload),
            b'},"metadata":{}}',
        )
    )
    return encode_frame(FrameFormat.JSON, body)


def _routed(op: bytes, id_field: bytes, source: str, request_id: uuid.UUID, body: bytes) -> bytes:
    return encode_frame(
        FrameFormat.JSON,
        b"".join(
            (
                b'{"op":"routed_module_',
                op,
                b'","source_module_id":',
                _text(source),
                id_field,
                str(request_id).encode(),
                b'","payload":',
                body,
                b"}",
            )
        ),
    )


def routed_message_frame(source: str, request_id: uuid.UUID, payload: bytes) -> bytes:
    """The orchestrator→module frame of a ``routed_module_message`` (bare), ``payload``
    being the JSON of its ``EncodedMessage`` (:func:`payload_json`)."""
    return _routed(b"message", b',"original_request_id":"', source, request_id, payload)


def routed_response_frame(source: str, request_id: uuid.UUID, payload: bytes) -> bytes:
    """The orchestrator→module frame of a ``routed_module_response`` (bare), ``payload``
    being the JSON of its ``EncodedMessage`` (:func:`payload_json`)."""
    return _routed(b"response", b',"request_id":"', source, request_id, payload)


def parse_route(payload: bytes | bytearray | memoryview) -> RawRoute | None:
    """Read a module→orchestrator frame payload that is a canonical ``Message`` of a
    ``route_to_module`` with empty metadata; ``None`` for anything else (decode that with
    ``pywatt.wire``). Does not block or raise."""
    match = _ROUTE.fullmatch(payload)
    if match is None:
        return None
    target, endpoint, request_id, body = match.group(1, 2, 3, 4)
    try:
        return RawRoute(target.decode(), endpoint.decode(), uuid.UUID(request_id.decode()), body)
    except UnicodeDecodeError:
        return None


def parse_routed(
    payload: bytes | bytearray | memoryview,
) -> RoutedModuleMessage | RoutedModuleResponse | None:
    """Read an orchestrator→module frame payload that is a canonical bare
    ``routed_module_message`` or ``routed_module_response``; ``None`` for anything else
    (decode that with ``pywatt.wire``). Does not block or raise."""
    match = _ROUTED.fullmatch(payload)
    if match is None:
        return None
    op, source, original, request_id, data, fmt = match.groups()
    if (op == b"message") != bool(original):  # each op has its own name for the id
        return None
    try:
        source_id = source.decode()
        values = bytes(map(_BYTE_OF.__getitem__, data.split(b","))) if data else b""
    except (UnicodeDecodeError, KeyError):  # not UTF-8; a value not canonical or > 255
        return None
    encoded = EncodedMessage(data=values, format=_FORMATS[fmt])
    rid = uuid.UUID(request_id.decode())
    if op == b"message":
        return RoutedModuleMessage(
            source_module_id=source_id, original_request_id=rid, payload=encoded
        )
    return RoutedModuleResponse(source_module_id=source_id, request_id=rid, payload=encoded)

"""The MessagePack form of stream frames, with strict decoding.

Each frame is one MessagePack map whose first key ``"stream"`` names the kind (``open``,
``data``, ``credit``, ``end``, ``abort``) and whose second, ``"id"``, is the stream id as a
16-byte ``bin``. Payloads are ``bin``, never integer arrays. Decoding accepts the keys in any
order but exactly the keys of the kind: a missing, unknown or repeated key, a wrong type or
an integer out of range raises ``StreamFrameError`` naming the field (``$.seq``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from ._errors import EncodeError, IntegerOutOfRange
from ._stream_data import decode_stream_data, stream_uuid
from ._stream_errors import StreamFrameError
from ._stream_frames import (
    AbortCode,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamFrame,
    StreamOpen,
)

__all__ = ["decode_stream_frame", "encode_stream_frame", "stream_frame_head"]

U32_MAX: Final = 2**32 - 1
U64_MAX: Final = 2**64 - 1

_OPTIONAL: Final[dict[str, tuple[str, ...]]] = {"open": ("peer",)}
_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "open": ("stream", "id", "endpoint", "metadata", "window", "chunk_size"),
    "data": ("stream", "id", "seq", "payload"),
    "credit": ("stream", "id", "credit", "granted"),
    "end": ("stream", "id", "chunks", "length", "crc32"),
    "abort": ("stream", "id", "code", "reason"),
}


# -- encoding ------------------------------------------------------------------------------------


def _uint(value: object, low: int, high: int, field: str) -> int:
    if type(value) is not int or not low <= value <= high:
        bits = "u32" if high == U32_MAX else "u64"
        expected = bits if low == 0 else f"{bits} of at least {low}"
        raise IntegerOutOfRange(value, expected, field)
    return value


def _str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise EncodeError(f"{field}: {value!r} is not a str")
    return value


def encode_stream_frame(frame: StreamFrame) -> bytes:
    """The MessagePack bytes of one stream frame. Does not block.

    Raises ``EncodeError`` (``IntegerOutOfRange`` for counters) naming the field, such as
    ``StreamData.seq``, when a value has no wire form.
    """
    name = type(frame).__name__
    if not isinstance(frame, StreamOpen | StreamData | StreamCredit | StreamEnd | StreamAbort):
        raise EncodeError(f"{frame!r} is not a stream frame")
    if not isinstance(frame.stream_id, uuid.UUID):
        raise EncodeError(f"{name}.stream_id: {frame.stream_id!r} is not a UUID")
    head: dict[str, Any] = {"id": frame.stream_id.bytes}
    if isinstance(frame, StreamOpen):
        if not isinstance(frame.metadata, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in frame.metadata.items()
        ):
            raise EncodeError(f"StreamOpen.metadata: {frame.metadata!r} is not a dict of str")
        body = {
            "stream": "open",
            **head,
            "endpoint": _str(frame.endpoint, "StreamOpen.endpoint"),
            "metadata": frame.metadata,
            "window": _uint(frame.window, 1, U32_MAX, "StreamOpen.window"),
            "chunk_size": _uint(frame.chunk_size, 1, U32_MAX, "StreamOpen.chunk_size"),
        }
        if frame.peer:
            body["peer"] = _str(frame.peer, "StreamOpen.peer")
    elif isinstance(frame, StreamData):
        if not isinstance(frame.payload, bytes | bytearray | memoryview):
            raise EncodeError(f"StreamData.payload: {type(frame.payload).__name__} is not bytes")
        body = {
            "stream": "data",
            **head,
            "seq": _uint(frame.seq, 0, U64_MAX, "StreamData.seq"),
            "payload": bytes(frame.payload),
        }
    elif isinstance(frame, StreamCredit):
        body = {
            "stream": "credit",
            **head,
            "credit": _uint(frame.credit, 1, U32_MAX, "StreamCredit.credit"),
            "granted": _uint(frame.granted, 1, U64_MAX, "StreamCredit.granted"),
        }
    elif isinstance(frame, StreamEnd):
        body = {
            "stream": "end",
            **head,
            "chunks": _uint(frame.chunks, 0, U64_MAX, "StreamEnd.chunks"),
            "length": _uint(frame.length, 0, U64_MAX, "StreamEnd.length"),
            "crc32": _uint(frame.crc32, 0, U32_MAX, "StreamEnd.crc32"),
        }
    else:
        if not isinstance(frame.code, AbortCode):
            raise EncodeError(f"StreamAbort.code: {frame.code!r} is not an AbortCode")
        body = {
            "stream": "abort",
            **head,
            "code": frame.code.value,
            "reason": _str(frame.reason, "StreamAbort.reason"),
        }
    return msgpack.packb(body, use_bin_type=True)  # type: ignore[no-any-return]


# -- decoding ------------------------------------------------------------------------------------


def _pairs(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    out: dict[Any, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _Repeated(key)
        out[key] = value
    return out


class _Repeated(Exception):
    def __init__(self, key: object) -> None:
        self.key = key


def _get_uint(body: dict[str, Any], key: str, low: int, high: int) -> int:
    value = body[key]
    if type(value) is not int:
        raise StreamFrameError(f"expected an unsigned integer, got {_kind(value)}", f"$.{key}")
    if not low <= value <= high:
        raise StreamFrameError(f"{value} is out of range {low}..{high}", f"$.{key}")
    return value


def _get_str(body: dict[str, Any], key: str) -> str:
    value = body[key]
    if not isinstance(value, str):
        raise StreamFrameError(f"expected a string, got {_kind(value)}", f"$.{key}")
    return value


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if value is None:
        return "nil"
    return {
        int: "an integer",
        float: "a float",
        str: "a string",
        bytes: "bin",
        list: "an array",
        dict: "a map",
    }.get(type(value), type(value).__name__)


def _open(sid: uuid.UUID, body: dict[str, Any]) -> StreamOpen:
    metadata = body["metadata"]
    if not isinstance(metadata, dict):
        raise StreamFrameError(f"expected a map, got {_kind(metadata)}", "$.metadata")
    for k, v in metadata.items():
        if not isinstance(k, str):
            raise StreamFrameError(f"expected string keys, got {_kind(k)}", "$.metadata")
        if not isinstance(v, str):
            raise StreamFrameError(f"expected a string, got {_kind(v)}", f"$.metadata.{k}")
    return StreamOpen(
        stream_id=sid,
        endpoint=_get_str(body, "endpoint"),
        metadata=metadata,
        window=_get_uint(body, "window", 1, U32_MAX),
        chunk_size=_get_uint(body, "chunk_size", 1, U32_MAX),
        peer=_get_str(body, "peer") if "peer" in body else "",
    )


def _data(sid: uuid.UUID, body: dict[str, Any]) -> StreamData:
    payload = body["payload"]
    if type(payload) is not bytes:
        raise StreamFrameError(f"expected bin, got {_kind(payload)}", "$.payload")
    return StreamData(stream_id=sid, seq=_get_uint(body, "seq", 0, U64_MAX), payload=payload)


def _credit(sid: uuid.UUID, body: dict[str, Any]) -> StreamCredit:
    return StreamCredit(
        stream_id=sid,
        credit=_get_uint(body, "credit", 1, U32_MAX),
        granted=_get_uint(body, "granted", 1, U64_MAX),
    )


def _end(sid: uuid.UUID, body: dict[str, Any]) -> StreamEnd:
    return StreamEnd(
        stream_id=sid,
        chunks=_get_uint(body, "chunks", 0, U64_MAX),
        length=_get_uint(body, "length", 0, U64_MAX),
        crc32=_get_uint(body, "crc32", 0, U32_MAX),
    )


def _abort(sid: uuid.UUID, body: dict[str, Any]) -> StreamAbort:
    code = _get_str(body, "code")
    try:
        parsed = AbortCode(code)
    except ValueError:
        known = ", ".join(c.value for c in AbortCode)
        raise StreamFrameError(f"unknown abort code {code!r} (known: {known})", "$.code") from None
    return StreamAbort(stream_id=sid, code=parsed, reason=_get_str(body, "reason"))


_DECODERS: Final[dict[str, Callable[[uuid.UUID, dict[str, Any]], StreamFrame]]] = {
    "open": _open,
    "data": _data,
    "credit": _credit,
    "end": _end,
    "abort": _abort,
}


def decode_stream_frame(data: bytes | bytearray | memoryview) -> StreamFrame:
    """Decode one stream frame from its MessagePack bytes. Does not block.

    Raises ``StreamFrameError`` (a ``DecodeError``) whose ``path`` names the failing field.
    """
    if type(data) is bytes:
        fast = decode_stream_data(data)  # a data frame as pywatt writes it: no general pass
        if fast is not None:
            return fast
    try:
        body = msgpack.unpackb(data, raw=False, object_pairs_hook=_pairs, strict_map_key=True)
    except _Repeated as exc:
        raise StreamFrameError(f"key {exc.key!r} appears twice") from None
    except msgpack.ExtraData:
        raise StreamFrameError("trailing bytes after the frame") from None
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise StreamFrameError(f"invalid MessagePack: {exc}") from None
    if not isinstance(body, dict):
        raise StreamFrameError(f"expected a map, got {_kind(body)}")
    kind = body.get("stream")
    if not isinstance(kind, str) or kind not in _KEYS:
        known = ", ".join(_KEYS)
        raise StreamFrameError(f"expected one of {known}, got {kind!r}", "$.stream")
    expected = _KEYS[kind]
    for key in expected:
        if key not in body:
            raise StreamFrameError(f"missing key {key!r} in a {kind} frame")
    optional = _OPTIONAL.get(kind, ())
    for key in body:
        if key not in expected and key not in optional:
            raise StreamFrameError(f"unknown key {key!r} in a {kind} frame")
    raw_id = body["id"]
    if type(raw_id) is not bytes or len(raw_id) != 16:
        got = f"{len(raw_id)} bytes" if type(raw_id) is bytes else _kind(raw_id)
        raise StreamFrameError(f"expected a 16-byte bin, got {got}", "$.id")
    return _DECODERS[kind](stream_uuid(raw_id), body)


_HEAD: Final = {
    kind: b"\xa6stream" + bytes([0xA0 | len(kind)]) + kind.encode() + b"\xa2id\xc4\x10"
    for kind in _KEYS
}
_HEADS: Final = sorted(_HEAD.items(), key=lambda item: item[0] != "data")  # most frames first
_HEAD_READ: Final = 1 + max(map(len, _HEAD.values())) + 16


def stream_frame_head(data: bytes | bytearray | memoryview) -> tuple[str, uuid.UUID] | None:
    """``(kind, stream id)`` of a stream frame in the form pywatt writes (``stream`` the
    first key and ``id`` the second), read without decoding the rest, so a relay can forward
    a data frame's bytes as they are; ``None`` for anything else (decode that with
    :func:`decode_stream_frame`). Does not block or raise."""
    raw = data if type(data) is bytes else memoryview(data)[:_HEAD_READ].tobytes()
    if len(raw) < 2 or not 0x81 <= raw[0] <= 0x8F:
        return None
    for kind, head in _HEADS:
        if raw.startswith(head, 1):
            end = 1 + len(head)
            if len(raw) < end + 16:
                return None
            return kind, stream_uuid(raw[end : end + 16])
    return None

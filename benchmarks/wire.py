"""The sans-io wire layer against the bare floors it is built on.

* ``frame_decode_<size>``: a stream of 64 B, 4 KiB or 1 MiB frames, fed to a
  :class:`~pywatt.wire.FrameDecoder` in 64 KiB chunks (as a socket delivers them) and drained
  with ``frames()`` (``pywatt``) or ``next_frame()`` (``pywatt_next_frame``). Baselines: a bare
  loop over the whole stream as one ``bytes`` that reads the header by slicing it
  (``bare``: ``int.from_bytes(buf[p:p+4])``) or with ``struct.unpack_from`` (``bare_struct``),
  slices the payload and advances; no limits, no checks, no objects.
* ``typed_roundtrip_<format>_<message>``: encode + decode of typed messages (decoding through
  the ``OrchestratorToModule`` / ``ModuleToOrchestrator`` unions, as a reader must) against a
  round trip of the same content as plain dicts with the same library (stdlib ``json`` with
  compact separators; ``msgpack.packb`` / ``unpackb``). ``secret`` is a ``get_secret``
  request plus a ``secret`` response; ``route`` is a ``route_to_module`` with 1 KiB of payload.

Rates are frames/s and messages/s; every ratio is pywatt ÷ floor.

    python -m benchmarks.wire [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import ctypes
import json
import struct
import sys
import uuid
from collections.abc import Callable
from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from benchmarks._harness import Bench, Implementation, main, rate_loop
from pywatt.wire import (
    NEED_DATA,
    EncodedMessage,
    FrameDecoder,
    FrameFormat,
    GetSecretRequest,
    Heartbeat,
    ModuleToOrchestrator,
    OrchestratorToModule,
    RouteToModule,
    SecretValueResponse,
    decode_json,
    decode_msgpack,
    encode_frame,
    encode_json,
    encode_msgpack,
)

CHUNK: Final = 64 * 1024
STREAM_BYTES: Final = 4 * 1024 * 1024
FRAME_SIZES: Final = {"64b": 64, "4kib": 4 * 1024, "1mib": 1024 * 1024}
FRAME_TARGET: Final = 0.5
TYPED_TARGET: Final = 0.125

_unpack_header = struct.Struct(">IB").unpack_from


# -- frame decoding ------------------------------------------------------------------------------


def _stream(payload_size: int) -> tuple[bytes, list[bytes], int]:
    """A stream of same-size JSON frames, about STREAM_BYTES long, and its 64 KiB chunks."""
    count = max(4, STREAM_BYTES // (payload_size + 5))
    payload = (b'{"op":"heartbeat"}' * (payload_size // 18 + 1))[:payload_size]
    stream = encode_frame(FrameFormat.JSON, payload) * count
    chunks = [stream[i : i + CHUNK] for i in range(0, len(stream), CHUNK)]
    return stream, chunks, count


def _checked(count: int, expected: int) -> int:
    if count != expected:
        raise RuntimeError(f"decoded {count} frames, expected {expected}")
    return count


def _pywatt_frames(chunks: list[bytes], expected: int) -> Implementation:
    def one_stream() -> float:
        decoder = FrameDecoder()
        count = 0
        for chunk in chunks:
            decoder.feed(chunk)
            for _frame in decoder.frames():
                count += 1
        decoder.at_eof()
        return _checked(count, expected)

    return lambda seconds: rate_loop(one_stream, seconds)


def _pywatt_next_frame(chunks: list[bytes], expected: int) -> Implementation:
    def one_stream() -> float:
        decoder = FrameDecoder()
        next_frame = decoder.next_frame
        count = 0
        for chunk in chunks:
            decoder.feed(chunk)
            while (_frame := next_frame()) is not NEED_DATA:
                count += 1
        decoder.at_eof()
        return _checked(count, expected)

    return lambda seconds: rate_loop(one_stream, seconds)


def _bare_slicing(stream: bytes, expected: int) -> Implementation:
    def one_stream() -> float:
        pos = 0
        end = len(stream)
        count = 0
        while end - pos >= 5:
            size = int.from_bytes(stream[pos : pos + 4], "big")
            _code = stream[pos + 4]
            _payload = stream[pos + 5 : pos + 5 + size]
            pos += 5 + size
            count += 1
        return _checked(count, expected)

    return lambda seconds: rate_loop(one_stream, seconds)


def _bare_struct(stream: bytes, expected: int) -> Implementation:
    def one_stream() -> float:
        pos = 0
        end = len(stream)
        count = 0
        while end - pos >= 5:
            size, _code = _unpack_header(stream, pos)
            _payload = stream[pos + 5 : pos + 5 + size]
            pos += 5 + size
            count += 1
        return _checked(count, expected)

    return lambda seconds: rate_loop(one_stream, seconds)


def define_frames(bench: Bench) -> None:
    for label, size in FRAME_SIZES.items():
        stream, chunks, count = _stream(size)
        name = f"frame_decode_{label}"
        case = bench.case(name, unit="frames/s")
        case.add("pywatt", _pywatt_frames(chunks, count))
        case.add("pywatt_next_frame", _pywatt_next_frame(chunks, count))
        case.add("bare", _bare_slicing(stream, count))
        case.add("bare_struct", _bare_struct(stream, count))
        bench.target(bench.ratio(name, "pywatt", "bare"), ">=", FRAME_TARGET)
        bench.ratio(name, "pywatt", "bare_struct")


# -- typed round trips -----------------------------------------------------------------------------

REQUEST_ID: Final = uuid.UUID("a1a2a3a4-b1b2-c1c2-d1d2-d3d4d5d6d7d8")

MESSAGES: Final[dict[str, list[tuple[Any, Any]]]] = {
    "heartbeat": [(Heartbeat(), OrchestratorToModule)],
    "secret": [
        (GetSecretRequest(name="DATABASE_URL"), ModuleToOrchestrator),
        (
            SecretValueResponse(name="DATABASE_URL", value="postgres://u:p@h/db"),
            OrchestratorToModule,
        ),
    ],
    "route": [
        (
            RouteToModule(
                target_module_id="billing",
                target_endpoint="charge",
                request_id=REQUEST_ID,
                payload=EncodedMessage(data=bytes(range(256)) * 4),  # 1 KiB
            ),
            ModuleToOrchestrator,
        )
    ],
}

Codec = tuple[Callable[[Any], bytes], Callable[[bytes, Any], Any]]
CODECS: Final[dict[str, Codec]] = {
    "json": (encode_json, decode_json),
    "msgpack": (encode_msgpack, decode_msgpack),
}


def _json_untyped(value: Any) -> Any:
    return json.loads(json.dumps(value, separators=(",", ":")).encode())


def _msgpack_untyped(value: Any) -> Any:
    return msgpack.unpackb(msgpack.packb(value))


UNTYPED: Final[dict[str, Callable[[Any], Any]]] = {
    "json": _json_untyped,
    "msgpack": _msgpack_untyped,
}
PLAIN_DECODE: Final[dict[str, Callable[[bytes], Any]]] = {
    "json": json.loads,
    "msgpack": msgpack.unpackb,
}

ROUND_TRIPS_PER_BATCH: Final = 200


def _typed(fmt: str, pairs: list[tuple[Any, Any]]) -> Implementation:
    encode, decode = CODECS[fmt]
    for value, union in pairs:  # measure only what works
        if decode(encode(value), union) != value:
            raise RuntimeError(f"{fmt} round trip of {value!r} is not the identity")

    def batch() -> float:
        for _ in range(ROUND_TRIPS_PER_BATCH):
            for value, union in pairs:
                decode(encode(value), union)
        return ROUND_TRIPS_PER_BATCH * len(pairs)

    return lambda seconds: rate_loop(batch, seconds)


def _untyped(fmt: str, pairs: list[tuple[Any, Any]]) -> Implementation:
    encode, _ = CODECS[fmt]
    round_trip = UNTYPED[fmt]
    # The same content as plain data: what our typed encoder writes, read back untyped.
    documents = [PLAIN_DECODE[fmt](encode(value)) for value, _ in pairs]
    for document in documents:
        if round_trip(document) != document:
            raise RuntimeError(f"untyped {fmt} round trip of {document!r} is not the identity")

    def batch() -> float:
        for _ in range(ROUND_TRIPS_PER_BATCH):
            for document in documents:
                round_trip(document)
        return ROUND_TRIPS_PER_BATCH * len(documents)

    return lambda seconds: rate_loop(batch, seconds)


def define_typed(bench: Bench) -> None:
    for fmt in CODECS:
        for message, pairs in MESSAGES.items():
            name = f"typed_roundtrip_{fmt}_{message}"
            case = bench.case(name, unit="msg/s")
            case.add("typed", _typed(fmt, pairs))
            case.add("untyped", _untyped(fmt, pairs))
            bench.target(bench.ratio(name, "typed", "untyped"), ">=", TYPED_TARGET)


def _steady_allocator() -> str:
    """Stop glibc from handing freed megabyte blocks back to the OS between two frames.

    With the default, dynamic thresholds, whether a 1 MiB allocation page-faults depends on
    what the process allocated before, so the 1 MiB case measured 5k or 45k frames/s for the
    same code depending on the order of the cases. Fixed thresholds make every
    implementation pay for copying, not for page faults; the setting is recorded in meta.
    """
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:
        return "default"
    m_trim_threshold, m_mmap_threshold = -1, -3  # from <malloc.h>
    trimmed = libc.mallopt(m_trim_threshold, 256 * 1024 * 1024) == 1
    mapped = libc.mallopt(m_mmap_threshold, 32 * 1024 * 1024) == 1
    return "glibc trim_threshold=256MiB mmap_threshold=32MiB" if trimmed and mapped else "default"


def define(bench: Bench) -> None:
    bench.meta.update(chunk_bytes=CHUNK, stream_bytes=STREAM_BYTES, malloc=_steady_allocator())
    define_frames(bench)
    define_typed(bench)


if __name__ == "__main__":
    sys.exit(main("wire", define))

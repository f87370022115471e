"""What the orchestrator's relay reads of a stream frame, and the ``peer`` key of an open
(docs/protocol-extensions.md §9.4); the value bodies of big requests and replies."""

from __future__ import annotations

import uuid
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from pywatt.wire import (
    AbortCode,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamFrameError,
    StreamOpen,
    decode_body,
    decode_stream_frame,
    encode_body,
    encode_body_parts,
    encode_msgpack,
    encode_stream_frame,
    stream_frame_head,
)

SID = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")

FRAMES = [
    StreamOpen(stream_id=SID, endpoint="upload", peer="storage"),
    StreamData(stream_id=SID, seq=7, payload=b"x" * 70000),
    StreamCredit(stream_id=SID, credit=5, granted=5),
    StreamEnd(stream_id=SID, chunks=1, length=2, crc32=3),
    StreamAbort(stream_id=SID, code=AbortCode.STOPPED, reason="gone"),
]


@pytest.mark.parametrize("frame", FRAMES, ids=lambda f: type(f).__name__)
def test_the_head_is_the_kind_and_the_id_read_from_the_first_bytes(frame: Any) -> None:
    data = encode_stream_frame(frame)
    kind = {"StreamOpen": "open", "StreamData": "data", "StreamCredit": "credit",
            "StreamEnd": "end", "StreamAbort": "abort"}[type(frame).__name__]  # fmt: skip
    assert stream_frame_head(data) == (kind, SID)
    assert decode_stream_frame(data) == frame


def test_a_frame_in_another_key_order_or_no_frame_has_no_head() -> None:
    reordered = msgpack.packb(
        {"id": SID.bytes, "stream": "data", "seq": 0, "payload": b""}, use_bin_type=True
    )
    assert stream_frame_head(reordered) is None
    assert decode_stream_frame(reordered) == StreamData(stream_id=SID, seq=0, payload=b"")
    for junk in (b"", b"\x80", b"\x84\xa6stream\xa4data\xa2id\xc4\x10abc", b"\x01\x02"):
        assert stream_frame_head(junk) is None


def test_peer_is_written_only_when_set_and_must_be_a_string() -> None:
    plain = encode_stream_frame(StreamOpen(stream_id=SID, endpoint="e"))
    assert b"peer" not in plain
    assert decode_stream_frame(plain) == StreamOpen(stream_id=SID, endpoint="e", peer="")
    body = msgpack.unpackb(encode_stream_frame(FRAMES[0]), raw=False)
    assert list(body)[-1] == "peer"
    body["peer"] = 7
    with pytest.raises(StreamFrameError) as info:
        decode_stream_frame(msgpack.packb(body, use_bin_type=True))
    assert info.value.path == "$.peer"


def test_a_value_body_keeps_bytes_as_bin() -> None:
    value = {"name": "a.bin", "data": b"\x00\xff" * 3, "parts": [b"ab", 1, None]}
    body = encode_body(value)
    assert len(body) < len(encode_msgpack(value))  # no integer arrays
    assert msgpack.unpackb(body, raw=False)["data"] == b"\x00\xff" * 3
    assert decode_body(body, Any) == value
    assert decode_body(encode_body(b"\x01" * 10), bytes) == b"\x01" * 10


@pytest.mark.parametrize("size", [0, 1, 255, 256, 65535, 65536, 70000])
def test_body_parts_are_the_body_without_copying_a_bytes_value(size: int) -> None:
    """``encode_body_parts``: the ``bin`` header and a view of the value itself, for every
    header size (bin 8, 16 and 32); any other value is the whole body and nothing more."""
    value = bytes(i % 251 for i in range(size))
    head, rest = encode_body_parts(value)
    assert head + bytes(rest) == encode_body(value)
    assert rest.obj is value  # the value itself, not a copy
    other = {"data": value}
    assert encode_body_parts(other) == (encode_body(other), memoryview(b""))

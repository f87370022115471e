"""The MessagePack form of stream frames: exact bytes, and strict decoding naming the field."""

from __future__ import annotations

import uuid
from typing import Any

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt import wire as w

SID = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")


def test_a_data_frame_is_a_map_with_a_bin_payload() -> None:
    raw = w.encode_stream_frame(w.StreamData(stream_id=SID, seq=3, payload=b"hi"))
    assert raw == bytes.fromhex(
        "84a673747265616da464617461a26964c4103f2c6a9e8b1d4c529a470e5d2b7f1c11"
        "a3736571"
        "03"
        "a77061796c6f6164c4026869"
    )


def test_every_kind_round_trips() -> None:
    frames: list[w.StreamFrame] = [
        w.StreamOpen(stream_id=SID, endpoint="upload", metadata={"name": "a.bin"}),
        w.StreamData(stream_id=SID, seq=2**64 - 1, payload=b"\x00" * 70000),
        w.StreamCredit(stream_id=SID, credit=5, granted=10),
        w.StreamEnd(stream_id=SID, chunks=0, length=0, crc32=2**32 - 1),
        w.StreamAbort(stream_id=SID, code=w.AbortCode.CRASHED, reason="ValueError: x"),
    ]
    for frame in frames:
        assert w.decode_stream_frame(w.encode_stream_frame(frame)) == frame
    assert [c.value for c in w.AbortCode] == [
        "cancelled", "crashed", "stopped", "protocol", "integrity", "refused", "too_large",
        "application", "idle",
    ]  # fmt: skip


def _raw(**body: Any) -> bytes:
    return msgpack.packb(body, use_bin_type=True)  # type: ignore[no-any-return]


GOOD = {"stream": "data", "id": SID.bytes, "seq": 0, "payload": b""}


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({**GOOD, "seq": -1}, "$.seq", "-1 is out of range"),
        ({**GOOD, "seq": True}, "$.seq", "got a boolean"),
        ({**GOOD, "payload": [1, 2]}, "$.payload", "expected bin, got an array"),
        ({**GOOD, "payload": "hi"}, "$.payload", "expected bin, got a string"),
        ({**GOOD, "id": b"short"}, "$.id", "16-byte bin, got 5 bytes"),
        ({**GOOD, "id": str(SID)}, "$.id", "got a string"),
        ({**GOOD, "stream": "chunk"}, "$.stream", "expected one of open, data"),
        ({**GOOD, "stream": {}}, "$.stream", "expected one of open, data"),
        ({**GOOD, "extra": 1}, "$", "unknown key 'extra' in a data frame"),
        ({"stream": "data", "id": SID.bytes, "seq": 0}, "$", "missing key 'payload'"),
        (
            {"stream": "credit", "id": SID.bytes, "credit": 0, "granted": 1},
            "$.credit",
            "0 is out of range 1..",
        ),
        (
            {"stream": "abort", "id": SID.bytes, "code": "oops", "reason": ""},
            "$.code",
            "unknown abort code 'oops'",
        ),
        (
            {
                "stream": "open",
                "id": SID.bytes,
                "endpoint": "e",
                "metadata": {"a": 1},
                "window": 1,
                "chunk_size": 1,
            },
            "$.metadata.a",
            "expected a string, got an integer",
        ),
        (
            {
                "stream": "open",
                "id": SID.bytes,
                "endpoint": "e",
                "metadata": {},
                "window": 0,
                "chunk_size": 1,
            },
            "$.window",
            "0 is out of range 1..4294967295",
        ),
    ],
)
def test_decoding_is_strict_and_names_the_field(body: Any, path: str, message: str) -> None:
    with pytest.raises(w.StreamFrameError, match=message) as info:
        w.decode_stream_frame(_raw(**body))
    assert info.value.path == path
    assert isinstance(info.value, w.DecodeError)


def test_garbage_repeated_keys_and_trailing_bytes_are_rejected() -> None:
    with pytest.raises(w.StreamFrameError, match="expected a map, got an array"):
        w.decode_stream_frame(msgpack.packb([1]))
    with pytest.raises(w.StreamFrameError, match="trailing bytes"):
        w.decode_stream_frame(_raw(**GOOD) + b"\x00")
    with pytest.raises(w.StreamFrameError, match="invalid MessagePack"):
        w.decode_stream_frame(b"\xc1")
    # a map with "seq" twice, written by hand
    twice = b"\x85\xa6stream\xa4data\xa2id\xc4\x10" + SID.bytes + b"\xa3seq\x00\xa3seq\x01"
    twice += b"\xa7payload\xc4\x00"
    with pytest.raises(w.StreamFrameError, match="key 'seq' appears twice"):
        w.decode_stream_frame(twice)


def test_encoding_names_a_bad_field() -> None:
    with pytest.raises(w.IntegerOutOfRange, match=r"StreamData\.seq: -1 is not a u64"):
        w.encode_stream_frame(w.StreamData(stream_id=SID, seq=-1, payload=b""))
    with pytest.raises(w.EncodeError, match=r"StreamOpen\.window: 0 is not a u32 of at least 1"):
        w.encode_stream_frame(w.StreamOpen(stream_id=SID, endpoint="e", window=0))
    with pytest.raises(w.EncodeError, match=r"StreamData\.payload: str is not bytes"):
        w.encode_stream_frame(w.StreamData(stream_id=SID, seq=0, payload="x"))  # type: ignore[arg-type]


@given(st.binary(max_size=200))
def test_arbitrary_bytes_decode_or_raise_a_stream_frame_error(data: bytes) -> None:
    try:
        frame = w.decode_stream_frame(data)
    except w.StreamFrameError:
        return
    assert w.decode_stream_frame(w.encode_stream_frame(frame)) == frame

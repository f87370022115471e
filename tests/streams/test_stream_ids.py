"""The stream id of a frame read on the hot paths: the same ``UUID`` whichever reader made
it and whatever buffer held the frame, one object reused while frames of one stream come in
a row, and never the id of another stream."""

from __future__ import annotations

import uuid

import pytest

from pywatt.wire import (
    AbortCode,
    StreamAbort,
    StreamCredit,
    StreamData,
    StreamEnd,
    StreamFrame,
    StreamOpen,
    decode_stream_data,
    decode_stream_frame,
    encode_stream_data,
    encode_stream_frame,
    stream_frame_head,
)
from pywatt.wire._stream_data import stream_uuid

A = uuid.UUID("11111111-2222-4333-8444-555555555555")
B = uuid.UUID("99999999-8888-4777-8666-555555555555")


def test_the_last_id_is_reused_and_another_id_is_never_confused_with_it() -> None:
    first = stream_uuid(A.bytes)
    assert first == A
    assert stream_uuid(A.bytes) is first  # the same stream's next frame: no new object
    other = stream_uuid(B.bytes)
    assert other == B
    assert other != first
    assert stream_uuid(A.bytes) == A  # back to A: made anew, still A
    for raw in (bytes(16), b"\xff" * 16, A.bytes[:15] + b"\x00"):
        assert stream_uuid(raw) == uuid.UUID(bytes=raw)


@pytest.mark.parametrize(
    "frame",
    [
        StreamOpen(stream_id=A, endpoint="upload", peer="storage"),
        StreamData(stream_id=A, seq=3, payload=b"x" * 70000),
        StreamCredit(stream_id=A, credit=5, granted=5),
        StreamEnd(stream_id=A, chunks=1, length=2, crc32=3),
        StreamAbort(stream_id=A, code=AbortCode.STOPPED, reason="gone"),
    ],
    ids=lambda f: type(f).__name__,
)
def test_every_reader_gives_the_same_id_from_any_buffer(frame: StreamFrame) -> None:
    data = encode_stream_frame(frame)
    for holder in (data, bytearray(data), memoryview(data), memoryview(b"??" + data)[2:]):
        head = stream_frame_head(holder)
        assert head is not None
        assert head[1] == A
        assert decode_stream_frame(holder) == frame
    stream_uuid(B.bytes)  # another stream's frame came in between
    assert decode_stream_frame(data).stream_id == A
    if isinstance(frame, StreamData):
        fast = decode_stream_data(data)
        assert fast == frame
        assert fast is not None
        assert fast.stream_id is decode_stream_frame(data).stream_id


def test_a_head_cut_short_is_no_head_from_any_buffer() -> None:
    data = encode_stream_frame(StreamCredit(stream_id=A, credit=1, granted=1))
    cut = data[: data.index(A.bytes) + 15]
    for holder in (cut, bytearray(cut), memoryview(cut)):
        assert stream_frame_head(holder) is None


def test_a_data_frame_needs_a_16_byte_id() -> None:
    for raw in (b"", A.bytes[:15], A.bytes + b"\x00"):
        with pytest.raises(ValueError, match="16 bytes"):
            encode_stream_data(raw, 0, b"x")

"""Frames of the TCP / Unix-socket channels: Rust's bytes, limits, errors, any chunking."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.wire._errors import (
    FrameTooLarge,
    IncompleteFrame,
    InvalidFormatCode,
    LocalProtocolError,
    PayloadTooLarge,
    RemoteProtocolError,
    UnsendableFormat,
)
from pywatt.wire._framing import (
    DEFAULT_MAX_FRAME_SIZE,
    HEADER_SIZE,
    NEED_DATA,
    Frame,
    FrameDecoder,
    FrameFormat,
    NeedData,
    encode_frame,
)

VECTORS = Path(__file__).parent / "data" / "vectors.jsonl"


def _frame_vectors() -> list[dict[str, Any]]:
    with VECTORS.open() as f:
        vectors = [json.loads(line) for line in f]
    return [v for v in vectors if v["format"] == "frame"]


FRAME_VECTORS = _frame_vectors()
SENDABLE = [FrameFormat.JSON, FrameFormat.BINARY, FrameFormat.BASE64, FrameFormat.MSGPACK]


def drain(decoder: FrameDecoder) -> list[Frame]:
    out = []
    while (frame := decoder.next_frame()) is not NEED_DATA:
        out.append(frame)
    return out


def split(data: bytes, cuts: list[int]) -> Iterator[bytes]:
    start = 0
    for cut in sorted({c % (len(data) + 1) for c in cuts}):
        yield data[start:cut]
        start = cut
    yield data[start:]


# -- the Rust SDK's frames -------------------------------------------------------------------------


def test_there_are_frame_vectors() -> None:
    assert len(FRAME_VECTORS) >= 20
    assert {v["frame_format_code"] for v in FRAME_VECTORS} == {1, 2, 3}


@pytest.mark.parametrize("vector", FRAME_VECTORS, ids=[v["name"] for v in FRAME_VECTORS])
def test_rust_frame_decodes_and_reencodes_byte_identically(vector: dict[str, Any]) -> None:
    raw = bytes.fromhex(vector["hex"])
    decoder = FrameDecoder()
    decoder.feed(raw)
    frame = decoder.next_frame()
    assert isinstance(frame, Frame)
    assert frame.format == vector["frame_format_code"]
    assert frame.payload == raw[HEADER_SIZE:]
    if "text" in vector:
        assert frame.payload.decode() == vector["text"]
    assert decoder.next_frame() is NEED_DATA
    decoder.at_eof()
    assert encode_frame(frame.format, frame.payload) == raw
    assert frame.encode() == raw


def test_all_rust_frames_decode_from_one_stream_fed_byte_by_byte() -> None:
    raws = [bytes.fromhex(v["hex"]) for v in FRAME_VECTORS]
    decoder = FrameDecoder()
    frames = []
    for byte in b"".join(raws):
        decoder.feed(bytes([byte]))
        frames += drain(decoder)
    assert [f.encode() for f in frames] == raws


def test_heartbeat_frame_from_the_protocol_document() -> None:
    raw = bytes.fromhex("0000001201") + b'{"op":"heartbeat"}'
    assert encode_frame(FrameFormat.JSON, b'{"op":"heartbeat"}') == raw
    decoder = FrameDecoder()
    decoder.feed(raw)
    assert decoder.next_frame() == Frame(FrameFormat.JSON, b'{"op":"heartbeat"}')


def test_format_codes_match_the_protocol() -> None:
    assert [(f.name, int(f)) for f in FrameFormat] == [
        ("AUTO", 0),
        ("JSON", 1),
        ("BINARY", 2),
        ("BASE64", 3),
        ("MSGPACK", 4),
    ]


# -- frames are ordinary frozen attrs values -------------------------------------------------------


def test_decoded_frames_equal_constructed_frames_and_are_frozen() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(FrameFormat.MSGPACK, b"\x81\xa1a\x01") * 2)
    fast = decoder.next_frame()  # built by the fast path
    (batch,) = decoder.frames()  # built by the generator's loop
    built = Frame(FrameFormat.MSGPACK, b"\x81\xa1a\x01")
    assert fast == batch == built
    assert hash(fast) == hash(built)
    assert type(fast) is Frame
    assert isinstance(fast, Frame)
    assert fast.format is FrameFormat.MSGPACK
    assert type(fast.payload) is bytes
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        fast.payload = b""  # type: ignore[misc]
    assert attrs.evolve(fast, payload=b"x") == Frame(FrameFormat.MSGPACK, b"x")


def test_frame_repr_shortens_big_payloads() -> None:
    assert "1048576 bytes" in repr(Frame(FrameFormat.JSON, b"x" * 1024 * 1024))
    small = repr(Frame(FrameFormat.JSON, b"{}"))
    assert small == "Frame(format=<FrameFormat.JSON: 1>, payload=b'{}')"


def test_need_data_is_a_typed_singleton() -> None:
    assert isinstance(NEED_DATA, NeedData)
    assert list(NeedData) == [NEED_DATA]
    assert repr(NEED_DATA) == "NEED_DATA"
    assert FrameDecoder().next_frame() is NEED_DATA


# -- any chunking gives the same frames ------------------------------------------------------------

frames_strategy = st.lists(
    st.builds(Frame, st.sampled_from(SENDABLE), st.binary(max_size=300)), max_size=12
)


@given(frames_strategy, st.lists(st.integers(min_value=0), max_size=20))
def test_any_rechunking_yields_the_same_frames(frames: list[Frame], cuts: list[int]) -> None:
    stream = b"".join(f.encode() for f in frames)
    one_by_one, batched = FrameDecoder(), FrameDecoder()
    got_one: list[Frame] = []
    got_batch: list[Frame] = []
    for chunk in split(stream, cuts):
        one_by_one.feed(chunk)
        got_one += drain(one_by_one)
        batched.feed(chunk)
        got_batch += batched.frames()
    assert got_one == frames
    assert got_batch == frames
    assert one_by_one.buffered == batched.buffered == 0
    one_by_one.at_eof()
    batched.at_eof()


def _expected(data: bytes, limit: int) -> tuple[list[Frame], type[Exception] | None, int]:
    """A plain model of the decoder: the frames, the error the stream ends with, its offset."""
    frames: list[Frame] = []
    pos = 0
    while len(data) - pos >= HEADER_SIZE:
        size, code = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4]
        if not 1 <= code <= 4:
            return frames, InvalidFormatCode, pos
        if size > limit:
            return frames, FrameTooLarge, pos
        if pos + HEADER_SIZE + size > len(data):
            break
        frames.append(Frame(FrameFormat(code), data[pos + HEADER_SIZE : pos + HEADER_SIZE + size]))
        pos += HEADER_SIZE + size
    return frames, (IncompleteFrame if pos < len(data) else None), pos


@given(
    st.binary(max_size=2000),
    st.lists(st.integers(min_value=0), max_size=30),
    st.integers(min_value=0, max_value=64),
    st.booleans(),
)
def test_arbitrary_bytes_give_frames_or_a_typed_error_and_bounded_buffering(
    data: bytes, cuts: list[int], limit: int, batch: bool
) -> None:
    decoder = FrameDecoder(max_frame_size=limit)
    want_frames, want_error, want_offset = _expected(data, limit)
    frames: list[Frame] = []
    try:
        for chunk in split(data, cuts):
            decoder.feed(chunk)
            assert decoder.buffered <= HEADER_SIZE + limit + len(chunk)
            if batch:
                frames.extend(decoder.frames())
            else:
                while (frame := decoder.next_frame()) is not NEED_DATA:
                    frames.append(frame)
            # Drained: at most one incomplete frame is left.
            assert decoder.buffered < HEADER_SIZE + limit
        decoder.at_eof()
    except (FrameTooLarge, InvalidFormatCode, IncompleteFrame) as exc:
        assert type(exc) is want_error
        assert exc.offset == want_offset
        assert frames == want_frames
        assert decoder.broken
        assert decoder.buffered == 0
        with pytest.raises(RemoteProtocolError):
            decoder.next_frame()
    else:
        assert want_error is None
        assert frames == want_frames


@given(
    frames_strategy,
    st.sampled_from(["bad code", "too large", "truncated header", "truncated payload"]),
    st.lists(st.integers(min_value=0), max_size=20),
    st.booleans(),
)
def test_errors_after_good_frames_name_the_right_offset(
    frames: list[Frame], damage: str, cuts: list[int], batch: bool
) -> None:
    good = b"".join(f.encode() for f in frames)
    tail, error = {
        "bad code": (b"\x00\x00\x00\x01\x05x", InvalidFormatCode),
        "too large": (b"\x00\x00\x01\x2d\x01", FrameTooLarge),  # 301 > 300
        "truncated header": (b"\x00\x00\x00", IncompleteFrame),
        "truncated payload": (b"\x00\x00\x00\x09\x01abc", IncompleteFrame),
    }[damage]
    decoder = FrameDecoder(max_frame_size=300)
    got: list[Frame] = []
    with pytest.raises(error) as info:
        for chunk in split(good + tail, cuts):
            decoder.feed(chunk)
            if batch:
                got.extend(decoder.frames())
            else:
                while (frame := decoder.next_frame()) is not NEED_DATA:
                    got.append(frame)
        decoder.at_eof()
    assert got == frames
    assert info.value.offset == len(good)  # type: ignore[attr-defined]


# A few pinned cases besides the random ones: a bad header right after a chunk boundary,
# inside the header, and after good frames in the same chunk.
@pytest.mark.parametrize("cut", range(HEADER_SIZE * 3 + 4))
def test_bad_header_is_found_wherever_the_chunks_split(cut: int) -> None:
    good = encode_frame(FrameFormat.JSON, b"{}") + encode_frame(FrameFormat.BINARY, b"")
    data = good + b"\x00\x00\x00\x01\x07x"
    for batch in (False, True):
        decoder = FrameDecoder()
        frames: list[Frame] = []
        with pytest.raises(InvalidFormatCode):
            for chunk in (data[:cut], data[cut:]):
                decoder.feed(chunk)
                if batch:
                    frames.extend(decoder.frames())
                else:
                    while (frame := decoder.next_frame()) is not NEED_DATA:
                        frames.append(frame)
        assert frames == [Frame(FrameFormat.JSON, b"{}"), Frame(FrameFormat.BINARY, b"")]


# -- limits and errors -----------------------------------------------------------------------------


def test_oversized_header_is_refused_before_the_payload_arrives() -> None:
    decoder = FrameDecoder(max_frame_size=1000)
    decoder.feed(encode_frame(FrameFormat.JSON, b"x" * 10))
    assert decoder.next_frame() == Frame(FrameFormat.JSON, b"x" * 10)
    decoder.feed((1001).to_bytes(4, "big") + b"\x01")  # only the header of the next frame
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_frame()
    assert (info.value.declared_size, info.value.limit, info.value.offset) == (1001, 1000, 15)
    assert "1001-byte payload" in str(info.value)
    assert "limit is 1000 bytes" in str(info.value)
    assert decoder.buffered == 0


@pytest.mark.parametrize("batch", [False, True])
def test_oversized_frame_is_refused_even_when_wholly_buffered(batch: bool) -> None:
    decoder = FrameDecoder(max_frame_size=4)
    decoder.feed(encode_frame(FrameFormat.JSON, b"12345") + encode_frame(FrameFormat.JSON, b"1"))
    with pytest.raises(FrameTooLarge) as info:
        list(decoder.frames()) if batch else decoder.next_frame()
    assert (info.value.declared_size, info.value.limit, info.value.offset) == (5, 4, 0)


def test_default_limit_is_16_mib_and_a_4_gib_header_is_refused() -> None:
    assert FrameDecoder().max_frame_size == DEFAULT_MAX_FRAME_SIZE == 16 * 1024 * 1024
    decoder = FrameDecoder()
    decoder.feed(b"\xff\xff\xff\xff\x01")
    with pytest.raises(FrameTooLarge) as info:
        decoder.next_frame()
    assert info.value.declared_size == 0xFFFF_FFFF


def test_frame_of_exactly_the_limit_is_accepted() -> None:
    decoder = FrameDecoder(max_frame_size=3)
    decoder.feed(encode_frame(FrameFormat.BINARY, b"abc"))
    assert decoder.next_frame() == Frame(FrameFormat.BINARY, b"abc")


@pytest.mark.parametrize("code", [0, 5, 6, 127, 255])
def test_invalid_format_code_is_refused(code: int) -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(FrameFormat.JSON, b"{}") + b"\x00\x00\x00\x02" + bytes([code]))
    assert decoder.next_frame() == Frame(FrameFormat.JSON, b"{}")
    with pytest.raises(InvalidFormatCode) as info:
        decoder.next_frame()
    assert info.value.code == code
    assert info.value.offset == 7
    assert f"format code {code}" in str(info.value)


def test_msgpack_code_4_is_accepted() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x01\x04\xc0")
    assert decoder.next_frame() == Frame(FrameFormat.MSGPACK, b"\xc0")


def test_error_state_is_sticky() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x00\x00\x00")
    with pytest.raises(InvalidFormatCode) as first:
        decoder.next_frame()
    assert decoder.broken
    calls: list[Callable[[], object]] = [
        lambda: decoder.next_frame(),
        lambda: list(decoder.frames()),
        lambda: decoder.feed(encode_frame(FrameFormat.JSON, b"{}")),
        lambda: decoder.at_eof(),
    ]
    for call in calls * 2:
        with pytest.raises(RemoteProtocolError, match="broken by an earlier error") as later:
            call()
        assert later.value.__cause__ is first.value


def test_generator_yields_the_good_frames_then_raises_the_typed_error() -> None:
    decoder = FrameDecoder(max_frame_size=10)
    good = [Frame(FrameFormat.JSON, b"1"), Frame(FrameFormat.BASE64, b"2")]
    decoder.feed(b"".join(f.encode() for f in good) + b"\x00\x00\x00\x0b\x01")
    frames = []
    with pytest.raises(FrameTooLarge):
        for frame in decoder.frames():
            frames.append(frame)
    assert frames == good
    with pytest.raises(RemoteProtocolError, match="broken"):
        list(decoder.frames())


def test_generator_finds_an_error_in_a_header_split_across_chunks() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(FrameFormat.JSON, b"{}") + b"\x00\x00")
    decoder.feed(b"\x00\x01\x09")
    frames = decoder.frames()
    assert next(frames) == Frame(FrameFormat.JSON, b"{}")
    with pytest.raises(InvalidFormatCode):
        next(frames)


def test_consumer_may_call_into_the_decoder_while_iterating() -> None:
    decoder = FrameDecoder()
    all_frames = [Frame(FrameFormat.JSON, bytes([i])) for i in range(6)]
    stream = b"".join(f.encode() for f in all_frames)
    decoder.feed(stream[:18])  # three frames
    got: list[Frame | NeedData] = []
    for frame in decoder.frames():
        got.append(frame)
        if len(got) == 1:
            got.append(decoder.next_frame())  # takes the second frame itself
            decoder.feed(stream[18:])  # and feeds the rest
    assert got == all_frames


def test_at_eof_after_whole_frames_is_clean() -> None:
    decoder = FrameDecoder()
    decoder.at_eof()
    decoder.feed(encode_frame(FrameFormat.JSON, b"{}"))
    assert drain(decoder) == [Frame(FrameFormat.JSON, b"{}")]
    decoder.at_eof()


@pytest.mark.parametrize(
    ("tail", "expected"),
    [(b"\x00\x00", None), (b"\x00\x00\x00\x09\x01abc", 14)],
)
def test_at_eof_inside_a_frame_is_an_incomplete_frame(tail: bytes, expected: int | None) -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(FrameFormat.JSON, b"{}") + tail)
    assert len(drain(decoder)) == 1
    with pytest.raises(IncompleteFrame) as info:
        decoder.at_eof()
    assert (info.value.buffered, info.value.expected, info.value.offset) == (
        len(tail),
        expected,
        7,
    )
    assert decoder.broken


def test_at_eof_with_a_complete_frame_still_buffered_is_our_mistake() -> None:
    decoder = FrameDecoder()
    decoder.feed(encode_frame(FrameFormat.JSON, b"{}"))
    with pytest.raises(LocalProtocolError, match="next_frame"):
        decoder.at_eof()
    assert not decoder.broken
    assert drain(decoder) == [Frame(FrameFormat.JSON, b"{}")]


# -- feeding ---------------------------------------------------------------------------------------


def test_feeding_a_bytearray_copies_it() -> None:
    data = bytearray(encode_frame(FrameFormat.JSON, b"{}"))
    decoder = FrameDecoder()
    decoder.feed(data)
    data[5:] = b"XX"
    decoder.feed(memoryview(encode_frame(FrameFormat.JSON, b"[]")))
    assert drain(decoder) == [Frame(FrameFormat.JSON, b"{}"), Frame(FrameFormat.JSON, b"[]")]


@pytest.mark.parametrize("bad", [5, "abc", None])
def test_feeding_something_not_bytes_like_is_refused(bad: Any) -> None:
    decoder = FrameDecoder()
    with pytest.raises(TypeError):
        decoder.feed(bad)
    assert decoder.buffered == 0


def test_a_big_frame_over_many_chunks_is_joined_once_complete() -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    stream = encode_frame(FrameFormat.BINARY, payload) + encode_frame(FrameFormat.JSON, b"{}")
    decoder = FrameDecoder()
    frames: list[Frame] = []
    for i in range(0, len(stream), 65536):
        decoder.feed(stream[i : i + 65536])
        frames += decoder.frames()
        assert decoder.buffered <= HEADER_SIZE + len(payload)
    assert frames == [Frame(FrameFormat.BINARY, payload), Frame(FrameFormat.JSON, b"{}")]
    decoder.feed(b"\x00\x00\x00\x00\x00")
    with pytest.raises(InvalidFormatCode) as info:
        decoder.next_frame()
    assert info.value.offset == len(stream)  # the offsets survive joining many chunks


def test_a_peer_trickling_bytes_is_coalesced() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00\x00\x10\x00\x01")  # a 4096-byte frame, header only
    assert decoder.next_frame() is NEED_DATA
    decoder.feed(b"x")  # the current chunk is not consumed: later bytes queue up
    for _ in range(4094):
        decoder.feed(b"x")
    assert decoder.next_frame() is NEED_DATA
    assert len(decoder._pending) <= 2  # not one object per byte
    decoder.feed(b"x")
    assert decoder.next_frame() == Frame(FrameFormat.JSON, b"x" * 4096)


def test_decoder_limit_must_be_a_non_negative_int() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        FrameDecoder(-1)
    with pytest.raises(TypeError):
        FrameDecoder(1.5)  # type: ignore[arg-type]
    decoder = FrameDecoder(0)
    decoder.feed(b"\x00\x00\x00\x00\x01")
    assert decoder.next_frame() == Frame(FrameFormat.JSON, b"")


# -- encoding --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", SENDABLE)
def test_encode_writes_length_code_payload(fmt: FrameFormat) -> None:
    assert encode_frame(fmt, b"abc") == b"\x00\x00\x00\x03" + bytes([fmt]) + b"abc"


def test_encode_refuses_auto() -> None:
    with pytest.raises(UnsendableFormat, match="AUTO") as info:
        encode_frame(FrameFormat.AUTO, b"{}")
    assert isinstance(info.value, LocalProtocolError)
    assert isinstance(info.value, ValueError)
    assert info.value.format is FrameFormat.AUTO


@pytest.mark.parametrize("bad", [1, 5, "json", None])
def test_encode_refuses_what_is_not_a_frame_format(bad: Any) -> None:
    with pytest.raises(UnsendableFormat):
        encode_frame(bad, b"{}")


def test_encode_refuses_oversized_payloads() -> None:
    assert encode_frame(FrameFormat.JSON, b"x" * 8, max_frame_size=8)
    with pytest.raises(PayloadTooLarge) as info:
        encode_frame(FrameFormat.JSON, b"x" * 9, max_frame_size=8)
    assert (info.value.size, info.value.limit) == (9, 8)
    assert isinstance(info.value, LocalProtocolError)
    with pytest.raises(PayloadTooLarge):
        encode_frame(FrameFormat.JSON, b"x" * (DEFAULT_MAX_FRAME_SIZE + 1))

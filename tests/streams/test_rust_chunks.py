"""The Rust SDK's ``StreamChunk`` streams: every streaming conformance vector, and the
default build's chunking and byte-sum checksum (docs/protocol.md §6.6)."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest

from pywatt import wire as w

from ..wire._vectors import TYPES, decode, encode, load_vectors

STREAMING = [v for v in load_vectors() if v["rust_type"].startswith("streaming::")]


def test_the_streaming_vectors_are_all_here() -> None:
    kinds = {(v["rust_type"].split("::")[1], v["format"]) for v in STREAMING}
    assert ("StreamChunk", "json") in kinds
    assert ("StreamChunk", "frame") in kinds
    assert len(STREAMING) == 27


@pytest.mark.parametrize("vector", STREAMING, ids=[v["name"] for v in STREAMING])
def test_every_streaming_vector_decodes_and_encodes_byte_for_byte(vector: dict[str, Any]) -> None:
    t = TYPES[vector["rust_type"]]
    raw = bytes.fromhex(vector["hex"])
    fmt = vector["format"]
    if fmt == "frame":
        decoder = w.FrameDecoder()
        decoder.feed(raw)
        frame = decoder.next_frame()
        assert isinstance(frame, w.Frame)
        assert frame.format is w.FrameFormat.BINARY
        value = w.decode_bincode(frame.payload, t)
        assert w.encode_frame(w.FrameFormat.BINARY, w.encode_bincode(value, t)) == raw
        return
    if t is w.StreamChunk and fmt == "json":
        chunk = w.decode_rust_chunk(raw)
        assert w.encode_rust_chunk(chunk) == raw
        return
    assert encode(fmt, decode(fmt, raw, t), t) == raw


def _vector(name: str) -> w.StreamChunk:
    (v,) = [v for v in STREAMING if v["name"] == name]
    return w.decode_rust_chunk(bytes.fromhex(v["hex"]))


def test_the_checksum_is_the_byte_sum_on_the_first_vector_only() -> None:
    first = _vector("StreamChunk.first")
    assert w.rust_byte_sum(first.data) == first.checksum == 4950
    last = _vector("StreamChunk.last")  # a serde vector with a made-up checksum, compressed
    assert w.rust_byte_sum(last.data) == 1020 != last.checksum
    assert w.rust_byte_sum(b"\xff" * (2**24 + 2)) == (255 * (2**24 + 2)) & 0xFFFFFFFF


def test_rust_chunks_writes_the_documented_example_exactly() -> None:
    (chunk,) = w.rust_chunks(
        b"hi",
        stream_id=uuid.UUID("67e55044-10b1-426f-9247-bb680e5fe0c8"),
        content_type="text/plain",
    )
    assert w.encode_rust_chunk(chunk) == (
        b'{"stream_id":"67e55044-10b1-426f-9247-bb680e5fe0c8","sequence":0,"total_chunks":1,'
        b'"data":[104,105],"compressed":false,"checksum":209,"is_final":true,'
        b'"stream_metadata":{"total_size":2,"content_type":"text/plain","priority":"Normal",'
        b'"properties":{}}}'
    )


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 3 * 1024 * 1024 + 5])
def test_chunks_reassemble_through_json(size: int) -> None:
    body = bytes(i % 256 for i in range(size))
    chunks = w.rust_chunks(body)
    assert len(chunks) == max(1, -(-size // 65536))
    assembler = w.RustChunkAssembler()
    out = None
    for chunk in chunks:
        assert out is None
        out = assembler.add(w.decode_rust_chunk(w.encode_rust_chunk(chunk)))
    assert out == body
    assert assembler.complete


def _three() -> list[w.StreamChunk]:
    return w.rust_chunks(b"abcdefgh", chunk_size=3)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: [c[0], c[2]], "chunk 2: StreamChunk.sequence is 2, expected 1"),
        (lambda c: [c[0], c[0]], "chunk 0: StreamChunk.sequence is 0, expected 1"),
        (
            lambda c: [c[0], attrs.evolve(c[1], checksum=1)],
            "chunk 1: StreamChunk.checksum is 1, the data sums to 303",
        ),
        (
            lambda c: [c[0], attrs.evolve(c[1], compressed=True)],
            "StreamChunk.compressed is true",
        ),
        (
            lambda c: [c[0], attrs.evolve(c[1], is_final=True)],
            "StreamChunk.is_final is True on chunk 1 of 3",
        ),
        (
            lambda c: [attrs.evolve(c[0], stream_metadata=None)],
            "stream_metadata is missing on chunk 0",
        ),
        (
            lambda c: [c[0], attrs.evolve(c[1], stream_id=uuid.UUID(int=1))],
            "is another stream",
        ),
        (
            lambda c: [c[0], attrs.evolve(c[1], total_chunks=4)],
            "total_chunks changed from 3 to 4",
        ),
        (
            lambda c: [
                c[0],
                c[1],
                attrs.evolve(c[2], data=b"gh!", checksum=w.rust_byte_sum(b"gh!")),
            ],
            "exceed StreamMetadata.total_size 8",
        ),
    ],
)
def test_a_broken_chunk_stream_is_rejected_naming_the_field(mutate: Any, message: str) -> None:
    assembler = w.RustChunkAssembler()
    with pytest.raises(w.RustChunkError, match=message):
        for chunk in mutate(_three()):
            assembler.add(chunk)
    with pytest.raises(w.RustChunkError):  # it stays broken
        assembler.add(_three()[0])


def test_a_size_limit_is_checked_on_the_first_chunk() -> None:
    with pytest.raises(w.RustChunkError, match="total_size 8 is over the limit 4"):
        w.RustChunkAssembler(max_size=4).add(_three()[0])

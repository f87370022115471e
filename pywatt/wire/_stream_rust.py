"""The Rust SDK's ``StreamChunk`` streams (docs/protocol.md §6.6), default build.

The Rust sender cuts a body into ``StreamChunk`` records, each the JSON payload of its own
frame (code 2 although the payload is JSON), with the wrapping 32-bit sum of the data bytes
as checksum and the ``StreamMetadata`` on chunk 0 only. It has no credit, no end frame and
no abort: nothing but the chunks. :func:`rust_chunks` writes such a stream and
:class:`RustChunkAssembler` checks and reassembles one. The ``advanced_streaming`` build
(bincode, CRC-32, gzip) is not handled here: it cannot talk to the default build either.
"""

from __future__ import annotations

import uuid
from typing import Final

from ._errors import RemoteProtocolError
from ._json import decode_json, encode_json
from ._stream_errors import StreamError
from ._stream_frames import DEFAULT_CHUNK_SIZE
from ._types_streaming import StreamChunk, StreamMetadata, StreamPriority

__all__ = [
    "RustChunkAssembler",
    "RustChunkError",
    "decode_rust_chunk",
    "encode_rust_chunk",
    "rust_byte_sum",
    "rust_chunks",
]

_U32: Final = 0xFFFFFFFF


class RustChunkError(RemoteProtocolError, StreamError):
    """A Rust ``StreamChunk`` breaks the stream's rules; the message names the field."""

    def __init__(self, sequence: int | None, detail: str) -> None:
        where = f"chunk {sequence}: " if sequence is not None else ""
        super().__init__(f"{where}{detail}")
        self.sequence = sequence
        self.detail = detail


def rust_byte_sum(data: bytes | bytearray | memoryview) -> int:
    """The default Rust build's chunk checksum: the sum of the bytes, wrapping at 2**32."""
    return sum(bytes(data)) & _U32


def encode_rust_chunk(chunk: StreamChunk) -> bytes:
    """The frame payload the default Rust build writes for ``chunk`` (its JSON; code 2)."""
    return encode_json(chunk)


def decode_rust_chunk(payload: bytes | bytearray | memoryview) -> StreamChunk:
    """Decode a default-build chunk frame payload (JSON). Raises ``DecodeError`` with a path."""
    return decode_json(bytes(payload), StreamChunk)


def rust_chunks(
    data: bytes,
    *,
    stream_id: uuid.UUID | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    content_type: str | None = None,
    priority: StreamPriority = StreamPriority.NORMAL,
    properties: dict[str, str] | None = None,
) -> list[StreamChunk]:
    """``data`` as the chunks a default Rust build sends: byte-sum checksums, not compressed,
    metadata on chunk 0, ``is_final`` on the last. An empty body is one empty chunk."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 byte, not {chunk_size}")
    sid = stream_id if stream_id is not None else uuid.uuid4()
    pieces = [data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""]
    metadata = StreamMetadata(
        total_size=len(data),
        content_type=content_type,
        priority=priority,
        properties=dict(properties or {}),
    )
    return [
        StreamChunk(
            stream_id=sid,
            sequence=seq,
            total_chunks=len(pieces),
            data=piece,
            compressed=False,
            checksum=rust_byte_sum(piece),
            is_final=seq == len(pieces) - 1,
            stream_metadata=metadata if seq == 0 else None,
        )
        for seq, piece in enumerate(pieces)
    ]


class RustChunkAssembler:
    """Checks a Rust chunk stream as it arrives and returns the body once complete.

    Chunk 0 must come first, with the metadata; every chunk must have the same stream id and
    ``total_chunks``, the next sequence number, an uncompressed payload whose byte sum is its
    checksum, and ``is_final`` exactly on the last. The body's length must be the metadata's
    ``total_size``. Any breach raises ``RustChunkError`` and the assembler stays broken.
    """

    def __init__(self, *, max_size: int | None = None) -> None:
        self.max_size = max_size
        self.stream_id: uuid.UUID | None = None
        self.metadata: StreamMetadata | None = None
        self.total_chunks: int | None = None
        self.received = 0
        self.complete = False
        self._parts: list[bytes] = []
        self._length = 0
        self._broken: RustChunkError | None = None

    def add(self, chunk: StreamChunk) -> bytes | None:
        """Take the next chunk; returns the whole body after the final one, else None."""
        if self._broken is not None:
            raise self._broken
        try:
            return self._add(chunk)
        except RustChunkError as exc:
            self._broken = exc
            raise

    def _add(self, chunk: StreamChunk) -> bytes | None:
        seq = chunk.sequence
        if self.complete:
            raise RustChunkError(seq, "StreamChunk after the final chunk")
        if seq != self.received:
            raise RustChunkError(seq, f"StreamChunk.sequence is {seq}, expected {self.received}")
        if seq == 0:
            if chunk.stream_metadata is None:
                raise RustChunkError(seq, "StreamChunk.stream_metadata is missing on chunk 0")
            total_size = chunk.stream_metadata.total_size
            if self.max_size is not None and total_size > self.max_size:
                raise RustChunkError(
                    seq, f"StreamMetadata.total_size {total_size} is over the limit {self.max_size}"
                )
            self.stream_id = chunk.stream_id
            self.metadata = chunk.stream_metadata
            self.total_chunks = chunk.total_chunks
        elif chunk.stream_metadata is not None:
            raise RustChunkError(seq, "StreamChunk.stream_metadata is set after chunk 0")
        if chunk.stream_id != self.stream_id:
            raise RustChunkError(seq, f"StreamChunk.stream_id {chunk.stream_id} is another stream")
        if chunk.total_chunks != self.total_chunks:
            raise RustChunkError(
                seq,
                f"StreamChunk.total_chunks changed from {self.total_chunks} to "
                f"{chunk.total_chunks}",
            )
        if seq >= chunk.total_chunks:
            raise RustChunkError(
                seq, f"StreamChunk.sequence is past total_chunks {chunk.total_chunks}"
            )
        if chunk.compressed:
            raise RustChunkError(
                seq, "StreamChunk.compressed is true (advanced_streaming build): not supported"
            )
        expected_sum = rust_byte_sum(chunk.data)
        if chunk.checksum != expected_sum:
            raise RustChunkError(
                seq, f"StreamChunk.checksum is {chunk.checksum}, the data sums to {expected_sum}"
            )
        last = seq == chunk.total_chunks - 1
        if chunk.is_final != last:
            raise RustChunkError(
                seq,
                f"StreamChunk.is_final is {chunk.is_final} on chunk {seq} of {chunk.total_chunks}",
            )
        assert self.metadata is not None
        self._length += len(chunk.data)
        if self._length > self.metadata.total_size:
            raise RustChunkError(
                seq, f"the chunks exceed StreamMetadata.total_size {self.metadata.total_size}"
            )
        self._parts.append(chunk.data)
        self.received += 1
        if not last:
            return None
        if self._length != self.metadata.total_size:
            raise RustChunkError(
                seq,
                f"the body is {self._length} bytes, StreamMetadata.total_size says "
                f"{self.metadata.total_size}",
            )
        self.complete = True
        body = b"".join(self._parts)
        self._parts = []
        return body

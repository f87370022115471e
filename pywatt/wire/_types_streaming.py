"""Streaming records (docs/protocol.md §6.6); ``StreamChunk`` and friends have a bincode layout."""

from __future__ import annotations

import enum
import uuid
from typing import ClassVar

import attrs

from ._types_common import Duration
from ._values import UInt32, UInt64

__all__ = [
    "PubSubMessage",
    "StreamAck",
    "StreamChunk",
    "StreamConfig",
    "StreamMetadata",
    "StreamPriority",
]


class StreamPriority(enum.Enum):
    """``"Low"`` | ``"Normal"`` | ``"High"`` | ``"Critical"``; bincode writes the index as u8."""

    LOW = "Low"
    NORMAL = "Normal"
    HIGH = "High"
    CRITICAL = "Critical"


@attrs.frozen(kw_only=True)
class StreamMetadata:
    """Sent with the first chunk of a stream."""

    BINCODE_LAYOUT: ClassVar[bool] = True

    total_size: UInt64
    content_type: str | None = None
    priority: StreamPriority
    properties: dict[str, str]


@attrs.frozen(kw_only=True)
class StreamChunk:
    """One chunk of a stream (a format-2 frame of its own)."""

    BINCODE_LAYOUT: ClassVar[bool] = True

    stream_id: uuid.UUID
    sequence: UInt64
    total_chunks: UInt64
    data: bytes
    compressed: bool
    checksum: UInt32
    is_final: bool
    stream_metadata: StreamMetadata | None = None


@attrs.frozen(kw_only=True)
class StreamAck:
    """A chunk acknowledgement (in-process only in the Rust SDK)."""

    stream_id: uuid.UUID
    sequence: UInt64
    success: bool
    error: str | None = None


@attrs.frozen(kw_only=True)
class StreamConfig:
    """Stream sender settings."""

    max_chunk_size: UInt64
    window_size: UInt64
    ack_timeout: Duration
    max_retries: UInt32
    preserve_order: bool
    enable_compression: bool
    compression_threshold: UInt64


@attrs.frozen(kw_only=True)
class PubSubMessage:
    """A pub/sub record."""

    topic: str
    payload: bytes
    priority: StreamPriority
    ttl: Duration | None = None
    publisher: str | None = None
    metadata: dict[str, str]

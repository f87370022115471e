"""The five frames of a pywatt stream (docs/protocol-extensions.md §9).

A stream carries one long body from a sender to a receiver in numbered chunks, paced by
credit the receiver grants. ``StreamOpen``, ``StreamData`` and ``StreamEnd`` go from the
sender to the receiver, ``StreamCredit`` goes back, ``StreamAbort`` goes either way. These
are plain values; ``_stream_codec`` gives them their MessagePack form and the state machines
(``StreamSender``, ``StreamReceiver``) say when each may be sent.
"""

from __future__ import annotations

import enum
import uuid
from typing import Final

import attrs

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_WINDOW",
    "AbortCode",
    "StreamAbort",
    "StreamCredit",
    "StreamData",
    "StreamEnd",
    "StreamFrame",
    "StreamOpen",
]

#: Default largest payload of one data frame: 64 KiB.
DEFAULT_CHUNK_SIZE: Final = 64 * 1024
#: Default window: chunks the sender may have sent and the receiver's consumer not yet taken.
DEFAULT_WINDOW: Final = 10


class AbortCode(enum.Enum):
    """Why a stream was aborted; written on the wire as the lower-case string value."""

    CANCELLED = "cancelled"
    """The side that aborted gave up on purpose (its task was cancelled, it closed early)."""
    CRASHED = "crashed"
    """The code holding that end failed."""
    STOPPED = "stopped"
    """The code holding that end stopped before the stream was finished."""
    PROTOCOL = "protocol"
    """The peer broke the stream rules (a gap or a duplicate, over the window, a wrong frame)."""
    INTEGRITY = "integrity"
    """The end frame's count, length or checksum does not match what arrived."""
    REFUSED = "refused"
    """The receiver will not take this stream (window or chunk size over its limit)."""
    TOO_LARGE = "too_large"
    """A data frame carried more than the chunk size announced in the open frame."""
    APPLICATION = "application"
    """The application aborted with a reason of its own (in the text)."""
    IDLE = "idle"
    """The consumer took no chunk for the idle timeout while chunks waited for it (a
    reply stream nobody reads), so the producer would have been held forever."""


@attrs.frozen(kw_only=True)
class StreamOpen:
    """Sender → receiver, first: the stream exists and the sender starts with ``window`` credit.

    ``endpoint`` names what the stream is for at the receiver; ``metadata`` is free-form
    (content type, file name). ``chunk_size`` is the largest payload a data frame will carry.
    """

    stream_id: uuid.UUID
    endpoint: str
    metadata: dict[str, str] = attrs.field(factory=dict)
    window: int = DEFAULT_WINDOW
    chunk_size: int = DEFAULT_CHUNK_SIZE
    peer: str = ""
    """Between modules, through an orchestrator: on the way in (module → orchestrator) the
    module the stream is for; on the way out (orchestrator → module) the module it comes
    from. Empty (and not on the wire) between two peers that talk directly."""


@attrs.frozen(kw_only=True)
class StreamData:
    """Sender → receiver: chunk number ``seq`` (0, 1, 2, ... with no gap) of the body."""

    stream_id: uuid.UUID
    seq: int
    payload: bytes


@attrs.frozen(kw_only=True)
class StreamCredit:
    """Receiver → sender: "you may send ``credit`` more chunks".

    ``granted`` is the running total of credit granted by credit frames, this one included,
    so that a lost, repeated or reordered credit frame is detected rather than miscounted.
    """

    stream_id: uuid.UUID
    credit: int
    granted: int


@attrs.frozen(kw_only=True)
class StreamEnd:
    """Sender → receiver, last: the body is complete.

    ``chunks`` is the number of data frames, ``length`` the sum of their payload lengths and
    ``crc32`` the CRC-32 (IEEE 802.3, as ``zlib.crc32``) of the whole body in order.
    """

    stream_id: uuid.UUID
    chunks: int
    length: int
    crc32: int


@attrs.frozen(kw_only=True)
class StreamAbort:
    """Either way: the stream is over, unfinished; ``reason`` is human-readable text."""

    stream_id: uuid.UUID
    code: AbortCode
    reason: str = ""


StreamFrame = StreamOpen | StreamData | StreamCredit | StreamEnd | StreamAbort
"""Any stream frame."""

"""Errors of the stream protocol, sorted by whose fault they are (as in ``_errors``).

``StreamFrameError`` and ``StreamViolation`` are the peer's fault (``RemoteProtocolError``):
bytes that are no stream frame, or a frame the rules do not allow now. ``StreamStateError``
and its kinds are our own code's fault (``LocalProtocolError``): sending without credit, a
chunk over the size, any action after the stream ended.
"""

from __future__ import annotations

import uuid

from ._errors import DecodeError, LocalProtocolError, RemoteProtocolError, WireError
from ._stream_frames import AbortCode

__all__ = [
    "ChunkTooLarge",
    "NoCredit",
    "StreamError",
    "StreamFrameError",
    "StreamStateError",
    "StreamViolation",
]


class StreamError(WireError):
    """Base of every stream protocol error."""


class StreamFrameError(DecodeError, StreamError):
    """Bytes from the peer are not a valid stream frame; ``path`` names the field (``$.seq``)."""


class StreamViolation(RemoteProtocolError, StreamError):
    """The peer sent a frame the stream rules do not allow at this point.

    The state machine that raised it is aborted already and has queued a ``StreamAbort``
    with ``code`` for the peer. ``detail`` says what was wrong, naming the frame and field.
    """

    def __init__(self, stream_id: uuid.UUID | None, code: AbortCode, detail: str) -> None:
        where = f"stream {stream_id}" if stream_id is not None else "stream"
        super().__init__(f"{where}: {code.value}: {detail}")
        self.stream_id = stream_id
        self.code = code
        self.detail = detail


class StreamStateError(LocalProtocolError, StreamError):
    """Our side asked for something the stream's state does not allow (sending after the end,
    before the open, or after an abort)."""


class NoCredit(StreamStateError):
    """A data frame was asked for with no credit left: wait for a ``StreamCredit``."""


class ChunkTooLarge(StreamStateError, ValueError):
    """A payload is over the stream's chunk size."""

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"a {size}-byte chunk is over this stream's chunk size of {limit} bytes")
        self.size = size
        self.limit = limit

"""What the stream sender and receiver state machines share: state, outbox, aborting."""

from __future__ import annotations

import enum
import uuid
from typing import NoReturn

from ._stream_errors import StreamStateError, StreamViolation
from ._stream_frames import AbortCode, StreamAbort, StreamFrame

__all__ = ["StreamMachine", "StreamState"]


class StreamState(enum.Enum):
    """Where a stream state machine is.

    A sender goes ``IDLE`` → ``OPEN`` (open sent) → ``ENDED`` (end sent). A receiver goes
    ``IDLE`` → ``OPEN`` (open received) → ``ENDED`` (end received and verified, chunks may
    still wait for the consumer) → ``COMPLETE`` (the consumer took the last chunk). Either
    can go to ``ABORTED`` from any state but ``COMPLETE``.
    """

    IDLE = "idle"
    OPEN = "open"
    ENDED = "ended"
    COMPLETE = "complete"
    ABORTED = "aborted"


class StreamMachine:
    """Base of ``StreamSender`` and ``StreamReceiver``: no I/O, no clock, no trio.

    Frames to transmit pile up in an outbox; the I/O layer drains it with
    :meth:`frames_to_send` after every call and delivers what it got from the peer to
    ``receive``.
    """

    side = "stream"

    def __init__(self, stream_id: uuid.UUID | None) -> None:
        self.stream_id = stream_id
        self.state = StreamState.IDLE
        #: The abort that ended the stream (ours or the peer's), else None.
        self.abort_frame: StreamAbort | None = None
        #: True when :attr:`abort_frame` came from the peer.
        self.aborted_by_peer = False
        self._outbox: list[StreamFrame] = []

    @property
    def has_frames_to_send(self) -> bool:
        """Whether :meth:`frames_to_send` would return any (a cheap test per chunk)."""
        return bool(self._outbox)

    def frames_to_send(self) -> list[StreamFrame]:
        """The frames queued for the peer since the last call, oldest first."""
        out, self._outbox = self._outbox, []
        return out

    @property
    def finished(self) -> bool:
        """True once nothing more can happen (complete or aborted)."""
        return self.state in (StreamState.COMPLETE, StreamState.ABORTED)

    def abort(self, code: AbortCode, reason: str = "") -> None:
        """Abort the stream: queue a ``StreamAbort`` for the peer (if it knows the stream).

        Does nothing when the stream is complete or already aborted.
        """
        if self.finished:
            return
        known_to_peer = self.state is not StreamState.IDLE
        self.state = StreamState.ABORTED
        frame = StreamAbort(stream_id=self.stream_id or uuid.UUID(int=0), code=code, reason=reason)
        self.abort_frame = frame
        if known_to_peer:
            self._outbox.append(frame)

    def _peer_aborted(self, frame: StreamAbort) -> None:
        if self.finished:
            return
        self.state = StreamState.ABORTED
        self.abort_frame = frame
        self.aborted_by_peer = True

    def _violation(self, code: AbortCode, detail: str) -> NoReturn:
        """Abort with ``code`` (telling the peer why) and raise ``StreamViolation``."""
        self.abort(code, detail)
        raise StreamViolation(self.stream_id, code, detail)

    def _require(self, *states: StreamState, action: str) -> None:
        if self.state in states:
            return
        if self.state is StreamState.ABORTED and self.abort_frame is not None:
            who = "the peer" if self.aborted_by_peer else "this side"
            frame = self.abort_frame
            raise StreamStateError(
                f"cannot {action}: {who} aborted the stream ({frame.code.value}: {frame.reason})"
            )
        raise StreamStateError(f"cannot {action}: the {self.side} is {self.state.value}")

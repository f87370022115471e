"""The orchestrator's end of one module connection: frames in, frames out, heartbeats.

The listener accepts a connection on a module's own port or socket path, so the connection
*is* that module (docs/architecture.md, decision 3). A :class:`ServerConnection` holds what the
hub needs to write to it (an outbox drained by a writer task, every queued frame written with
one ``sendmsg``; frames queued while no write is in progress are written together at the end
of the scheduler pass that queued them, ``pywatt.channels.at_pass_end``, with no wake-up of
the writer task) and what it
measures: frames, malformed frames, the heartbeat round-trip latency and the time of the
last frame.

A frame that does not decode is refused and counted, and the connection goes on: a module
may send one now and then (say, a newer version's message). A peer that sends
:data:`MALFORMED_RUN_LIMIT` of them in a row does not speak the protocol at all, and is closed.
Either way the listener logs one line per connection, when it ends, with the count
(:meth:`ServerConnection.malformed_report`): a flood of garbage costs one log line, not one
per frame.
"""

from __future__ import annotations

import itertools
from typing import Any, Final

import trio

from pywatt.channels import SocketReader, at_pass_end, drop_written, send_buffers, write_now
from pywatt.wire import (
    CapabilitiesRequest,
    DecodeError,
    Frame,
    FrameFormat,
    HeartbeatRequest,
    Message,
    ModuleDeclaration,
    ModuleToOrchestrator,
    RegistrationRequest,
    UnregistrationRequest,
    decode_json,
    encode_frame,
    encode_json,
)

__all__ = ["MALFORMED_RUN_LIMIT", "ServerConnection", "decode_module_frame", "encode_bare"]

MAX_OUTBOX: Final = 16 * 1024 * 1024
"""Bytes queued for a module that does not read before its connection is closed."""
MALFORMED_RUN_LIMIT: Final = 10
"""Malformed frames in a row after which a connection is closed."""
_REASON_CHARS: Final = 200

_REQUESTS: Final[dict[bytes, Any]] = {
    b'"request_type":"register"': Message[RegistrationRequest],
    b'"request_type":"heartbeat"': Message[HeartbeatRequest],
    b'"request_type":"capabilities"': Message[CapabilitiesRequest],
    b'"request_type":"unregister"': Message[UnregistrationRequest],
}
_MODULE_MESSAGE: Final = Message[ModuleToOrchestrator]
_ids = itertools.count(1)


def decode_module_frame(frame: Frame) -> Message[Any]:
    """A module→orchestrator frame: a ``Message`` of an op or of a registration request
    (§10). Raises ``DecodeError``."""
    if frame.format is not FrameFormat.JSON and frame.format is not FrameFormat.BINARY:
        raise DecodeError(f"frames of format {frame.format.name} are not read here")
    payload = frame.payload
    try:
        return decode_json(payload, _MODULE_MESSAGE)
    except DecodeError:
        for marker, type_ in _REQUESTS.items():
            if marker in payload:
                return decode_json(payload, type_)  # type: ignore[no-any-return]
        raise


def encode_bare(message: Any) -> bytes:
    """An orchestrator→module frame: the bare JSON of ``message`` (§5.3)."""
    return encode_frame(FrameFormat.JSON, encode_json(message))


class ServerConnection:
    """One accepted connection of module ``module_id`` (see the module docstring)."""

    def __init__(self, module_id: str, kind: str, stream: trio.abc.Stream) -> None:
        self.module_id = module_id
        self.kind = kind
        self.number = next(_ids)
        self.stream = stream
        self.reader = SocketReader(stream)
        """Reads ``stream`` (the listener's reads, ``pywatt.channels.SocketReader``)."""
        self.declaration: ModuleDeclaration | None = None
        self.outbox: list[bytes] = []
        self.outbox_bytes = 0
        self.outbox_frames = 0
        self.closed = False
        self.close_reason: str | None = None
        self.frames_in = 0
        self.frames_out = 0
        self.malformed = 0
        self.malformed_run = 0
        """Malformed frames since the last good one."""
        self.last_malformed: str | None = None
        self.heartbeats_sent = 0
        self.heartbeat_acks = 0
        self.latency: float | None = None
        """Round trip of the last heartbeat, in seconds."""
        self.heartbeat_sent_at: float | None = None
        self.last_received = trio.current_time()
        self._wake = trio.Event()
        self._direct = False
        """The write loop runs and is not in a write: the outbox may be flushed by the run
        loop at the end of the pass (:meth:`_flush`)."""
        self._flush_due = False
        self.cancel_scope = trio.CancelScope()

    @property
    def label(self) -> str:
        return f"{self.module_id}/{self.kind}#{self.number}"

    @property
    def pywatt(self) -> bool:
        """The module declared itself pywatt on this connection (extensions allowed)."""
        return self.declaration is not None

    @property
    def msgpack(self) -> bool:
        """The module declared MessagePack on this connection: requests and replies may go
        to it in the binary form (protocol extensions §5.1)."""
        return self.declaration is not None and "msgpack" in self.declaration.formats

    def __repr__(self) -> str:
        return f"<ServerConnection {self.label}{' closed' if self.closed else ''}>"

    def refuse_malformed(self, reason: str) -> bool:
        """Count a frame that did not decode (``reason`` says why). Returns True when it was
        one too many in a row and the connection is now closed. Does not block or log."""
        self.malformed += 1
        self.malformed_run += 1
        self.last_malformed = reason[:_REASON_CHARS]
        if self.malformed_run < MALFORMED_RUN_LIMIT:
            return False
        self.close(f"{self.malformed_run} malformed frames in a row")
        return True

    def malformed_report(self) -> str | None:
        """The one line that says what malformed frames this connection sent, if it sent
        any; for when it has ended."""
        if not self.malformed:
            return None
        count = "a malformed frame" if self.malformed == 1 else f"{self.malformed} malformed frames"
        ending = (
            f"; closed it after {MALFORMED_RUN_LIMIT} in a row"
            if self.malformed_run >= MALFORMED_RUN_LIMIT
            else ""
        )
        return f"{self.label} sent {count}, each refused (the last: {self.last_malformed}){ending}"

    def send_nowait(self, frame: bytes, payload: bytes | None = None) -> bool:
        """Queue a complete frame (or its header, ``frame``, and its ``payload``, written
        after it without joining them first); False if the connection is closed. Does not
        block; a module that lets more than 16 MiB pile up is disconnected."""
        if self.closed:
            return False
        self.outbox.append(frame)
        self.outbox_bytes += len(frame)
        self.outbox_frames += 1
        if payload is not None:
            self.outbox.append(payload)
            self.outbox_bytes += len(payload)
        if self.outbox_bytes > MAX_OUTBOX:
            self.close("the module does not read its channel (16 MiB queued)")
            return False
        if self._flush_due:
            return True
        if self._direct:
            self._flush_due = True
            at_pass_end(self._flush)
        elif not self._wake.is_set():
            self._wake.set()
        return True

    def _flush(self) -> bool:
        """Write what was queued in this pass in one call, unless the writer is in a write
        (it takes it after) or the connection closed; leave what the socket does not take
        for the writer, and wake it. Returns whether a task was woken."""
        self._flush_due = False
        outbox = self.outbox
        if not outbox or self.closed or not self._direct:
            return False
        written = write_now(self.stream, outbox)
        if written == self.outbox_bytes:
            self.frames_out += self.outbox_frames
            self.outbox = []
            self.outbox_bytes = self.outbox_frames = 0
            return False
        # The kernel buffer filled: the rest goes to the writer (which counts the frames).
        self.outbox_bytes -= written
        drop_written(outbox, written)
        self._wake.set()
        return True

    def close(self, reason: str) -> None:
        """Close the connection (its tasks end). Does not block."""
        if not self.closed:
            self.closed = True
            self.close_reason = reason
        self.cancel_scope.cancel()

    async def write_loop(self) -> None:
        """Drain the outbox until the connection closes or breaks. Blocks."""
        try:
            await self._write_loop()
        finally:
            self._direct = False

    async def _write_loop(self) -> None:
        direct = isinstance(self.stream, trio.SocketStream)
        while not self.closed:
            if not self.outbox:
                self._direct = direct
                self._wake = trio.Event()
                await self._wake.wait()
                continue
            self._direct = False
            batch, self.outbox = self.outbox, []
            frames, self.outbox_frames = self.outbox_frames, 0
            self.outbox_bytes = 0
            try:
                await send_buffers(self.stream, batch)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                self.close(f"write failed: {exc.__cause__ or exc}")
                return
            self.frames_out += frames

"""Length-prefixed frames of the TCP and Unix-socket channels (docs/protocol.md §5.1), sans-io.

A frame is a 4-byte big-endian payload length ``N``, one format-code byte, then ``N`` payload
bytes. Code 0 (``Auto``) is invalid on the wire, codes 1-3 are the Rust SDK's, code 4 is our
MessagePack extension (docs/architecture.md, decision 5) and everything above is an error.

Unlike the Rust reader, which allocates whatever length a peer declares, the decoder enforces a
maximum payload size (16 MiB by default) from the header, before it buffers any of the payload.
A bad format code or an oversized frame means the byte stream can no longer be trusted, so the
decoder then stays broken and the connection must close.

The decoder keeps the bytes it is fed as they came (no re-slicing of a growing buffer): frames
inside one chunk are sliced straight out of it, and a frame spanning chunks is joined once,
when its last byte has arrived.
"""

from __future__ import annotations

import enum
import struct
from collections.abc import Iterator
from typing import Final

import attrs

from ._buffer import ReceiveBuffer
from ._errors import (
    FrameTooLarge,
    IncompleteFrame,
    InvalidFormatCode,
    LocalProtocolError,
    PayloadTooLarge,
    UnsendableFormat,
)

HEADER_SIZE: Final = 5
"""Bytes before the payload: the 4-byte length and the format code."""

DEFAULT_MAX_FRAME_SIZE: Final = 16 * 1024 * 1024
"""Default limit on a frame's payload (the header's length field), in bytes."""

MAX_WIRE_PAYLOAD: Final = 0xFFFF_FFFF
"""The largest payload the u32 length field can describe."""

_HEADER: Final = struct.Struct(">IB")
_SMALL_SPAN: Final = 16 * 1024  # below this, copying a spanning payload twice beats memoryviews
_unpack_header: Final = _HEADER.unpack_from


class FrameFormat(enum.IntEnum):
    """The format-code byte of a frame (the Rust ``EncodingFormat`` plus MessagePack)."""

    AUTO = 0
    """Invalid on the wire: never written, refused when read."""
    JSON = 1
    """UTF-8 JSON; what the Rust SDK always sends."""
    BINARY = 2
    """bincode (§5.6), in practice often JSON text (§5.5)."""
    BASE64 = 3
    """Standard padded base64 of the bincode (or JSON) bytes."""
    MSGPACK = 4
    """MessagePack: a pywatt extension, sent only to a peer that declared it."""


class NeedData(enum.Enum):
    """Type of :data:`NEED_DATA`: the decoder needs more bytes before it can return anything."""

    NEED_DATA = "NEED_DATA"

    def __repr__(self) -> str:
        return "NEED_DATA"


NEED_DATA: Final = NeedData.NEED_DATA
"""Returned by ``next_frame()`` / ``next_line()`` when no complete item is buffered."""

# Indexed by the format-code byte; None marks the codes a reader must refuse.
_FORMAT_BY_CODE: Final[tuple[FrameFormat | None, ...]] = (
    None,
    FrameFormat.JSON,
    FrameFormat.BINARY,
    FrameFormat.BASE64,
    FrameFormat.MSGPACK,
    *([None] * 251),
)


def _payload_repr(payload: bytes) -> str:
    if len(payload) <= 64:
        return repr(payload)
    return f"{payload[:64]!r}... ({len(payload)} bytes)"


@attrs.frozen
class Frame:
    """One decoded frame: its format code and its payload, not yet interpreted."""

    format: FrameFormat
    payload: bytes = attrs.field(repr=_payload_repr)

    def encode(self, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> bytes:
        """The frame's bytes on the wire; see :func:`encode_frame` for what it raises."""
        return encode_frame(self.format, self.payload, max_frame_size=max_frame_size)


# Building a Frame through attrs' frozen __init__ costs about twice as much as slicing its
# payload out of a small chunk; the decode loops set the two slots directly instead (what
# __init__ does, minus the frozen-setattr indirection). test_framing checks they agree.
_object_new: Final = object.__new__
_set_format: Final = Frame.__dict__["format"].__set__
_set_payload: Final = Frame.__dict__["payload"].__set__


def encode_frame(
    format: FrameFormat, payload: bytes, *, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
) -> bytes:
    """Return header + ``payload``: one complete frame, ready for a single write.

    Does not block. Raises :class:`UnsendableFormat` for ``AUTO`` (and anything that is not a
    frame format) and :class:`PayloadTooLarge` when the payload is longer than
    ``max_frame_size`` or than the u32 length field can say.
    """
    if not isinstance(format, FrameFormat) or _FORMAT_BY_CODE[format] is None:
        raise UnsendableFormat(format)
    size = len(payload)
    limit = min(max_frame_size, MAX_WIRE_PAYLOAD)
    if size > limit:
        raise PayloadTooLarge(size, limit, what="frame")
    return _HEADER.pack(size, format) + payload


def frame_header(format: FrameFormat, size: int) -> bytes:
    """The 5 bytes that go before a payload of ``size`` bytes: ``frame_header(f, len(p)) +
    p == encode_frame(f, p)``, for a writer that sends the two without joining them. The
    caller has checked the size (a frame it relays). Does not block."""
    return _HEADER.pack(size, format)


class FrameDecoder(ReceiveBuffer):
    """Turns a byte stream into :class:`Frame` objects; does no I/O.

    Feed it bytes as they arrive with :meth:`feed`, then call :meth:`next_frame` until it
    returns :data:`NEED_DATA` (or iterate :meth:`frames`). At the end of the stream call
    :meth:`at_eof` to learn whether the peer stopped in the middle of a frame.

    A frame with an invalid format code or a declared payload larger than ``max_frame_size``
    raises a :class:`RemoteProtocolError` (:class:`InvalidFormatCode`, :class:`FrameTooLarge`)
    as soon as its header is buffered, before any payload is kept. After that the decoder is
    in an error state: every later call raises, because the stream cannot be re-synchronised.
    """

    __slots__ = ("_max",)
    _what = "frame decoder"

    def __init__(self, max_frame_size: int = DEFAULT_MAX_FRAME_SIZE) -> None:
        if isinstance(max_frame_size, bool) or not isinstance(max_frame_size, int):
            raise TypeError(f"max_frame_size must be an int, not {max_frame_size!r}")
        if max_frame_size < 0:
            raise ValueError(f"max_frame_size must be >= 0, not {max_frame_size}")
        super().__init__()
        self._max = max_frame_size

    @property
    def max_frame_size(self) -> int:
        """The largest payload accepted, in bytes."""
        return self._max

    def next_frame(self) -> Frame | NeedData:
        """Return the next complete frame, or :data:`NEED_DATA`. Does not block.

        Raises :class:`InvalidFormatCode` or :class:`FrameTooLarge` for a bad header (and a
        :class:`RemoteProtocolError` on every call after that).
        """
        buf = self._buf
        pos = self._pos
        # Fast paths: a whole, valid frame inside the current chunk, or plainly not enough
        # bytes yet. (A broken decoder holds no bytes and takes the slow path, which raises.)
        if len(buf) - pos >= HEADER_SIZE:
            size, code = _unpack_header(buf, pos)
            end = pos + HEADER_SIZE + size
            fmt = _FORMAT_BY_CODE[code]
            if fmt is not None and size <= self._max:
                if end <= len(buf):
                    self._pos = end
                    frame = _object_new(Frame)
                    _set_format(frame, fmt)
                    _set_payload(frame, buf[pos + HEADER_SIZE : end])
                    return frame
                if end - len(buf) > self._pending_size:
                    return NEED_DATA
        elif len(buf) - pos + self._pending_size < HEADER_SIZE and self._error is None:
            return NEED_DATA
        return self._next_frame_slow()

    def frames(self) -> Iterator[Frame]:
        """Yield every complete frame buffered now, in order; stop where NEED_DATA would be.

        Does not block. Frames before a bad header are yielded, then the generator raises
        what :meth:`next_frame` raises. The consumer may call into the decoder (``feed``,
        ``next_frame``) between two frames; the generator then continues from there.
        """
        limit = self._max
        while True:
            buf = self._buf
            pos = self._pos
            end = len(buf)
            # The frames that lie wholly inside the current chunk, with the state in locals.
            while end - pos >= HEADER_SIZE:
                size, code = _unpack_header(buf, pos)
                stop = pos + HEADER_SIZE + size
                fmt = _FORMAT_BY_CODE[code]
                if fmt is None or size > limit:
                    break  # the slow path raises
                if stop > end:
                    if stop - end > self._pending_size:
                        return  # the rest of this frame has not arrived
                    break  # it continues in queued chunks: the slow path joins it
                self._pos = stop
                frame = _object_new(Frame)
                _set_format(frame, fmt)
                _set_payload(frame, buf[pos + HEADER_SIZE : stop])
                yield frame
                if self._buf is not buf or self._pos != stop:
                    break  # the consumer called into the decoder: reload its state
                pos = stop
            else:
                if end - pos + self._pending_size < HEADER_SIZE and self._error is None:
                    return  # not even a header buffered
            slow = self._next_frame_slow()
            if slow is NEED_DATA:
                return
            yield slow

    def at_eof(self) -> None:
        """Tell the decoder the stream has ended; raise if it ended inside a frame.

        Call it after :meth:`next_frame` returned :data:`NEED_DATA`. Raises
        :class:`IncompleteFrame` when part of a frame is buffered (the peer broke off), and
        :class:`LocalProtocolError` if a complete frame is still waiting to be taken.
        """
        if self._error is not None:
            self._raise_broken()
        buffered = self.buffered
        if buffered == 0:
            return
        expected: int | None = None
        if self._gather(HEADER_SIZE):
            size, _ = _unpack_header(self._buf, self._pos)
            expected = HEADER_SIZE + size
            if buffered >= expected:
                raise LocalProtocolError(
                    "at_eof() while a complete frame is buffered: take it with next_frame() first"
                )
        raise self._fail(IncompleteFrame(buffered, expected, self._base + self._pos))

    # -- slow paths ------------------------------------------------------------------------------

    def _next_frame_slow(self) -> Frame | NeedData:
        if self._error is not None:
            self._raise_broken()
        buf = self._buf
        pos = self._pos
        available = len(buf) - pos
        if available < HEADER_SIZE:
            if available + self._pending_size < HEADER_SIZE:
                return NEED_DATA
            self._gather(HEADER_SIZE)
            buf = self._buf
            pos = 0
            available = len(buf)
        size, code = _unpack_header(buf, pos)
        fmt = _FORMAT_BY_CODE[code]
        if fmt is None:
            raise self._fail(InvalidFormatCode(code, self._base + pos))
        if size > self._max:
            raise self._fail(FrameTooLarge(size, self._max, self._base + pos))
        if available >= HEADER_SIZE + size:
            self._pos = end = pos + HEADER_SIZE + size
            payload = buf[pos + HEADER_SIZE : end]
        elif available + self._pending_size >= HEADER_SIZE + size:
            payload = self._take_spanning(pos + HEADER_SIZE, size)
        else:
            return NEED_DATA
        frame = _object_new(Frame)
        _set_format(frame, fmt)
        _set_payload(frame, payload)
        return frame

    def _gather(self, count: int) -> bool:
        """Make the current chunk start with ``count`` unread bytes, if that many are buffered.

        Only used for the few header bytes that straddle two chunks, so the copy is small
        next to the chunk it joins.
        """
        if len(self._buf) - self._pos >= count:
            return True
        if len(self._buf) - self._pos + self._pending_size < count:
            return False
        while len(self._buf) - self._pos < count:
            chunk = self._pending.popleft()
            self._pending_size -= len(chunk)
            self._base += self._pos
            self._buf = self._buf[self._pos :] + chunk
            self._pos = 0
        return True

    def _take_spanning(self, start: int, size: int) -> bytes:
        """Consume and return ``size`` bytes from ``self._buf[start:]`` on into later chunks.

        The caller has checked that they are all buffered; they are copied exactly once.
        """
        buf = self._buf
        need = size - (len(buf) - start)
        self._base += len(buf)
        pending = self._pending
        chunk = pending.popleft()
        self._pending_size -= len(chunk)
        if len(chunk) >= need:  # the common case: the frame spans two chunks
            self._buf = chunk
            self._pos = need
            if size <= _SMALL_SPAN:
                return buf[start:] + chunk[:need]  # cheaper than two memoryviews
            return b"".join((memoryview(buf)[start:], memoryview(chunk)[:need]))
        parts: list[bytes | memoryview] = [memoryview(buf)[start:]]
        while len(chunk) < need:
            parts.append(chunk)
            need -= len(chunk)
            self._base += len(chunk)
            chunk = pending.popleft()
            self._pending_size -= len(chunk)
        parts.append(memoryview(chunk)[:need])
        self._buf = chunk
        self._pos = need
        return b"".join(parts)

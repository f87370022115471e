"""Newline-delimited messages on a module's stdin and stdout (docs/protocol.md §3.1), sans-io.

Each message is one line ending in a single ``\\n``. Like the Rust SDK, the decoder tolerates
a ``\\r`` before the ``\\n`` (Rust hands the line to serde_json, which treats it as trailing
whitespace): it is removed from the returned line.

Limits (docs/architecture.md, decision 5, docs/protocol.md §15): the first line on a module's
stdin is the InitBlob, at most 1 MiB; every other line at most 16 MiB by default. A limit
counts the bytes before the ``\\n`` (a ``\\r`` included), as Rust's InitBlob reader does. An
overlong line raises :class:`LineTooLong` as soon as the limit is passed, without buffering
the rest of it, and the decoder stays broken: the stream must be closed.

At the end of the stream (:meth:`LineDecoder.at_eof`) a trailing line without ``\\n`` is
returned as a last line, as Rust's ``lines()`` reader does for stdin messages; but a stream
that ends before the first line (the InitBlob) is complete is an error, as in Rust
("stdin closed unexpectedly").
"""

from __future__ import annotations

from typing import Final

from ._buffer import ReceiveBuffer
from ._errors import (
    IncompleteLine,
    InvalidLinePayload,
    LineTooLong,
    LocalProtocolError,
    PayloadTooLarge,
    RemoteProtocolError,
)
from ._framing import NEED_DATA, NeedData

DEFAULT_MAX_LINE: Final = 16 * 1024 * 1024
"""Default limit on a line after the first one, in bytes (without the newline)."""

DEFAULT_FIRST_LINE_MAX: Final = 1024 * 1024
"""Default limit on the first line, the InitBlob (docs/protocol.md §3.2), in bytes."""


def encode_line(payload: bytes, *, max_line: int = DEFAULT_MAX_LINE) -> bytes:
    """Return ``payload + b"\\n"``: one complete line, to be written whole.

    Does not block. Raises :class:`InvalidLinePayload` if the payload contains ``\\n`` or
    ends with ``\\r`` (the peer would read something else), and :class:`PayloadTooLarge` if it
    is longer than ``max_line``.
    """
    newline = payload.find(b"\n")
    if newline >= 0:
        raise InvalidLinePayload("the payload contains a newline", newline)
    if payload.endswith(b"\r"):
        raise InvalidLinePayload("the payload ends with a carriage return", len(payload) - 1)
    if len(payload) > max_line:
        raise PayloadTooLarge(len(payload), max_line, what="line")
    return payload + b"\n"


class LineDecoder(ReceiveBuffer):
    """Turns a byte stream into lines (without their ``\\n``); does no I/O.

    Feed bytes with :meth:`feed`, call :meth:`next_line` until it returns
    :data:`NEED_DATA`; when the stream ends, call :meth:`at_eof` for the last, unterminated
    line. ``first_line_max`` is the limit of the first line (the InitBlob on a module's
    stdin); pass ``None`` when the first line is not special (reading a module's stdout).

    Errors from the peer (:class:`LineTooLong`, :class:`IncompleteLine`) leave the decoder
    broken: every later call raises a :class:`RemoteProtocolError`.
    """

    __slots__ = ("_first_max", "_lines", "_max", "_partial", "_parts")
    _what = "line decoder"
    _stream = "line stream"

    def __init__(
        self,
        max_line: int = DEFAULT_MAX_LINE,
        first_line_max: int | None = DEFAULT_FIRST_LINE_MAX,
    ) -> None:
        for name, value in (("max_line", max_line), ("first_line_max", first_line_max)):
            if value is None and name == "first_line_max":
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, not {value!r}")
            if value < 0:
                raise ValueError(f"{name} must be >= 0, not {value}")
        super().__init__()
        self._max = max_line
        self._first_max = first_line_max
        self._parts: list[bytes] = []  # the current line's bytes from earlier chunks (no \n)
        self._partial = 0  # their total length
        self._lines = 0  # lines returned so far

    @property
    def lines_read(self) -> int:
        """How many lines have been returned."""
        return self._lines

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet returned as part of a line."""
        return self._partial + len(self._buf) - self._pos + self._pending_size

    def next_line(self) -> bytes | NeedData:
        """Return the next complete line without its ``\\n`` (and ``\\r``), or NEED_DATA.

        Does not block. Raises :class:`LineTooLong` when a line passes its limit, even
        before its newline has arrived.
        """
        buf = self._buf
        pos = self._pos
        end = buf.find(b"\n", pos)
        # Fast path: a whole line inside the current chunk, past the first line.
        if end >= 0 and not self._parts and self._lines and end - pos <= self._max:
            self._pos = end + 1
            self._lines += 1
            if end > pos and buf[end - 1] == 13:  # b"\r"
                end -= 1
            return buf[pos:end]
        return self._next_line_slow()

    def at_eof(self) -> bytes | None:
        """The stream has ended: return its last line if it had no ``\\n``, else ``None``.

        Call it after :meth:`next_line` returned :data:`NEED_DATA`. Raises
        :class:`IncompleteLine` if the stream ended before the first line was complete
        (unless ``first_line_max`` is ``None``), :class:`LineTooLong` if the trailing line is
        over its limit, and :class:`LocalProtocolError` if complete lines are still buffered
        or ``at_eof`` was already called.
        """
        self._check_usable()
        if self._buf.find(b"\n", self._pos) >= 0 or any(b"\n" in c for c in self._pending):
            raise LocalProtocolError(
                "at_eof() while a complete line is buffered: take it with next_line() first"
            )
        self._ended = True
        trailing = b"".join([*self._parts, memoryview(self._buf)[self._pos :], *self._pending])
        self._buf = b""
        self._pos = 0
        self._parts.clear()
        self._partial = 0
        self._pending.clear()
        self._pending_size = 0
        limit = self._limit()
        if len(trailing) > limit:
            raise self._fail(LineTooLong(len(trailing), limit, self._lines + 1, complete=True))
        if self._lines == 0 and self._first_max is not None:
            raise self._fail(IncompleteLine(len(trailing)))
        if not trailing:
            return None
        self._lines += 1
        return trailing[:-1] if trailing.endswith(b"\r") else trailing

    # -- slow path ---------------------------------------------------------------------------------

    def _next_line_slow(self) -> bytes | NeedData:
        self._check_usable()
        limit = self._limit()
        parts = self._parts
        while True:
            buf = self._buf
            pos = self._pos
            end = buf.find(b"\n", pos)
            if end >= 0:
                length = self._partial + end - pos
                if length > limit:
                    raise self._fail(LineTooLong(length, limit, self._lines + 1, complete=True))
                if parts:
                    parts.append(buf[pos:end])
                    line = b"".join(parts)
                    parts.clear()
                    self._partial = 0
                else:
                    line = buf[pos:end]
                self._pos = end + 1
                self._lines += 1
                return line[:-1] if line.endswith(b"\r") else line
            # No newline in the rest of this chunk: keep it and scan the next one.
            if pos < len(buf):
                self._partial += len(buf) - pos
                if self._partial > limit:
                    raise self._fail(
                        LineTooLong(self._partial, limit, self._lines + 1, complete=False)
                    )
                parts.append(buf[pos:] if pos else buf)
            if not self._pending:  # the usual case, kept free of a call: nothing more fed
                self._base += len(buf)
                self._buf = b""
                self._pos = 0
                return NEED_DATA
            self._next_chunk()

    def _limit(self) -> int:
        if self._lines == 0 and self._first_max is not None:
            return self._first_max
        return self._max

    def _fail(self, error: RemoteProtocolError) -> RemoteProtocolError:
        self._parts.clear()
        self._partial = 0
        return super()._fail(error)

"""Errors of the sans-io wire layer.

Every error says whose fault it was, as h11 does: ``LocalProtocolError`` when our own code
misused the API (asked for an encoding a type does not have, tried to write an oversized
frame), ``RemoteProtocolError`` when the peer sent bytes we cannot accept.
"""

from __future__ import annotations


class WireError(Exception):
    """Base of every error raised by :mod:`pywatt.wire`."""


class LocalProtocolError(WireError):
    """Our side misused the protocol API; nothing bad came from the peer."""


class RemoteProtocolError(WireError):
    """The peer sent something the protocol does not allow."""


class DecodeError(RemoteProtocolError, ValueError):
    """Bytes from the peer do not decode as the requested type.

    ``path`` names where decoding failed, JSONPath style (``$.content.payload.data[3]``);
    ``$`` alone means the whole value (for example a syntax error).
    """

    def __init__(self, message: str, path: str = "$") -> None:
        super().__init__(f"{message} at {path}" if path else message)
        self.reason = message
        self.path = path


class EncodeError(LocalProtocolError, ValueError):
    """A value cannot be encoded (wrong field type, integer out of range, lone surrogate...)."""


class IntegerOutOfRange(EncodeError):
    """An integer field holds a value its Rust type cannot (a ``u32`` holding -1, a ``bool``).

    ``field`` names it as ``Class.field`` (None for an integer outside any struct), ``value``
    is what it held and ``expected`` the Rust type (``u32``).
    """

    def __init__(self, value: object, expected: str, field: str | None = None) -> None:
        where = f"{field}: " if field is not None else ""
        super().__init__(f"{where}{value!r} is not a {expected}")
        self.value = value
        self.expected = expected
        self.field = field

    def at(self, field: str) -> IntegerOutOfRange:
        """This error naming ``field``, unless it names a (nested) field already."""
        if self.field is not None:
            return self
        return IntegerOutOfRange(self.value, self.expected, field)


class UnserializableError(EncodeError):
    """The value has no wire form at all (the Rust SDK cannot serialize it either).

    Example: ``Identify``, a newtype variant of an internally tagged enum that serde refuses
    to write (docs/protocol.md §16 A1).
    """


class NoBincodeLayout(LocalProtocolError, TypeError):
    """Bincode was asked for a type that the Rust SDK gives no bincode layout (§5.6)."""


# -- framing and stdio lines (_framing.py, _lines.py) --------------------------------------------


class FrameTooLarge(RemoteProtocolError):
    """A frame header declared a payload over the decoder's limit; the connection must close.

    Raised from the header alone, before any of the payload is buffered.
    """

    def __init__(self, declared_size: int, limit: int, offset: int) -> None:
        super().__init__(
            f"frame at stream offset {offset} declares a {declared_size}-byte payload; "
            f"the limit is {limit} bytes"
        )
        self.declared_size = declared_size
        self.limit = limit
        self.offset = offset


class InvalidFormatCode(RemoteProtocolError):
    """A frame header carries a format code other than 1-4; the connection must close."""

    def __init__(self, code: int, offset: int) -> None:
        what = "0 (Auto, never valid on the wire)" if code == 0 else str(code)
        super().__init__(
            f"frame at stream offset {offset} has format code {what}; expected 1 (JSON), "
            "2 (Binary), 3 (Base64) or 4 (MessagePack)"
        )
        self.code = code
        self.offset = offset


class IncompleteFrame(RemoteProtocolError):
    """The stream ended in the middle of a frame.

    ``expected`` is the frame's full size (header + payload) when its header had arrived,
    else ``None``.
    """

    def __init__(self, buffered: int, expected: int | None, offset: int) -> None:
        wanted = f"of {expected}" if expected is not None else "of a frame header (5)"
        super().__init__(
            f"stream ended inside the frame at offset {offset}: got {buffered} bytes {wanted}"
        )
        self.buffered = buffered
        self.expected = expected
        self.offset = offset


class LineTooLong(RemoteProtocolError):
    """A stdio line (without its ``\\n``) is longer than the limit; the stream must close.

    ``length`` is the length seen so far, which is only a lower bound when the line had not
    ended yet. ``line_number`` counts from 1 (line 1 is the InitBlob on a module's stdin).
    """

    def __init__(self, length: int, limit: int, line_number: int, *, complete: bool) -> None:
        seen = f"{length} bytes" if complete else f"over {limit} bytes ({length} so far)"
        super().__init__(f"line {line_number} is {seen}; the limit is {limit} bytes")
        self.length = length
        self.limit = limit
        self.line_number = line_number


class IncompleteLine(RemoteProtocolError):
    """The stream ended before the first line (the InitBlob) was terminated by ``\\n``."""

    def __init__(self, buffered: int) -> None:
        super().__init__(
            f"stream closed before the first line ended ({buffered} bytes without a newline)"
        )
        self.buffered = buffered


class PayloadTooLarge(LocalProtocolError, ValueError):
    """We asked to send a frame or line longer than the limit."""

    def __init__(self, size: int, limit: int, *, what: str) -> None:
        super().__init__(f"cannot send a {size}-byte {what}: the limit is {limit} bytes")
        self.size = size
        self.limit = limit


class UnsendableFormat(LocalProtocolError, ValueError):
    """We asked to send a frame with ``FrameFormat.AUTO`` or something that is no format."""

    def __init__(self, format: object) -> None:
        super().__init__(
            f"cannot send a frame with format {format!r}: use JSON, BINARY, BASE64 or MSGPACK"
        )
        self.format = format


class InvalidLinePayload(LocalProtocolError, ValueError):
    """We asked to send a line whose payload contains ``\\n`` or ends with ``\\r``.

    Either would make the peer read something other than what was sent.
    """

    def __init__(self, reason: str, position: int) -> None:
        super().__init__(f"cannot send this line: {reason} at byte {position}")
        self.position = position

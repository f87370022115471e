"""The receive buffer under both decoders (frames and lines), sans-io.

Bytes are kept as they were fed: the chunk being read (``_buf`` from ``_pos``) and the chunks
fed after it, untouched, in ``_pending``. A decoder slices items straight out of the current
chunk and joins the pieces of an item that spans chunks once, when it is complete; there is
no growing ``bytearray`` that is re-sliced on every read. A peer trickling tiny chunks has
them merged as they arrive, so it does not cost an object per byte.

Once a decoder meets bytes it cannot trust it calls :meth:`ReceiveBuffer._fail`: the buffer
drops everything and stays broken, and every later call raises.
"""

from __future__ import annotations

from collections import deque
from typing import ClassVar, Final, NoReturn

from ._errors import LocalProtocolError, RemoteProtocolError

__all__ = ["ReceiveBuffer"]

_COALESCE: Final = 4096  # pending chunks smaller than this are merged as they arrive


class ReceiveBuffer:
    """The bytes a decoder has been fed and not yet returned (see the module docstring).

    Subclasses read ``_buf`` / ``_pos`` directly on their fast paths (slots, so as cheap as
    locals) and call :meth:`_next_chunk` to move on to the next fed chunk.
    """

    __slots__ = ("_base", "_buf", "_ended", "_error", "_pending", "_pending_size", "_pos")

    _what: ClassVar[str] = "decoder"
    """How errors name the decoder (``"frame decoder"``)."""
    _stream: ClassVar[str] = "stream"
    """How errors name what it reads (``"line stream"``)."""

    def __init__(self) -> None:
        self._buf = b""  # the chunk being read ...
        self._pos = 0  # ... from this offset; nothing before it is unread
        self._base = 0  # stream offset of self._buf[0], for error messages
        self._pending: deque[bytes] = deque()  # chunks fed after self._buf, untouched
        self._pending_size = 0
        self._error: RemoteProtocolError | None = None
        self._ended = False  # set by a decoder's at_eof() that takes no more bytes

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet returned as part of an item."""
        return len(self._buf) - self._pos + self._pending_size

    @property
    def broken(self) -> bool:
        """True once the decoder has raised a :class:`RemoteProtocolError`."""
        return self._error is not None

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        """Add bytes received from the peer. Does not block; never parses.

        Raises :class:`RemoteProtocolError` if the decoder is broken, and
        :class:`LocalProtocolError` after an ``at_eof()`` that ended the stream.
        """
        if self._error is not None or self._ended:  # one test per chunk on the fast path
            self._check_usable()
        # Keep bytes as they are; copy anything else that has the buffer protocol (the caller
        # may reuse a bytearray). memoryview() refuses what is not bytes-like, such as an int.
        chunk = data if type(data) is bytes else bytes(memoryview(data))
        if not chunk:
            return
        pending = self._pending
        if not pending:
            if self._pos == len(self._buf):
                self._base += self._pos
                self._buf = chunk
                self._pos = 0
                return
        elif len(chunk) < _COALESCE and len(pending[-1]) < _COALESCE:
            pending[-1] += chunk
            self._pending_size += len(chunk)
            return
        pending.append(chunk)
        self._pending_size += len(chunk)

    def _next_chunk(self) -> bool:
        """Make the next fed chunk the current one (the rest of the current one is dropped:
        the caller has kept what it needs). False when none is pending: the buffer is then
        empty."""
        self._base += len(self._buf)
        self._pos = 0
        if not self._pending:
            self._buf = b""
            return False
        chunk = self._pending.popleft()
        self._pending_size -= len(chunk)
        self._buf = chunk
        return True

    def _check_usable(self) -> None:
        if self._error is not None:
            self._raise_broken()
        if self._ended:
            raise LocalProtocolError(f"the {self._stream} has already ended (at_eof() was called)")

    def _fail(self, error: RemoteProtocolError) -> RemoteProtocolError:
        """Drop every buffered byte and stay broken with ``error`` (returned, to raise)."""
        self._error = error
        self._buf = b""
        self._pos = 0
        self._pending.clear()
        self._pending_size = 0
        return error

    def _raise_broken(self) -> NoReturn:
        assert self._error is not None
        raise RemoteProtocolError(
            f"the {self._what} is broken by an earlier error: {self._error}"
        ) from self._error

"""Reading a connection's socket with less work per read than ``SocketStream.receive_some``.

Every frame between modules is read by one of these reads. Trio's ``receive_some`` on a
socket stream tries the read at once and, when that succeeds, yields to the scheduler
anyway (every trio call is a schedule point); when the socket has nothing yet, the failed
attempt raises ``BlockingIOError`` inside two context managers before the wait. A
connection's read loop does not need the yield (it yields itself every few frames, and it
waits whenever the socket is empty), so :func:`receive_some` skips it:

* a cancelled task still raises ``Cancelled`` at once (a checkpoint if cancelled first);
* after a read that filled the whole buffer (more is likely waiting) the read is tried
  first; after a shorter one the socket was drained, so it waits for it to be readable
  first instead of trying a read that would fail;
* errors are those of ``receive_some``: ``ClosedResourceError`` for a socket closed here,
  ``BrokenResourceError`` (the ``OSError`` as its cause) for a broken connection.

Any other stream (TLS) is read with its own ``receive_some``.
"""

from __future__ import annotations

import errno
import os

import trio

__all__ = ["SocketReader"]


class SocketReader:
    """The reads of one connection's stream (see the module docstring)."""

    __slots__ = ("_drained", "_stream")

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._drained = False

    async def receive_some(self, max_bytes: int) -> bytes:
        """Up to ``max_bytes`` bytes, b"" at the end of the stream. Raises
        ``trio.ClosedResourceError``, ``trio.BrokenResourceError``, ``trio.Cancelled``."""
        stream = self._stream
        if type(stream) is not trio.SocketStream:
            return bytes(await stream.receive_some(max_bytes))
        sock = stream.socket
        await trio.lowlevel.checkpoint_if_cancelled()
        if self._drained:
            await trio.lowlevel.wait_readable(sock)
        while True:
            fd = sock.fileno()
            if fd < 0:
                raise trio.ClosedResourceError("this socket was already closed")
            try:
                data = os.read(fd, max_bytes)
            except BlockingIOError:
                await trio.lowlevel.wait_readable(sock)
                continue
            except OSError as exc:
                if exc.errno == errno.EBADF:
                    raise trio.ClosedResourceError("this socket was already closed") from None
                raise trio.BrokenResourceError(f"socket connection broken: {exc}") from exc
            self._drained = len(data) < max_bytes
            return data

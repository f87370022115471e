"""Write a list of byte strings to a trio stream in as few system calls as it takes, unjoined.

A batch of frames (a module's outbox; a relayed stream chunk, queued by the orchestrator as
its frame header and its payload) can hold several 64 KiB chunks: joining them for one
``send_all`` would copy every one once more. On a socket,
:func:`send_buffers` hands the list to ``sendmsg`` (scatter-gather, at most :data:`IOV_MAX`
pieces a call) and goes on from where a partial write stopped; any other stream (TLS) gets
them joined.

:func:`write_now` is the synchronous write of what a connection queued in one scheduler pass
while its writer was idle (``_pass_end``): one non-blocking ``write`` (small frames joined,
as :func:`send_buffers` does) or ``writev``, with no wake-up of a writer task. What it could
not write is left for the writer.
"""

from __future__ import annotations

import os
from typing import Final

import trio

__all__ = ["IOV_MAX", "drop_written", "send_buffers", "write_now"]

IOV_MAX: Final = 512
"""Pieces given to one ``sendmsg`` call (Linux allows 1024)."""
JOIN_BELOW: Final = 16 * 1024
"""A batch whose pieces are all smaller is joined and sent with one ``send_all``: copying
small frames once costs less than handing ``sendmsg`` hundreds of pieces (a burst of
requests); a batch with a bigger piece (a stream's chunk) goes unjoined."""


async def send_buffers(stream: trio.abc.Stream, buffers: list[bytes]) -> None:
    """Write ``buffers`` in order. Blocks until all is written; raises what ``send_all``
    raises (``trio.BrokenResourceError`` when the peer is gone)."""
    if (
        len(buffers) == 1
        or not isinstance(stream, trio.SocketStream)
        or max(map(len, buffers)) < JOIN_BELOW
    ):
        await stream.send_all(buffers[0] if len(buffers) == 1 else b"".join(buffers))
        return
    sock = stream.socket
    pending: list[bytes | memoryview] = list(buffers)
    while pending:
        try:
            sent = await sock.sendmsg(pending[:IOV_MAX])
        except OSError as exc:
            raise trio.BrokenResourceError(f"socket send failed: {exc}") from exc
        # Drop what was written whole; keep the unwritten rest of a piece cut in two.
        taken = 0
        while taken < len(pending) and sent >= len(pending[taken]):
            sent -= len(pending[taken])
            taken += 1
        del pending[:taken]
        if sent:
            pending[0] = memoryview(pending[0])[sent:]


def write_now(stream: trio.abc.Stream, buffers: list[bytes]) -> int:
    """Write what the socket takes of ``buffers`` at once, without blocking; return the bytes
    written. 0 when nothing was written: the stream is not a plain socket (TLS), is closed,
    the kernel buffer is full, or the write failed (the caller queues the frames and its
    writer task meets the error with ``send_buffers``). At most :data:`IOV_MAX` pieces."""
    if not isinstance(stream, trio.SocketStream):
        return 0
    fd = stream.socket.fileno()  # -1 once closed: never a number reused by another file
    if fd < 0:
        return 0
    try:
        if len(buffers) == 1:
            return os.write(fd, buffers[0])
        if max(map(len, buffers)) < JOIN_BELOW:
            return os.write(fd, b"".join(buffers))
        return os.writev(fd, buffers[:IOV_MAX])
    except OSError:
        return 0


def drop_written(frames: list[bytes], written: int) -> None:
    """After :func:`write_now` took ``written`` bytes of ``frames`` (not all of them): drop
    the frames that went out whole and keep the unwritten rest of one cut in two."""
    taken = 0
    while written >= len(frames[taken]):
        written -= len(frames[taken])
        taken += 1
    del frames[:taken]
    if written:
        frames[0] = frames[0][written:]

"""A connection's outbox: the frames queued for its writer task, shared with its senders.

The connection actor owns it and its writer drains it, writing every frame queued since the
last write in one call (``send_buffers``). The channels actor's
:class:`~pywatt.channels.Writer` (the router's path) appends to it directly with
:meth:`Outbox.offer`, without a hand-off to the connection actor: a request's frame then
costs an append and, at most, one wake-up of the writer. Back-pressure is kept: above
``high_water`` bytes, ``offer`` refuses and the sender waits with :meth:`wait_room` (or
tells the connection actor a ``SendFrame``, which waits the same way). When the connection
ends the outbox is closed: ``offer`` refuses and waiters are woken.

While the connection is up it lends the outbox a synchronous write (:attr:`Outbox.direct`,
``write_now`` on its socket). A frame put while no write is in progress
(:attr:`Outbox.writing`) is not written at once, nor does it wake the writer task: the first
one of a scheduler pass asks for a flush at the end of the pass (``at_pass_end``), which
writes every frame queued in that pass with one system call, in the run loop's own step; what
the socket did not take is left for the writer, which it wakes. Frames put while a write is in
progress queue behind it, so the order is kept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

import trio

from ._pass_end import at_pass_end
from ._send_buffers import drop_written

__all__ = ["HIGH_WATER", "Outbox"]

HIGH_WATER: Final = 1 << 20
"""Bytes queued before a sender waits for the writer."""


class Outbox:
    """Frames waiting to be written on one connection (see the module docstring)."""

    __slots__ = (
        "_room", "_wake", "closed", "direct", "flush_due", "frames", "high_water", "size",
        "writing",
    )  # fmt: skip

    def __init__(self, high_water: int = HIGH_WATER) -> None:
        self.frames: list[bytes] = []
        self.size = 0
        self.high_water = high_water
        self.closed = False
        self._wake = trio.Event()
        self._room = trio.Event()
        self.direct: Callable[[list[bytes]], int] | None = None
        """Writes what it can of some frames now and returns the bytes written (see the
        module docstring); None while the connection is not up."""
        self.writing = False
        """The writer task is in a write: frames must queue behind it."""
        self.flush_due = False
        """A flush at the end of this pass is asked for (:meth:`flush`)."""

    @property
    def has_room(self) -> bool:
        """Open and below the high-water mark."""
        return not self.closed and self.size < self.high_water

    def offer(self, frame: bytes) -> bool:
        """Queue one complete frame if the outbox is open and below the high-water mark;
        return whether it was queued. Does not block."""
        if self.closed or self.size >= self.high_water:
            return False
        self.put(frame)
        return True

    def put(self, frame: bytes) -> None:
        """Queue one complete frame regardless of the high-water mark (for the connection's
        own small frames: heartbeat acks, answers). Does not block."""
        self.frames.append(frame)
        self.size += len(frame)
        if self.flush_due:
            return
        if self.direct is not None and not self.writing:
            self.flush_due = True
            at_pass_end(self.flush)
        elif not self._wake.is_set():
            self._wake.set()

    def flush(self) -> bool:
        """Write what is queued with :attr:`direct`, unless a write is in progress (the
        writer takes it after) or the connection is down (the writer's final drain takes
        it); what the socket does not take is left for the writer, which is woken. Returns
        whether a task was woken. Does not block."""
        self.flush_due = False
        frames = self.frames
        direct = self.direct
        if not frames or self.writing:
            return False
        if direct is None:
            self._wake.set()
            return True
        woke = self._room.statistics().tasks_waiting > 0
        written = direct(frames)
        if written == self.size:
            self.take()
            return woke
        # The kernel buffer filled: drop what went out whole and keep the rest of a frame
        # cut in two, for the writer.
        self.size -= written
        drop_written(frames, written)
        self._wake.set()
        return True

    def push_front(self, frame: bytes) -> None:
        """Queue ``frame`` ahead of everything queued (the first frame of a connection)."""
        self.frames.insert(0, frame)
        self.size += len(frame)
        self._wake.set()

    async def wait_room(self) -> None:
        """Block until the outbox is below the high-water mark or closed."""
        while self.size >= self.high_water and not self.closed:
            await self._room.wait()

    def take(self) -> list[bytes]:
        """Everything queued, oldest first, for one write; wakes senders waiting for room."""
        batch, self.frames = self.frames, []
        self.size = 0
        self._room.set()
        self._room = trio.Event()
        return batch

    async def wait_frames(self) -> None:
        """Block until a frame is queued (or :meth:`wake` is called)."""
        if not self.frames:
            self._wake = trio.Event()
            await self._wake.wait()

    def wake(self) -> None:
        """Wake the writer (to notice a close)."""
        self._wake.set()

    def close(self) -> None:
        """Refuse further frames and wake every waiter. Frames queued stay for a final
        drain by the writer."""
        self.closed = True
        self.direct = None
        self._wake.set()
        self._room.set()

"""A connection's outbox: the frames queued for its writer task, shared with its senders.

The connection actor owns it and its writer drains it, writing every frame queued since the
last write in one call (``send_buffers``). The channels actor's
:class:`~pywatt.channels.Writer` (the router's path) appends to it directly with
:meth:`Outbox.offer`, without a hand-off to the connection actor: a request's frame then
costs an append and, at most, one wake-up of the writer. Back-pressure is kept: above
``high_water`` bytes, ``offer`` refuses and the sender waits with :meth:`wait_room` (or
tells the connection actor a ``SendFrame``, which waits the same way). When the connection
ends the outbox is closed: ``offer`` refuses and waiters are woken.

While the connection is up it lends the outbox a synchronous first try (:attr:`Outbox.direct`,
``write_now`` on its socket): a frame put while nothing is queued and no write is in progress
(:attr:`Outbox.writing`) is written in the sender's own step, without waking the writer
task; what the socket did not take is queued for the writer. Frames put while others wait
or a write is in progress are queued and batched, as before, so the order is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

import trio

__all__ = ["DIRECT_GAP_NS", "HIGH_WATER", "Outbox"]

HIGH_WATER: Final = 1 << 20
"""Bytes queued before a sender waits for the writer."""
DIRECT_GAP_NS: Final = 10_000
"""A frame goes out at once only if none did in the last 50 µs: a lone request is written
in its sender's step, a burst (many frames a microsecond apart) is queued and written in one
call by the writer, not one system call per frame."""


class Outbox:
    """Frames waiting to be written on one connection (see the module docstring)."""

    __slots__ = (
        "_room", "_wake", "closed", "direct", "direct_at", "frames", "high_water", "size",
        "writing",
    )  # fmt: skip

    def __init__(self, high_water: int = HIGH_WATER) -> None:
        self.frames: list[bytes] = []
        self.size = 0
        self.high_water = high_water
        self.closed = False
        self._wake = trio.Event()
        self._room = trio.Event()
        self.direct: Callable[[bytes], int] | None = None
        """Writes what it can of a frame now and returns the bytes written (see the module
        docstring); None while the connection is not up."""
        self.writing = False
        """The writer task is in a write: frames must queue behind it."""
        self.direct_at = 0
        """When (``time.monotonic_ns``) a frame last went out by :attr:`direct`."""

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
        direct = self.direct
        if (
            direct is not None
            and not self.frames
            and not self.writing
            and (now := time.monotonic_ns()) - self.direct_at > DIRECT_GAP_NS
        ):
            self.direct_at = now
            written = direct(frame)
            if written == len(frame):
                return
            if written:
                frame = frame[written:]
        self.frames.append(frame)
        self.size += len(frame)
        if not self._wake.is_set():
            self._wake.set()

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

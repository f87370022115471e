"""One timer task per actor system: a heap of deadlines instead of a task per timer.

Requests answered later (a secret over a pipe, a frame on a socket) each arm a deadline, so
thousands of timers can be live at once; a trio task and cancel scope each would cost a
scheduler pass to start and memory for as long as they sleep. Here arming is a heap push and
cancelling marks the entry (it is skipped when it comes up). Entries cancelled long before
their deadline (a reply that came in time) are swept out once they make up half the heap, so
the heap stays the size of what is really pending.

Three kinds of entry share the heap: a :class:`Timer` (a message to the actor itself), the
deadline of a :class:`~actors.PendingReplies` entry, and the deadline of an ask made with
``timeout=`` or ``deadline=`` (``actors._mailbox.AskDeadline``). Each says what firing means.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ._actor import ActorContext

SWEEP_AFTER = 256
"""Cancelled entries tolerated in the heap before a sweep is considered (then: half of it)."""


class HeapEntry:
    """An entry of the timer heap. Internal; subclasses implement :meth:`_fire` and
    :meth:`_discard`, and :meth:`_ended` if they end with something."""

    __slots__ = ("_cancelled",)

    def __init__(self) -> None:
        self._cancelled = False

    def _ended(self) -> bool:
        """Whether what the entry belongs to is gone (it is then skipped, never fired)."""
        return False

    def _discard(self) -> None:
        """Mark the entry cancelled (once) and let the heap count it for a sweep."""
        raise NotImplementedError

    def _fire(self, service: TimerService, deadline: float) -> None:
        """The deadline came: act on it (called by the timer task, must not block)."""
        raise NotImplementedError


class Scheduled(HeapEntry):
    """An entry of the timer heap that belongs to one incarnation and ends with it.

    Internal; subclasses implement :meth:`_fire`.
    """

    __slots__ = ("ctx",)

    def __init__(self, ctx: ActorContext) -> None:
        super().__init__()
        self.ctx = ctx

    def _ended(self) -> bool:
        return self.ctx.ended

    def _discard(self) -> None:
        """Mark the entry cancelled (once) and let the heap count it for a sweep."""
        if not self._cancelled:
            self._cancelled = True
            self.ctx.system.timers.discarded()


class Timer(Scheduled):
    """A scheduled message to an actor itself; :meth:`cancel` stops it. Ends with the actor."""

    __slots__ = ("message", "period")

    def __init__(self, ctx: ActorContext, message: object, period: float | None) -> None:
        super().__init__(ctx)
        self.message = message
        self.period = period

    def cancel(self) -> None:
        """Stop the timer. Messages it already delivered stay in the mailbox."""
        self._discard()

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _fire(self, service: TimerService, deadline: float) -> None:
        self.ctx.cell.mailbox.offer(self.message)
        if self.period is None:
            self._cancelled = True
        else:
            service.schedule(self, deadline + self.period)


class TimerService:
    """The system's timers: :meth:`run` is the one task that fires them."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, HeapEntry]] = []
        self._order = itertools.count()
        self._scope: trio.CancelScope | None = None
        # The sleeping scope's deadline, mirrored (a float compare instead of a property
        # read per schedule); -inf while the task is awake, so nothing touches the scope.
        self._wake = -math.inf
        self._dead = 0  # cancelled entries still in the heap

    def __len__(self) -> int:
        """Entries in the heap, cancelled ones not yet swept included."""
        return len(self._heap)

    def schedule(self, entry: HeapEntry, deadline: float) -> None:
        """Fire ``entry`` at ``deadline`` (trio clock). Does not block."""
        heapq.heappush(self._heap, (deadline, next(self._order), entry))
        if deadline < self._wake:
            self._wake = deadline
            assert self._scope is not None
            self._scope.deadline = deadline  # wake the sleeper earlier

    def discarded(self) -> None:
        """An entry still in the heap was cancelled; sweep once they are half of it."""
        self._dead += 1
        if self._dead > SWEEP_AFTER and 2 * self._dead > len(self._heap):
            self._sweep()

    def _sweep(self) -> None:
        """Drop cancelled entries, and those of ended incarnations, from the heap (in place:
        :meth:`run` holds it)."""
        kept = []
        for item in self._heap:
            entry = item[2]
            if entry._cancelled:
                continue
            if entry._ended():
                entry._cancelled = True
                continue
            kept.append(item)
        heapq.heapify(kept)
        self._heap[:] = kept
        self._dead = 0

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Fire entries as they come due, forever."""
        task_status.started()
        heap = self._heap
        while True:
            wake = heap[0][0] if heap else math.inf
            with trio.CancelScope(deadline=wake) as scope:
                self._scope = scope
                self._wake = wake
                await trio.sleep_forever()
            self._scope = None
            self._wake = -math.inf
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                deadline, _, entry = heapq.heappop(heap)
                if entry._cancelled:
                    self._dead -= 1
                    continue
                if entry._ended():  # entries end with their incarnation
                    entry._cancelled = True
                    continue
                entry._fire(self, deadline)

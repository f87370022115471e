"""One timer task per actor system: a heap of deadlines instead of a task per timer.

Requests answered later (a secret over a pipe, a frame on a socket) each arm a deadline, so
thousands of timers can be live at once; a trio task and cancel scope each would cost a
scheduler pass to start and memory for as long as they sleep. Here arming is a heap push and
cancelling marks the entry (it is skipped when it comes up).
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING

import trio

if TYPE_CHECKING:
    from ._actor import ActorContext


class Timer:
    """A scheduled message to an actor itself; :meth:`cancel` stops it. Ends with the actor."""

    __slots__ = ("_cancelled", "ctx", "message", "period")

    def __init__(self, ctx: ActorContext, message: object, period: float | None) -> None:
        self.ctx = ctx
        self.message = message
        self.period = period
        self._cancelled = False

    def cancel(self) -> None:
        """Stop the timer. Messages it already delivered stay in the mailbox."""
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled


class TimerService:
    """The system's timers: :meth:`run` is the one task that fires them."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Timer]] = []
        self._order = itertools.count()
        self._scope: trio.CancelScope | None = None

    def schedule(self, timer: Timer, deadline: float) -> None:
        """Fire ``timer`` at ``deadline`` (trio clock). Does not block."""
        heapq.heappush(self._heap, (deadline, next(self._order), timer))
        scope = self._scope
        if scope is not None and deadline < scope.deadline:
            scope.deadline = deadline  # wake the sleeper earlier

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Fire timers as they come due, forever."""
        task_status.started()
        heap = self._heap
        while True:
            with trio.CancelScope(deadline=heap[0][0] if heap else math.inf) as scope:
                self._scope = scope
                await trio.sleep_forever()
            self._scope = None
            now = trio.current_time()
            while heap and heap[0][0] <= now:
                deadline, _, timer = heapq.heappop(heap)
                if timer._cancelled:
                    continue
                ctx = timer.ctx
                if ctx.ended:  # timers end with their incarnation
                    timer._cancelled = True
                    continue
                ctx.cell.mailbox.offer(timer.message)
                if timer.period is None:
                    timer._cancelled = True
                else:
                    self.schedule(timer, deadline + timer.period)

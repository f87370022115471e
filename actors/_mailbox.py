"""Bounded mailboxes that belong to a name, and the reply slot of an ask.

This is the hot path of the runtime, so it trades a little elegance for speed:

* Putting a message into a mailbox with room does not yield to the scheduler. Trio's rule is
  that every async call is a checkpoint; we depart from it here (docs/architecture.md, decision 17),
  because a checkpoint costs about 5 µs and a tell should cost well under one. Fairness and
  cancellation are kept by a checkpoint every ``FAIRNESS_BUDGET`` puts (see ``Mailbox.put``).
* The receiver parks with ``wait_task_rescheduled`` and a sender wakes it directly, and an
  asker is woken directly with its reply: no channel or event object per message.
* A sender that waits for room under WAIT parks *with its message*. When the receiver frees a
  slot it moves the oldest waiter's message into it and only then wakes that waiter: the slot is
  never open to a later sender. So while anyone waits the mailbox stays full, and the fast
  paths, which only ever check for room, can never jump ahead of a waiter (no extra test on
  them), and waiters are served in the order they came.
"""

from __future__ import annotations

import collections
import enum
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs
import outcome
import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

from ._errors import ActorStopped, AskTimeout, MailboxFull
from ._messages import DeadLetterReason
from ._timers import HeapEntry

if TYPE_CHECKING:
    from ._deadletters import DeadLetters
    from ._timers import TimerService

FAIRNESS_BUDGET = 64
"""Puts that may complete without a checkpoint, counted across all senders of this thread."""

_budget = FAIRNESS_BUDGET


class OverflowPolicy(enum.Enum):
    """What a full mailbox does with one more message."""

    WAIT = "wait"
    """The sender waits for room (back-pressure). The default."""
    DROP_NEWEST = "drop_newest"
    """The new message is dead-lettered; the sender goes on."""
    FAIL = "fail"
    """The sender gets :class:`MailboxFull`; the message is dead-lettered."""


@attrs.frozen
class MailboxStatistics:
    """A snapshot of a mailbox."""

    depth: int
    """Messages waiting."""
    capacity: int
    processed: int
    """Messages handled, successfully or with a declared reply error."""
    failed: int
    """Messages whose handler raised (a reply error, or a crash)."""
    waiting_senders: int
    closed: bool
    timed: int = 0
    """Messages whose handling was timed: one in 16 (``actors._serve.SAMPLE_EVERY``)."""
    timed_seconds: float = 0.0
    """Their handling time, summed: ``timed_seconds / timed`` is the mean handling time."""


_PENDING, _CANCELLED, _DONE = 0, 1, 2


class _Waiter:
    """A sender parked on a full WAIT mailbox, with the message it is waiting to put."""

    __slots__ = ("item", "task")

    def __init__(self, task: Task, item: object) -> None:
        self.task = task
        self.item = item


class Told:
    """A one-way message sent inside a trace, with the sender's tracing context: the actor
    handles ``message`` with ``trace`` attached (actors/_tracing.py). Plain tells are queued
    as they are; only a tracer installed wraps them."""

    __slots__ = ("message", "trace")

    def __init__(self, message: object, trace: object) -> None:
        self.message = message
        self.trace = trace


class Ask:
    """The reply slot of one ask: the actor completes it, the asker waits on it.

    ``own_deadline`` (trio clock, ``math.inf`` for none) is the asker's own ``timeout=`` /
    ``deadline=`` (``_timer`` is then its entry in the system's timer heap). The deadline
    inherited from the asker's cancel scopes is read only when someone asks for
    :attr:`deadline` (``ctx.deadline``): reading it costs a walk up the asker's scopes, which
    most asks never need. While an actor handles it, ``_scope`` is
    the cancel scope of that actor's message loop (``actors._serve``), cancelled when the
    asker gives up.

    Internal; actors see only the message (and ``ctx.deadline``).
    """

    __slots__ = (
        "_callback",
        "_early",
        "_on_cancel",
        "_scope",
        "_state",
        "_task",
        "_timer",
        "asker",
        "message",
        "own_deadline",
        "trace",
    )

    def __init__(
        self,
        message: object,
        callback: Callable[[outcome.Outcome[Any]], None] | None = None,
        trace: object | None = None,
        own_deadline: float = math.inf,
        asker: Task | None = None,
    ) -> None:
        self.message = message
        # The asker's tracing context, handled with the message (actors/_tracing.py).
        self.trace = trace
        self.own_deadline = own_deadline
        self.asker = asker
        self._callback = callback
        self._task: Task | None = None
        self._state = _PENDING
        self._early: outcome.Outcome[Any] | None = None
        self._timer: AskDeadline | None = None
        self._scope: trio.CancelScope | None = None
        self._on_cancel: Callable[[], None] | None = None

    @property
    def deadline(self) -> float:
        """When the asker stops waiting: the earlier of its own deadline and its cancel
        scopes' (trio clock; ``math.inf`` for none)."""
        own = self.own_deadline
        asker = self.asker
        if asker is None or self._state != _PENDING:
            return own
        return min(own, _scopes_deadline(asker))

    @property
    def cancelled(self) -> bool:
        """The asker gave up before a reply."""
        return self._state == _CANCELLED

    @property
    def pending(self) -> bool:
        """Neither answered nor given up on."""
        return self._state == _PENDING

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once if the asker gives up before an outcome (at once if it has
        already). It runs in the asker's task as its wait is cancelled: it must be quick,
        must not block and must not raise."""
        if self._state == _CANCELLED:
            callback()
        elif self._state == _PENDING:
            self._on_cancel = callback

    def reply(self, value: object) -> None:
        """Wake the asker with ``value``; ignored if it already has an outcome or gave up."""
        if self._state == _PENDING:
            self._complete(outcome.Value(value))

    def fail(self, error: BaseException) -> None:
        """Wake the asker with ``error`` raised; ignored like :meth:`reply`."""
        if self._state == _PENDING:
            self._complete(outcome.Error(error))

    def _complete(self, result: outcome.Outcome[Any]) -> None:
        self._state = _DONE
        self._on_cancel = None
        timer = self._timer
        if timer is not None:
            timer._discard()
        if self._callback is not None:
            self._callback(result)
        elif self._task is not None:
            reschedule(self._task, result)
        else:  # the asker has not parked yet: it takes this as soon as it waits
            self._early = result

    def expire(self) -> None:
        """The deadline passed: fail the asker with :class:`~actors.AskTimeout` if the
        deadline was its own (``timeout=``), and cancel the handler's work for it. An
        inherited deadline is the asker's cancel scope's to act on."""
        timer = self._timer
        if timer is not None and self._state == _PENDING:
            self._complete(outcome.Error(timer.error()))
        scope = self._scope
        if scope is not None:
            scope.cancel()

    async def wait(self) -> Any:
        """Park until the reply or error arrives. Cancellable: the request is then skipped,
        or, if the actor is handling it, its handler is cancelled."""
        if self._early is not None:
            # Already answered (or refused) before we parked: still a schedule point, but the
            # answer must not be lost to a cancellation, so shield it.
            await trio.lowlevel.cancel_shielded_checkpoint()
            return self._early.unwrap()
        self._task = current_task()

        def abort(_: object) -> Abort:
            self._state = _CANCELLED
            timer = self._timer
            if timer is not None:
                timer._discard()
            scope = self._scope
            if scope is not None:
                scope.cancel()
            on_cancel = self._on_cancel
            if on_cancel is not None:
                self._on_cancel = None
                on_cancel()
            return Abort.SUCCEEDED

        return await wait_task_rescheduled(abort)


def _scopes_deadline(task: Task) -> float:
    """The effective deadline of ``task``'s cancel scopes: what
    ``trio.current_effective_deadline()`` answers inside it, read from another task. Trio
    has no public call for that, so this reads the task's cancel status (trio 0.35's
    ``Task._cancel_status``); without one it answers ``math.inf``."""
    status = getattr(task, "_cancel_status", None)
    if status is None:
        return math.inf
    deadline: float = status.effective_deadline()
    return trio.current_time() if deadline == -math.inf else deadline  # being cancelled


class AskDeadline(HeapEntry):
    """The entry of an ask's own deadline in the system's timer heap: at the deadline the
    asker gets :class:`~actors.AskTimeout` and the handler's work for it is cancelled."""

    __slots__ = ("ask", "recipient", "seconds", "service")

    def __init__(self, ask: Ask, service: TimerService, recipient: str, seconds: float) -> None:
        self._cancelled = False
        self.ask = ask
        self.service = service
        self.recipient = recipient
        self.seconds = seconds

    def error(self) -> AskTimeout:
        return AskTimeout(self.recipient, type(self.ask.message).__qualname__, self.seconds)

    def _discard(self) -> None:
        if not self._cancelled:
            self._cancelled = True
            self.service.discarded()

    def _fire(self, service: TimerService, deadline: float) -> None:
        self._cancelled = True  # out of the heap already
        self.ask.expire()


class Mailbox:
    """A bounded FIFO of messages (and :class:`Ask` slots) owned by one actor name.

    It outlives incarnations: what is queued when an actor crashes is handled by the next one.
    Only :meth:`close` (the actor stopped for good) ends it. The queue itself is allocated on
    the first message, so an actor that was never sent anything costs little memory.
    """

    __slots__ = (
        "_dead_letters",
        "_items",
        "_receiver",
        "_senders",
        "abort_receive",
        "capacity",
        "closed",
        "failed",
        "name",
        "policy",
        "processed",
        "timed",
        "timed_seconds",
    )

    def __init__(
        self,
        name: str,
        capacity: int,
        policy: OverflowPolicy,
        dead_letters: DeadLetters,
    ) -> None:
        if capacity < 1:
            raise ValueError(f"mailbox capacity must be at least 1, not {capacity}")
        self.name = name
        self.capacity = capacity
        self.policy = policy
        self._dead_letters = dead_letters
        self._items: collections.deque[object] | None = None
        self._receiver: Task | None = None
        self._senders: collections.deque[_Waiter] | None = None
        self.processed = 0
        self.failed = 0
        self.timed = 0
        self.timed_seconds = 0.0
        self.closed = False
        # One abort function for every wait of the receiver (allocated once, not per wait).
        self.abort_receive = self._abort_receive

    def _queue(self) -> collections.deque[object]:
        items = self._items
        if items is None:
            items = self._items = collections.deque()
        return items

    # -- senders ---------------------------------------------------------------------------

    def put_nowait(self, item: object) -> bool:
        """Enqueue without blocking. Returns whether the item was enqueued.

        A closed mailbox dead-letters the item (``False``). A full one applies its policy:
        DROP_NEWEST dead-letters (``False``); WAIT and FAIL raise :class:`MailboxFull` after
        dead-lettering, since the caller asked not to wait.
        """
        if self.closed:
            self._reject(item, DeadLetterReason.STOPPED)
            return False
        items = self._queue()
        if len(items) >= self.capacity:
            self._reject(item, DeadLetterReason.MAILBOX_FULL)
            if self.policy is OverflowPolicy.DROP_NEWEST:
                return False
            raise MailboxFull(self.name, self.capacity)
        items.append(item)
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            reschedule(receiver)
        return True

    async def put(self, item: object) -> bool:
        """Enqueue, waiting for room under the WAIT policy. Returns whether it was enqueued.

        With room, this completes without a checkpoint, except once every
        ``FAIRNESS_BUDGET`` puts in this thread, where it yields so that other tasks run and a
        pending cancellation is delivered.
        """
        global _budget
        items = self._items
        if items is not None and len(items) < self.capacity and not self.closed:
            items.append(item)
            receiver = self._receiver
            if receiver is not None:
                self._receiver = None
                reschedule(receiver)
            _budget -= 1
            if _budget <= 0:
                _budget = FAIRNESS_BUDGET
                await trio.lowlevel.checkpoint()
            return True
        return await self._put_slow(item)

    async def _put_slow(self, item: object) -> bool:
        # Rare (first message, full or closed mailbox), so it is always a checkpoint.
        await trio.lowlevel.checkpoint_if_cancelled()
        if (
            self.policy is OverflowPolicy.WAIT
            and not self.closed
            and len(self._queue()) >= self.capacity
        ):
            # No yield between finding it full and taking our place in the line of waiters,
            # so nobody who comes after us can be served first. Parking is the checkpoint.
            return await self._wait_for_room(item)
        try:
            return self.put_nowait(item)
        finally:
            await trio.lowlevel.cancel_shielded_checkpoint()

    async def put_ask(self, ask: Ask) -> None:
        """Enqueue an ask like :meth:`put`, without the fairness checkpoint.

        The asker parks for its reply right after this, which yields anyway.
        """
        items = self._items
        if items is not None and len(items) < self.capacity and not self.closed:
            items.append(ask)
            receiver = self._receiver
            if receiver is not None:
                self._receiver = None
                reschedule(receiver)
            return
        await self._put_slow(ask)

    def offer(self, item: object) -> bool:
        """Enqueue a message from the runtime itself (a timer, a Down): never raises or waits.

        A full or closed mailbox dead-letters it; returns whether it was enqueued.
        """
        items = self._queue()
        if self.closed or len(items) >= self.capacity:
            self._reject(
                item,
                DeadLetterReason.STOPPED if self.closed else DeadLetterReason.MAILBOX_FULL,
            )
            return False
        items.append(item)
        self.wake_receiver()
        return True

    async def _wait_for_room(self, item: object) -> bool:
        """Park until :meth:`admit_waiter` has put ``item`` in (True) or the mailbox closed."""
        if self._senders is None:
            self._senders = collections.deque()
        senders = self._senders
        waiter = _Waiter(current_task(), item)
        senders.append(waiter)

        def abort(_: object) -> Abort:
            senders.remove(waiter)
            return Abort.SUCCEEDED

        enqueued: bool = await wait_task_rescheduled(abort)
        if not enqueued:  # woken by close()
            self._reject(item, DeadLetterReason.STOPPED)
        return enqueued

    def admit_waiter(self) -> None:
        """Give the slot just freed to the oldest waiting sender: its message goes in now.

        The receiver calls this after taking an item when senders are waiting.
        """
        senders = self._senders
        if senders:
            waiter = senders.popleft()
            self._queue().append(waiter.item)
            reschedule(waiter.task, outcome.Value(True))

    def _reject(self, item: object, reason: DeadLetterReason) -> None:
        if isinstance(item, Ask):
            item.fail(
                ActorStopped(self.name)
                if reason is DeadLetterReason.STOPPED
                else MailboxFull(self.name, self.capacity)
            )
            self._dead_letters.record(self.name, item.message, reason)
        elif type(item) is Told:
            self._dead_letters.record(self.name, item.message, reason)
        else:
            self._dead_letters.record(self.name, item, reason)

    # -- the receiver ----------------------------------------------------------------------

    def __len__(self) -> int:
        items = self._items
        return 0 if items is None else len(items)

    def get_nowait(self) -> object:
        """Dequeue the oldest item (the caller checked there is one) and wake a waiting sender."""
        item = self._queue().popleft()
        if self._senders:
            self.admit_waiter()
        return item

    def _abort_receive(self, _: object) -> Abort:
        self._receiver = None
        return Abort.SUCCEEDED

    async def wait_nonempty(self) -> None:
        """Park until something is enqueued or :meth:`wake_receiver` is called."""
        self._receiver = current_task()
        await wait_task_rescheduled(self.abort_receive)

    def wake_receiver(self) -> None:
        """Wake a parked receiver so it can notice a stop request."""
        receiver = self._receiver
        if receiver is not None:
            self._receiver = None
            reschedule(receiver)

    def close(self) -> None:
        """End the mailbox for good: queued asks fail, queued tells are dead-lettered.

        Senders waiting for room are woken; their messages are dead-lettered like a send to a
        stopped actor.
        """
        if self.closed:
            return
        self.closed = True
        items = self._items
        while items:
            self._reject(items.popleft(), DeadLetterReason.STOPPED)
        senders = self._senders
        while senders:
            reschedule(senders.popleft().task, outcome.Value(False))
        self.wake_receiver()

    def statistics(self) -> MailboxStatistics:
        """A snapshot of depth, capacity, processed and failed counts."""
        return MailboxStatistics(
            depth=len(self),
            capacity=self.capacity,
            processed=self.processed,
            failed=self.failed,
            waiting_senders=len(self._senders or ()),
            closed=self.closed,
            timed=self.timed,
            timed_seconds=self.timed_seconds,
        )

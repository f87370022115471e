"""Deferred replies keyed by an id, each with a deadline on the system's timer heap.

An actor that asks a peer on a pipe or a socket defers its reply (``ctx.defer_reply()``),
sends the request with an id, and answers when a line or frame with that id comes back. What
it then needs is always the same table: id -> who waits, with a deadline per id, a typed error
at the deadline, and nobody left hanging when the incarnation ends. :class:`PendingReplies` is
that table. Its deadlines are entries of the system's one timer heap (``actors._timers``), so
an entry costs a dict slot and a heap push: no task or cancel scope per request.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import TYPE_CHECKING, Generic, TypeVar

import trio

from ._errors import ReplyTimeout, UnacceptedMessage
from ._timers import Scheduled, TimerService

if TYPE_CHECKING:
    from ._actor import ActorContext, DeferredReply

K = TypeVar("K", bound=Hashable)


class _Entry(Scheduled, Generic[K]):
    """One key: who waits for it, and its deadline in the timer heap."""

    __slots__ = ("deadline", "key", "more", "reply", "seconds", "table")

    def __init__(
        self,
        table: PendingReplies[K],
        key: K,
        reply: DeferredReply | None,
        deadline: float,
        seconds: float,
    ) -> None:
        super().__init__(table._ctx)
        self.table = table
        self.key = key
        self.reply = reply
        self.more: list[DeferredReply] | None = None
        self.deadline = deadline
        self.seconds = seconds

    def replies(self) -> list[DeferredReply]:
        """Everyone waiting on this key, the first adder first."""
        found = [] if self.reply is None else [self.reply]
        if self.more:
            found.extend(self.more)
        return found

    def _fire(self, service: TimerService, deadline: float) -> None:
        self.table._expire(self)


class PendingReplies(Generic[K]):
    """Replies waiting for an answer keyed by ``K``, each failed at its own deadline.

    Made in ``on_start`` (or later) with the incarnation's context, and belongs to it::

        self.pending = PendingReplies[str](self.ctx)
        ...
        self.pending.add(request_id, self.ctx.defer_reply(), timeout=10.0)
        ...
        self.pending.resolve(request_id, answer)   # False if it expired meanwhile

    * At its deadline an entry leaves the table and its replies fail with
      ``timeout_error(key, seconds)``, by default :class:`~actors.ReplyTimeout`. Then
      ``on_expire(key)``, if given, is called right there (for bookkeeping that must stay in
      step with the table: it must be quick and must not block), and ``expired(key)``, if
      given, is delivered to the actor itself like a timer's message (for an actor that must
      act on a timeout, say send the next request; a full mailbox dead-letters it).
    * When the incarnation ends, every entry fails with the error a deferred reply gets:
      :class:`~actors.ActorStopped` after a stop, :class:`~actors.ActorCrashed` (chaining the
      cause) after a crash, so a restart never leaves anyone waiting. A table handed to a
      later incarnation stays closed: what is added to it fails at once.
    * Expiry runs on the system's timer task, between the actor's own awaits: an entry can
      be gone when a handler comes back from an ``await``. :meth:`resolve` and :meth:`fail`
      say whether it was still there.

    A reply may be any :class:`~actors.DeferredReply`, this actor's or one handed in by
    another, or None for a request of the actor's own that nobody waits on (it still
    expires). If ``timeout_error`` or ``expired`` raises, the incarnation crashes with that
    error (the replies still get a :class:`~actors.ReplyTimeout`); so does ``on_expire``. None
    of the methods blocks.
    """

    __slots__ = (
        "_closed",
        "_ctx",
        "_entries",
        "_expired",
        "_on_expire",
        "_reason",
        "_timeout_error",
    )

    def __init__(
        self,
        ctx: ActorContext,
        *,
        timeout_error: Callable[[K, float], BaseException] | None = None,
        on_expire: Callable[[K], None] | None = None,
        expired: Callable[[K], object] | None = None,
    ) -> None:
        cell = ctx.cell
        if (
            isinstance(expired, type)
            and not cell.accepts_all
            and not issubclass(expired, cell.accepts)
        ):
            raise UnacceptedMessage(cell.name, expired.__qualname__)
        self._ctx = ctx
        self._entries: dict[K, _Entry[K]] = {}
        self._timeout_error = timeout_error
        self._on_expire = on_expire
        self._expired = expired
        self._closed = ctx.ended
        self._reason: BaseException | None = None
        ctx._adopt(self)

    def __repr__(self) -> str:
        return f"<PendingReplies of {self._ctx.cell.name!r}: {len(self._entries)} pending>"

    # -- the table -------------------------------------------------------------------------

    def add(
        self,
        key: K,
        reply: DeferredReply | None,
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> None:
        """Wait for ``key`` on behalf of ``reply`` until ``timeout`` seconds from now, or until
        the trio-clock ``deadline`` (give exactly one).

        Raises ``ValueError`` if ``key`` is already pending (:meth:`join` shares an entry).
        """
        if (timeout is None) == (deadline is None):
            raise TypeError("give exactly one of timeout= and deadline=")
        if key in self._entries:
            raise ValueError(f"{key!r} is already pending")
        now = trio.current_time()
        if deadline is None:
            assert timeout is not None
            seconds, deadline = timeout, now + timeout
        else:
            seconds = deadline - now
        if self._closed:
            if reply is not None:
                reply.fail(self._ctx._ended_error(self._reason))
            return
        entry = _Entry(self, key, reply, deadline, seconds)
        self._entries[key] = entry
        self._ctx.system.timers.schedule(entry, deadline)

    def join(self, key: K, reply: DeferredReply) -> bool:
        """Let ``reply`` wait on the pending ``key`` too: it gets the same outcome at the same
        deadline. Returns False, and does nothing, if ``key`` is not pending."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        if entry.more is None:
            entry.more = [reply]
        else:
            entry.more.append(reply)
        return True

    def resolve(self, key: K, value: object) -> bool:
        """Answer everyone waiting on ``key`` with ``value``. False if it is not pending (it
        was answered, failed or expired already, or never added): nothing is done then."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        entry._discard()
        if entry.reply is not None:
            entry.reply.reply(value)
        for reply in entry.more or ():
            reply.reply(value)
        return True

    def fail(self, key: K, error: BaseException | Callable[[], BaseException]) -> bool:
        """Raise ``error`` in everyone waiting on ``key``; False (nothing done) if it is not
        pending. Given a function, each waiter gets an error of its own: pass one when
        several may wait (:meth:`join`), since one exception raised in several tasks collects
        all their tracebacks."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return False
        entry._discard()
        for reply in entry.replies():
            reply.fail(error if isinstance(error, BaseException) else error())
        return True

    def take(self, key: K) -> list[DeferredReply] | None:
        """Remove ``key`` without answering and return who waited on it (the caller answers
        them now, or adds them again under another key); None if it is not pending."""
        entry = self._entries.pop(key, None)
        if entry is None:
            return None
        entry._discard()
        return entry.replies()

    # -- diagnostics -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[K]:
        """The pending keys, oldest first (a snapshot: the table may change meanwhile)."""
        return iter(list(self._entries))

    def deadline(self, key: K) -> float:
        """The trio-clock deadline of ``key``. Raises ``KeyError`` if it is not pending."""
        return self._entries[key].deadline

    def waiting(self, key: K) -> int:
        """How many replies wait on ``key`` (0 if it is not pending)."""
        entry = self._entries.get(key)
        return 0 if entry is None else len(entry.replies())

    # -- the runtime's side ----------------------------------------------------------------

    def _expire(self, entry: _Entry[K]) -> None:
        """The timer task found ``entry`` due: fail its replies, then tell the actor."""
        key = entry.key
        del self._entries[key]  # an entry still in the heap is in the table
        entry._cancelled = True  # out of the heap already: nothing to sweep
        ctx = self._ctx
        try:
            for reply in entry.replies():
                reply.fail(self._timeout(key, entry.seconds))
            if self._on_expire is not None:
                self._on_expire(key)
            if self._expired is not None:
                ctx.cell.mailbox.offer(self._expired(key))
        except Exception as exc:  # user code on the system's timer task: the actor's crash
            ctx._crash(exc)

    def _timeout(self, key: K, seconds: float) -> BaseException:
        make = self._timeout_error
        if make is not None:
            try:
                return make(key, seconds)
            except Exception as exc:
                self._ctx._crash(exc)
        return ReplyTimeout(self._ctx.cell.name, key, seconds)

    def _close(self, reason: BaseException | None) -> None:
        """The incarnation ended (``reason`` None for a stop): fail every entry."""
        self._closed = True
        self._reason = reason
        entries, self._entries = self._entries, {}
        for entry in entries.values():
            entry._discard()
            for reply in entry.replies():
                reply.fail(self._ctx._ended_error(reason))

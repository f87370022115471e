"""The Actor base class and the context each incarnation runs in."""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

import trio

from ._mailbox import Ask as _Ask
from ._timers import Timer

if TYPE_CHECKING:
    from ._cell import Cell
    from ._mailbox import Ask
    from ._pending import PendingReplies
    from ._ref import ActorRef
    from ._supervisor import Supervisor
    from ._system import ActorSystem

M = TypeVar("M")


def _message_types(arg: object) -> tuple[type[Any], ...] | None:
    """The classes named by an ``Actor[...]`` argument; ``(object,)`` for Any or a TypeVar."""
    if arg is Any or isinstance(arg, TypeVar):
        return (object,)
    origin = typing.get_origin(arg)
    if origin is typing.Union or isinstance(arg, types.UnionType):
        found: list[type[Any]] = []
        for member in typing.get_args(arg):
            member_types = _message_types(member)
            if member_types is None:
                return None
            found.extend(member_types)
        return tuple(found)
    if origin is not None and isinstance(origin, type):  # e.g. Request[int] subclasses, list[int]
        return (origin,)
    if isinstance(arg, type):
        return (arg,)
    return None


class Actor(Generic[M]):
    """Base class of actors. ``M`` is the message type (usually a union) the actor accepts.

    Subclass ``Actor[Get | Put]`` and implement :meth:`receive`. The runtime calls it with one
    message at a time; for a :class:`~actors.Request` its return value is the reply.

    Class attributes:

    * ``accepts``: the message classes accepted; derived from ``M`` unless set explicitly.
      Sending anything else raises :class:`~actors.UnacceptedMessage` at the sender.
    * ``reply_errors``: exception types that are *answers*, not failures. Raised by the
      handler, they go to the asker and the actor keeps running. Any other exception crashes
      the incarnation and its supervisor decides what happens next.

    ``self.ctx`` (an :class:`ActorContext`) is available from :meth:`on_start` on.
    """

    accepts: ClassVar[tuple[type[Any], ...]] = (object,)
    reply_errors: ClassVar[tuple[type[Exception], ...]] = ()
    ctx: ActorContext

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "accepts" in cls.__dict__:
            return
        for base in getattr(cls, "__orig_bases__", ()):
            if typing.get_origin(base) is Actor:
                (arg,) = typing.get_args(base)
                found = _message_types(arg)
                if found is None:
                    raise TypeError(
                        f"{cls.__qualname__}: cannot tell which message classes {arg!r} names; "
                        "set the 'accepts' class attribute explicitly"
                    )
                cls.accepts = found
                return

    async def on_start(self) -> None:
        """Called before the first message of each incarnation. Raising here is a crash."""

    async def on_stop(self) -> None:
        """Called when the incarnation ends by a graceful stop or a crash (not a hard cancel)."""

    async def receive(self, message: M) -> Any:
        """Handle one message; for a Request the return value is the reply."""
        raise NotImplementedError(f"{type(self).__qualname__} must implement receive()")


class TaskHandle:
    """A background task of an incarnation (:meth:`ActorContext.start_task`)."""

    __slots__ = ("_scope",)

    def __init__(self, scope: trio.CancelScope) -> None:
        self._scope = scope

    def cancel(self) -> None:
        """Cancel the task."""
        self._scope.cancel()

    @property
    def cancelled(self) -> bool:
        return self._scope.cancel_called


class DeferredReply:
    """The reply to an ask that a handler will send later (``ctx.defer_reply()``).

    Complete it exactly once with :meth:`reply` or :meth:`fail`; later calls are ignored. If the
    incarnation ends first, the asker gets :class:`~actors.ActorStopped` (or
    :class:`~actors.ActorCrashed` after a crash), so a deferred ask never hangs either. For a
    tell there is nobody to answer and every call is a no-op.
    """

    __slots__ = ("_ask", "_ctx")

    def __init__(self, ask: Ask | None, ctx: ActorContext) -> None:
        self._ask = ask
        self._ctx = ctx

    @property
    def deadline(self) -> float:
        """When the asker stops waiting (trio clock): ``math.inf`` if never (or a tell)."""
        return math.inf if self._ask is None else self._ask.deadline

    @property
    def pending(self) -> bool:
        """Not answered yet, and the asker is still waiting."""
        return self._ask is not None and self._ask.pending

    def on_cancel(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` once if the asker gives up (its cancel scope is cancelled, its
        task dies) before this reply is completed; at once if it already has. It runs in the
        asker's task as its wait is cancelled, so it must be quick, must not block and must
        not raise: tell the actor (``self_ref.tell_nowait``) and act there. A tell has no
        asker: nothing is ever called."""
        if self._ask is not None:
            self._ask.on_cancel(callback)

    def reply(self, value: object) -> None:
        """Send ``value`` to the asker."""
        if self._ask is not None:
            self._ask.reply(value)
            self._forget()

    def fail(self, error: BaseException) -> None:
        """Raise ``error`` in the asker."""
        if self._ask is not None:
            self._ask.fail(error)
            self._forget()

    async def wait(self) -> Any:
        """Wait for the outcome, in the task that asked (a handle from
        :meth:`ActorContext.reply_to_caller`): the value it is completed with, or the error
        it is failed with. Cancellable, as an ask is (:meth:`on_cancel` is then called).
        Raises ``RuntimeError`` for a handle that has no asker (a tell's)."""
        if self._ask is None:
            raise RuntimeError("this reply has no asker to wait for it")
        return await self._ask.wait()

    def _forget(self) -> None:
        deferred = self._ctx._deferred
        if deferred is not None:
            deferred.discard(self)


class ActorContext:
    """What one incarnation of an actor knows about itself and can do to the runtime."""

    __slots__ = (
        "_deferred",
        "_nursery",
        "_pending",
        "_tasks",
        "_watchers",
        "_watching",
        "actor",
        "cell",
        "ended",
        "failure",
        "in_hand",
        "incarnation",
        "stopping",
        "system",
    )

    def __init__(
        self,
        system: ActorSystem,
        cell: Cell,
        actor: Actor[Any],
        incarnation: int,
        nursery: trio.Nursery,
    ) -> None:
        self.system = system
        self.cell = cell
        self.actor = actor
        self.incarnation = incarnation
        self.stopping = False
        self.ended = False
        self.failure: BaseException | None = None
        self.in_hand: object = None
        self._nursery = nursery
        # Allocated on first use: most actors never set a timer or a monitor.
        self._deferred: set[DeferredReply] | None = None
        self._pending: list[PendingReplies[Any]] | None = None
        self._tasks: list[trio.CancelScope] | None = None
        self._watchers: list[Cell] | None = None
        self._watching: list[ActorContext | Supervisor] | None = None

    @property
    def name(self) -> str:
        """The name the actor is registered under."""
        return self.cell.name

    @property
    def deadline(self) -> float:
        """The deadline of the request in hand, on the trio clock: when its asker stops
        waiting (its ``timeout=``/``deadline=``, or the deadline of its own cancel scopes).
        ``math.inf`` when it has none, for a tell, and outside a handler. A handler that
        defers its reply finds it on the :class:`DeferredReply`.

        The handler need not enforce it: when the asker gives up, the handler is cancelled
        at its next checkpoint. Use it to pass the budget on (``ref.ask(m,
        deadline=ctx.deadline)``, ``trio.move_on_at(ctx.deadline)``) or to choose a cheaper
        answer when little time is left.
        """
        item = self.in_hand
        return item.deadline if type(item) is _Ask else math.inf

    @property
    def self_ref(self) -> ActorRef[Any]:
        """A ref to this actor's name (it outlives this incarnation)."""
        return self.system.ref(self.cell.name)

    def stop(self) -> None:
        """Ask this incarnation to end after the message in hand (a normal exit).

        Whether it is restarted then depends on its restart type.
        """
        self.stopping = True
        self.cell.mailbox.wake_receiver()

    def defer_reply(self) -> DeferredReply:
        """Answer the ask in hand later, from another message or a background task.

        The handler returns without replying (its return value is ignored) and the actor goes
        on with its mailbox; the asker keeps waiting until the returned handle is completed
        or this incarnation ends. Use it for requests answered by a peer (a reply line on a
        pipe, a frame on a socket) so that one slow answer does not block the mailbox.
        """
        from ._mailbox import Ask

        item = self.in_hand
        if not isinstance(item, Ask):
            return DeferredReply(None, self)
        self.in_hand = None  # the loop must not reply: the handle owns the answer now
        handle = DeferredReply(item, self)
        if self._deferred is None:
            self._deferred = set()
        self._deferred.add(handle)
        return handle

    def reply_to_caller(self) -> DeferredReply:
        """A deferred reply whose asker is the calling task, which waits for it with
        :meth:`DeferredReply.wait`: for a request that an actor takes in its caller's own
        step, through a synchronous method it lends (its state is only ever touched from the
        one trio thread, and the call does not block), instead of through its mailbox: one
        hand-off and one wake-up less per request. Complete it like any deferred reply; if
        this incarnation ends first the caller gets :class:`~actors.ActorStopped` (or
        :class:`~actors.ActorCrashed`). The caller's cancel scopes give its deadline
        (:attr:`DeferredReply.deadline`)."""
        handle = DeferredReply(_Ask(None, None, None, math.inf, trio.lowlevel.current_task()), self)
        if self._deferred is None:
            self._deferred = set()
        self._deferred.add(handle)
        return handle

    # -- timers ----------------------------------------------------------------------------

    def send_after(self, delay: float, message: object) -> Timer:
        """Deliver ``message`` to this actor once, after ``delay`` seconds."""
        return self._start_timer(delay, None, message)

    def send_interval(self, period: float, message: object, *, first: float | None = None) -> Timer:
        """Deliver ``message`` every ``period`` seconds (the first after ``first``, or a period).

        A tick that finds the mailbox full is dead-lettered rather than piling up.
        """
        if period <= 0:
            raise ValueError(f"timer period must be positive, not {period}")
        return self._start_timer(period if first is None else first, period, message)

    def _start_timer(self, delay: float, period: float | None, message: object) -> Timer:
        self.cell.check(message)
        timer = Timer(self, message, period)
        self.system.timers.schedule(timer, trio.current_time() + delay)
        return timer

    # -- background tasks ------------------------------------------------------------------

    def start_task(self, fn: Callable[..., Awaitable[object]], *args: object) -> TaskHandle:
        """Run ``fn(*args)`` beside the message loop for as long as this incarnation lives.

        For loops that wait on something other than the mailbox (a socket, a pipe). The task
        is cancelled when the incarnation ends. If it raises, the incarnation crashes with
        that error once the message in hand (if any) is done, and its supervisor decides what
        happens next. Returns a handle whose ``cancel()`` stops the task.
        """
        scope = trio.CancelScope()
        if self._tasks is None:
            self._tasks = []
        self._tasks.append(scope)
        self._nursery.start_soon(self._run_task, scope, fn, args)
        return TaskHandle(scope)

    def start_lasting_task(self, fn: Callable[..., Awaitable[object]], *args: object) -> TaskHandle:
        """Run ``fn(*args)`` beside the actor, outliving this incarnation: a crash and restart
        of the actor do not cancel it, so work that others handed to the actor's name (a
        stream a peer is sending, an answer it waits for) goes on across the restart.

        It ends when it returns, through the returned handle, or when the actor's supervisor
        ends; an actor whose incarnation stops for good (not a crash: ``ctx.failure`` is
        None in ``on_stop``) should cancel its lasting tasks there. An exception it raises
        crashes nobody: it is logged (logger ``actors``) and the task ends.
        """
        scope = trio.CancelScope()
        self._nursery.start_soon(_run_lasting, scope, fn, args)
        return TaskHandle(scope)

    async def _run_task(
        self,
        scope: trio.CancelScope,
        fn: Callable[..., Awaitable[object]],
        args: tuple[object, ...],
    ) -> None:
        with scope:
            try:
                await fn(*args)
            except Exception as exc:  # reported as this incarnation's crash
                self._crash(exc)
        if self._tasks is not None and scope in self._tasks:
            self._tasks.remove(scope)

    # -- monitors --------------------------------------------------------------------------

    def monitor(self, name: str) -> None:
        """Watch the current incarnation of ``name``; a :class:`~actors.Down` arrives when it ends.

        ``name`` may be an actor or a running supervisor: a supervisor's Down carries None
        after a normal stop (an auto-shutdown included), else the
        :class:`~actors.RestartIntensityExceeded` or :class:`~actors.StartFailed` it gave up
        with. If nothing is running under that name, the Down arrives at once with a
        :class:`~actors.NoSuchActor` reason.
        """
        from ._errors import NoSuchActor
        from ._messages import Down

        target = self.system.registry.lookup(name)
        target_ctx = target.ctx if target is not None else None
        if target_ctx is None:
            supervisor = self.system._supervisors.get(name) if target is None else None
            if supervisor is not None:
                supervisor._watch(self)
                if self._watching is None:
                    self._watching = []
                self._watching.append(supervisor)
                return
            self.cell.mailbox.offer(Down(name, 0, NoSuchActor(name)))
            return
        if target_ctx._watchers is None:
            target_ctx._watchers = []
        target_ctx._watchers.append(self.cell)
        if self._watching is None:
            self._watching = []
        self._watching.append(target_ctx)

    def demonitor(self, name: str) -> None:
        """Stop watching ``name``. A Down already delivered stays in the mailbox."""
        for target in list(self._watching or ()):
            if target.name == name:
                target._unwatch(self)

    def _crash(self, error: Exception) -> None:
        """Crash this incarnation with ``error`` once the message in hand (if any) is done."""
        if self.failure is None:
            self.failure = error
        self.stop()

    def _adopt(self, table: PendingReplies[Any]) -> None:
        """``table``'s entries fail when this incarnation ends."""
        if self._pending is None:
            self._pending = []
        self._pending.append(table)

    def _ended_error(self, reason: BaseException | None) -> Exception:
        """What a request left unanswered by this incarnation fails with."""
        from ._errors import ActorCrashed, ActorStopped

        if reason is None:
            return ActorStopped(self.cell.name, "stopped before replying")
        crashed = ActorCrashed(self.cell.name, "a deferred request")
        crashed.__cause__ = reason
        return crashed

    def _end(self, reason: BaseException | None) -> None:
        """Cancel timers, notify watchers and drop this incarnation's own monitors."""
        from ._messages import Down

        self.ended = True  # its timers are skipped from now on
        for scope in self._tasks or ():
            scope.cancel()
        for table in self._pending or ():
            table._close(reason)
        self._pending = None
        if self._deferred:
            for handle in list(self._deferred):
                handle.fail(self._ended_error(reason))
        for watcher in self._watchers or ():
            watcher.mailbox.offer(Down(self.cell.name, self.incarnation, reason))
        self._watchers = None
        for target in list(self._watching or ()):
            target._unwatch(self)

    def _unwatch(self, watcher: ActorContext) -> None:
        """Forget that ``watcher`` monitors this incarnation."""
        if self._watchers is not None and watcher.cell in self._watchers:
            self._watchers.remove(watcher.cell)
        if watcher._watching is not None and self in watcher._watching:
            watcher._watching.remove(self)


async def _run_lasting(
    scope: trio.CancelScope, fn: Callable[..., Awaitable[object]], args: tuple[object, ...]
) -> None:
    import logging

    with scope:
        try:
            await fn(*args)
        except Exception:  # nobody's crash: the incarnation that started it may be gone
            logging.getLogger("actors").exception("a lasting task raised")

"""Supervisors: run children, restart them by strategy and intensity, stop them in order."""

from __future__ import annotations

import collections
import math
from typing import TYPE_CHECKING, Any

import attrs
import trio

from ._actor import Actor, ActorContext
from ._cell import Cell
from ._errors import ActorCrashed, ActorStopped, RestartIntensityExceeded, StartFailed
from ._mailbox import Ask, Mailbox
from ._messages import Crashed, DeadLetterReason, Down, GaveUp, Restarted, Started, Stopped
from ._serve import serve
from ._specs import AutoShutdown, ChildSpec, Restart, Strategy, SupervisorSpec

if TYPE_CHECKING:
    from ._system import ActorSystem


class _Child:
    """The supervisor's record of one child across its incarnations."""

    __slots__ = (
        "cell",
        "consecutive",
        "done",
        "expected_exit",
        "first_actor",
        "incarnation",
        "pending",
        "restart_at",
        "restarts",
        "roster",
        "running",
        "scope",
        "spec",
        "started_at",
        "supervisor",
    )

    def __init__(self, spec: ChildSpec | SupervisorSpec) -> None:
        self.spec = spec
        self.cell: Cell | None = None
        self.supervisor: Supervisor | None = None
        self.roster: dict[str, _Child] | None = None
        """A supervisor child's own children, kept across its incarnations (see
        :class:`Supervisor`); None for an actor."""
        self.first_actor: Actor[Any] | None = None
        self.incarnation = 0
        self.restarts = 0
        """Restarts scheduled for it so far (:meth:`ActorSystem.tree` shows them)."""
        self.consecutive = 0
        self.running = False
        self.pending = False
        self.restart_at = 0.0
        self.started_at = 0.0
        self.expected_exit = False
        self.scope: trio.CancelScope | None = None  # the running incarnation's
        self.done: trio.Event | None = None  # made by whoever waits for the incarnation to end

    @property
    def name(self) -> str:
        return self.spec.name


@attrs.frozen
class _Exit:
    child: _Child
    incarnation: int
    error: BaseException | None
    served: bool = True  # False: the incarnation failed to start


class _Status:
    """A ``task_status`` for a nested supervisor that reports to the starter's slot."""

    __slots__ = ("called", "starting")

    def __init__(self, starting: Ask) -> None:
        self.starting = starting
        self.called = False

    def started(self, value: BaseException | None = None) -> None:
        self.called = True
        self.starting.reply(value)


class Supervisor:
    """A running supervisor (see :class:`SupervisorSpec`). Obtain it from the system.

    Failure semantics (Erlang/OTP): a child that crashes (or, if permanent, ends) is restarted
    by the strategy after a backoff delay; past the restart intensity the supervisor stops every
    child in reverse order and raises :class:`RestartIntensityExceeded` to its parent.

    Restarts: the children belong to the supervisor's name, like a mailbox to an actor's. When
    its parent restarts it, the new incarnation starts its static children and then those
    added with :meth:`start_child` (unless temporary), each keeping its mailbox and name: what
    was queued for them meanwhile is handled by their next incarnation. Only when the
    supervisor stops for good are its children's mailboxes closed and names released.

    Significant children (``significant=True`` with ``auto_shutdown``): when they end as
    :class:`AutoShutdown` says, the supervisor stops its other children in reverse order and
    ends normally. An actor can monitor a supervisor by name (``ctx.monitor``) like any
    actor: a :class:`Down` arrives when this incarnation ends, its reason None after a normal
    stop, else the :class:`RestartIntensityExceeded` (whose ``__cause__`` is the last crash)
    or :class:`StartFailed` it raised to its parent.
    """

    def __init__(
        self,
        spec: SupervisorSpec,
        system: ActorSystem,
        roster: dict[str, _Child] | None = None,
        incarnation: int = 1,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.system = system
        self.incarnation = incarnation
        self._watchers: list[Cell] = []
        self._auto_stopped = False
        # The records of the children; a nested supervisor's belong to its parent's record of
        # it (kept across its incarnations), the root's to the root itself.
        self._owns_roster = roster is None
        self._children: dict[str, _Child] = {} if roster is None else roster
        self._inbox_send, self._inbox = trio.open_memory_channel[_Exit | None](math.inf)
        self._restarts: collections.deque[float] = collections.deque()
        self._nursery: trio.Nursery | None = None
        self._stopping = False

    def __repr__(self) -> str:
        return f"<Supervisor {self.name!r} {self.spec.strategy.value}>"

    # -- public ----------------------------------------------------------------------------

    def children(self) -> list[str]:
        """Names of the current children, in start order."""
        return list(self._children)

    async def start_child(self, spec: ChildSpec | SupervisorSpec) -> None:
        """Add a child at the end and start it; returns once it serves.

        Raises :class:`DuplicateName` or :class:`ProtocolMismatch` if the name is refused,
        :class:`StartFailed` (chaining the cause) if its ``on_start`` raised, and
        :class:`SystemClosed` if this supervisor is stopping.
        """
        from ._errors import SystemClosed

        if self._nursery is None or self._stopping:
            raise SystemClosed(f"supervisor {self.name!r} is not running")
        self.spec.check_child(spec)
        child = self._add(spec)
        error = await self._start(child)
        if error is not None:
            self._remove(child)
            raise StartFailed(spec.name) from error

    async def stop_child(self, name: str) -> None:
        """Stop a child for good (gracefully, then cancelled after its grace period).

        Its queued asks fail and queued tells are dead-lettered; the name is released.
        Raises :class:`NoSuchActor` if this supervisor has no such child.
        """
        from ._errors import NoSuchActor

        child = self._children.get(name)
        if child is None:
            raise NoSuchActor(name)
        await self._stop(child)
        self._remove(child)

    def request_stop(self) -> None:
        """Ask the supervisor to stop all children in reverse order and return. Non-blocking."""
        self._stopping = True
        self._inbox_send.send_nowait(None)

    # -- the supervisor's own task ---------------------------------------------------------

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Start the children in order, supervise them until stopped, then stop them in reverse.

        Raises :class:`RestartIntensityExceeded` when it gives up, and :class:`StartFailed` if
        a static child fails to start (the children already started are stopped first).
        """
        failure: BaseException | None = None
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            try:
                for child in self._roster():
                    error = await self._start(child)
                    if error is not None:
                        raise StartFailed(child.name) from error
                task_status.started()
                await self._supervise()
            except (RestartIntensityExceeded, StartFailed) as exc:
                failure = exc
            finally:
                self._stopping = True
                if isinstance(failure, RestartIntensityExceeded):
                    self.system.events.emit(GaveUp(self.name, failure))
                if failure is not None or not _being_cancelled():
                    with trio.CancelScope(shield=failure is not None):
                        await self._stop_all()
                if self._owns_roster:  # else the parent releases them when it lets go of us
                    for child in list(self._children.values()):
                        self._remove(child)
                self.system._forget_supervisor(self)
                self._notify_watchers(failure)
        if failure is not None:
            raise failure

    @property
    def auto_stopped(self) -> bool:
        """Whether this incarnation ended because its significant children ended."""
        return self._auto_stopped

    # -- monitors (ActorContext.monitor) ---------------------------------------------------

    def _watch(self, watcher: ActorContext) -> None:
        self._watchers.append(watcher.cell)

    def _unwatch(self, watcher: ActorContext) -> None:
        """Forget that ``watcher`` monitors this incarnation."""
        if watcher.cell in self._watchers:
            self._watchers.remove(watcher.cell)
        if watcher._watching is not None and self in watcher._watching:
            watcher._watching.remove(self)

    def _notify_watchers(self, reason: BaseException | None) -> None:
        watchers, self._watchers = self._watchers, []
        for cell in watchers:
            ctx = cell.ctx
            if ctx is not None and ctx._watching is not None and self in ctx._watching:
                ctx._watching.remove(self)
            cell.mailbox.offer(Down(self.name, self.incarnation, reason))

    def _roster(self) -> list[_Child]:
        """The children to start, in order: the static ones, then those added at runtime.

        On a restart the records of the last incarnation are reused (mailbox, name,
        incarnation count); a temporary child added at runtime is not started again, and is
        let go of. Static children are all started, as on a first start.
        """
        kept = dict(self._children)
        self._children.clear()
        for spec in self.spec.children:
            child = kept.pop(spec.name, None)
            if child is None:
                self._add(spec)
            else:
                self._children[spec.name] = child
        for name, child in kept.items():
            if child.spec.restart is Restart.TEMPORARY:
                _release(child, self.system)
            else:
                self._children[name] = child
        for child in self._children.values():
            child.pending = False
            child.consecutive = 0  # a fresh start of the whole group
        return list(self._children.values())

    async def _supervise(self) -> None:
        nothing = object()
        while True:
            # Once a stop is requested no restart is made: wait for the stop message rather
            # than on a restart already due, whose past deadline would cancel every receive.
            pending = (
                []
                if self._stopping
                else [c.restart_at for c in self._children.values() if c.pending]
            )
            message: object = nothing
            with trio.move_on_at(min(pending) if pending else math.inf):
                message = await self._inbox.receive()
            if message is None:
                return
            if isinstance(message, _Exit):
                await self._on_exit(message)
                if self._auto_stopped:
                    return
            await self._restart_due()

    async def _on_exit(self, exit_: _Exit) -> None:
        child, error = exit_.child, exit_.error
        if self._children.get(child.name) is not child or child.incarnation != exit_.incarnation:
            return  # stale: the child was removed or already restarted
        if child.pending:
            return  # a strategy restart already covers it
        restart = child.spec.restart
        if not (restart is Restart.PERMANENT or (restart is Restart.TRANSIENT and error)):
            self._remove(child)
            if child.spec.significant:
                self._significant_ended()
            return
        now = trio.current_time()
        self._count_restart(now, error)
        if exit_.served and now - child.started_at >= self.spec.within:
            child.consecutive = 0  # it ran long enough: the backoff starts over
        delay = self.spec.backoff.delay(child.consecutive)
        child.consecutive += 1
        order = list(self._children.values())
        strategy = self.spec.strategy
        if strategy is Strategy.ONE_FOR_ONE:
            group = [child]
        elif strategy is Strategy.ONE_FOR_ALL:
            group = order
        else:
            group = order[order.index(child) :]
        for sibling in reversed(group):
            if sibling is not child:
                await self._stop(sibling)
        for member in group:
            if member is not child and member.spec.restart is Restart.TEMPORARY:
                self._remove(member)
                continue
            member.pending = True
            member.restart_at = now + delay
            member.restarts += 1
            self.system.events.emit(Restarted(member.name, member.incarnation + 1, delay))

    def _significant_ended(self) -> None:
        """A significant child ended for good: shut down if ``auto_shutdown`` says so."""
        rule = self.spec.auto_shutdown
        if rule is AutoShutdown.ANY_SIGNIFICANT or (
            rule is AutoShutdown.ALL_SIGNIFICANT
            and not any(c.spec.significant for c in self._children.values())
        ):
            self._auto_stopped = True
            self._stopping = True

    def _count_restart(self, now: float, error: BaseException | None) -> None:
        limit = self.spec.max_restarts
        if limit is None:
            return
        restarts = self._restarts
        restarts.append(now)
        while restarts and restarts[0] < now - self.spec.within:
            restarts.popleft()
        if len(restarts) > limit:
            raise RestartIntensityExceeded(self.name, limit, self.spec.within) from error

    async def _restart_due(self) -> None:
        now = trio.current_time()
        for child in list(self._children.values()):
            if child.pending and child.restart_at <= now and not self._stopping:
                child.pending = False
                error = await self._start(child)
                if error is not None:
                    await self._on_exit(_Exit(child, child.incarnation, error, served=False))
                    return  # that rescheduled its group: later siblings wait their turn

    # -- children --------------------------------------------------------------------------

    def _add(self, spec: ChildSpec | SupervisorSpec) -> _Child:
        from ._errors import DuplicateName

        child = _Child(spec)
        if isinstance(spec, ChildSpec):
            actor = spec.factory()
            accepts = type(actor).accepts
            if spec.protocol is not None:
                self.system.registry.declare(spec.name, spec.protocol)
            mailbox = Mailbox(spec.name, spec.mailbox_size, spec.overflow, self.system.dead_letters)
            cell = Cell(spec.name, mailbox, accepts)
            self.system.registry.register(cell)
            child.cell = cell
            child.first_actor = actor
        elif spec.name in self._children or self.system._has_supervisor(spec.name):
            raise DuplicateName(spec.name)
        else:
            child.roster = {}
        self._children[spec.name] = child
        return child

    def _remove(self, child: _Child) -> None:
        """Let go of a child for good (see :func:`_release`)."""
        if self._children.get(child.name) is child:
            del self._children[child.name]
        _release(child, self.system)

    async def _start(self, child: _Child) -> BaseException | None:
        """Start an incarnation and wait until it serves; returns the start error, if any.

        Not ``nursery.start``: that keeps a temporary nursery's cancel status alive per task
        and costs several scheduler rounds, which matters for thousands of actors. The runner
        answers an :class:`Ask` slot instead.
        """
        assert self._nursery is not None
        child.expected_exit = False
        runner = self._run_actor if child.cell is not None else self._run_supervisor
        starting = Ask(None)
        self._nursery.start_soon(runner, child, starting)
        error: BaseException | None = await starting.wait()
        return error

    async def _stop(self, child: _Child) -> None:
        """Graceful stop, then cancellation after the child's grace period."""
        child.pending = False
        if not child.running:
            return
        child.expected_exit = True
        done = child.done = trio.Event()
        if child.cell is not None and child.cell.ctx is not None:
            child.cell.ctx.stop()
        elif child.supervisor is not None:
            child.supervisor.request_stop()
        with trio.move_on_after(child.spec.shutdown):
            await done.wait()
        if not done.is_set():
            assert child.scope is not None
            child.scope.cancel()
            await done.wait()

    async def _stop_all(self) -> None:
        for child in reversed(list(self._children.values())):
            await self._stop(child)

    # -- runners (one task per incarnation) ------------------------------------------------

    async def _run_actor(self, child: _Child, starting: Ask) -> None:
        assert child.cell is not None
        assert self._nursery is not None
        cell = child.cell
        spec = child.spec
        assert isinstance(spec, ChildSpec)
        events = self.system.events
        child.incarnation += 1
        incarnation = child.incarnation
        child.scope = scope = trio.CancelScope()
        ctx: ActorContext | None = None
        error: BaseException | None = None
        serving = False
        try:
            with scope:
                try:
                    actor = child.first_actor or spec.factory()
                    child.first_actor = None
                    ctx = ActorContext(self.system, cell, actor, incarnation, self._nursery)
                    actor.ctx = ctx
                    await actor.on_start()
                except Exception as exc:
                    starting.reply(exc)
                    return
                cell.ctx = ctx
                child.running = serving = True
                child.started_at = trio.current_time()
                events.emit(Started(cell.name, incarnation))
                starting.reply(None)
                try:
                    await serve(ctx)
                except Exception as exc:
                    error = exc
                    if ctx.failure is None:  # on_stop tells a crash from a stop by it
                        ctx.failure = exc
                    _fail_in_hand(ctx, cell, error)
                if error is None and ctx.failure is not None:  # a background task crashed
                    error = ctx.failure
                try:
                    await actor.on_stop()
                except Exception as exc:
                    error = error or exc
        finally:
            if ctx is not None:
                if ctx.in_hand is not None:  # cancelled mid-message
                    _fail_in_hand(ctx, cell, None)
                if cell.ctx is ctx:
                    cell.ctx = None
                ctx._end(error)
            child.running = False
            _set_done(child)
            if serving:
                events.emit(
                    Crashed(cell.name, incarnation, error)
                    if error is not None
                    else Stopped(cell.name, incarnation)
                )
                if not child.expected_exit:
                    self._inbox_send.send_nowait(_Exit(child, incarnation, error))

    async def _run_supervisor(self, child: _Child, starting: Ask) -> None:
        spec = child.spec
        assert isinstance(spec, SupervisorSpec)
        child.incarnation += 1
        incarnation = child.incarnation
        child.scope = scope = trio.CancelScope()
        status = _Status(starting)
        error: BaseException | None = None
        try:
            with scope:
                supervisor = Supervisor(spec, self.system, child.roster, incarnation)
                self.system._add_supervisor(supervisor)
                child.supervisor = supervisor
                child.running = True
                child.started_at = trio.current_time()
                try:
                    await supervisor.run(task_status=status)
                except (RestartIntensityExceeded, StartFailed) as exc:
                    if not status.called:
                        status.started(exc)
                        return
                    error = exc
        finally:
            child.running = False
            child.supervisor = None
            _set_done(child)
            if status.called and not child.expected_exit:
                self._inbox_send.send_nowait(_Exit(child, incarnation, error))


def _release(child: _Child, system: ActorSystem) -> None:
    """A child is gone for good: its mailbox closes (queued asks fail, tells are
    dead-lettered) and its name is released; for a supervisor, its children's likewise."""
    if child.cell is not None:
        child.cell.mailbox.close()
        system.registry.unregister(child.cell)
    if child.roster is not None:
        for grandchild in list(child.roster.values()):
            _release(grandchild, system)
        child.roster.clear()


def _set_done(child: _Child) -> None:
    done = child.done
    if done is not None:
        child.done = None
        done.set()


def _fail_in_hand(ctx: ActorContext, cell: Cell, error: BaseException | None) -> None:
    """The message in hand when an incarnation died: its asker gets an error, a tell is
    dead-lettered. ``error`` None means the incarnation was cancelled."""
    item = ctx.in_hand
    if item is None:  # e.g. the handler had deferred its reply: _end answers that one
        return
    ctx.in_hand = None
    cell.mailbox.failed += 1
    if isinstance(item, Ask):
        if error is not None:
            crashed = ActorCrashed(cell.name, type(item.message).__qualname__)
            crashed.__cause__ = error
            item.fail(crashed)
        else:
            item.fail(ActorStopped(cell.name, "was stopped while handling the request"))
    else:
        reason = DeadLetterReason.CRASHED if error is not None else DeadLetterReason.STOPPED
        cell.mailbox._dead_letters.record(cell.name, item, reason)


def _being_cancelled() -> bool:
    """Whether the current task sits in a cancelled scope (a hard stop from outside)."""
    return trio.current_effective_deadline() == -math.inf

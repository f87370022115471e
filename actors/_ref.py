"""Refs: the handle by which everyone else talks to an actor."""

from __future__ import annotations

import contextlib
import typing
from collections.abc import Callable
from math import inf
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar

import outcome
import trio
from trio.lowlevel import current_task

from ._errors import MailboxFull
from ._mailbox import Ask, AskDeadline, MailboxStatistics, Told
from ._tracing import HOOK, AskTracer

if TYPE_CHECKING:
    from ._cell import Cell
    from ._messages import Request
    from ._registry import Registry

M = TypeVar("M")
R = TypeVar("R")


class _RuntimeOnly(type):
    """Refs are made by the runtime only, as trio makes its channel handles: calling the class
    raises (the runtime uses :func:`make_ref`), and so does subclassing it."""

    def __new__(
        mcls, name: str, bases: tuple[type, ...], namespace: dict[str, Any], **kwargs: Any
    ) -> _RuntimeOnly:
        for base in bases:
            if isinstance(base, _RuntimeOnly):
                raise TypeError(f"{base.__module__}.{base.__qualname__} cannot be subclassed")
        return super().__new__(mcls, name, bases, namespace, **kwargs)

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__} has no public constructor: "
            "use system.ref(name), system.lookup(name) or await system.wait_for(name)"
        )


@typing.final
class ActorRef(Generic[M], metaclass=_RuntimeOnly):
    """A handle to an actor *name*. It survives restarts: it always reaches the current
    incarnation, and messages sent while the actor restarts wait in its mailbox.

    If the name is stopped for good and later registered again, the ref follows the new actor.
    Refs come from the system (``system.ref``, ``system.lookup``, ``system.wait_for``,
    ``ctx.self_ref``); the class cannot be called.
    """

    __slots__ = ("_cell", "_registry", "name")

    def __init__(self, registry: Registry, cell: Cell) -> None:
        self.name = cell.name
        self._registry = registry
        self._cell = cell

    def __repr__(self) -> str:
        return f"<ActorRef {self.name!r}>"

    def _live(self) -> Cell:
        cell = self._cell
        if cell.mailbox.closed:
            newer = self._registry.lookup(self.name)
            if newer is not None:
                self._cell = cell = newer
        return cell

    def tell_nowait(self, message: M) -> None:
        """Send a one-way message without blocking.

        Raises :class:`~actors.UnacceptedMessage` if the actor does not accept the type, and
        :class:`~actors.MailboxFull` if the mailbox is full and its policy is WAIT or FAIL. A
        message to a stopped actor, or dropped by a DROP_NEWEST mailbox, is dead-lettered.
        """
        cell = self._cell
        if cell.mailbox.closed:
            cell = self._live()
        cell.check(message)
        if HOOK.tracer is None:
            cell.mailbox.put_nowait(message)
        else:
            cell.mailbox.put_nowait(self._told(message))

    async def tell(self, message: M) -> None:
        """Send a one-way message, waiting for room if the mailbox is full (WAIT policy).

        With room in the mailbox this returns without a checkpoint most of the time (see
        :meth:`actors.Mailbox.put`). Raises like :meth:`tell_nowait`, except that a WAIT
        mailbox waits instead of raising :class:`~actors.MailboxFull`.
        """
        cell = self._cell
        if cell.mailbox.closed:
            cell = self._live()
        cell.check(message)
        if HOOK.tracer is None:
            await cell.mailbox.put(message)
        else:
            await cell.mailbox.put(self._told(message))

    def _told(self, message: M) -> object:
        """``message`` in a :class:`Told` envelope when it is sent inside a trace (a tracer
        is installed)."""
        tracer = HOOK.tracer
        context = None if tracer is None else tracer.tell_context(self.name, message)
        return message if context is None else Told(message, context)

    async def ask(
        self,
        message: Request[R],
        *,
        timeout: float | None = None,
        deadline: float | None = None,
    ) -> R:
        """Send a request and wait for the handler's return value.

        It never hangs on a dead actor: raises :class:`~actors.ActorCrashed` (chaining the
        cause) if the actor crashes while handling it, :class:`~actors.ActorStopped` if the
        actor stops with it queued, a declared reply error if the handler raised one, and
        :class:`~actors.MailboxFull` if a FAIL or DROP_NEWEST mailbox is full.

        Deadlines: give ``timeout`` (seconds from now) or ``deadline`` (trio clock), or
        neither, and the ask inherits the deadline of the caller's cancel scopes
        (``trio.current_effective_deadline()``). The earliest applies. An own deadline is an
        entry in the system's timer heap, not a cancel scope: past it the ask raises
        :class:`~actors.AskTimeout` (a ``trio.TooSlowError``). Either way the actor sees the
        deadline (``ctx.deadline``), skips the request if it expired in the mailbox
        (dead-lettered ``EXPIRED``, or ``CANCELLED`` for the caller's scopes), and when
        the caller gives up (deadline or cancellation) while the handler runs, the handler
        is cancelled at its next checkpoint.
        """
        cell = self._cell
        if cell.mailbox.closed:
            cell = self._live()
        cell.check(message)
        tracer = HOOK.tracer
        if tracer is not None:
            return await self._ask_traced(cell, message, tracer, timeout, deadline)
        if timeout is None and deadline is None:
            ask = Ask(message, None, None, inf, current_task())
        else:
            ask = self._timed(cell, message, None, timeout, deadline)
        try:
            await cell.mailbox.put_ask(ask)
        except BaseException:  # never queued (cancelled waiting for room): drop its timer
            if ask._timer is not None:
                ask._timer._discard()
            raise
        result: R = await ask.wait()
        return result

    async def _ask_traced(
        self,
        cell: Cell,
        message: Request[R],
        tracer: AskTracer,
        timeout: float | None,
        deadline: float | None,
    ) -> R:
        """An ask with a tracer installed: a span around it, its context in the envelope."""
        with tracer.ask_span(self.name, message) as context:
            if timeout is None and deadline is None:
                ask = Ask(message, None, context, inf, current_task())
            else:
                ask = self._timed(cell, message, context, timeout, deadline)
            try:
                await cell.mailbox.put_ask(ask)
            except BaseException:
                if ask._timer is not None:
                    ask._timer._discard()
                raise
            result: R = await ask.wait()
            return result

    def _timed(
        self,
        cell: Cell,
        message: object,
        trace: object | None,
        timeout: float | None,
        deadline: float | None,
    ) -> Ask:
        """An ask with its own deadline: an entry in the system's timer heap."""
        now = trio.current_time()
        if deadline is None:
            assert timeout is not None
            if not timeout >= 0:  # NaN too
                raise ValueError(f"timeout must be a non-negative number of seconds, not {timeout}")
            own, seconds = now + timeout, timeout
        elif timeout is not None:
            raise TypeError("give at most one of timeout= and deadline=")
        elif deadline != deadline:
            raise ValueError("deadline must be a number, not NaN")
        else:
            own, seconds = deadline, deadline - now
        # Armed even when the caller's own scopes end earlier: they then cancel the caller
        # first, which discards the entry.
        ask = Ask(message, None, trace, own, current_task())
        timers = self._registry.timers
        entry = AskDeadline(ask, timers, cell.name, max(seconds, 0.0))
        ask._timer = entry
        timers.schedule(entry, own)
        return ask

    def ask_nowait(
        self, message: Request[R], on_result: Callable[[outcome.Outcome[R]], None]
    ) -> None:
        """Send a request without waiting: ``on_result`` gets its outcome, exactly once.

        For actors that must not block on a request of their own (a proxy, a chain of
        providers). ``on_result`` is called synchronously by whichever task completes the
        request (the answering actor, or the runtime when the actor crashes or stops), so it
        must be quick and must not block: typically it tells the caller's own mailbox or
        completes a :class:`~actors.DeferredReply`. Every failure an ask would raise, a full
        mailbox included, arrives as an ``outcome.Error``. Raises only
        :class:`~actors.UnacceptedMessage`.
        """
        cell = self._cell
        if cell.mailbox.closed:
            cell = self._live()
        cell.check(message)
        tracer = HOOK.tracer
        ask = (
            Ask(message, on_result)
            if tracer is None
            else self._traced_nowait(tracer, message, on_result)
        )
        # A refusal (full mailbox) was already reported to on_result when it happened.
        with contextlib.suppress(MailboxFull):
            cell.mailbox.put_nowait(ask)

    def _traced_nowait(
        self,
        tracer: AskTracer,
        message: Request[R],
        on_result: Callable[[outcome.Outcome[R]], None],
    ) -> Ask:
        """An ``ask_nowait`` with a tracer installed: its context in the envelope, and (where
        asks are spans) its span open until the outcome, ended before ``on_result`` runs."""
        span = tracer.ask_span(self.name, message)
        context = span.__enter__()
        if context is None:
            return Ask(message, on_result)

        def done(result: outcome.Outcome[R]) -> None:
            error = result.error if isinstance(result, outcome.Error) else None
            span.__exit__(None if error is None else type(error), error, None)
            on_result(result)

        return Ask(message, done, context)

    def statistics(self) -> MailboxStatistics:
        """The mailbox statistics of the actor behind this name."""
        return self._live().mailbox.statistics()


def make_ref(registry: Registry, cell: Cell) -> ActorRef[Any]:
    """A ref to ``cell``'s name (the runtime's way past the closed constructor)."""
    ref: ActorRef[Any] = type.__call__(ActorRef, registry, cell)
    return ref

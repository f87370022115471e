"""What a user needs to test their own actors: probes, a crash-on-command actor and clock helpers.

Everything here is a real actor running in a real system; nothing is mocked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import trio
import trio.testing

from ._actor import Actor
from ._errors import NoSuchActor
from ._messages import Crashed, Event, Request
from ._ref import ActorRef
from ._system import ActorSystem

T = TypeVar("T")


class ProbeLog:
    """What a probe received, across all its incarnations, with a way to wait for more."""

    def __init__(self) -> None:
        self.messages: list[object] = []
        self.incarnations: list[int] = []
        self._changed = trio.Event()

    def _record(self, message: object, incarnation: int) -> None:
        self.messages.append(message)
        self.incarnations.append(incarnation)
        self._changed.set()
        self._changed = trio.Event()

    def of_type(self, cls: type[T]) -> list[T]:
        """The received messages that are instances of ``cls``, in order."""
        return [m for m in self.messages if isinstance(m, cls)]

    async def expect(self, match: type[T] | Callable[[object], bool], count: int = 1) -> list[T]:
        """Wait until at least ``count`` received messages match; returns them.

        ``match`` is a class or a predicate. Deadlines are the caller's (``trio.fail_after``).
        """
        while True:
            found = [m for m in self.messages if _matches(match, m)]
            if len(found) >= count:
                await trio.lowlevel.checkpoint()
                return found  # type: ignore[return-value]
            await self._changed.wait()


def _matches(match: type[Any] | Callable[[object], bool], message: object) -> bool:
    if isinstance(match, type):
        return isinstance(message, match)
    return match(message)


class Probe(Actor[Any]):
    """An actor that accepts anything and records it in a shared :class:`ProbeLog`.

    A :class:`~actors.Request` is answered with ``reply(message)`` (``None`` by default).
    """

    def __init__(self, log: ProbeLog, reply: Callable[[object], object] | None = None) -> None:
        self.log = log
        self.reply = reply

    async def receive(self, message: Any) -> Any:
        self.log._record(message, self.ctx.incarnation)
        if self.reply is not None and isinstance(message, Request):
            return self.reply(message)
        return None


async def spawn_probe(
    system: ActorSystem, name: str, reply: Callable[[object], object] | None = None, **spawn: Any
) -> tuple[ActorRef[Any], ProbeLog]:
    """Spawn a :class:`Probe` called ``name``; returns its ref and its log."""
    log = ProbeLog()
    ref = await system.spawn(lambda: Probe(log, reply), name=name, **spawn)
    return ref, log


class CrashCommand(Exception):
    """Raised on purpose by :class:`Crasher`."""


@attrs.frozen
class Crash:
    """Tell a :class:`Crasher` to crash while handling this message."""

    note: str = "crash on command"


@attrs.frozen
class CrashRequest(Request[None]):
    """Ask a :class:`Crasher` to crash while handling this request."""

    note: str = "crash on command"


@attrs.frozen
class Ping(Request[int]):
    """Ask a :class:`Crasher` which incarnation is serving."""


@attrs.frozen
class Lifecycle:
    """What a :class:`Crasher` recorded: ``("start" | "stop", name, incarnation)`` tuples."""

    events: list[tuple[str, str, int]] = attrs.field(factory=list)


class Crasher(Actor[Crash | CrashRequest | Ping]):
    """An actor that crashes on command and records its starts and stops.

    Use it to test supervision: ``await ref.tell(Crash())`` crashes the current incarnation;
    ``await ref.ask(Ping())`` returns the incarnation number that answered.
    """

    def __init__(self, lifecycle: Lifecycle | None = None) -> None:
        self.lifecycle = lifecycle

    async def on_start(self) -> None:
        if self.lifecycle is not None:
            self.lifecycle.events.append(("start", self.ctx.name, self.ctx.incarnation))

    async def on_stop(self) -> None:
        if self.lifecycle is not None:
            self.lifecycle.events.append(("stop", self.ctx.name, self.ctx.incarnation))

    async def receive(self, message: Crash | CrashRequest | Ping) -> int | None:
        if isinstance(message, Crash | CrashRequest):
            raise CrashCommand(message.note)
        return self.ctx.incarnation


async def crash(system: ActorSystem, name: str, error: Exception | None = None) -> int:
    """Crash the serving incarnation of ``name`` as if a task of its own had raised ``error``
    (a :class:`CrashCommand` by default): fault injection for any actor, one the test did not
    write included. The message in hand, if any, is finished first; messages queued behind it
    wait for the next incarnation, as after any crash.

    Returns the incarnation crashed, once it has ended (its supervisor decides the rest).
    Raises :class:`~actors.NoSuchActor` if no incarnation of ``name`` is serving.
    """
    cell = system.registry.lookup(name)
    ctx = cell.ctx if cell is not None else None
    if ctx is None:
        raise NoSuchActor(name)
    incarnation = ctx.incarnation
    failure = error if error is not None else CrashCommand(f"{name} crashed on command")
    ended = trio.Event()

    def watch(event: Event) -> None:
        if isinstance(event, Crashed) and (event.name, event.incarnation) == (name, incarnation):
            ended.set()

    async def fail() -> None:
        raise failure

    unsubscribe = system.events.subscribe(watch)
    try:
        ctx.start_task(fail)
        await ended.wait()
    finally:
        unsubscribe()
    return incarnation


async def settle() -> None:
    """Let every task run until all are blocked (restarts, deliveries, timers that are due)."""
    await trio.testing.wait_all_tasks_blocked()


async def advance(clock: trio.testing.MockClock, seconds: float) -> None:
    """Settle, move a MockClock forward by ``seconds``, and settle again."""
    await trio.testing.wait_all_tasks_blocked()
    clock.jump(seconds)
    await trio.testing.wait_all_tasks_blocked()

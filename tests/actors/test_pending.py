"""PendingReplies: deferred replies keyed by an id, with deadlines on the system's timer heap."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors.testing import CrashCommand, advance, crash, settle


@attrs.frozen
class Wait(actors.Request[object]):
    """Wait for ``key`` (answered by Answer/Refuse, or failed at the deadline)."""

    key: str
    timeout: float = 10.0


@attrs.frozen
class Join(actors.Request[object]):
    key: str


@attrs.frozen
class Answer(actors.Request[bool]):
    key: str
    value: object


@attrs.frozen
class Refuse(actors.Request[bool]):
    key: str


@attrs.frozen
class Forward:
    """Wait for ``key`` on behalf of a reply another actor deferred."""

    key: str
    reply: actors.DeferredReply = attrs.field(eq=False)


@attrs.frozen
class Expired:
    key: str


@attrs.frozen
class Boom(actors.Request[None]):
    pass


@attrs.frozen
class Size(actors.Request[int]):
    pass


@attrs.frozen
class Churn(actors.Request[int]):
    """Add and resolve ``count`` entries with a long deadline; answered with the heap size."""

    count: int


class NotAnswered(Exception):
    pass


CorrelatorMessage = Wait | Join | Answer | Refuse | Forward | Expired | Boom | Churn | Size


class Correlator(actors.Actor[CorrelatorMessage]):
    """Holds a PendingReplies[str]; records the expiries it is told of."""

    reply_errors = (ValueError,)

    def __init__(self, expired: list[tuple[int, str]], **table: Any) -> None:
        self.expired = expired
        self.table = table

    async def on_start(self) -> None:
        self.pending = actors.PendingReplies[str](self.ctx, expired=Expired, **self.table)

    async def receive(self, message: Any) -> Any:
        match message:
            case Wait(key, timeout):
                self.pending.add(key, self.ctx.defer_reply(), timeout=timeout)
            case Join(key):
                reply = self.ctx.defer_reply()
                if not self.pending.join(key, reply):
                    reply.reply("not pending")
            case Answer(key, value):
                return self.pending.resolve(key, value)
            case Refuse(key):
                return self.pending.fail(key, lambda: NotAnswered(key))
            case Forward(key, reply):
                self.pending.add(key, reply, timeout=10.0)
            case Expired(key):
                self.expired.append((self.ctx.incarnation, key))
            case Boom():
                raise RuntimeError("boom")
            case Churn(count):
                for i in range(count):
                    self.pending.add(str(i), None, timeout=3600.0)
                    assert self.pending.resolve(str(i), None)
                return len(self.ctx.system.timers)
            case Size():
                return len(self.pending)
        return None


async def _spawn(system: actors.ActorSystem, **table: Any) -> tuple[Any, list[tuple[int, str]]]:
    expired: list[tuple[int, str]] = []
    ref = await system.spawn(lambda: Correlator(expired, **table), name="correlator")
    return ref, expired


async def _outcome(ref: actors.ActorRef[Any], message: Any, into: list[object]) -> None:
    try:
        into.append(await ref.ask(message))
    except Exception as exc:
        into.append(exc)


async def _waiting(
    nursery: trio.Nursery, ref: actors.ActorRef[Any], message: Any, into: list[object]
) -> None:
    """Ask ``message`` in the background (its outcome goes to ``into``) until it is parked."""
    nursery.start_soon(_outcome, ref, message, into)
    await settle()


async def test_an_entry_fails_with_reply_timeout_at_its_deadline_then_the_actor_hears(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, expired = await _spawn(system)
        start = trio.current_time()
        with pytest.raises(actors.ReplyTimeout) as caught:
            await ref.ask(Wait("a", timeout=2.5))
        assert trio.current_time() - start == pytest.approx(2.5)
        assert isinstance(caught.value, TimeoutError)
        assert (caught.value.name, caught.value.key, caught.value.seconds) == (
            "correlator",
            "a",
            2.5,
        )
        await settle()
        assert expired == [(1, "a")]


async def test_on_expire_runs_at_the_deadline_before_the_expired_message(
    autojump_clock: trio.testing.MockClock,
) -> None:
    seen: list[tuple[float, str]] = []
    async with actors.open_actor_system() as system:
        ref, expired = await _spawn(
            system, on_expire=lambda key: seen.append((trio.current_time(), key))
        )
        start = trio.current_time()
        with pytest.raises(actors.ReplyTimeout):
            await ref.ask(Wait("a", timeout=3.0))
        assert seen == [(start + 3.0, "a")]
        await settle()  # the message comes after, through the mailbox
        assert expired == [(1, "a")]


async def test_timeout_error_makes_the_error_of_each_waiter(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, _ = await _spawn(system, timeout_error=lambda key, s: NotAnswered(f"{key} {s:g}"))
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            await _waiting(nursery, ref, Wait("k", timeout=1.0), outcomes)
            nursery.start_soon(_outcome, ref, Join("k"), outcomes)
        assert [str(e) for e in outcomes] == ["k 1", "k 1"]
        assert all(isinstance(e, NotAnswered) for e in outcomes)
        assert outcomes[0] is not outcomes[1]


async def test_resolve_answers_every_waiter_and_cancels_the_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, expired = await _spawn(system)
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            await _waiting(nursery, ref, Wait("k"), outcomes)
            await _waiting(nursery, ref, Join("k"), outcomes)
            assert await ref.ask(Answer("k", 42)) is True
        assert outcomes == [42, 42]
        assert await ref.ask(Join("k")) == "not pending"
        await advance(autojump_clock, 60.0)
        assert expired == []


async def test_resolve_or_fail_after_expiry_is_a_no_op_returning_false(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, _ = await _spawn(system)
        with pytest.raises(actors.ReplyTimeout):
            await ref.ask(Wait("k", timeout=1.0))
        assert await ref.ask(Answer("k", 1)) is False
        assert await ref.ask(Refuse("k")) is False
        assert await ref.ask(Answer("never added", 1)) is False


async def test_fail_raises_in_every_waiter(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref, _ = await _spawn(system)
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            await _waiting(nursery, ref, Wait("k"), outcomes)
            await _waiting(nursery, ref, Join("k"), outcomes)
            assert await ref.ask(Refuse("k")) is True
        assert [type(e) for e in outcomes] == [NotAnswered, NotAnswered]
        assert outcomes[0] is not outcomes[1]


async def test_a_stop_fails_every_entry_also_replies_deferred_by_another_actor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Front(actors.Actor[Wait]):
        async def receive(self, message: Wait) -> None:
            await self.ctx.system.tell("correlator", Forward(message.key, self.ctx.defer_reply()))

    async with actors.open_actor_system() as system:
        ref, expired = await _spawn(system)
        front = await system.spawn(Front, name="front")
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_outcome, ref, Wait("mine"), outcomes)
            nursery.start_soon(_outcome, front, Wait("forwarded"), outcomes)
            await settle()
            await system.stop("correlator")
        assert [type(e) for e in outcomes] == [actors.ActorStopped, actors.ActorStopped]
        assert all("correlator" in str(e) for e in outcomes)
        await advance(autojump_clock, 60.0)
        assert expired == []
        assert len(system.timers) == 0


async def test_a_crash_fails_every_entry_and_the_next_incarnation_starts_empty(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, expired = await _spawn(system)
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_outcome, ref, Wait("a"), outcomes)
            await _waiting(nursery, ref, Wait("b"), outcomes)
            await crash(system, "correlator")
        assert [type(e) for e in outcomes] == [actors.ActorCrashed, actors.ActorCrashed]
        assert all(
            isinstance(e, Exception) and isinstance(e.__cause__, CrashCommand) for e in outcomes
        )
        # The restarted incarnation has a table of its own, which works.
        assert await ref.ask(Answer("a", 1)) is False
        with pytest.raises(actors.ReplyTimeout):
            await ref.ask(Wait("a", timeout=1.0))
        await settle()
        assert expired == [(2, "a")]


async def test_a_crash_in_a_handler_fails_the_entries_too(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, _ = await _spawn(system)
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            await _waiting(nursery, ref, Wait("a"), outcomes)
            with pytest.raises(actors.ActorCrashed):
                await ref.ask(Boom())
        assert isinstance(outcomes[0], actors.ActorCrashed)
        assert isinstance(outcomes[0].__cause__, RuntimeError)


async def test_no_leak_after_many_entries(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref, _ = await _spawn(system)
        # Answered long before their deadline: swept from the heap as they pile up.
        heap = await ref.ask(Churn(20_000))
        assert heap <= 2 * 256 + 2
        # Expired: gone from the table and the heap (what is left there is cancelled).
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            for i in range(2_000):
                nursery.start_soon(_outcome, ref, Wait(f"x{i}", timeout=1.0 + i / 1000), outcomes)
        assert len(outcomes) == 2_000
        assert all(isinstance(e, actors.ReplyTimeout) for e in outcomes)
        assert await ref.ask(Size()) == 0
        assert len(system.timers) <= 2 * 256 + 2


class Table(actors.Actor[Any]):
    """Exposes its table and context to the test (the test drives it directly)."""

    async def on_start(self) -> None:
        self.pending = actors.PendingReplies[int](self.ctx)


async def _table(system: actors.ActorSystem) -> Table:
    holder: list[Table] = []

    def make() -> Table:
        holder.append(Table())
        return holder[-1]

    await system.spawn(make, name="table")
    return holder[0]


async def test_diagnostics_and_argument_checks(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        table = await _table(system)
        pending = table.pending
        now = trio.current_time()
        pending.add(1, None, timeout=5.0)
        pending.add(2, None, deadline=now + 3.0)
        assert len(pending) == 2
        assert list(pending) == [1, 2]
        assert 1 in pending
        assert 3 not in pending
        assert pending.deadline(2) == now + 3.0
        assert pending.waiting(1) == 0
        assert pending.waiting(3) == 0
        assert "2 pending" in repr(pending)
        with pytest.raises(ValueError, match="already pending"):
            pending.add(1, None, timeout=1.0)
        with pytest.raises(TypeError):
            pending.add(3, None)
        with pytest.raises(TypeError):
            pending.add(3, None, timeout=1.0, deadline=now)
        assert pending.take(1) == []
        assert pending.take(1) is None
        await advance(autojump_clock, 3.0)
        assert len(pending) == 0


class Hand(actors.Actor[Wait]):
    """Defers every ask and hands the reply to the test."""

    def __init__(self, handed: list[actors.DeferredReply]) -> None:
        self.handed = handed

    async def receive(self, message: Wait) -> None:
        self.handed.append(self.ctx.defer_reply())


async def test_a_table_outliving_its_incarnation_fails_what_is_added_at_once(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        closed = (await _table(system)).pending
        handed: list[actors.DeferredReply] = []
        hand = await system.spawn(lambda: Hand(handed), name="hand")
        await system.stop("table")
        outcomes: list[object] = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_outcome, hand, Wait("x"), outcomes)
            await settle()
            closed.add(1, handed[0], timeout=5.0)
        assert isinstance(outcomes[0], actors.ActorStopped)
        assert "'table'" in str(outcomes[0])
        assert len(closed) == 0


async def test_a_failing_timeout_error_crashes_the_actor_and_still_times_out(
    autojump_clock: trio.testing.MockClock,
) -> None:
    def broken(key: str, seconds: float) -> BaseException:
        raise LookupError("no error for you")

    crashed: list[actors.Crashed] = []
    async with actors.open_actor_system() as system:
        system.events.subscribe(
            lambda e: crashed.append(e) if isinstance(e, actors.Crashed) else None
        )
        ref, _ = await _spawn(system, timeout_error=broken)
        with pytest.raises(actors.ReplyTimeout):
            await ref.ask(Wait("a", timeout=1.0))
        await settle()
        assert [type(e.error) for e in crashed] == [LookupError]


async def test_an_expired_message_the_actor_does_not_accept_is_refused_up_front() -> None:
    @attrs.frozen
    class Other:
        key: str

    class Picky(actors.Actor[Wait]):
        async def on_start(self) -> None:
            actors.PendingReplies[str](self.ctx, expired=Other)

    async with actors.open_actor_system() as system:
        with pytest.raises(actors.StartFailed) as caught:
            await system.spawn(Picky, name="picky")
        assert isinstance(caught.value.__cause__, actors.UnacceptedMessage)

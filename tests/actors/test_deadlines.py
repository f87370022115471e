"""Deadlines that travel with an ask: ``timeout=``/``deadline=``, ``ctx.deadline``, requests
skipped when they expired in the mailbox, and handlers cancelled when their asker gives up."""

from __future__ import annotations

import math
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors import DeadLetterReason


@attrs.frozen
class Work(actors.Request[str]):
    """Sleep ``seconds`` (0: answer at once), noting the deadline seen and how it ended."""

    seconds: float
    tag: str = ""


@attrs.frozen
class Deferred(actors.Request[float]):
    """Answered later, from a background task, with the deadline the DeferredReply carries."""


@attrs.frozen
class Crash(actors.Request[int]):
    pass


class Worker(actors.Actor[Work | Deferred | Crash]):
    def __init__(self, log: list[tuple[str, Any]]) -> None:
        self.log = log

    async def receive(self, message: Work | Deferred | Crash) -> Any:
        if isinstance(message, Crash):
            raise RuntimeError("crashed on purpose")
        if isinstance(message, Deferred):
            reply = self.ctx.defer_reply()
            reply.reply(reply.deadline)
            return None
        self.log.append(("deadline", message.tag, self.ctx.deadline))
        if message.seconds:
            try:
                await trio.sleep(message.seconds)
            except trio.Cancelled:
                self.log.append(("cancelled", message.tag, trio.current_time()))
                raise
        self.log.append(("done", message.tag, trio.current_time()))
        return message.tag


async def test_ask_timeout_raises_ask_timeout_and_cancels_the_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        start = trio.current_time()
        with pytest.raises(actors.AskTimeout, match="'worker' did not answer Work within 2 s"):
            await ref.ask(Work(60, "slow"), timeout=2)
        assert trio.current_time() - start == pytest.approx(2)
        # The handler was cancelled when its asker gave up, not left to run for a minute.
        await trio.testing.wait_all_tasks_blocked()
        assert ("cancelled", "slow", pytest.approx(start + 2)) in log
        assert not [e for e in log if e[0] == "done"]
        # The actor goes on serving (the same incarnation: it did not crash).
        assert await ref.ask(Work(0, "next"), timeout=2) == "next"
        assert system.statistics("worker").incarnation == 1


async def test_ask_timeout_is_a_trio_too_slow_error() -> None:
    assert issubclass(actors.AskTimeout, trio.TooSlowError)
    assert issubclass(actors.AskTimeout, TimeoutError)


async def test_the_callee_sees_the_deadline(autojump_clock: trio.testing.MockClock) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        now = trio.current_time()
        await ref.ask(Work(0, "timeout"), timeout=5)
        await ref.ask(Work(0, "deadline"), deadline=now + 7)
        with trio.fail_after(9):
            await ref.ask(Work(0, "inherited"))
        with trio.fail_after(3):  # the caller's scope is earlier than its timeout: it wins
            await ref.ask(Work(0, "earliest"), timeout=30)
        await ref.ask(Work(0, "none"))
        assert await ref.ask(Deferred(), timeout=4) == pytest.approx(now + 4)
        assert await ref.ask(Deferred()) == math.inf
    seen = {tag: deadline for kind, tag, deadline in log if kind == "deadline"}
    assert seen == {
        "timeout": pytest.approx(now + 5),
        "deadline": pytest.approx(now + 7),
        "inherited": pytest.approx(now + 9),
        "earliest": pytest.approx(now + 3),
        "none": math.inf,
    }


async def test_a_request_that_expired_in_the_mailbox_is_skipped_and_dead_lettered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Work(10, "busy"))  # holds the actor for 10 s
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(actors.AskTimeout):
                await ref.ask(Work(0, "late"), timeout=1)
            with trio.move_on_after(1) as scope:  # an inherited deadline: skipped too
                await ref.ask(Work(0, "late too"))
            assert scope.cancelled_caught
        assert await ref.ask(Work(0, "after")) == "after"
    handled = [tag for kind, tag, _ in log if kind == "deadline"]
    assert handled == ["busy", "after"]
    # Its own deadline passed: "expired"; its caller's scope gave up on it: "cancelled".
    letters = {letter.message: letter.reason for letter in system.dead_letters.recent()}
    assert letters == {
        Work(0, "late"): DeadLetterReason.EXPIRED,
        Work(0, "late too"): DeadLetterReason.CANCELLED,
    }


async def test_a_cancelled_asker_cancels_the_handler_without_a_deadline(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Work(60, "abandoned"))
            await trio.testing.wait_all_tasks_blocked()
            nursery.cancel_scope.cancel()
        await trio.testing.wait_all_tasks_blocked()
        assert [kind for kind, tag, _ in log if tag == "abandoned"] == ["deadline", "cancelled"]
        assert await ref.ask(Work(0, "next")) == "next"
        assert system.statistics("worker").incarnation == 1


async def test_giving_up_on_a_queued_ask_leaves_the_handler_in_hand_alone(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Work(5, "in hand"))
            await trio.testing.wait_all_tasks_blocked()
            with pytest.raises(actors.AskTimeout):
                await ref.ask(Work(0, "queued"), timeout=1)
        assert ("done", "in hand", pytest.approx(5)) in [
            (kind, tag, when) for kind, tag, when in log
        ]
        assert not [e for e in log if e[0] == "cancelled"]


async def test_bad_deadlines_are_refused_at_the_caller() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker([]), name="worker")
        with pytest.raises(ValueError, match="timeout must be a non-negative"):
            await ref.ask(Work(0), timeout=-1)
        with pytest.raises(ValueError, match="timeout must be a non-negative"):
            await ref.ask(Work(0), timeout=math.nan)
        with pytest.raises(ValueError, match="NaN"):
            await ref.ask(Work(0), deadline=math.nan)
        with pytest.raises(TypeError, match="at most one"):
            await ref.ask(Work(0), timeout=1, deadline=trio.current_time() + 1)
        with pytest.raises(actors.AskTimeout):  # zero: already late, never handled
            await ref.ask(Work(0), timeout=0)
        assert await ref.ask(Work(0, "ok"), timeout=1) == "ok"


async def test_answered_asks_leave_no_live_entries_in_the_timer_heap() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker([]), name="worker")
        for _ in range(5_000):
            await ref.ask(Work(0), timeout=30)
        # Answered asks are swept in bulk: the heap stays near the sweep threshold.
        assert len(system.timers) <= 2 * 256 + 2


async def test_a_crash_mid_traffic_fails_timed_asks_and_the_next_incarnation_serves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[tuple[str, Any]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(log), name="worker")
        outcomes: list[object] = []

        async def asker(n: int) -> None:
            for i in range(20):
                try:
                    outcomes.append(await ref.ask(Work(0.01, f"{n}.{i}"), timeout=5))
                except actors.ActorCrashed as exc:
                    outcomes.append(exc)

        async with trio.open_nursery() as nursery:
            for n in range(4):
                nursery.start_soon(asker, n)
            await trio.sleep(0.1)
            with pytest.raises(actors.ActorCrashed):
                await ref.ask(Crash(), timeout=5)
        answered = [o for o in outcomes if isinstance(o, str)]
        assert len(outcomes) == 80
        assert len(answered) >= 70  # the rest were queued behind the crash or in hand
        assert system.statistics("worker").incarnation == 2
        assert await ref.ask(Work(0, "after"), timeout=5) == "after"
        assert not [e for e in log if e[0] == "cancelled"]  # nobody gave up


@attrs.frozen
class Stubborn(actors.Request[str]):
    """Swallow the cancellation of a caller that gave up, and return anyway."""


class StubbornWorker(actors.Actor[Stubborn | Work]):
    async def receive(self, message: Stubborn | Work) -> str:
        if isinstance(message, Stubborn):
            try:
                await trio.sleep(60)
            except trio.Cancelled:
                return "swallowed"  # no checkpoint after this: the loop must notice
            return "slept"
        await trio.sleep(message.seconds)
        return message.tag


async def test_a_give_up_never_reaches_the_next_handler(
    autojump_clock: trio.testing.MockClock,
) -> None:
    results: list[object] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(StubbornWorker, name="stubborn")

        async def queued() -> None:
            results.append(await ref.ask(Work(1, "queued")))

        async def stubborn() -> None:
            with pytest.raises(actors.AskTimeout):
                await ref.ask(Stubborn(), timeout=1)

        with trio.fail_after(30):  # the queued ask must not hang
            async with trio.open_nursery() as nursery:
                nursery.start_soon(stubborn)
                await trio.testing.wait_all_tasks_blocked()
                nursery.start_soon(queued)  # handled right after, in the same batch
        assert system.statistics("stubborn").incarnation == 1
    assert results == ["queued"]

"""Actors: typed messages, replies, reply errors, crashes, and asks that never hang."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors import DeadLetterReason

from .messages import Add, Counter, Explode, ExplodeTell, Fail, Record, Refused, Sleep, Total


async def test_request_reply_is_the_handlers_return_value() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        await ref.tell(Add(2))
        ref.tell_nowait(Add(3))
        assert await ref.ask(Total()) == 5


async def test_start_and_stop_hooks_run_around_the_messages() -> None:
    log: list[Any] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Counter(log), name="counter")
        await ref.tell(Record("one"))
        await ref.ask(Total())
    assert log == [
        ("start", "counter", 1),
        ("handled", "counter", 1, "one"),
        ("stop", "counter", 1),
    ]


async def test_accepted_types_are_derived_from_the_type_parameter() -> None:
    assert set(Counter.accepts) >= {Add, Total, Fail, Explode}

    @attrs.frozen
    class Stranger:
        pass

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        with pytest.raises(actors.UnacceptedMessage, match=r"'counter' does not accept .*Stranger"):
            await ref.tell(Stranger())
        with pytest.raises(actors.UnacceptedMessage):
            ref.tell_nowait(Stranger())


async def test_declared_reply_error_goes_to_the_asker_and_the_actor_keeps_running() -> None:
    log: list[Any] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Counter(log), name="counter")
        await ref.tell(Add(1))
        with pytest.raises(Refused, match="refused on purpose"):
            await ref.ask(Fail())
        assert await ref.ask(Total()) == 1  # same incarnation: state kept
        assert [e for e in log if e[0] == "start"] == [("start", "counter", 1)]
        assert ref.statistics().failed == 1


async def test_reply_error_on_a_tell_is_dead_lettered_as_failed() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        # Fail is a Request, but a tell has no asker to receive the error
        await ref.tell(Fail())
        await ref.ask(Total())
        assert system.dead_letters.count(DeadLetterReason.FAILED) == 1


async def test_crash_while_handling_an_ask_names_the_actor_and_chains_the_cause() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        with pytest.raises(actors.ActorCrashed, match="'counter' crashed while handling Explode"):
            await ref.ask(Explode())
        try:
            await ref.ask(Explode())
        except actors.ActorCrashed as exc:
            assert isinstance(exc.__cause__, RuntimeError)
            assert str(exc.__cause__) == "exploded on purpose"
            assert exc.name == "counter"


async def test_messages_queued_behind_a_crash_are_handled_by_the_restarted_incarnation() -> None:
    log: list[Any] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Counter(log), name="counter")
        # Queue everything before the actor runs: the crash, then work behind it.
        ref.tell_nowait(ExplodeTell())
        ref.tell_nowait(Record("after-crash"))
        ref.tell_nowait(Add(7))
        assert await ref.ask(Total()) == 7
    handled = [e for e in log if e[0] == "handled"]
    assert handled == [("handled", "counter", 2, "after-crash")]
    assert system.dead_letters.count(DeadLetterReason.CRASHED) == 1
    (letter,) = system.dead_letters.recent()
    assert letter.message == ExplodeTell()
    assert letter.recipient == "counter"


async def test_queued_asks_fail_and_tells_are_dead_lettered_when_the_actor_stops_for_good(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", shutdown=1.0)
        failures: list[BaseException] = []

        async def ask(message: actors.Request[Any]) -> None:
            try:
                await ref.ask(message)
            except actors.ActorStopped as exc:
                failures.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, Sleep(100))  # keeps the actor busy
            await trio.testing.wait_all_tasks_blocked()
            ref.tell_nowait(Add(1))  # queued behind it
            nursery.start_soon(ask, Total())  # queued behind it
            await trio.testing.wait_all_tasks_blocked()
            assert ref.statistics().depth == 2
            await system.stop("counter")
    assert len(failures) == 2  # the one in hand and the one queued
    assert system.dead_letters.count(DeadLetterReason.STOPPED) == 2  # the queued tell and ask
    assert {type(letter.message) for letter in system.dead_letters.recent()} == {Add, Total}


async def test_ask_to_an_actor_that_stopped_for_good_raises_actor_stopped() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        await system.stop("counter")
        with pytest.raises(actors.ActorStopped, match="'counter'"):
            await ref.ask(Total())
        await ref.tell(Add(1))  # a tell is dead-lettered, not raised
        assert system.dead_letters.count(DeadLetterReason.STOPPED) == 2


async def test_ask_deadline_comes_from_the_caller(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        with pytest.raises(trio.TooSlowError):
            with trio.fail_after(1):
                await ref.ask(Sleep(5))
        assert await ref.ask(Total()) == 0  # the actor is fine


async def test_ask_cancelled_while_queued_is_skipped_and_recorded(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[Any] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Counter(log), name="counter", shutdown=0.1)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Sleep(0.05))
            await trio.testing.wait_all_tasks_blocked()
            with trio.move_on_after(0.01):
                await ref.ask(Record("never"))  # type: ignore[arg-type]
        assert await ref.ask(Total()) == 0
    assert not [e for e in log if e[0] == "handled"]
    assert system.dead_letters.count(DeadLetterReason.CANCELLED) == 1


async def test_actor_can_stop_itself() -> None:
    class OneShot(actors.Actor[Add]):
        async def receive(self, message: Add) -> None:
            self.ctx.stop()

    async with actors.open_actor_system() as system:
        ref = await system.spawn(OneShot, name="oneshot", restart=actors.Restart.TRANSIENT)
        await ref.tell(Add())
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(actors.NoSuchActor):
            system.ref("oneshot")


async def test_ask_and_tell_by_name() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(Counter, name="counter")
        await system.tell("counter", Add(4))
        system.tell_nowait("counter", Add(1))
        assert await system.ask("counter", Total()) == 5
        await system.tell("nobody", Add(1))
        with pytest.raises(actors.NoSuchActor, match="'nobody'"):
            await system.ask("nobody", Total())
        assert system.dead_letters.count(DeadLetterReason.NO_SUCH_ACTOR) == 2


async def test_ask_hard_cancelled_mid_handling_gets_actor_stopped(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", shutdown=1.0)
        outcome: list[BaseException] = []

        async def asker() -> None:
            try:
                await ref.ask(Sleep(100))
            except actors.ActorStopped as exc:
                outcome.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(asker)
            await trio.testing.wait_all_tasks_blocked()
            await system.stop("counter")  # graceful stop times out, then cancels
        assert len(outcome) == 1
        assert "stopped while handling" in str(outcome[0])


@attrs.frozen
class Later(actors.Request[str]):
    key: str


@attrs.frozen
class Answer:
    key: str
    value: str


class Deferring(actors.Actor[Later | Answer | ExplodeTell]):
    """Answers Later requests only when the matching Answer arrives."""

    def __init__(self) -> None:
        self.waiting: dict[str, actors.DeferredReply] = {}

    async def receive(self, message: Later | Answer | ExplodeTell) -> str | None:
        match message:
            case Later(key):
                self.waiting[key] = self.ctx.defer_reply()
                return "ignored: the reply is deferred"
            case Answer(key, value):
                self.waiting.pop(key).reply(value)
            case ExplodeTell():
                raise RuntimeError("boom")
        return None


async def test_a_deferred_reply_is_sent_later_without_blocking_the_mailbox() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Deferring, name="d")
        results: dict[str, str] = {}

        async def ask(key: str) -> None:
            results[key] = await ref.ask(Later(key))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask, "a")
            nursery.start_soon(ask, "b")
            await trio.testing.wait_all_tasks_blocked()
            assert results == {}  # both asks are pending, the actor is not blocked
            await ref.tell(Answer("b", "B"))
            await ref.tell(Answer("a", "A"))
        assert results == {"a": "A", "b": "B"}


async def test_a_deferred_reply_never_hangs_when_the_actor_crashes() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Deferring, name="d")
        outcome: list[BaseException] = []

        async def ask() -> None:
            try:
                await ref.ask(Later("k"))
            except actors.ActorCrashed as exc:
                outcome.append(exc)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(ask)
            await trio.testing.wait_all_tasks_blocked()
            await ref.tell(ExplodeTell())
        assert len(outcome) == 1
        assert str(outcome[0].__cause__) == "boom"
    assert system.dead_letters.count() == 1  # only the crashing tell


async def test_ask_nowait_delivers_the_outcome_to_a_callback() -> None:
    import outcome

    results: list[outcome.Outcome[int]] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        await ref.tell(Add(3))
        ref.ask_nowait(Total(), results.append)
        ref.ask_nowait(Fail(), results.append)
        ref.ask_nowait(Explode(), results.append)
        await trio.testing.wait_all_tasks_blocked()
        await system.stop("counter")
        ref.ask_nowait(Total(), results.append)  # stopped: the callback still hears of it
    assert results[0] == outcome.Value(3)
    assert isinstance(results[1], outcome.Error)
    assert isinstance(results[1].error, Refused)
    assert isinstance(results[2], outcome.Error)
    assert isinstance(results[2].error, actors.ActorCrashed)
    assert isinstance(results[3], outcome.Error)
    assert isinstance(results[3].error, actors.ActorStopped)

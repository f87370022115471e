"""Timers, monitors, lifecycle events and dead letters."""

from __future__ import annotations

from typing import Any

import attrs
import trio
import trio.testing

import actors
from actors import DeadLetterReason
from actors.testing import Crash, Crasher, Ping, spawn_probe


@attrs.frozen
class Tick:
    pass


@attrs.frozen
class Arm:
    delay: float
    period: float | None = None


@attrs.frozen
class Disarm:
    pass


@attrs.frozen
class Watch:
    name: str


class Clockwork(actors.Actor[Tick | Arm | Disarm | Crash | Watch | actors.Down | Ping]):
    """Arms timers and monitors on command; reports what it received to a probe."""

    def __init__(self, report: actors.ActorRef[Any]) -> None:
        self.report = report
        self.timer: actors.Timer | None = None

    async def receive(self, message: Any) -> Any:
        match message:
            case Arm(delay, None):
                self.timer = self.ctx.send_after(delay, Tick())
            case Arm(delay, period):
                self.timer = self.ctx.send_interval(period, Tick(), first=delay)
            case Disarm():
                assert self.timer is not None
                self.timer.cancel()
            case Crash():
                raise RuntimeError("crash")
            case Watch(name):
                self.ctx.monitor(name)
            case Ping():
                return self.ctx.incarnation
            case _:
                await self.report.tell((trio.current_time(), message))
        return None


async def _clockwork(system: actors.ActorSystem) -> tuple[actors.ActorRef[Any], Any]:
    report, log = await spawn_probe(system, "report")
    ref = await system.spawn(lambda: Clockwork(report), name="clockwork")
    return ref, log


async def test_send_after_delivers_once(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        start = trio.current_time()
        await ref.tell(Arm(2.5))
        await trio.sleep(10)
        assert [(t - start, m) for t, m in log.messages] == [(2.5, Tick())]


async def test_send_interval_delivers_periodically_until_cancelled(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        start = trio.current_time()
        await ref.tell(Arm(1.0, period=2.0))
        await trio.sleep(6)
        await ref.tell(Disarm())
        await trio.sleep(10)
        assert [round(t - start, 6) for t, _ in log.messages] == [1.0, 3.0, 5.0]


async def test_timers_are_cancelled_with_their_actor(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        await ref.tell(Arm(1.0, period=1.0))
        await trio.sleep(2.5)
        await ref.tell(Crash())
        assert await ref.ask(Ping()) == 2
        await trio.sleep(10)
        assert len(log.messages) == 2  # nothing after the crash


@attrs.frozen
class ArmMany(actors.Request[int]):
    """Arm ``count`` far timers and cancel them, then one near one; answered with the heap size."""

    count: int


class Churner(actors.Actor[ArmMany | Tick]):
    def __init__(self, ticks: list[float]) -> None:
        self.ticks = ticks

    async def receive(self, message: ArmMany | Tick) -> int | None:
        if isinstance(message, Tick):
            self.ticks.append(trio.current_time())
            return None
        for _ in range(message.count):
            self.ctx.send_after(3600.0, Tick()).cancel()
        self.ctx.send_interval(1.0, Tick())
        return len(self.ctx.system.timers)


async def test_cancelled_timers_are_swept_from_the_heap_and_live_ones_still_fire(
    autojump_clock: trio.testing.MockClock,
) -> None:
    ticks: list[float] = []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Churner(ticks), name="churner")
        start = trio.current_time()
        assert await ref.ask(ArmMany(10_000)) <= 2 * 256 + 2
        await trio.sleep(3.5)
        assert [t - start for t in ticks] == [1.0, 2.0, 3.0]


async def test_monitor_delivers_down_with_the_crash_reason() -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        target = await system.spawn(Crasher, name="target")
        await ref.tell(Watch("target"))
        await ref.ask(Ping())
        await target.tell(Crash("bang"))
        (down,) = [m for _, m in await log.expect(lambda m: isinstance(m[1], actors.Down))]
        assert (down.name, down.incarnation) == ("target", 1)
        assert isinstance(down.reason, actors.testing.CrashCommand)


async def test_monitor_delivers_down_on_a_normal_stop() -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        await system.spawn(Crasher, name="target")
        await ref.tell(Watch("target"))
        await ref.ask(Ping())
        await system.stop("target")
        (_, down), *_ = await log.expect(lambda m: isinstance(m[1], actors.Down))
        assert down == actors.Down("target", 1, None)


async def test_monitor_of_a_missing_actor_delivers_down_at_once() -> None:
    async with actors.open_actor_system() as system:
        ref, log = await _clockwork(system)
        await ref.tell(Watch("nobody"))
        (_, down), *_ = await log.expect(lambda m: isinstance(m[1], actors.Down))
        assert down.name == "nobody"
        assert isinstance(down.reason, actors.NoSuchActor)


async def test_lifecycle_events_report_start_crash_restart_and_stop() -> None:
    events: list[actors.LifecycleEvent] = []
    async with actors.open_actor_system() as system:
        system.events.subscribe(events.append)
        ref = await system.spawn(Crasher, name="c")
        await ref.tell(Crash())
        await ref.ask(Ping())
    kinds = [(type(e).__name__, e.incarnation) for e in events if e.name == "c"]
    assert kinds == [
        ("Started", 1),
        ("Crashed", 1),
        ("Restarted", 2),
        ("Started", 2),
        ("Stopped", 2),
    ]
    crashed = next(e for e in events if isinstance(e, actors.Crashed))
    assert isinstance(crashed.error, actors.testing.CrashCommand)


async def test_dead_letters_are_counted_by_reason_and_can_be_subscribed() -> None:
    seen: list[actors.DeadLetter] = []
    async with actors.open_actor_system() as system:
        unsubscribe = system.dead_letters.subscribe(seen.append)
        await system.tell("nobody", Tick())
        ref = await system.spawn(Crasher, name="c")
        await system.stop("c")
        await ref.tell(Crash())
        unsubscribe()
        await system.tell("nobody", Tick())
    assert system.dead_letters.count() == 3
    assert system.dead_letters.count(DeadLetterReason.NO_SUCH_ACTOR) == 2
    assert system.dead_letters.count(DeadLetterReason.STOPPED) == 1
    assert [(d.recipient, d.reason) for d in seen] == [
        ("nobody", DeadLetterReason.NO_SUCH_ACTOR),
        ("c", DeadLetterReason.STOPPED),
    ]


class Reader(actors.Actor[Ping]):
    """Runs a background loop that reads from a memory channel; crashes on 'boom'."""

    def __init__(self, inbox: trio.MemoryReceiveChannel[str], seen: list[tuple[int, str]]) -> None:
        self.inbox = inbox
        self.seen = seen

    async def on_start(self) -> None:
        self.ctx.start_task(self.read)

    async def read(self) -> None:
        async for item in self.inbox:
            if item == "boom":
                raise RuntimeError("reader failed")
            self.seen.append((self.ctx.incarnation, item))

    async def receive(self, message: Ping) -> int:
        return self.ctx.incarnation


async def test_a_background_task_runs_beside_the_loop_and_its_failure_crashes_the_actor() -> None:
    send, receive = trio.open_memory_channel[str](10)
    seen: list[tuple[int, str]] = []
    events: list[actors.LifecycleEvent] = []
    async with actors.open_actor_system() as system:
        system.events.subscribe(events.append)
        ref = await system.spawn(lambda: Reader(receive, seen), name="reader")
        await send.send("a")
        await trio.testing.wait_all_tasks_blocked()
        await send.send("boom")
        await trio.testing.wait_all_tasks_blocked()
        assert await ref.ask(Ping()) == 2  # restarted after the task crashed
        await send.send("b")
        await trio.testing.wait_all_tasks_blocked()
    assert seen == [(1, "a"), (2, "b")]
    crashed = [e for e in events if isinstance(e, actors.Crashed)]
    assert len(crashed) == 1
    assert str(crashed[0].error) == "reader failed"

"""Supervisors with Erlang/OTP semantics."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
from actors import Backoff, ChildSpec, Restart, Strategy, SupervisorSpec
from actors.testing import Crash, Crasher, Lifecycle, Ping

NO_JITTER = Backoff(first=0.0, base=0.1, multiplier=2.0, cap=1.0, jitter=0.0)


def crashers(lifecycle: Lifecycle, *names: str, **spec: Any) -> list[ChildSpec]:
    return [ChildSpec(n, lambda: Crasher(lifecycle), **spec) for n in names]


def tree(lifecycle: Lifecycle, strategy: Strategy, **spec: Any) -> SupervisorSpec:
    return SupervisorSpec(
        "sup", crashers(lifecycle, "a", "b", "c"), strategy=strategy, backoff=NO_JITTER, **spec
    )


async def incarnations(system: actors.ActorSystem, *names: str) -> list[int]:
    return [await system.ref(n).ask(Ping()) for n in names]


async def test_children_start_in_order_and_stop_in_reverse() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(tree(lifecycle, Strategy.ONE_FOR_ONE))
    assert lifecycle.events == [
        ("start", "a", 1),
        ("start", "b", 1),
        ("start", "c", 1),
        ("stop", "c", 1),
        ("stop", "b", 1),
        ("stop", "a", 1),
    ]


async def test_one_for_one_restarts_only_the_failed_child() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(tree(lifecycle, Strategy.ONE_FOR_ONE))
        await system.ref("b").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert await incarnations(system, "a", "b", "c") == [1, 2, 1]


async def test_one_for_all_stops_the_others_in_reverse_and_restarts_all_in_order() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(tree(lifecycle, Strategy.ONE_FOR_ALL))
        del lifecycle.events[:]
        await system.ref("b").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert await incarnations(system, "a", "b", "c") == [2, 2, 2]
        assert lifecycle.events == [
            ("stop", "b", 1),  # the crash itself (on_stop runs after a crash)
            ("stop", "c", 1),
            ("stop", "a", 1),
            ("start", "a", 2),
            ("start", "b", 2),
            ("start", "c", 2),
        ]


async def test_rest_for_one_restarts_the_failed_child_and_those_after_it() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(tree(lifecycle, Strategy.REST_FOR_ONE))
        await system.ref("b").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert await incarnations(system, "a", "b", "c") == [1, 2, 2]


async def test_permanent_child_is_restarted_after_a_normal_exit() -> None:
    class Quitter(actors.Actor[Ping]):
        async def receive(self, message: Ping) -> int:
            self.ctx.stop()
            return self.ctx.incarnation

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Quitter, name="q", restart=Restart.PERMANENT)
        assert await ref.ask(Ping()) == 1
        assert await ref.ask(Ping()) == 2


async def test_transient_child_is_restarted_only_after_a_crash() -> None:
    class Quitter(actors.Actor[Ping | Crash]):
        async def receive(self, message: Ping | Crash) -> int:
            if isinstance(message, Crash):
                raise RuntimeError("crash")
            self.ctx.stop()
            return self.ctx.incarnation

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Quitter, name="t", restart=Restart.TRANSIENT)
        await ref.tell(Crash())
        assert await ref.ask(Ping()) == 2  # restarted after the crash; then exits normally
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(actors.NoSuchActor):
            system.ref("t")
        with pytest.raises(actors.ActorStopped):
            await ref.ask(Ping())


async def test_temporary_child_is_never_restarted() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Crasher, name="tmp", restart=Restart.TEMPORARY)
        await ref.tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert "tmp" not in system.root.children()
        with pytest.raises(actors.ActorStopped):
            await ref.ask(Ping())


async def test_restart_intensity_escalates_to_the_parent(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lifecycle = Lifecycle()
    spec = tree(lifecycle, Strategy.ONE_FOR_ONE, max_restarts=2, within=10.0)
    root = SupervisorSpec("root", [spec], max_restarts=0)
    with pytest.raises(actors.RestartIntensityExceeded, match="'root' gave up") as info:
        async with actors.open_actor_system(root) as system:
            for _ in range(3):
                await system.ref("a").tell(Crash())
                await trio.testing.wait_all_tasks_blocked()
            await trio.sleep_forever()  # the escalation cancels the body
    inner = info.value.__cause__
    assert isinstance(inner, actors.RestartIntensityExceeded)
    assert "'sup' gave up: more than 2 restarts within 10 s" in str(inner)
    # the crashed child ended, then the others were stopped in reverse order before giving up
    assert lifecycle.events[-3:] == [("stop", "a", 3), ("stop", "c", 1), ("stop", "b", 1)]


async def test_restarts_spread_over_time_do_not_escalate(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        await system.start_supervisor(
            tree(Lifecycle(), Strategy.ONE_FOR_ONE, max_restarts=1, within=5.0)
        )
        for expected in (2, 3, 4):
            await system.ref("a").tell(Crash())
            await trio.sleep(6)  # each crash falls outside the previous one's window
            assert await system.ref("a").ask(Ping()) == expected


async def test_unlimited_intensity_never_escalates(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        await system.start_supervisor(
            tree(Lifecycle(), Strategy.ONE_FOR_ONE, max_restarts=None, within=5.0)
        )
        for _ in range(50):
            await system.ref("a").tell(Crash())
            await trio.testing.wait_all_tasks_blocked()
            await trio.sleep(1.0)  # the cap of NO_JITTER
        assert await system.ref("a").ask(Ping()) == 51


async def test_backoff_delays_restarts_exponentially(
    autojump_clock: trio.testing.MockClock,
) -> None:
    events: list[tuple[float, str, int]] = []
    async with actors.open_actor_system() as system:
        system.events.subscribe(
            lambda e: events.append((trio.current_time(), type(e).__name__, e.incarnation))
        )
        sup = tree(Lifecycle(), Strategy.ONE_FOR_ONE, max_restarts=None, within=100.0)
        await system.start_supervisor(sup)
        start = trio.current_time()
        for _ in range(4):
            await system.ref("a").tell(Crash())
            await system.ref("a").ask(Ping())  # waits out the backoff
        starts = [round(t - start, 6) for t, kind, inc in events if kind == "Started" and inc > 1]
        # first restart immediate, then base 0.1 doubling: 0.1, 0.2, 0.4 (cumulative)
        assert starts == [0.0, 0.1, 0.3, 0.7]


def test_backoff_delay_is_capped_and_jittered() -> None:
    backoff = Backoff(first=0.5, base=1.0, multiplier=3.0, cap=5.0, jitter=0.2)
    assert backoff.delay(0, rand=lambda: 0.5) == 0.5
    assert backoff.delay(1, rand=lambda: 0.5) == 1.0
    assert backoff.delay(2, rand=lambda: 0.5) == 3.0
    assert backoff.delay(3, rand=lambda: 0.5) == 5.0  # 9.0 capped
    assert backoff.delay(1, rand=lambda: 0.0) == pytest.approx(0.8)
    assert backoff.delay(1, rand=lambda: 1.0) == pytest.approx(1.2)
    assert backoff.delay(5, rand=lambda: 1.0) == 5.0  # jitter never exceeds the cap
    assert backoff.delay(100_000, rand=lambda: 0.5) == 5.0  # no overflow, ever
    with pytest.raises(ValueError, match="cap must not be negative"):
        Backoff(cap=-1)


async def test_graceful_stop_then_cancellation_after_the_grace_period(
    autojump_clock: trio.testing.MockClock,
) -> None:
    class Stubborn(actors.Actor[Ping]):
        async def receive(self, message: Ping) -> int:
            await trio.sleep_forever()
            raise AssertionError("unreachable")

    outcome: list[BaseException] = []

    async def asker(ref: actors.ActorRef[Any]) -> None:
        try:
            await ref.ask(Ping())
        except actors.ActorStopped as exc:
            outcome.append(exc)

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Stubborn, name="s", shutdown=3.0)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(asker, ref)
            await trio.testing.wait_all_tasks_blocked()
            before = trio.current_time()
            await system.stop("s")
        assert trio.current_time() - before == pytest.approx(3.0)
        assert len(outcome) == 1


async def test_nested_supervisor_escalation_is_handled_by_its_parent() -> None:
    lifecycle = Lifecycle()
    inner = SupervisorSpec(
        "inner", crashers(lifecycle, "x"), max_restarts=0, backoff=NO_JITTER, shutdown=1.0
    )
    outer = SupervisorSpec("outer", [*crashers(lifecycle, "w"), inner], backoff=NO_JITTER)
    async with actors.open_actor_system() as system:
        await system.start_supervisor(outer)
        await system.ref("x").tell(Crash())  # inner gives up at once; outer restarts inner
        await trio.testing.wait_all_tasks_blocked()
        assert await incarnations(system, "w", "x") == [1, 2]
        # A fresh inner, and x's next incarnation: x belongs to inner's name, not to one
        # incarnation of it.
        assert [e for e in lifecycle.events if e[1] == "x"] == [
            ("start", "x", 1), ("stop", "x", 1), ("start", "x", 2),
        ]  # fmt: skip
        assert system.supervisor("inner").children() == ["x"]


async def test_a_restarted_supervisor_starts_the_children_added_to_it_again() -> None:
    lifecycle = Lifecycle()
    inner = SupervisorSpec("inner", crashers(lifecycle, "x"), max_restarts=0, backoff=NO_JITTER)
    async with actors.open_actor_system() as system:
        await system.start_supervisor(SupervisorSpec("outer", [inner], backoff=NO_JITTER))
        sup = system.supervisor("inner")
        await sup.start_child(ChildSpec("added", lambda: Crasher(lifecycle)))
        await sup.start_child(
            ChildSpec("once", lambda: Crasher(lifecycle), restart=Restart.TEMPORARY)
        )
        await system.ref("x").tell(Crash())  # inner gives up at once; outer restarts inner
        await trio.testing.wait_all_tasks_blocked()
        assert system.supervisor("inner").children() == ["x", "added"]
        assert await incarnations(system, "x", "added") == [2, 2]
        with pytest.raises(actors.NoSuchActor):  # temporary: never started again
            system.ref("once")
        await system.stop("outer")  # for good: every name is released
        for name in ("x", "added"):
            with pytest.raises(actors.NoSuchActor):
                system.ref(name)


async def test_what_is_sent_while_a_supervisor_restarts_waits_for_its_children(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lifecycle = Lifecycle()
    inner = SupervisorSpec("inner", crashers(lifecycle, "y"), backoff=NO_JITTER)
    slow = Backoff(first=1.0, jitter=0.0)
    outer = SupervisorSpec(
        "outer", [*crashers(lifecycle, "a"), inner], strategy=Strategy.REST_FOR_ONE, backoff=slow
    )
    async with actors.open_actor_system() as system, trio.open_nursery() as nursery:
        await system.start_supervisor(outer)
        await system.ref("a").tell(Crash())  # stops inner (and y); both restart after 1 s
        await trio.testing.wait_all_tasks_blocked()
        assert ("stop", "y", 1) in lifecycle.events
        answers: list[int] = []

        async def ask_y() -> None:
            answers.append(await system.ref("y").ask(Ping()))

        nursery.start_soon(ask_y)  # y's name is still there, its mailbox still open
        await system.tell("y", Ping())
        await trio.sleep(2.0)
        assert answers == [2]
        assert system.ref("y").statistics().processed >= 2  # both handled by incarnation 2


async def test_dynamic_children_are_started_and_stopped_at_runtime() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        sup = await system.start_supervisor(SupervisorSpec("connections"))
        for i in range(3):
            await sup.start_child(ChildSpec(f"conn-{i}", lambda: Crasher(lifecycle)))
        assert sup.children() == ["conn-0", "conn-1", "conn-2"]
        await sup.stop_child("conn-1")
        assert sup.children() == ["conn-0", "conn-2"]
        with pytest.raises(actors.NoSuchActor):
            system.ref("conn-1")
        await system.spawn(lambda: Crasher(lifecycle), name="conn-3", supervisor="connections")
        assert sup.children() == ["conn-0", "conn-2", "conn-3"]
    assert lifecycle.events[-3:] == [
        ("stop", "conn-3", 1),
        ("stop", "conn-2", 1),
        ("stop", "conn-0", 1),
    ]


async def test_a_child_whose_start_fails_is_reported_to_the_caller() -> None:
    class Broken(actors.Actor[Ping]):
        async def on_start(self) -> None:
            raise OSError("cannot open the thing")

    async with actors.open_actor_system() as system:
        with pytest.raises(actors.StartFailed, match="'broken' failed to start") as info:
            await system.spawn(Broken, name="broken")
        assert isinstance(info.value.__cause__, OSError)
        with pytest.raises(actors.NoSuchActor):
            system.ref("broken")


async def test_a_static_child_whose_start_fails_stops_the_started_ones() -> None:
    lifecycle = Lifecycle()

    class Broken(actors.Actor[Ping]):
        async def on_start(self) -> None:
            raise OSError("no")

    spec = SupervisorSpec("sup", [*crashers(lifecycle, "a"), ChildSpec("broken", Broken)])
    async with actors.open_actor_system() as system:
        with pytest.raises(actors.StartFailed, match="'sup' failed to start"):
            await system.start_supervisor(spec)
        assert lifecycle.events == [("start", "a", 1), ("stop", "a", 1)]
        with pytest.raises(actors.NoSuchActor):
            system.ref("a")


class SlowToStop(Crasher):
    """A Crasher whose graceful stop waits until the test releases it."""

    def __init__(self, stopping: trio.Event, release: trio.Event) -> None:
        super().__init__()
        self.stopping = stopping
        self.release = release

    async def on_stop(self) -> None:
        self.stopping.set()
        await self.release.wait()


async def test_a_stop_requested_while_a_restart_is_due_ends_the_supervisor_at_once() -> None:
    stopping, release = trio.Event(), trio.Event()
    spec = SupervisorSpec(
        "sup",
        [ChildSpec("a", Crasher), ChildSpec("b", lambda: SlowToStop(stopping, release))],
        strategy=Strategy.ONE_FOR_ALL,
        backoff=NO_JITTER,  # no delay: the group restart is due at once
        shutdown=60.0,
    )
    async with actors.open_actor_system() as system, trio.open_nursery() as nursery:
        await system.start_supervisor(spec)
        await system.ref("a").tell(Crash())
        await stopping.wait()  # the supervisor is stopping b for the group restart
        stopped = trio.Event()

        async def stop_sup() -> None:
            await system.stop("sup")
            stopped.set()

        nursery.start_soon(stop_sup)
        await trio.testing.wait_all_tasks_blocked()
        release.set()  # the group restart is now due, and a stop was requested before it
        with trio.fail_after(5):  # not the 60 s grace: it used to spin until cancelled
            await stopped.wait()
        assert "sup" not in system.root.children()

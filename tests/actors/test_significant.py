"""Significant children (auto_shutdown) and supervisors watched like any actor."""

from __future__ import annotations

import attrs
import pytest
import trio
import trio.testing

import actors
from actors import AutoShutdown, Backoff, ChildSpec, Restart, SupervisorSpec
from actors.testing import Crash, Crasher, Lifecycle, Ping

NO_JITTER = Backoff(first=0.0, base=0.1, multiplier=2.0, cap=1.0, jitter=0.0)


@attrs.frozen
class Quit:
    """Tell a :class:`Quitter` to stop normally."""


class Quitter(Crasher):
    """A Crasher that also stops normally on :class:`Quit`."""

    accepts = (*Crasher.accepts, Quit)

    async def receive(self, message: object) -> int | None:
        if isinstance(message, Quit):
            self.ctx.stop()
            return None
        return await super().receive(message)  # type: ignore[arg-type]


@attrs.frozen
class Watch:
    name: str


@attrs.frozen
class Downs(actors.Request[list[actors.Down]]):
    pass


class Watcher(actors.Actor[Watch | actors.Down | Downs]):
    """Monitors what it is told to and keeps the Downs it gets."""

    def __init__(self) -> None:
        self.downs: list[actors.Down] = []
        self.arrived = trio.Event()

    async def receive(self, message: Watch | actors.Down | Downs) -> object:
        if isinstance(message, Watch):
            self.ctx.monitor(message.name)
        elif isinstance(message, actors.Down):
            self.downs.append(message)
            self.arrived.set()
        else:
            return list(self.downs)
        return None


async def wait_downs(ref: actors.ActorRef[object], count: int) -> list[actors.Down]:
    while True:
        downs = await ref.ask(Downs())
        if len(downs) >= count:
            return downs
        await trio.testing.wait_all_tasks_blocked()


def group(
    lifecycle: Lifecycle, rule: AutoShutdown, restart: Restart, *, name: str = "group"
) -> SupervisorSpec:
    return SupervisorSpec(
        name,
        [
            ChildSpec("plain", lambda: Quitter(lifecycle)),
            ChildSpec("s1", lambda: Quitter(lifecycle), restart=restart, significant=True),
            ChildSpec("s2", lambda: Quitter(lifecycle), restart=restart, significant=True),
        ],
        auto_shutdown=rule,
        restart=Restart.TRANSIENT,
        backoff=NO_JITTER,
    )


def test_a_significant_child_cannot_be_permanent() -> None:
    with pytest.raises(ValueError, match=r"'s'.*transient or temporary"):
        ChildSpec("s", Crasher, significant=True)
    with pytest.raises(ValueError, match=r"'sup'.*transient or temporary"):
        SupervisorSpec("sup", significant=True)


def test_significant_children_need_an_auto_shutdown_rule() -> None:
    child = ChildSpec("s", Crasher, restart=Restart.TRANSIENT, significant=True)
    with pytest.raises(ValueError, match=r"'sup': child 's' is significant.*NEVER"):
        SupervisorSpec("sup", [child])


async def test_a_significant_child_added_at_runtime_needs_the_rule_too() -> None:
    child = ChildSpec("s", Crasher, restart=Restart.TRANSIENT, significant=True)
    async with actors.open_actor_system() as system:
        with pytest.raises(ValueError, match="significant"):
            await system.root.start_child(child)
        assert system.lookup("s") is None


async def test_any_significant_stops_the_group_in_reverse_when_one_stops_normally() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        supervisor = await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT)
        )
        del lifecycle.events[:]
        await system.ref("s1").tell(Quit())
        await trio.testing.wait_all_tasks_blocked()
        assert supervisor.auto_stopped
        assert "group" not in system.root.children()  # transient: not restarted
        assert lifecycle.events == [("stop", "s1", 1), ("stop", "s2", 1), ("stop", "plain", 1)]
        for name in ("plain", "s1", "s2"):
            assert system.lookup(name) is None


async def test_a_transient_significant_child_that_crashes_is_restarted_instead() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        supervisor = await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT)
        )
        await system.ref("s1").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert not supervisor.auto_stopped
        assert await system.ref("s1").ask(Ping()) == 2
        assert system.supervisor("group") is supervisor


async def test_a_temporary_significant_child_counts_when_it_crashes() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TEMPORARY)
        )
        await system.ref("s2").tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        assert "group" not in system.root.children()
        assert ("stop", "plain", 1) in lifecycle.events


async def test_all_significant_waits_for_the_last_significant_child() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        supervisor = await system.start_supervisor(
            group(lifecycle, AutoShutdown.ALL_SIGNIFICANT, Restart.TRANSIENT)
        )
        await system.ref("s1").tell(Quit())
        await trio.testing.wait_all_tasks_blocked()
        assert not supervisor.auto_stopped
        assert system.supervisor("group").children() == ["plain", "s2"]
        assert await system.ref("plain").ask(Ping()) == 1
        await system.ref("s2").tell(Quit())
        await trio.testing.wait_all_tasks_blocked()
        assert supervisor.auto_stopped
        assert "group" not in system.root.children()


async def test_auto_shutdown_cascades_through_a_significant_supervisor() -> None:
    lifecycle = Lifecycle()
    inner = attrs.evolve(
        group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT, name="inner"),
        significant=True,
    )
    outer = SupervisorSpec(
        "outer",
        [ChildSpec("sibling", lambda: Quitter(lifecycle)), inner],
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
        restart=Restart.TEMPORARY,
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(outer)
        await system.ref("s1").tell(Quit())
        await trio.testing.wait_all_tasks_blocked()
        assert system.root.children() == []
        assert ("stop", "sibling", 1) in lifecycle.events


async def test_the_system_ends_when_its_root_shuts_itself_down() -> None:
    lifecycle = Lifecycle()
    root = SupervisorSpec(
        "root",
        [
            ChildSpec(
                "main", lambda: Quitter(lifecycle), restart=Restart.TRANSIENT, significant=True
            )
        ],
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
    )
    reached_end = False
    with trio.fail_after(10):
        async with actors.open_actor_system(root) as system:
            await system.ref("main").tell(Quit())
            await trio.sleep_forever()  # cancelled when the root shuts itself down
            reached_end = True
    assert not reached_end
    assert lifecycle.events[-1] == ("stop", "main", 1)


async def test_a_body_with_a_nursery_also_ends_normally_when_the_root_shuts_down() -> None:
    root = SupervisorSpec(
        "root",
        [ChildSpec("main", Quitter, restart=Restart.TRANSIENT, significant=True)],
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
    )
    with trio.fail_after(10):
        async with actors.open_actor_system(root) as system, trio.open_nursery() as nursery:
            nursery.start_soon(trio.sleep_forever)
            await system.ref("main").tell(Quit())
            await trio.sleep_forever()  # the Cancelled comes out of the nursery in a group


async def test_an_explicit_stop_of_a_significant_child_does_not_shut_down() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        supervisor = await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT)
        )
        await supervisor.stop_child("s1")
        await trio.testing.wait_all_tasks_blocked()
        assert not supervisor.auto_stopped
        assert supervisor.children() == ["plain", "s2"]


# -- monitoring supervisors ----------------------------------------------------------------


async def test_a_supervisor_that_gives_up_sends_down_with_the_last_crash() -> None:
    lifecycle = Lifecycle()
    inner = SupervisorSpec(
        "inner",
        [ChildSpec("x", lambda: Crasher(lifecycle))],
        max_restarts=0,
        backoff=NO_JITTER,
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(inner)
        watcher = await system.spawn(Watcher, name="watcher")
        await watcher.tell(Watch("inner"))
        await trio.testing.wait_all_tasks_blocked()
        await system.ref("x").tell(Crash("the last crash"))
        (down,) = await wait_downs(watcher, 1)
        assert down.name == "inner"
        assert down.incarnation == 1
        assert isinstance(down.reason, actors.RestartIntensityExceeded)
        cause = down.reason.__cause__
        assert isinstance(cause, Exception)
        assert "the last crash" in str(cause)
        # Its parent (the root) treated it like a crashed child: a second incarnation runs.
        assert await system.ref("x").ask(Ping()) == 2
        await watcher.tell(Watch("inner"))
        await system.stop("inner")
        downs = await wait_downs(watcher, 2)
        assert downs[1] == actors.Down("inner", 2, None)  # a normal stop


async def test_a_supervisor_that_shuts_itself_down_sends_a_normal_down() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT)
        )
        watcher = await system.spawn(Watcher, name="watcher")
        await watcher.tell(Watch("group"))
        await trio.testing.wait_all_tasks_blocked()
        await system.ref("s2").tell(Quit())
        assert await wait_downs(watcher, 1) == [actors.Down("group", 1, None)]


async def test_a_watcher_that_ends_or_demonitors_gets_no_down() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        supervisor = await system.start_supervisor(
            group(lifecycle, AutoShutdown.ANY_SIGNIFICANT, Restart.TRANSIENT)
        )
        watcher = await system.spawn(Watcher, name="watcher", restart=Restart.TEMPORARY)
        await watcher.tell(Watch("group"))
        await trio.testing.wait_all_tasks_blocked()
        assert len(supervisor._watchers) == 1
        await system.stop("watcher")
        assert supervisor._watchers == []


async def test_monitoring_a_stopped_supervisor_reports_no_such_actor() -> None:
    async with actors.open_actor_system() as system:
        watcher = await system.spawn(Watcher, name="watcher")
        await watcher.tell(Watch("nothing-here"))
        (down,) = await wait_downs(watcher, 1)
        assert isinstance(down.reason, actors.NoSuchActor)

"""system.tree() and the event stream (system.events.subscribe() as an async iterator)."""

from __future__ import annotations

import attrs
import cattrs
import pytest
import trio

import actors
from actors.testing import crash


@attrs.frozen
class Work(actors.Request[int]):
    n: int


class Worker(actors.Actor[Work]):
    async def receive(self, message: Work) -> int:
        return message.n


async def test_tree_shows_supervisors_actors_and_mailboxes() -> None:
    spec = actors.SupervisorSpec(
        "group",
        [actors.ChildSpec("a", Worker), actors.ChildSpec("b", Worker, mailbox_size=8)],
        strategy=actors.Strategy.ONE_FOR_ALL,
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(spec)
        for n in range(40):
            assert await system.ask("a", Work(n)) == n
        tree = system.tree()
        assert tree.name == "root"
        assert tree.kind is actors.NodeKind.SUPERVISOR
        group = tree.find("group")
        assert group is not None
        assert group.strategy is actors.Strategy.ONE_FOR_ALL
        assert [c.name for c in group.children] == ["a", "b"]
        a = tree.find("a")
        assert a is not None
        assert a.kind is actors.NodeKind.ACTOR
        assert a.state is actors.NodeState.RUNNING
        assert (a.incarnation, a.restarts) == (1, 0)
        assert a.mailbox is not None
        assert a.mailbox.processed == 40
        assert a.mailbox.timed >= 40 // 16
        assert a.mailbox.timed_seconds >= 0.0
        b = tree.find("b")
        assert b is not None
        assert b.mailbox is not None
        assert b.mailbox.capacity == 8
        # Plain data: cattrs makes JSON of it, enums as their values.
        data = cattrs.unstructure(tree)
        assert data["children"][0]["children"][0]["kind"] == "actor"
        assert data["children"][0]["strategy"] == "one_for_all"
        assert cattrs.structure(data, actors.TreeNode) == tree


async def test_tree_counts_restarts_and_the_stream_sees_them() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(Worker, name="w")
        async with system.events.subscribe() as events:
            await crash(system, "w")
            seen: list[actors.Event] = []
            async for event in events:
                seen.append(event)
                if isinstance(event, actors.Started):
                    break
        assert [type(e) for e in seen] == [actors.Crashed, actors.Restarted, actors.Started]
        assert seen[0].at > 0
        node = system.tree().find("w")
        assert node is not None
        assert (node.incarnation, node.restarts) == (2, 1)


async def test_a_slow_reader_drops_the_oldest_and_counts_them() -> None:
    @attrs.frozen
    class Tick(actors.Event):
        n: int

    async with actors.open_actor_system() as system:
        async with system.events.subscribe(buffer=4) as events:
            for n in range(10):
                system.events.emit(Tick(n))  # never blocks, whoever listens
            assert events.dropped == 6
            assert system.events.dropped == 6
            got = [events.receive_nowait() for _ in range(4)]
            assert got == [Tick(6), Tick(7), Tick(8), Tick(9)]
            assert events.receive_nowait() is None
        # Unsubscribed on exit: emitting more costs nothing there.
        system.events.emit(Tick(11))
        assert events.receive_nowait() is None


async def test_closing_a_subscription_ends_the_iteration() -> None:
    ended = trio.Event()
    async with (
        actors.open_actor_system() as system,
        system.events.subscribe() as events,
        trio.open_nursery() as nursery,
    ):

        async def read() -> None:
            async for _ in events:
                pass
            ended.set()

        nursery.start_soon(read)
        await trio.testing.wait_all_tasks_blocked()
        events.close()
        await ended.wait()


async def test_a_supervisor_that_gives_up_is_an_event() -> None:
    spec = actors.SupervisorSpec(
        "fragile", [actors.ChildSpec("x", Worker)], max_restarts=0, restart=actors.Restart.TEMPORARY
    )
    async with actors.open_actor_system() as system:
        await system.start_supervisor(spec)
        async with system.events.subscribe() as events:
            await crash(system, "x")
            async for event in events:
                if isinstance(event, actors.GaveUp):
                    break
        assert event.name == "fragile"
        assert isinstance(event.error, actors.RestartIntensityExceeded)


def test_buffer_must_hold_an_event() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        actors.Events().subscribe(buffer=0)

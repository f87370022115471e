"""The actor system as a whole: opening, closing, errors out of it, the test kit, the API."""

from __future__ import annotations

import pytest
import trio
import trio.testing

import actors
import actors.testing
from actors.testing import Crash, Crasher, Lifecycle, Ping, advance, spawn_probe

from .messages import Add, Counter, Sleep, Total


async def test_an_error_in_the_body_comes_out_unwrapped_after_a_clean_shutdown() -> None:
    lifecycle = Lifecycle()
    with pytest.raises(KeyError, match="mine"):
        async with actors.open_actor_system() as system:
            await system.spawn(lambda: Crasher(lifecycle), name="c")
            raise KeyError("mine")
    assert lifecycle.events == [("start", "c", 1), ("stop", "c", 1)]


async def test_cancelling_the_system_from_outside_fails_pending_asks() -> None:
    failures: list[BaseException] = []

    async def ask(ref: actors.ActorRef[Counter]) -> None:
        try:
            await ref.ask(Sleep(100))
        except actors.ActorStopped as exc:
            failures.append(exc)

    async with trio.open_nursery() as outside:
        with trio.CancelScope() as system_scope:
            async with actors.open_actor_system() as system:
                ref = await system.spawn(Counter, name="c")
                outside.start_soon(ask, ref)
                await trio.testing.wait_all_tasks_blocked()
                system_scope.cancel()
                await trio.sleep_forever()
    assert len(failures) == 1
    assert "stopped while handling" in str(failures[0])


async def test_nothing_starts_once_the_system_is_closed() -> None:
    async with actors.open_actor_system() as system:
        pass
    with pytest.raises(actors.SystemClosed):
        await system.spawn(Counter, name="late")


async def test_probe_records_messages_across_incarnations() -> None:
    async with actors.open_actor_system() as system:
        ref, log = await spawn_probe(system, "probe", reply=lambda m: "pong")
        await ref.tell(Add(1))
        assert await ref.ask(Total()) == "pong"  # type: ignore[comparison-overlap]
        assert await log.expect(Add) == [Add(1)]
        assert log.of_type(Total) == [Total()]
        assert log.incarnations == [1, 1]


async def test_crasher_crashes_on_command_and_reports_its_incarnation(
    autojump_clock: trio.testing.MockClock,
) -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Crasher(lifecycle), name="c")
        await ref.tell(Crash())
        await advance(autojump_clock, 1.0)
        assert await ref.ask(Ping()) == 2
        with pytest.raises(actors.ActorCrashed):
            await ref.ask(actors.testing.CrashRequest())
        assert await ref.ask(Ping()) == 3  # waits out the restart backoff
    assert [e[0] for e in lifecycle.events] == ["start", "stop", "start", "stop", "start", "stop"]


def test_the_public_surface_is_exported_from_the_package() -> None:
    # (pytest's assertion rewriting adds "@py_builtins" and "@pytest_ar" to modules of a
    # distribution that registers a pytest plugin, as pywatt does: not names of ours)
    public = {name for name in dir(actors) if name.isidentifier() and not name.startswith("_")}
    expected = {
        "Actor", "ActorContext", "ActorCrashed", "ActorError", "ActorRef", "ActorStatistics",
        "ActorStopped", "ActorSystem", "AskTimeout", "AutoShutdown", "Backoff", "ChildSpec",
        "Crashed", "DeadLetter", "DeadLetterReason", "DeadLetters", "DeferredReply", "Down",
        "DuplicateName", "Events",
        "LifecycleEvent",
        "Mailbox", "MailboxFull", "MailboxStatistics", "NoSuchActor", "OverflowPolicy",
        "PendingReplies", "Protocol", "ProtocolMismatch", "Registry", "ReplyTimeout", "Request",
        "Subscriptions",
        "Restart", "RestartIntensityExceeded", "Restarted", "StartFailed", "Started", "Stopped",
        "Strategy", "Supervisor", "SupervisorSpec", "SystemClosed", "TaskHandle", "Timer",
        "UnacceptedMessage", "open_actor_system", "testing",
        "InboundStream", "OutboundStream", "StreamAborted", "StreamAbortReason",
        "StreamStatistics", "open_stream",
        "AskTracer", "ask_tracer", "set_ask_tracer",
        "Event", "EventSubscription", "GaveUp", "NodeKind", "NodeState", "TreeNode",
    }  # fmt: skip
    assert public == expected
    for name in expected - {"testing"}:
        assert getattr(actors, name).__module__.startswith(("actors", "types")), name


async def test_crash_injects_a_fault_into_any_actor_and_the_next_incarnation_serves() -> None:
    lifecycle = Lifecycle()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Crasher(lifecycle), name="victim")
        assert await ref.ask(Ping()) == 1
        crashed: list[actors.Crashed] = []
        system.events.subscribe(
            lambda e: crashed.append(e) if isinstance(e, actors.Crashed) else None
        )
        assert await actors.testing.crash(system, "victim") == 1
        assert await ref.ask(Ping()) == 2
        (event,) = crashed
        assert isinstance(event.error, actors.testing.CrashCommand)
        with pytest.raises(actors.NoSuchActor):
            await actors.testing.crash(system, "nobody")


async def test_lookup_gives_a_ref_or_none_and_statistics_say_whether_it_serves(
    autojump_clock: trio.testing.MockClock,
) -> None:
    spec = actors.SupervisorSpec(
        "root", backoff=actors.Backoff(first=1.0, base=1.0, jitter=0.0), max_restarts=None
    )
    async with actors.open_actor_system(spec) as system:
        assert system.lookup("c") is None
        with pytest.raises(actors.NoSuchActor):
            system.statistics("c")
        await system.spawn(Crasher, name="c")
        ref = system.lookup("c")
        assert ref is not None
        assert await ref.ask(Ping()) == 1
        stats = system.statistics("c")
        assert (stats.name, stats.running, stats.incarnation) == ("c", True, 1)
        assert (stats.mailbox.processed, stats.mailbox.capacity) == (1, 1024)
        await ref.tell(Crash())
        await trio.testing.wait_all_tasks_blocked()
        stats = system.statistics("c")  # restarting: still registered, not serving
        assert (stats.running, stats.incarnation) == (False, None)
        assert system.lookup("c") is not None
        await advance(autojump_clock, 1.0)
        assert system.statistics("c").incarnation == 2
        await system.stop("c")
        assert system.lookup("c") is None


async def test_refs_come_from_the_system_only() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Crasher, name="c")
        with pytest.raises(TypeError, match="no public constructor"):
            actors.ActorRef(system.registry, ref._cell)
        with pytest.raises(TypeError, match="no public constructor"):
            actors.ActorRef[Crash](system.registry, ref._cell)
        with pytest.raises(TypeError):

            class Sub(actors.ActorRef[Crash]):  # type: ignore[misc]
                pass

        assert getattr(actors.ActorRef, "__final__", False)

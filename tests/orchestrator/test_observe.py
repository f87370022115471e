"""Trees and events across real module processes under the embedded orchestrator."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import trio

import actors
from actors import Backoff
from pywatt.observe import ChannelChanged, ModuleEvent, ModuleStateChanged, SecretsRotated
from pywatt.orchestrator import ModuleKind, ModuleSpec, RestartPolicy, TreeUnavailable

from .helpers import raw, running

OBSERVED = str(Path(__file__).parent / "modules" / "observed.py")


def observed(module_id: str) -> ModuleSpec:
    return ModuleSpec.from_command(
        module_id, OBSERVED, secrets=["API_KEY"], env={"OBSERVED_SECRET": "API_KEY"}
    )


async def test_tree_of_each_module_and_of_the_orchestrator() -> None:
    with trio.fail_after(60):
        async with running(
            observed("alpha"),
            observed("beta"),
            raw("rusty", kind=ModuleKind.FOREIGN),
            secrets={"API_KEY": "k1"},
        ) as run:
            orch = run.orch
            for module_id in ("alpha", "beta", "rusty"):
                await orch.module(module_id).wait_announced()
            for module_id in ("alpha", "beta"):
                tree = await orch.tree(module_id)
                assert tree.name == "system"
                worker = tree.find(f"{module_id}.worker")
                assert worker is not None
                assert worker.kind is actors.NodeKind.ACTOR
                assert worker.state is actors.NodeState.RUNNING
                assert worker.mailbox is not None
                assert tree.find("pywatt.link") is not None
                services = tree.find("pywatt.services")
                assert services is not None
                assert services.strategy is actors.Strategy.ONE_FOR_ONE
            try:
                await orch.tree("rusty")
            except TreeUnavailable as exc:
                assert exc.reason == "not supported by this module"
            else:
                raise AssertionError("a foreign module was asked for its tree")
            own = orch.own_tree()
            assert own.find("pywatt.hub") is not None
            assert own.find("pywatt.module.alpha.process") is not None


async def test_events_of_modules_and_orchestrator_in_one_stream() -> None:
    with trio.fail_after(60):
        async with running(observed("alpha"), observed("beta"), secrets={"API_KEY": "k1"}) as run:
            orch = run.orch
            alpha = orch.module("alpha")
            async with orch.events() as events:
                await alpha.wait_announced()
                await orch.module("beta").wait_announced()
                # An actor crash inside a module arrives as that module's event, with why.
                assert alpha.pid is not None
                os.kill(alpha.pid, signal.SIGUSR1)
                crashed = restarted = None
                async for event in events:
                    if not isinstance(event, ModuleEvent) or event.module != "alpha":
                        continue
                    inner = event.event
                    if isinstance(inner, actors.Crashed) and inner.name == "alpha.worker":
                        crashed = inner
                    started = isinstance(inner, actors.Started) and inner.name == "alpha.worker"
                    if started and crashed is not None:
                        break
                    if isinstance(inner, actors.Restarted) and inner.name == "alpha.worker":
                        restarted = inner
                assert crashed is not None
                assert str(crashed.error) == "Boom: crashed on SIGUSR1"
                assert restarted is not None
                assert restarted.incarnation == 2
                tree = await orch.tree("alpha")
                worker = tree.find("alpha.worker")
                assert worker is not None
                assert (worker.incarnation, worker.restarts) == (2, 1)

                # A rotation: the module says it was told, the orchestrator says who acked.
                await orch.rotate("API_KEY", "k2")
                told = acked = False
                async for event in events:
                    if isinstance(event, ModuleEvent) and isinstance(event.event, SecretsRotated):
                        told = told or event.module in ("alpha", "beta")
                    elif isinstance(event, SecretsRotated):
                        assert event.keys == ("API_KEY",)
                        assert event.outcome == {"alpha": "success", "beta": "success"}
                        acked = True
                    if told and acked:
                        break

                # The module process dies: the orchestrator's own events say so, its
                # channels close and open again, and it runs again.
                os.kill(alpha.pid, signal.SIGKILL)
                states: list[str] = []
                channels: list[str] = []
                async for event in events:
                    if isinstance(event, ModuleStateChanged) and event.module == "alpha":
                        states.append(event.state)
                        if event.state == "crashed":
                            assert event.reason == "was killed by signal 9 (SIGKILL)"
                        if event.state == "running":
                            break
                    if isinstance(event, ChannelChanged) and event.module == "alpha":
                        channels.append(event.state)
                assert states == ["crashed", "restarting", "starting", "running"]
                assert channels == ["closed", "closed", "open", "open"]
                assert events.dropped == 0


async def test_the_event_forwarder_crashes_and_events_keep_coming() -> None:
    with trio.fail_after(60):
        async with running(observed("alpha"), secrets={"API_KEY": "k1"}) as run:
            orch = run.orch
            alpha = orch.module("alpha")
            await alpha.wait_announced()
            assert alpha.pid is not None
            async with orch.events() as events:
                os.kill(alpha.pid, signal.SIGUSR2)  # crash the module's forwarder
                # Wait until its new incarnation serves (the tree says so), then crash the
                # worker: that event must still reach the orchestrator, by itself.
                while True:
                    node = (await orch.tree("alpha")).find("pywatt.events")
                    assert node is not None
                    if node.incarnation == 2 and node.state is actors.NodeState.RUNNING:
                        break
                    await trio.sleep(0.05)
                assert node.restarts == 1
                os.kill(alpha.pid, signal.SIGUSR1)
                async for event in events:
                    if (
                        isinstance(event, ModuleEvent)
                        and isinstance(event.event, actors.Crashed)
                        and event.event.name == "alpha.worker"
                    ):
                        break
            assert alpha.state.value == "running"


async def test_a_module_that_gives_up_is_an_orchestrator_event_with_its_reason() -> None:
    policy = RestartPolicy(
        max_restarts=1,
        within=30.0,
        backoff=Backoff(first=0.02, base=0.02, multiplier=1.0, cap=0.05, jitter=0.0),
    )
    with trio.fail_after(30):
        async with running(raw("doomed", "--crash-always", restart=policy)) as run:
            async with run.orch.events() as events:
                states: list[ModuleStateChanged] = []
                gave_up: list[actors.GaveUp] = []
                async for event in events:
                    if isinstance(event, ModuleStateChanged) and event.module == "doomed":
                        states.append(event)
                        if event.state == "gave up":
                            break
                    if isinstance(event, actors.GaveUp):
                        gave_up.append(event)
                    if run.orch.module("doomed").state.final and not states:
                        raise AssertionError("it gave up before the stream opened")
            assert "crashed" in [s.state for s in states]
            assert states[-1].reason == (
                "more than 1 restarts within 30 s (last: exited with code 3)"
            )
            assert [g.name for g in gave_up] == ["pywatt.module.doomed"]

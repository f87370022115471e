"""Faults from outside the module processes: SIGKILL, SIGSTOP/SIGCONT, connections cut at the
orchestrator's listeners, and the orchestrator's hub crashed, each repeated under traffic."""

from __future__ import annotations

import os
import random
import signal
from typing import Final

import trio

from pywatt.orchestrator import ModuleHandle, ModuleState

from ._counts import Counts
from ._rt_run import ALWAYS_RESTART, DRIVER, RECONNECTS, RESUME_WITHIN, TARGET, Run, open_run

KILLED: Final = frozenset({"ModuleUnavailable", "ChannelLost"})
"""A killed callee: the orchestrator answers for it (no open channel / the channel the
request went out on closed before the reply)."""


async def _faults(run: Run, budget: float, allowed: frozenset[str], inject: object) -> None:
    """Traffic from the driver and from the orchestrator to the target while ``inject``
    (an async callable of the run) is called again and again for about ``budget`` seconds,
    each time once the traffic has resumed after the last fault."""
    await run.start_traffic(TARGET)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(run.direct_traffic, TARGET, allowed, stop)
        deadline = trio.current_time() + budget
        while trio.current_time() < deadline:
            await inject(run)  # type: ignore[operator]
            await run.wait_resumed()
        stop.set()
    await run.finish_traffic(allowed)


async def module_kill(budget: float, counts: Counts) -> None:
    """SIGKILL the callee, again and again; the orchestrator restarts it each time."""
    rng = random.Random(1)

    async def kill(run: Run) -> None:
        await trio.sleep(rng.uniform(0.1, 0.5))
        handle = run.orch.module(TARGET)
        pid = handle.pid
        if pid is None or handle.state is not ModuleState.RUNNING:
            return
        os.kill(pid, signal.SIGKILL)
        run.counts.faults_injected += 1
        run.expected_restarts[TARGET] += 1
        with trio.fail_after(RESUME_WITHIN):
            await handle.wait_until(lambda h: _running_again(h, pid))

    async with open_run(counts, restart=ALWAYS_RESTART) as run:
        await _faults(run, budget, KILLED, kill)


def _running_again(handle: ModuleHandle, old_pid: int) -> bool:
    return handle.pid not in (None, old_pid) and handle.state is ModuleState.RUNNING


STOPPED: Final = frozenset({"RequestTimeout", "ChannelLost", "ModuleUnavailable"})
"""A stopped callee: the caller's deadline passes, or the orchestrator closes the silent
channel (three heartbeats) and answers for it."""


async def module_stop(budget: float, counts: Counts) -> None:
    """SIGSTOP the callee for 0.3 to 2.5 s (past the request deadline, and past three
    channel heartbeats), then SIGCONT it, again and again."""
    rng = random.Random(2)

    async def stop(run: Run) -> None:
        await trio.sleep(rng.uniform(0.1, 0.4))
        pid = run.orch.module(TARGET).pid
        if pid is None:
            return
        os.kill(pid, signal.SIGSTOP)
        run.counts.faults_injected += 1
        try:
            await trio.sleep(rng.uniform(0.3, 2.5))
        finally:
            os.kill(pid, signal.SIGCONT)

    async with open_run(counts) as run:
        run.injected_crashes |= RECONNECTS
        await _faults(run, budget, STOPPED, stop)


RESET: Final = frozenset({"ChannelLost", "ModuleUnavailable", "RequestInterrupted", "NoChannel"})
"""A connection cut: the request's channel closed before the reply (at either end), or no
channel of the caller or the callee is up for a moment."""


async def socket_reset(budget: float, counts: Counts) -> None:
    """Cut the modules' channel connections mid-traffic: the orchestrator's listener of the
    callee or of the caller crashed (every connection accepted there closes), or one
    connection actor inside a module crashed (it reconnects)."""
    rng = random.Random(3)
    cuts = [
        ("listener", TARGET, ""),
        ("listener", DRIVER, ""),
        ("connection", TARGET, "pywatt.channels.tcp.0"),
        ("connection", DRIVER, "pywatt.channels.ipc.0"),
        ("connection", TARGET, "pywatt.channels.ipc.0"),
        ("connection", DRIVER, "pywatt.channels.tcp.0"),
    ]
    turn = 0

    async def cut(run: Run) -> None:
        nonlocal turn
        await trio.sleep(rng.uniform(0.05, 0.3))
        kind, module_id, actor = cuts[turn % len(cuts)]
        turn += 1
        if kind == "listener":
            await run.orch.kill_listener(module_id)
            run.counts.faults_injected += 1
        else:  # counted by the module's "sabotage crashing" line
            await run.control(module_id, "sabotage", {"actor": actor})

    async with open_run(counts, lines=False) as run:  # the cuts are on the orchestrator's path
        run.injected_crashes |= {"ListenerKilled", "CrashCommand", *RECONNECTS}
        await _faults(run, budget, RESET, cut)


LINE: Final = frozenset({"ChannelLost"})
"""A direct line cut under a request: the caller's router answers it as the orchestrator
answers for a callee whose channel closed."""


async def line_cut(budget: float, counts: Counts) -> None:
    """Crash the direct line's connection actor mid-traffic, at the caller's end or at the
    callee's: the line ends, requests go through the orchestrator, and a new line is
    granted."""
    rng = random.Random(5)
    turn = 0

    async def cut(run: Run) -> None:
        nonlocal turn
        await trio.sleep(rng.uniform(0.05, 0.3))
        module_id = (DRIVER, TARGET)[turn % 2]
        turn += 1
        await run.control(module_id, "sabotage", {"actor": "pywatt.channels.line.*"})

    async with open_run(counts) as run:
        run.injected_crashes |= {"CrashCommand"}
        await _faults(run, budget, LINE, cut)


HUB: Final = frozenset({"ActorCrashed"})
"""The hub crashed: the orchestrator's own asks in the crashed incarnation's hands fail with
the runtime's ``ActorCrashed``; routes between modules are kept with the hub's name."""


async def hub_crash(budget: float, counts: Counts) -> None:
    """Crash the orchestrator's hub (routing, registration, discovery) every 0.05 to 0.4 s;
    it restarts at once with what listeners and modules told it."""
    rng = random.Random(4)

    async def crash(run: Run) -> None:
        for _ in range(rng.randint(1, 3)):
            await trio.sleep(rng.uniform(0.05, 0.4))
            await run.orch.kill_hub()
            run.counts.faults_injected += 1

    async with open_run(counts, lines=False) as run:  # routes, not lines, cross the hub
        run.injected_crashes.add("HubKilled")
        await _faults(run, budget, HUB, crash)

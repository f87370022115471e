"""Faults inside the module processes: a module's own router or registrar crashed under
traffic, and storms of crashes of the actor serving an endpoint. Each crash is made by the
module's saboteur (``modules/fault_module.py``) with ``actors.testing.crash``."""

from __future__ import annotations

import random
from functools import partial
from typing import Final

import trio

from ._counts import Counts
from ._rt_run import DRIVER, TARGET, Run, open_run

ROUTER_CRASHED: Final = frozenset({"ActorCrashed", "RequestInterrupted"})
"""The caller's router crashed: its asks in flight fail with ``ActorCrashed``. The callee's
router crashed: callers whose handler was running get ``RequestInterrupted`` at once."""


Order = tuple[str, dict[str, object]]
"""A module id and the sabotage request it is sent (see ``modules/fault_module.py``)."""


async def _sabotaged(
    run: Run, budget: float, allowed: frozenset[str], rounds: list[list[Order]],
    *, gap: tuple[float, float], endpoint: str = "echo",
) -> None:  # fmt: skip
    """Traffic from the driver and from the orchestrator to the target's ``endpoint`` while,
    round after round, the modules are told to crash actors of theirs (each round's orders
    at once), each round once the traffic has resumed after the last and ``gap`` seconds
    (drawn from the range) after it, for about ``budget`` seconds."""
    rng = random.Random(len(rounds))
    await run.start_traffic(TARGET, endpoint)
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(partial(run.direct_traffic, TARGET, allowed, stop, endpoint=endpoint))
        deadline = trio.current_time() + budget
        pause = rng.uniform(0.2, 0.5)
        turn = 0
        while trio.current_time() + pause < deadline:
            await trio.sleep(pause)
            async with trio.open_nursery() as orders:
                for module_id, order in rounds[turn % len(rounds)]:
                    orders.start_soon(run.control, module_id, "sabotage", order)
            turn += 1
            await run.wait_resumed()
            pause = rng.uniform(*gap)
        await trio.sleep_until(deadline)  # the traffic runs its whole budget either way
        stop.set()
    await run.finish_traffic(allowed)


async def router_crash(budget: float, counts: Counts) -> None:
    """Crash ``pywatt.router`` of the callee and of the caller at once, mid-traffic, round
    after round. A router restarted after running 5 s (its supervisor's ``within``) is
    started again at once, without a backoff: so a request that times out here lost its way,
    it did not wait for a restart."""
    async with open_run(counts) as run:
        run.injected_crashes.add("CrashCommand")
        both: list[Order] = [
            (TARGET, {"actor": "pywatt.router"}),
            (DRIVER, {"actor": "pywatt.router"}),
        ]
        await _sabotaged(run, budget, ROUTER_CRASHED, [both], gap=(5.2, 5.6))


REGISTRAR_CRASHED: Final = frozenset({"Cancelled", "RequestInterrupted", "ActorStopped"})
"""The registrar takes no part in routing, but the module's root supervisor is rest_for_one
with the services after the registrar: its crash restarts the services too. The caller's own
actor is stopped with its requests in flight (``Cancelled``: nobody is left to wait for
them; the actor is started again and goes on); the callee's router is stopped with
handlers running (their callers get ``RequestInterrupted``) and asks in hand
(``ActorStopped``). What was queued waits in the mailboxes for the next incarnations."""


async def registrar_crash(budget: float, counts: Counts) -> None:
    """Crash ``pywatt.registrar`` of the callee and of the caller, in turn, mid-traffic; the
    modules stay registered with the orchestrator throughout (checked at the end)."""
    async with open_run(counts) as run:
        run.injected_crashes.add("CrashCommand")
        both: list[Order] = [
            (TARGET, {"actor": "pywatt.registrar"}),
            (DRIVER, {"actor": "pywatt.registrar"}),
        ]
        # Under the module's root supervisor (within 10 s): spaced so that each restart is
        # immediate, as for the router.
        await _sabotaged(run, budget, REGISTRAR_CRASHED, [both], gap=(10.2, 10.6))
        for module_id in (TARGET, DRIVER):
            await _check_registered(run, module_id)


async def _check_registered(run: Run, module_id: str) -> None:
    """The module is registered and its registration heartbeats still arrive."""
    record = await run.orch.registration(module_id)
    if record is None:
        run.failure(f"{module_id} is no longer registered with the orchestrator")
        return
    before = record.heartbeats
    with trio.move_on_after(3.0):
        while True:
            await trio.sleep(0.1)
            record = await run.orch.registration(module_id)
            if record is not None and record.heartbeats > before:
                return
    run.failure(f"{module_id}'s registration heartbeats stopped")


STORM: Final = frozenset({"ActorCrashed"})
"""The actor serving the endpoint crashed with the request in hand: the router answers the
caller with the runtime's ``ActorCrashed``; requests queued behind it go to the next
incarnation."""


async def crash_storm(budget: float, counts: Counts) -> None:
    """Crash the callee's ``worker`` (the actor behind its ``work`` endpoint, under a
    supervisor that restarts it without limit) 10 to 40 times in quick succession, again
    and again, while both callers ask ``work``: from outside (``actors.testing.crash``: the
    message in hand is finished first) and by poison messages queued among the requests."""
    rng = random.Random(6)
    async with open_run(counts) as run:
        run.injected_crashes.add("CrashCommand")
        storms: list[list[Order]] = [
            [(TARGET, {"actor": "worker", "times": rng.randint(10, 40), "poison": poison})]
            for poison in [False, True] * 8
        ]
        await _sabotaged(run, budget, STORM, storms, gap=(0.05, 0.3), endpoint="work")

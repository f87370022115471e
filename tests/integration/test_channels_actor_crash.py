"""The channels actor of a module crashed mid-traffic, between real module processes and the
embedded orchestrator: requests in flight both ways (the orchestrator asking the module, the
module asking another module through the orchestrator) each get an answer or a typed error,
none hangs, and traffic resumes by itself. The connections, the subscriptions and the
registration outlive the crash: the module is not restarted and its heartbeats go on."""

from __future__ import annotations

from collections.abc import Iterable

import trio

from pywatt.channels import CHANNELS_ACTOR
from pywatt.orchestrator import ModuleCallFailed, ModuleSpec, Orchestrator

from .conftest import MODULES
from .test_channels_between_modules import orchestrated
from .test_module_actor_restarts import _heartbeats, _wait_heartbeats

MODULE = str(MODULES / "crashes_its_own.py")
CALLERS = 4
BEFORE, AFTER = 20, 20
"""Answers wanted before the first crash, and after each crash."""
REQUEST_DEADLINE = 15.0
"""Far above any answer's time, even on a loaded machine: a request that takes this long
is a request that hangs."""


def _crashes(stderr: Iterable[str]) -> int:
    """How many crashes of the channels actor the module has logged."""
    return sum(f"actor {CHANNELS_ACTOR} " in line and "crashed" in line for line in stderr)


async def test_a_crashed_channels_actor_loses_no_request_and_traffic_resumes() -> None:
    with trio.fail_after(120):
        specs = (ModuleSpec.from_command("m", MODULE), ModuleSpec.from_command("n", MODULE))
        async with orchestrated(*specs) as (orch, lines):
            await orch.module("m").wait_announced()
            await orch.module("n").wait_announced()
            await _wait_heartbeats(orch, "m", 1)
            await _traffic_through_crashes(orch)
            assert orch.module("m").restarts == 0
            assert not any("internal error" in line for line in lines)


async def _traffic_through_crashes(orch: Orchestrator) -> None:
    answers = 0
    errors: list[str] = []
    changed = trio.Event()

    async def call(endpoint: str, payload: object) -> None:
        nonlocal answers, changed
        with trio.fail_after(REQUEST_DEADLINE):  # no request hangs
            try:
                value = await orch.request("m", endpoint, payload)
            except ModuleCallFailed as exc:  # a typed outcome: counted, never a hang
                errors.append(exc.error_type)
            else:
                assert isinstance(value, int)
                assert value >= 1
                answers += 1
        changed.set()
        changed = trio.Event()

    async def caller(k: int) -> None:
        while True:  # in turn: the orchestrator asks m; m asks n through the orchestrator
            await call("count", {})
            await call("relay", {"to": "n"})

    async def answered(count: int) -> None:
        while answers < count:
            await changed.wait()

    async with trio.open_nursery() as nursery:
        for k in range(CALLERS):
            nursery.start_soon(caller, k)
        await answered(BEFORE)
        for crashes in (1, 2):
            await orch.request("m", "crash", {"actor": CHANNELS_ACTOR})
            await orch.module("m").wait_until(lambda h, n=crashes: _crashes(h.stderr) == n)
            # Traffic resumes by itself: more answers, both ways, with nobody's help.
            await answered(answers + AFTER)
        # The registrar's heartbeats (a Send and a ChannelHealth to the channels actor
        # each) go on too.
        await _wait_heartbeats(orch, "m", await _heartbeats(orch, "m") + 2)
        nursery.cancel_scope.cancel()
    assert errors == [], errors  # the writer was asked for again: nothing was lost

"""Direct lines between two real pywatt modules under the embedded orchestrator
(docs/protocol-extensions.md §12): requests stop passing through the orchestrator once the
line is up, what one module sends the other keeps its order across the switch, a restart of
either end mid-traffic costs typed errors and then traffic resumes on a new line by itself,
the lines actor can crash without losing the line, a stranger on the line socket is turned
away at no cost to the traffic, and ``PYWATT_DIRECT_LINES=0`` keeps a module off lines."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import msgpack
import pytest
import trio

from actors import Backoff
from pywatt.channels import STALL_LIMIT
from pywatt.orchestrator import (
    ModuleSpec,
    ModuleState,
    Orchestrator,
    RestartPolicy,
)
from pywatt.testing import open_module
from pywatt.wire import (
    EXIT_CANNOT_START,
    FrameFormat,
    encode_frame,
    line_hello_frame,
    line_proof,
)

from ..http.prom import value
from .conftest import MODULES
from .helpers import orchestrated

LINER = str(MODULES / "liner.py")


@asynccontextmanager
async def liners(
    *ids: str, env: dict[str, dict[str, str]] | None = None
) -> AsyncIterator[tuple[Orchestrator, list[str]]]:
    """Modules ``ids`` (each tests/integration/modules/liner.py) under the orchestrator,
    each announced with its channels open; restarted at once when they crash."""
    specs = [
        ModuleSpec.from_command(
            i,
            LINER,
            env=(env or {}).get(i, {}),
            restart=RestartPolicy(backoff=Backoff(first=0.0, base=0.05, cap=0.2, jitter=0.0)),
        )
        for i in ids
    ]
    async with orchestrated(*specs, grace=2.0, term_grace=1.0) as (orch, lines):
        for i in ids:
            await orch.module(i).wait_announced()
            await orch.wait_channels(i)
        yield orch, lines


async def _routed(orch: Orchestrator) -> int:
    return (await orch.routing_statistics()).routed


async def _wait_line(orch: Orchestrator, count: int = 1, target: str = "b") -> None:
    """Until the orchestrator has granted ``count`` lines, asking a→``target`` meanwhile
    (the asks are what make a want one)."""
    n = 0
    while (await orch.routing_statistics()).lines_granted < count:
        n += 1
        assert await orch.request("a", "ask", {"target": target, "value": n}) == n


async def _wait_off_the_hub(orch: Orchestrator, target: str = "b") -> None:
    """Until a's requests to ``target`` no longer pass through the orchestrator (the line is
    up: granted is not enough, it may still be opening)."""
    while True:
        before = await _routed(orch)
        for n in range(3):
            assert await orch.request("a", "ask", {"target": target, "value": n}) == n
        if await _routed(orch) == before:  # (the orchestrator's own asks are not "routed")
            return


async def test_requests_go_on_a_direct_line_once_it_is_up() -> None:
    with trio.fail_after(60):
        async with liners("a", "b") as (orch, lines):
            await _wait_line(orch)
            await _wait_off_the_hub(orch)
            before = await _routed(orch)
            result = await orch.request("a", "load", {"target": "b", "seconds": 0.5})
            assert result["errors"] == {}
            assert result["ok"] > 100
            assert await _routed(orch) == before  # nothing of a→b passed the orchestrator
            stats = await orch.routing_statistics()
            assert (stats.lines_granted, stats.lines_refused) == (1, 0)
            # Each end's metrics show its end of the line, named by direction and peer.
            out = {"channel": "pywatt.channels.line.to.b", "kind": "ipc"}
            into = {"channel": "pywatt.channels.line.from.a", "kind": "ipc"}
            page_a = await orch.request("a", "metrics", None)
            page_b = await orch.request("b", "metrics", None)
    assert value(page_a, "pywatt_channel_up", **out) == 1
    assert (value(page_a, "pywatt_channel_frames_out_total", **out) or 0) >= result["ok"]
    assert (value(page_b, "pywatt_channel_frames_in_total", **into) or 0) >= result["ok"]
    assert any("direct line to b open" in line for line in lines), lines


@pytest.mark.parametrize("every", [0, 7])
async def test_what_a_sends_b_keeps_its_order_across_the_switch(every: int) -> None:
    """a sends b 3,000 numbered messages as fast as it can from the moment it starts: the
    first go through the orchestrator, the line comes up in the middle, the rest go on it;
    b handles them in the order they were sent (``every``: every 7th is a request)."""
    count = 3000
    with trio.fail_after(60):
        async with liners("a", "b") as (orch, _):
            assert await orch.request("a", "burst", {"target": "b", "count": count,
                                                     "every": every}) == "sent"  # fmt: skip
            seen = await orch.request("b", "seen", {"count": count})
            assert seen == list(range(count))
            stats = await orch.routing_statistics()
            assert stats.lines_granted == 1
            assert stats.routed < count  # the line took part of the burst


@pytest.mark.parametrize("victim", ["a", "b"])
async def test_a_restart_of_either_end_mid_traffic_resumes_on_a_new_line(victim: str) -> None:
    """A steady stream of requests a→b over a line; one end is killed. Requests fail with
    typed errors while it is down (none hangs past its timeout) and succeed again once it is
    back, on a new line, with nobody doing anything."""
    with trio.fail_after(90):
        async with liners("a", "b") as (orch, _):
            await _wait_line(orch)
            await _wait_off_the_hub(orch)
            handle = orch.module(victim)
            pid = handle.pid
            assert pid is not None
            async with trio.open_nursery() as nursery:
                if victim == "b":  # a keeps asking while b goes down and comes back
                    loads: list[dict[str, object]] = []

                    async def load() -> None:
                        loads.append(
                            await orch.request("a", "load", {"target": "b", "seconds": 4.0})
                        )

                    nursery.start_soon(load)
                    await trio.sleep(0.5)
                os.kill(pid, signal.SIGKILL)
                await handle.wait_until(lambda h: h.pid not in (None, pid))
                await handle.wait_announced()
                await orch.wait_channels(victim)
            if victim == "b":
                (result,) = loads
                assert result["ok"] > 50
                assert set(result["errors"]) <= {  # type: ignore[arg-type]
                    "RequestInterrupted", "ModuleUnavailable", "ChannelLost", "RequestTimeout",
                }  # fmt: skip
            await _wait_line(orch, 2)
            await _wait_off_the_hub(orch)
            result = await orch.request("a", "load", {"target": "b", "seconds": 0.3})
            assert result["errors"] == {}
            assert result["ok"] > 50


async def test_a_peer_that_reads_nothing_does_not_hold_up_its_callers_router() -> None:
    """b stops (SIGSTOP) while a floods it with notifications over their line: a's outbox
    for the line fills and a's router waits for room; within the stall limit the line is
    closed, and a notification from a to c, behind the flood in a's router, arrives."""
    with trio.fail_after(60):
        async with liners("a", "b", "c") as (orch, lines):
            await _wait_line(orch, 1, "b")
            await _wait_off_the_hub(orch, "b")  # the flood must go on the line, not the hub
            await _wait_line(orch, 2, "c")
            await _wait_off_the_hub(orch, "c")
            pid = orch.module("b").pid
            assert pid is not None
            os.kill(pid, signal.SIGSTOP)
            try:
                async with trio.open_nursery() as nursery:

                    async def flood() -> None:
                        with contextlib.suppress(Exception):  # b may be dropped meanwhile
                            flood = {"target": "b", "count": 48, "size": 256 * 1024}
                            await orch.request("a", "flood", flood)

                    nursery.start_soon(flood)
                    with trio.fail_after(20):  # until a's router is stuck behind the full line
                        while True:
                            with trio.move_on_after(0.2) as stuck:
                                await orch.request("a", "burst", {"target": "c", "count": 1})
                            if stuck.cancelled_caught:
                                break
                    start = trio.current_time()
                    assert await orch.request("a", "burst", {"target": "c", "count": 1}) == "sent"
                    assert trio.current_time() - start < STALL_LIMIT + 5
                    nursery.cancel_scope.cancel()
            finally:
                os.kill(pid, signal.SIGCONT)
    assert any("read nothing for 5 s" in line for line in lines), lines


async def test_the_lines_actor_crashes_mid_traffic_and_the_line_carries_on() -> None:
    with trio.fail_after(60):
        async with liners("a", "b") as (orch, _):
            await _wait_line(orch)
            await _wait_off_the_hub(orch)
            async with trio.open_nursery() as nursery:
                loads: list[dict[str, object]] = []

                async def load() -> None:
                    loads.append(await orch.request("a", "load", {"target": "b", "seconds": 1.5}))

                nursery.start_soon(load)
                for module in ("a", "b"):
                    await _crash(orch, module, "pywatt.channels.lines")
            (result,) = loads
            assert result["errors"] == {}
            assert result["ok"] > 100
            await _wait_off_the_hub(orch)  # the same line: no new grant was needed
            assert (await orch.routing_statistics()).lines_granted == 1


async def _crash(orch: Orchestrator, module_id: str, actor: str) -> None:
    """Crash ``actor`` in ``module_id``; return once its next incarnation runs."""
    await orch.request(module_id, "crash", {"actor": actor})
    incarnation = {"actor": actor}
    while await orch.request(module_id, "incarnation", incarnation) < 2:  # noqa: ASYNC110 (asked of the module)
        await trio.sleep(0.01)


def _line_socket(orch: Orchestrator, module_id: str) -> str:
    path = orch.endpoints(module_id).socket_path
    assert path is not None
    assert path.endswith(".sock")
    return path[: -len(".sock")] + ".line.sock"


async def _turned_away(path: str, first: bytes) -> bytes:
    """Connect to ``path``, send ``first``; what comes back before the module closes."""
    stream = await trio.open_unix_socket(path)
    got = b""
    async with stream:
        await stream.send_all(first)
        while data := await stream.receive_some(4096):
            got += data
    return got


async def test_a_stranger_on_the_line_socket_is_turned_away_and_traffic_goes_on() -> None:
    with trio.fail_after(60):
        async with liners("a", "b") as (orch, lines):
            await _wait_line(orch)
            path = _line_socket(orch, "b")
            assert oct(os.stat(path).st_mode & 0o777) == "0o600"
            garbage = b"\x00\x00\x00\x05\x04hello"
            nonce = os.urandom(16)
            forged = line_hello_frame("a", nonce, line_proof("a guess", nonce, accept=False))
            not_hello = encode_frame(FrameFormat.MSGPACK, msgpack.packb({"line": "accept"}))
            async with trio.open_nursery() as nursery:
                loads: list[dict[str, object]] = []

                async def load() -> None:
                    loads.append(await orch.request("a", "load", {"target": "b", "seconds": 1.0}))

                nursery.start_soon(load)
                for first in (garbage, forged, not_hello):
                    assert await _turned_away(path, first) == b""
            (result,) = loads
            assert result["errors"] == {}
            refusals = [line for line in lines if "refused a connection to the line socket" in line]
            assert len(refusals) == 3, refusals


async def test_pywatt_direct_lines_0_keeps_a_module_off_lines() -> None:
    with trio.fail_after(60):
        async with liners("a", "b", env={"a": {"PYWATT_DIRECT_LINES": "0"}}) as (orch, _):
            before = await _routed(orch)
            for n in range(20):
                assert await orch.request("a", "ask", {"target": "b", "value": n}) == n
            assert await _routed(orch) - before == 20  # every a→b request
            stats = await orch.routing_statistics()
            assert stats.lines_granted == 0
            # b takes lines (it declared its socket): a never asked for one.
            assert await trio.Path(_line_socket(orch, "b")).exists()


async def test_another_value_of_pywatt_direct_lines_stops_the_start_saying_how() -> None:
    async with open_module(
        LINER,
        env={"PYWATT_DIRECT_LINES": "maybe"},
        restart=RestartPolicy(max_restarts=0, within=30.0),
        wait_announced=None,
    ) as module:
        with trio.fail_after(20):
            line = await module.handle.wait_stderr("PYWATT_DIRECT_LINES='maybe'")
            await module.handle.wait_until(lambda h: h.state is ModuleState.FAILED)
        assert "say 0 to send every request through the orchestrator" in line
        assert module.handle.last_exit == EXIT_CANNOT_START

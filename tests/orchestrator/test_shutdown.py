"""Shutdown: the shutdown line, then SIGTERM, then SIGKILL; reverse start order."""

from __future__ import annotations

import os
import signal

import trio

from pywatt.orchestrator import ModuleState

from .helpers import events, raw, running


async def test_a_module_that_ignores_everything_gets_shutdown_then_sigterm_then_sigkill() -> None:
    with trio.fail_after(10):
        async with running(raw("stubborn", "--ignore-shutdown"), grace=0.3, term_grace=0.3) as run:
            stubborn = run.orch.module("stubborn")
            await stubborn.wait_announced()
            started = trio.current_time()
            await run.orch.stop_module("stubborn")
            elapsed = trio.current_time() - started
    assert stubborn.state is ModuleState.STOPPED
    assert stubborn.last_exit == -signal.SIGKILL
    assert elapsed >= 0.6  # two grace periods
    # The module saw the line, then the EOF, then SIGTERM, and was then killed.
    seen = [e["event"] for e in events(stubborn)]
    assert seen[-3:] == ["shutdown_received", "stdin_eof", "sigterm_ignored"]
    first = run.index("stopping stubborn")
    term = run.index("stubborn did not exit within 0.3 s of the shutdown line; sending SIGTERM")
    kill = run.index("stubborn did not exit within 0.3 s of SIGTERM; sending SIGKILL")
    done = run.index("stubborn stopped (was killed by signal 9 (SIGKILL))")
    assert first < run.index("-> stubborn: shutdown") < term < kill < done


async def test_a_well_behaved_module_exits_on_the_shutdown_line_without_signals() -> None:
    with trio.fail_after(10):
        async with running(raw("polite"), grace=5.0) as run:
            polite = run.orch.module("polite")
            await polite.wait_announced()
            started = trio.current_time()
            await run.orch.stop_module("polite")
            assert trio.current_time() - started < 2.0
    assert polite.last_exit == 0
    assert "SIGTERM" not in run.text()
    assert "polite stopped (exited with code 0)" in run.text()


async def test_leaving_the_orchestrator_stops_modules_in_reverse_start_order() -> None:
    with trio.fail_after(10):
        async with running(raw("first"), raw("second"), raw("third")) as run:
            for handle in run.orch.modules:
                await handle.wait_announced()
    order = [run.index(f"stopping {name}") for name in ("third", "second", "first")]
    stopped = [run.index(f"{name} stopped") for name in ("third", "second", "first")]
    assert order == sorted(order)
    # Each module is fully stopped before the next one is asked.
    assert order[0] < stopped[0] < order[1] < stopped[1] < order[2] < stopped[2]
    assert "shutting down: third, second, first" in run.text()
    assert all(h.state is ModuleState.STOPPED for h in run.orch.modules)


async def test_stopping_one_module_leaves_the_others_running() -> None:
    with trio.fail_after(10):
        async with running(raw("a"), raw("b")) as run:
            a, b = run.orch.modules
            await a.wait_announced()
            await b.wait_announced()
            await run.orch.stop_module("a")
            assert a.state is ModuleState.STOPPED
            assert a.restarts == 0
            assert b.state is ModuleState.RUNNING
            assert b.pid is not None
            statuses = {s.id: s.state for s in run.orch.status()}
            assert statuses == {"a": "stopped", "b": "running"}


async def test_a_cancelled_orchestrator_leaves_no_process_behind() -> None:
    pids: list[int] = []
    with trio.move_on_after(5) as outer:
        async with running(raw("stubborn", "--ignore-shutdown"), raw("polite")) as run:
            for handle in run.orch.modules:
                await handle.wait_announced()
                assert handle.pid is not None
                pids.append(handle.pid)
            outer.cancel()  # a hard stop: no graceful shutdown sequence
    assert outer.cancelled_caught
    assert len(pids) == 2
    for pid in pids:  # killed and reaped: not even a zombie is left
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            continue
        raise AssertionError(f"process {pid} is still there")

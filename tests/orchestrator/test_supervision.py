"""Supervision: a crashed module is restarted with backoff; past its limit it is given up on."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

import actors.testing
from actors import Backoff, Restart
from pywatt.orchestrator import ModuleNotRunning, ModuleState, RestartPolicy
from pywatt.orchestrator.processes import WATCHER_NAME, ModuleProcess
from pywatt.wire import IpcPortNegotiation

from .helpers import raw, running


async def test_a_crashed_module_is_restarted_and_announces_again(tmp_path: Path) -> None:
    marker = tmp_path / "crashed-once"
    with trio.fail_after(10):
        async with running(raw("flaky", "--crash-once", str(marker))) as run:
            flaky = run.orch.module("flaky")
            await flaky.wait_until(lambda h: h.restarts == 1 and h.state is ModuleState.RUNNING)
            first_pid = flaky.init_blob
            assert flaky.incarnation == 2
            assert flaky.pid is not None
            assert flaky.last_exit == 3
    assert first_pid is not None
    assert marker.exists()
    text = run.text()
    assert "flaky exited with code 3 without being asked to" in text
    assert "restarting flaky in 0.05 s (restart 1)" in text
    assert run.index("flaky exited with code 3") < run.index("restarting flaky")
    # The crashed process's stderr came out before the crash was reported.
    assert run.index("ERROR crashing") < run.index("flaky exited with code 3")


async def test_a_module_that_keeps_crashing_is_given_up_while_the_other_runs() -> None:
    policy = RestartPolicy(
        max_restarts=2,
        within=30.0,
        backoff=Backoff(first=0.02, base=0.02, multiplier=1.0, cap=0.05, jitter=0.0),
    )
    with trio.fail_after(10):
        async with running(raw("doomed", "--crash-always", restart=policy), raw("steady")) as run:
            doomed = run.orch.module("doomed")
            steady = run.orch.module("steady")
            await doomed.wait_until(lambda h: h.state is ModuleState.GAVE_UP)
            # The other module is untouched and still served.
            await steady.wait_announced()
            assert steady.state is ModuleState.RUNNING
            assert steady.restarts == 0
            result = await run.orch.rotate("ANY", "value-x")
            assert result.outcomes == {}
            try:
                await doomed.wait_announced()
            except ModuleNotRunning as exc:
                assert exc.state == "gave up"
            else:
                raise AssertionError("waiting on a module that gave up must raise")
            assert steady.pid is not None
    assert doomed.restarts == 2
    assert doomed.incarnation == 3
    assert "gave up on doomed: more than 2 restarts within 30 s (last: exited with code 3); " \
           "the other modules keep running" in run.text()  # fmt: skip
    assert steady.state is ModuleState.STOPPED


async def test_transient_module_that_exits_cleanly_is_not_restarted() -> None:
    policy = RestartPolicy(restart=Restart.TRANSIENT)
    with trio.fail_after(10):
        async with running(raw("job", "--crash-always", "--exit-code", "0", restart=policy)) as run:
            job = run.orch.module("job")
            await job.wait_until(lambda h: h.state.final)
            await run.orch.wait_all_ended()
    assert job.state is ModuleState.EXITED
    assert job.restarts == 0
    assert "job exited with code 0 without being asked to" in run.text()


async def test_a_module_whose_command_cannot_start_is_marked_failed(tmp_path: Path) -> None:
    script = tmp_path / "gone.sh"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    from pywatt.orchestrator import ModuleSpec

    spec = ModuleSpec.from_command("gone", str(script))
    script.unlink()
    with trio.fail_after(10):
        async with running(spec, raw("fine")) as run:
            assert run.orch.module("gone").state is ModuleState.FAILED
            await run.orch.module("fine").wait_announced()
    assert "cannot start gone" in run.text()


async def test_an_orchestrator_fault_stops_the_live_process_and_restarts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = ModuleProcess._handle
    failed: list[int] = []

    async def faulty(self: ModuleProcess, message: object) -> None:
        if isinstance(message, IpcPortNegotiation) and not failed:
            failed.append(self.handle.incarnation)
            raise RuntimeError("bug while answering a port request")
        await original(self, message)  # type: ignore[arg-type]

    monkeypatch.setattr(ModuleProcess, "_handle", faulty)
    with trio.fail_after(10):
        async with running(raw("app", "--port-request", "any"), grace=2.0) as run:
            app = run.orch.module("app")
            await app.wait_until(lambda h: h.incarnation == 2 and h.announce is not None)
    assert failed == [1]
    assert app.restarts == 1
    text = run.text()
    assert "internal error in actor pywatt.module.app.process: RuntimeError" in text
    # The first process was shut down properly (it was alive), not left behind.
    assert "the orchestrator failed while serving app; its process was stopped" in text
    assert run.index("the orchestrator failed while serving app") < run.index("restarting app")


async def test_a_crashed_watcher_still_reports_a_module_that_gives_up() -> None:
    """The supervision watcher crashes while a module keeps crashing: its next incarnation
    watches that module again (what it was told is kept with its name) and reports the
    give-up; the module that runs on is reported stopped at the end."""
    policy = RestartPolicy(
        max_restarts=3,
        within=30.0,
        backoff=Backoff(first=0.2, base=0.2, multiplier=1.0, cap=0.2, jitter=0.0),
    )
    with trio.fail_after(20):
        async with running(raw("doomed", "--crash-always", restart=policy), raw("steady")) as run:
            doomed = run.orch.module("doomed")
            await doomed.wait_until(lambda h: h.restarts >= 1)
            system = run.orch._system  # fault injection into the orchestrator's own actor
            assert await actors.testing.crash(system, WATCHER_NAME) == 1
            await doomed.wait_until(lambda h: h.state is ModuleState.GAVE_UP)
            assert system.statistics(WATCHER_NAME).incarnation == 2
    assert "gave up on doomed: more than 3 restarts" in run.text()
    assert run.orch.module("steady").state is ModuleState.STOPPED

"""``open_module`` for a module that does not start, and restarts only when asked: real
module processes under the embedded orchestrator."""

from __future__ import annotations

from pathlib import Path

import pytest
import trio

from pywatt.orchestrator import ModuleNotRunning, ModuleState
from pywatt.testing import ModuleFailedToStart, open_module
from pywatt.wire import EXIT_CANNOT_START

ROOT = Path(__file__).resolve().parents[2]
CRASHES_AT_START = ROOT / "tests" / "integration" / "modules" / "crashes_at_start.py"
CANNOT_START = ROOT / "tests" / "orchestrator" / "modules" / "cannot_start.py"
SLOW_START = Path(__file__).parent / "modules" / "slow_start.py"
FLAKY = ROOT / "examples" / "flaky.py"


async def test_a_module_that_crashes_at_start_is_module_failed_to_start_with_its_stderr() -> None:
    with trio.fail_after(30), pytest.raises(ModuleFailedToStart) as caught:
        async with open_module(CRASHES_AT_START, echo=lambda line: None):
            pytest.fail("the module announced")
    error = caught.value
    assert isinstance(error, ModuleNotRunning)  # what open_module raised before
    assert error.module_id == "crashes_at_start"
    assert error.exit_status == 1
    assert error.state == ModuleState.EXITED.value
    assert any("crashing at start on purpose" in line for line in error.stderr_tail)
    message = str(error)
    assert message.startswith(
        "module 'crashes_at_start' failed to start: it exited with code 1 before announcing; "
        "its last stderr lines:\n  | "
    )
    assert "  | ERROR module crashes_at_start: main raised" in message
    assert "RuntimeError: crashing at start on purpose" in message


async def test_a_module_that_cannot_start_carries_exit_status_78_and_its_one_line() -> None:
    with trio.fail_after(30), pytest.raises(ModuleFailedToStart) as caught:
        async with open_module(CANNOT_START, env={"CANNOT_START": "secret"}, echo=print):
            pytest.fail("the module announced")
    error = caught.value
    assert error.exit_status == EXIT_CANNOT_START
    assert "it exited with code 78 before announcing" in str(error)
    assert "  | ERROR module cannot_start cannot start: secret 'JWT_SECRET' not found" in str(error)


async def test_a_module_that_does_not_announce_in_time_is_stopped_and_says_so() -> None:
    with trio.fail_after(30), pytest.raises(ModuleFailedToStart) as caught:
        # 4 s: time for its first line even on a loaded machine; it would take 60.
        async with open_module(SLOW_START, wait_announced=4.0, echo=lambda line: None):
            pytest.fail("the module announced")
    error = caught.value
    assert error.exit_status is None  # it was still running at the deadline
    assert error.state == ModuleState.STARTING.value
    assert str(error).startswith(
        "module 'slow_start' failed to start: it did not announce within 4 s"
    )
    assert "  | INFO warming up slowly" in str(error)


async def test_a_module_is_not_restarted_unless_the_test_asks(tmp_path: Path) -> None:
    env = {"FLAKY_STATE_DIR": str(tmp_path)}
    async with open_module(FLAKY, env=env, echo=lambda line: None) as module:
        with trio.fail_after(20):
            # flaky.py exits with status 3 a second and a half after it announced
            await module.handle.wait_until(lambda h: h.state.final)
        assert module.handle.state is ModuleState.EXITED
        assert module.handle.last_exit == 3
        assert module.restarts == 0
        assert module.handle.incarnation == 1

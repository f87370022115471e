"""A module that cannot start is said in one line and, when restarting cannot fix it (a
secret that is not set, a configuration error), it is not restarted; ``pywatt run`` then
exits non-zero."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

MODULE = str(Path(__file__).parent / "modules" / "cannot_start.py")


async def _pywatt_run(how: str, *args: str) -> tuple[int, str]:
    env = {**os.environ, "CANNOT_START": how}
    with trio.fail_after(60):
        done = await trio.run_process(
            [sys.executable, "-m", "pywatt", "run", MODULE, "--no-control", *args],
            capture_stdout=True,
            stderr=subprocess.STDOUT,
            env=env,
            check=False,
        )
    return done.returncode, done.stdout.decode()


@pytest.mark.parametrize(
    ("how", "line"),
    [
        (
            "secret",
            "[cannot_start] ERROR module cannot_start cannot start: secret 'JWT_SECRET' not "
            "found: it is not set: pass --secret JWT_SECRET=... or add it to the secrets file",
        ),
        ("config", "[cannot_start] ERROR module cannot_start cannot start: cache_config"),
    ],
)
async def test_a_failure_restarting_cannot_fix_is_one_line_no_restart_and_exit_1(
    how: str, line: str
) -> None:
    status, out = await _pywatt_run(how)
    assert status == 1, out
    assert line in out
    assert out.count("cannot_start started (pid") == 1  # not restarted
    assert "pywatt: error: cannot_start cannot start and restarting will not help" in out
    assert out.rstrip().endswith("pywatt: error: these modules failed: cannot_start")
    assert "Traceback" not in out
    assert out.count("cannot start:") == 1  # said once, by the module


async def test_a_failure_a_restart_may_fix_is_still_restarted() -> None:
    status, out = await _pywatt_run("crash", "--for", "30")
    # Restarted by its policy until the policy gives up; then pywatt run fails.
    assert out.count("cannot_start started (pid") > 1, out
    assert "gave up on cannot_start" in out
    assert status == 1

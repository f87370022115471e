"""A module that cannot start is said in one line and, when restarting cannot fix it (a
secret that is not set, a configuration error), it is not restarted; ``pywatt run`` then
exits non-zero."""

from __future__ import annotations

import os
import signal
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


@pytest.mark.parametrize(
    ("how", "line"),
    [
        (
            "option",
            "[cannot_start] pywatt: module cannot_start cannot start: unknown module option "
            "'secretz' (did you mean 'secrets'?)\n",
        ),
        (
            "cachekey",
            "cannot start: cache_config for memory: unknown key 'max_sise' "
            "(did you mean 'max_size'?)\n",
        ),
        (
            "import",
            "[cannot_start] ModuleNotFoundError: No module named "
            "'pywatt_tests_no_such_package' (at cannot_start.py:22; -v shows the traceback)\n",
        ),
    ],
)
async def test_a_mistake_in_the_code_is_one_line_with_a_hint_and_no_restart(
    how: str, line: str
) -> None:
    status, out = await _pywatt_run(how)
    assert status == 1, out
    assert line in out
    assert out.count("cannot_start started (pid") == 1  # not restarted
    assert "restarting will not help" in out
    assert "Traceback" not in out


async def test_verbose_shows_the_traceback_behind_the_line() -> None:
    status, out = await _pywatt_run("import", "-v")
    assert status == 1, out
    assert "[cannot_start] Traceback (most recent call last):" in out
    assert (
        "[cannot_start] ModuleNotFoundError: No module named 'pywatt_tests_no_such_package'\n"
        in out
    )
    assert out.count("cannot_start started (pid") == 1


async def test_a_module_still_crashing_when_for_elapses_fails_the_run() -> None:
    # Long enough for a first crash even on a loaded machine (its restarts come quickly).
    status, out = await _pywatt_run("crash", "--for", "6")
    assert "--for 6 s elapsed" in out, out
    assert out.rstrip().endswith("pywatt: error: these modules failed: cannot_start")
    assert status == 1
    assert "main raised (RuntimeError: boom; -v shows the traceback)" in out
    assert "Traceback" not in out


async def _signal_run(how: str, wait_for: bytes, signum: signal.Signals) -> tuple[int, str]:
    """``pywatt run`` of the module, sent ``signum`` once ``wait_for`` is in its output;
    its exit status and everything it printed."""
    env = {**os.environ, "CANNOT_START": how}
    with trio.fail_after(30):
        process = await trio.lowlevel.open_process(
            [sys.executable, "-m", "pywatt", "run", MODULE, "--no-control"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
        assert process.stdout is not None
        out = b""
        async for chunk in process.stdout:
            out += chunk
            if wait_for in out:
                break
        process.send_signal(signum)
        async for chunk in process.stdout:
            out += chunk
        return await process.wait(), out.decode()


async def test_a_module_crashing_when_the_run_is_stopped_fails_the_run() -> None:
    # Stopped once it has crashed (SIGTERM: a normal stop, so only the crash can fail it).
    status, text = await _signal_run("crash", b"restarting cannot_start in", signal.SIGTERM)
    assert status == 1, text
    assert text.rstrip().endswith("pywatt: error: these modules failed: cannot_start")


async def test_ctrl_c_during_start_up_stops_at_once_with_130() -> None:
    status, text = await _signal_run("loading", b"cannot_start started (pid", signal.SIGINT)
    assert status == 130, text
    pid = int(text.split("cannot_start started (pid ", 1)[1].split(")", 1)[0])
    assert "cannot_start stopped (was killed by signal 15 (SIGTERM))" in text
    assert "did not exit within" not in text  # no grace spent on a module still loading
    assert "Traceback" not in text
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not orphaned


async def test_a_secrets_file_that_is_missing_is_one_line_and_exit_2(tmp_path: Path) -> None:
    status, out = await _pywatt_run("secret", "--secrets-file", str(tmp_path / "nope.env"))
    assert status == 2
    missing = tmp_path / "nope.env"
    reason = "cannot read the secrets file: No such file or directory"
    assert out == f"pywatt: error: {missing}: {reason}\n"


async def test_a_misspelt_manifest_key_gets_a_suggestion(tmp_path: Path) -> None:
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text(f'[modules.a]\ncommand = {MODULE!r}\nrestrat = "never"\n')
    status, out = await _pywatt_run("secret", "--manifest", str(manifest))
    assert status == 2
    assert "modules.a.restrat: unknown key (did you mean 'restart'?)" in out
    assert len(out.splitlines()) == 1

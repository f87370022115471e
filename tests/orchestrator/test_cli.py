"""The ``pywatt`` command end to end: run, and rotate / reload / status / stop over the socket."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from .helpers import PYTHON, RAW

PYWATT_SCRIPT = str(Path(sys.executable).with_name("pywatt"))


class Background:
    """A ``pywatt run`` process whose output is collected as it comes."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.output = ""
        self._changed = trio.Event()

    async def collect(self) -> None:
        assert self.process.stdout is not None
        async for chunk in self.process.stdout:
            self.output += chunk.decode()
            self._changed.set()
            self._changed = trio.Event()
        self._changed.set()

    async def wait_for(self, text: str, timeout: float = 10.0) -> None:
        with trio.move_on_after(timeout):
            while text not in self.output:
                if self.process.returncode is not None:
                    raise AssertionError(f"exited before printing {text!r}:\n{self.output}")
                await self._changed.wait()
            return
        raise AssertionError(f"no {text!r} within {timeout} s in:\n{self.output}")


@asynccontextmanager
async def background(*args: str, cwd: Path | None = None) -> AsyncIterator[Background]:
    process = await trio.lowlevel.open_process(
        [PYTHON, "-m", "pywatt", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=cwd,
    )
    run = Background(process)
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(run.collect)
            yield run
            with trio.fail_after(10):
                await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def pywatt(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return await trio.run_process(
        [PYTHON, "-m", "pywatt", *args],
        capture_stdout=True,
        capture_stderr=True,
        stdin=stdin,
        check=False,
    )


async def test_run_files_for_a_while_then_shut_down() -> None:
    with trio.fail_after(15):
        result = await pywatt(
            "run", RAW, "--for", "1", "--no-control", "--secret", "GREETING=hello-there"
        )
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "pywatt: raw_module started (pid " in out
    assert "pywatt: raw_module is up: listening on 127.0.0.1:" in out
    assert "[raw_module] INFO init" in out
    assert "pywatt: --for 1 s elapsed; shutting down" in out
    assert "pywatt: raw_module stopped (exited with code 0)" in out
    assert out.rstrip().endswith("pywatt: all modules stopped")


async def test_bad_manifest_is_a_clear_error_with_exit_status_2(tmp_path: Path) -> None:
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text('[modules.app]\ncommand = "app.py"\nrestart = "sometimes"\n')
    (tmp_path / "app.py").write_text("")
    with trio.fail_after(15):
        result = await pywatt("run", "--manifest", str(manifest))
    assert result.returncode == 2
    assert result.stderr.decode().strip() == (
        f"pywatt: error: {manifest}: modules.app.restart: must be one of always, never, "
        "on-failure, permanent, temporary, transient, not 'sometimes'"
    )


async def test_control_socket_status_rotate_reload_sighup_and_stop(tmp_path: Path) -> None:
    secrets = tmp_path / "secrets.env"
    secrets.write_text("API_KEY=first-key\nOTHER=unchanged\n")
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text(
        f"""
[orchestrator]
secrets_file = "secrets.env"
grace = 1

[modules.app]
command = {str(RAW)!r}
args = ["--secret", "API_KEY", "--endpoint", "GET /items"]
secrets = ["API_KEY", "OTHER"]

[modules.rusty]
command = {str(RAW)!r}
kind = "foreign"
"""
    )
    run_dir = str(tmp_path / "run")
    with trio.fail_after(20):
        async with background("run", "--manifest", str(manifest), "--run-dir", run_dir) as run:
            await run.wait_for("rusty is up")
            await run.wait_for("app is up")
            await run.wait_for(f"control socket: {run_dir}/control.sock")

            status = await pywatt("status", "--run-dir", run_dir)
            assert status.returncode == 0, status.stderr
            table = status.stdout.decode().splitlines()
            assert table[0].startswith(f"orchestrator pid {run.process.pid}, API http://127.0.0.1:")
            assert table[1].split() == [
                "MODULE", "KIND", "STATE", "PID", "RESTARTS", "LISTEN", "ENDPOINTS"
            ]  # fmt: skip
            app_row = table[2].split()
            assert app_row[:3] == ["app", "pywatt", "running"]
            assert app_row[4] == "0"
            assert app_row[5].startswith("127.0.0.1:")
            assert " ".join(app_row[6:]) == "GET /items"
            assert table[3].split()[:3] == ["rusty", "foreign", "running"]

            rotated = await pywatt("rotate", "API_KEY", "--run-dir", run_dir, stdin=b"second-key\n")
            assert rotated.returncode == 0, rotated.stderr
            assert rotated.stdout.decode().strip() == "pywatt: rotated API_KEY (rot-1): app success"

            unchanged = await pywatt("reload", "--run-dir", run_dir)
            assert (
                unchanged.stdout.decode().strip() == "pywatt: secrets file re-read: nothing changed"
            )

            secrets.write_text("API_KEY=third-key\nOTHER=unchanged\n")
            os.kill(run.process.pid, signal.SIGHUP)
            await run.wait_for("rotation rot-2 complete (app: success)")

            stopped = await pywatt("stop", "--run-dir", run_dir)
            assert stopped.stdout.decode().strip() == "pywatt: shutdown requested"
        assert run.process.returncode == 0, run.output
    out = run.output
    for value in ("first-key", "second-key", "third-key"):
        assert value not in out
    assert "app acked rotation rot-1: success" in out
    assert "SIGHUP: re-reading the secrets file" in out
    assert out.index("stopping rusty") < out.index("stopping app")
    assert not (tmp_path / "run" / "control.sock").exists()
    gone = await pywatt("status", "--run-dir", run_dir)
    assert gone.returncode == 1
    assert "no orchestrator is listening on" in gone.stderr.decode()


async def test_sigterm_shuts_the_modules_down_gracefully(tmp_path: Path) -> None:
    with trio.fail_after(15):
        async with background("run", RAW, "--run-dir", str(tmp_path)) as run:
            await run.wait_for("raw_module is up")
            run.process.send_signal(signal.SIGTERM)
        assert run.process.returncode == 0
    assert "SIGTERM received: shutting down" in run.output
    assert "raw_module stopped (exited with code 0)" in run.output


async def test_a_second_sigint_forces_the_shutdown(tmp_path: Path) -> None:
    manifest = tmp_path / "pywatt.toml"
    manifest.write_text(
        f"[orchestrator]\ngrace = 30\n[modules.stubborn]\ncommand = {RAW!r}\n"
        'args = ["--ignore-shutdown"]\n'
    )
    with trio.fail_after(15):
        async with background("run", "--manifest", str(manifest), "--no-control") as run:
            await run.wait_for("stubborn is up")
            pid = int(run.output.split("stubborn started (pid ", 1)[1].split(")", 1)[0])
            run.process.send_signal(signal.SIGINT)
            await run.wait_for("stopping stubborn")
            run.process.send_signal(signal.SIGINT)
        assert run.process.returncode == 130
    assert "SIGINT received: shutting down (send it again to force)" in run.output
    assert "SIGINT again: forcing shutdown (killing modules)" in run.output
    with trio.fail_after(5):
        while True:  # the orchestrator killed and reaped it on its way out
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await trio.sleep(0.05)


async def test_console_script_entry_point_reports_a_missing_orchestrator(tmp_path: Path) -> None:
    result = await trio.run_process(
        [PYWATT_SCRIPT, "stop", "--run-dir", str(tmp_path)],
        capture_stdout=True,
        capture_stderr=True,
        check=False,
    )
    assert result.returncode == 1
    assert f"no orchestrator is listening on {tmp_path}/control.sock" in result.stderr.decode()


async def test_run_standalone_runs_one_module_file_with_the_embedded_marker() -> None:
    code = (
        "import sys\n"
        "from pywatt.orchestrator import run_standalone\n"
        f"sys.exit(run_standalone({str(RAW)!r}, argv=['--for', '0.5', '--no-control', '-v']))\n"
    )
    with trio.fail_after(15):
        result = await trio.run_process(
            [PYTHON, "-c", code], capture_stdout=True, capture_stderr=True, check=False
        )
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "env_module_id=raw_module env_embedded=1" in out
    assert "raw_module stopped (exited with code 0)" in out


async def test_run_standalone_refuses_inside_an_embedded_module() -> None:
    code = "import sys\nfrom pywatt.orchestrator import run_standalone\n"
    code += f"sys.exit(run_standalone({str(RAW)!r}, argv=['--for', '0.1']))\n"
    with trio.fail_after(15):
        result = await trio.run_process(
            [PYTHON, "-c", code],
            capture_stdout=True,
            capture_stderr=True,
            check=False,
            env={**os.environ, "PYWATT_EMBEDDED": "1"},
        )
    assert result.returncode == 2
    assert "refusing to start another orchestrator" in result.stderr.decode()

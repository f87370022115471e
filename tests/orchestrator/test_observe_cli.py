"""``pywatt status --tree``, ``pywatt events --json`` and ``pywatt top`` against a running
``pywatt run`` with two real modules; ``top`` in a real terminal (tmux)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import trio

from .helpers import PYTHON
from .test_cli import Background, background, pywatt

OBSERVED = Path(__file__).parent / "modules" / "observed.py"


def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "pywatt.toml"
    path.write_text(
        f"""
[modules.alpha]
command = {str(OBSERVED)!r}

[modules.beta]
command = {str(OBSERVED)!r}
"""
    )
    return path


@asynccontextmanager
async def two_modules(tmp_path: Path) -> AsyncIterator[tuple[Background, str]]:
    run_dir = str(tmp_path / "run")
    async with background(
        "run", "--manifest", str(manifest(tmp_path)), "--run-dir", run_dir
    ) as run:
        await run.wait_for("alpha is up", timeout=30)
        await run.wait_for("beta is up", timeout=30)
        await run.wait_for(f"control socket: {run_dir}/control.sock")
        yield run, run_dir
        stopped = await pywatt("stop", "--run-dir", run_dir)
        assert stopped.returncode == 0, (stopped.stderr, run.output)


async def module_pid(run_dir: str, module_id: str) -> int:
    status = await pywatt("status", "--json", "--run-dir", run_dir)
    for module in json.loads(status.stdout)["modules"]:
        if module["id"] == module_id:
            return int(module["pid"])
    raise AssertionError(f"no module {module_id}")


async def test_status_tree_and_events_json(tmp_path: Path) -> None:
    with trio.fail_after(90):
        async with two_modules(tmp_path) as (_, run_dir):
            shown = await pywatt("status", "--tree", "--run-dir", run_dir)
            assert shown.returncode == 0, shown.stderr
            text = shown.stdout.decode()
            assert "module alpha (running" in text
            assert "module beta (running" in text
            for actor in ("alpha.worker", "beta.worker", "pywatt.link", "pywatt.hub"):
                assert actor in text
            worker = next(line for line in text.splitlines() if "alpha.worker" in line).split()
            at = worker.index("alpha.worker")
            assert worker[at + 1 : at + 5] == ["actor", "running", "1", "0"]

            as_json = json.loads(
                (await pywatt("status", "--tree", "--json", "--run-dir", run_dir)).stdout
            )
            alpha = next(m for m in as_json["modules"] if m["id"] == "alpha")
            assert alpha["tree"]["name"] == "system"
            assert as_json["orchestrator"]["name"] == "root"

            # `pywatt events --json` prints live, one object per line.
            events = await trio.lowlevel.open_process(
                [PYTHON, "-m", "pywatt", "events", "--json", "--run-dir", run_dir],
                stdout=subprocess.PIPE,
            )
            try:
                assert events.stdout is not None
                lines = LineReader(events.stdout)
                pid = await module_pid(run_dir, "alpha")
                # The stream is open once the orchestrator answers; crash until seen (the
                # first signal may come before the subscription). The waits double, so a slow
                # start of `pywatt events` never crashes the worker past its restart intensity
                # (3 in 5 s), which would end the module.
                seen: dict[str, object] | None = None
                wait = 1.0
                with trio.move_on_after(40):
                    while seen is None:
                        os.kill(pid, signal.SIGUSR1)
                        wait *= 2
                        with trio.move_on_after(wait / 2):
                            while True:
                                data = json.loads(await lines.next())
                                if data.get("kind") == "crashed" and data.get("source") == "alpha":
                                    seen = data
                                    break
                assert seen is not None
                assert seen["name"] == "alpha.worker"
                assert seen["error"] == "Boom: crashed on SIGUSR1"
                assert isinstance(seen["at"], float)
            finally:
                events.kill()
                await events.wait()


async def test_an_events_client_that_stops_reading_costs_the_orchestrator_nothing(
    tmp_path: Path,
) -> None:
    with trio.fail_after(90):
        async with two_modules(tmp_path) as (run, run_dir):
            control = os.path.join(run_dir, "control.sock")
            streams = []
            for _ in range(2):
                sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                await sock.connect(control)
                stream = trio.SocketStream(sock)
                await stream.send_all(b'{"command": "events"}\n')
                reader = LineReader(stream)
                assert json.loads(await reader.next()) == {"ok": True}
                streams.append((sock, reader))
            # The first client stops reading: the orchestrator's next write to it fails.
            streams[0][0].shutdown(socket.SHUT_RD)
            pid = await module_pid(run_dir, "alpha")
            os.kill(pid, signal.SIGUSR1)
            # The second client sees the crash: the orchestrator wrote it to both.
            while True:
                data = json.loads(await streams[1][1].next())
                if data.get("kind") == "crashed" and data.get("source") == "alpha":
                    break
            shown = await pywatt("status", "--run-dir", run_dir)
            assert shown.returncode == 0, (shown.stderr, run.output)
            assert "Traceback" not in run.output
            for sock, _ in streams:
                sock.close()


class LineReader:
    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self.stream = stream
        self.buffer = b""

    async def next(self) -> bytes:
        while b"\n" not in self.buffer:
            chunk = await self.stream.receive_some(65536)
            if not chunk:
                raise EOFError("the stream ended")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line


async def test_top_once_prints_one_frame(tmp_path: Path) -> None:
    with trio.fail_after(60):
        async with two_modules(tmp_path) as (_, run_dir):
            top = await pywatt("top", "--once", "--interval", "0.3", "--run-dir", run_dir)
            assert top.returncode == 0, top.stderr
            text = top.stdout.decode()
            assert "\x1b" not in text  # plain text for scripts
            assert text.startswith("pywatt top")
            row = next(line for line in text.splitlines() if "beta.worker" in line).split()
            at = row.index("beta.worker")
            state, inc, restarts, mailbox, rate = row[at + 1 : at + 6]
            assert (state, inc, restarts) == ("running", "1", "0")
            assert mailbox.endswith("/1024")
            assert float(rate) > 0  # it ticks to itself every 10 ms


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (.ci/services.sh installs it)")
async def test_top_in_a_real_terminal(tmp_path: Path) -> None:
    server = f"pywatt-top-{uuid.uuid4().hex[:8]}"  # a private tmux server
    tmux = ["tmux", "-L", server]

    async def screen() -> str:
        done = await trio.run_process(
            [*tmux, "capture-pane", "-p", "-t", "top"], capture_stdout=True, check=False
        )
        return done.stdout.decode()

    async def wait_screen(predicate: object, what: str, timeout: float = 20.0) -> str:
        assert callable(predicate)
        text = ""
        with trio.move_on_after(timeout):
            while True:
                text = await screen()
                if predicate(text):
                    return text
                await trio.sleep(0.1)  # polling the screen: we wait on its content
        raise AssertionError(f"the screen never showed {what}:\n{text}")

    def worker_row(text: str, name: str) -> list[str] | None:
        for line in text.splitlines():
            cells = line.split()
            if name in cells:
                return cells[cells.index(name) :]
        return None

    with trio.fail_after(90):
        async with two_modules(tmp_path) as (_, run_dir):
            command = f"{PYTHON} -m pywatt top --interval 0.3 --run-dir {run_dir}"
            # The terminal's own size, not one a parent process left in the environment.
            env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
            await trio.run_process(
                [*tmux, "new-session", "-d", "-s", "top", "-x", "160", "-y", "120", command],
                env=env,
            )
            try:
                text = await wait_screen(
                    lambda t: "alpha.worker" in t and "beta.worker" in t, "both workers"
                )
                assert "pywatt top" in text
                for name in ("alpha  running", "beta  running", "pywatt.router", "pywatt.hub"):
                    assert name in text
                row = worker_row(text, "alpha.worker")
                assert row is not None
                assert row[1:4] == ["running", "1", "0"]

                os.kill(await module_pid(run_dir, "alpha"), signal.SIGUSR1)

                def restarted(t: str) -> bool:
                    cells = worker_row(t, "alpha.worker")
                    return cells is not None and cells[2:4] == ["2", "1"]

                text = await wait_screen(restarted, "alpha.worker restarted once")
                beta = worker_row(text, "beta.worker")
                assert beta is not None
                assert beta[2:4] == ["1", "0"]  # the other module is untouched
            finally:
                await trio.run_process([*tmux, "kill-server"], check=False)

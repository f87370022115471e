"""``pywatt run --log-format``: JSON lines when the console is not a terminal, timestamps and
colours on a terminal (a real pty), ``NO_COLOR`` respected; secrets redacted in every form.

Each test runs the ``pywatt`` command as a process over the raw test module, waits for the
module to be up, interrupts it and reads everything it wrote."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
from pathlib import Path

import pytest
import trio

from tests.orchestrator.helpers import PYTHON, RAW

SECRET = "console-secret-9f3b2a71"
RECORD = json.dumps(
    {"level": "WARN", "target": "raw", "message": f"token is {SECRET}",
     "fields": {"key": SECRET, "attempt": 3}}
)  # fmt: skip
TIMESTAMP = re.compile(r"^\d{2}:\d{2}:\d{2}\.\d{3} ")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def manifest(tmp_path: Path) -> Path:
    """One raw module that writes a plain line and a JSON log record holding the secret."""
    path = tmp_path / "pywatt.toml"
    path.write_text(
        f"[orchestrator]\ngrace = 1\n\n[modules.raw]\ncommand = {RAW!r}\n"
        f"args = ['--say', 'plain line with {SECRET}', '--say', {RECORD!r}]\n"
    )
    return path


def environment(**changes: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "TERM", "PYWATT_LOG_FORMAT")}  # fmt: skip
    env["TERM"] = "xterm-256color"
    env.update(changes)
    return env


def command(tmp_path: Path, *extra: str) -> list[str]:
    return [PYTHON, "-m", "pywatt", "run", "--manifest", str(manifest(tmp_path)),
            "--no-control", "--secret", f"GREETING={SECRET}", *extra]  # fmt: skip


async def run_on_pipe(tmp_path: Path, *extra: str, **env: str) -> str:
    """Run with stdout on a pipe until the module is up, then Ctrl-C; everything printed."""
    process = await trio.lowlevel.open_process(
        command(tmp_path, *extra), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=environment(**env),
    )  # fmt: skip
    assert process.stdout is not None
    output = b""
    try:
        with trio.fail_after(30):
            async for chunk in process.stdout:
                output += chunk
                if b"raw is up" in output:
                    break
            process.send_signal(signal.SIGINT)
            async for chunk in process.stdout:
                output += chunk
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode == 130, output.decode()  # stopped by Ctrl-C
    return output.decode()


async def run_on_terminal(tmp_path: Path, **env: str) -> str:
    """The same with stdout and stderr on a pseudo-terminal."""
    master, slave = pty.openpty()
    try:
        process = await trio.lowlevel.open_process(
            command(tmp_path), stdout=slave, stderr=slave, env=environment(**env)
        )
    finally:
        os.close(slave)
    output = b""

    async def read_until(text: bytes | None) -> None:
        nonlocal output
        while text is None or text not in output:
            await trio.lowlevel.wait_readable(master)
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: every writer of the terminal is gone
                return
            if not chunk:
                return
            output += chunk
        return

    try:
        with trio.fail_after(30):
            await read_until(b"raw is up")
            process.send_signal(signal.SIGINT)
            await read_until(None)
            await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        os.close(master)
    text = output.decode().replace("\r\n", "\n")
    assert process.returncode == 130, text  # stopped by Ctrl-C
    return text


async def test_json_lines_when_the_console_is_not_a_terminal(tmp_path: Path) -> None:
    out = await run_on_pipe(tmp_path)
    records = [json.loads(line) for line in out.splitlines()]  # every line is one object
    for record in records:
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["timestamp"])
        assert record["level"] in ("DEBUG", "INFO", "WARNING", "WARN", "ERROR")
        assert record["origin"] in ("orchestrator", "module")
    (up,) = [r for r in records if r["message"].startswith("raw is up")]
    assert up == {**up, "level": "INFO", "origin": "orchestrator", "module": "raw"}
    said = [r for r in records if r["origin"] == "module"]
    (plain,) = [r for r in said if "plain line" in r["message"]]
    assert plain == {**plain, "origin": "module", "module": "raw",
                     "message": "plain line with [REDACTED]"}  # fmt: skip
    (warn,) = [r for r in said if r["message"].startswith("token is")]
    assert warn == {**warn, "level": "WARN", "origin": "module", "module": "raw",
                    "message": "token is [REDACTED]", "target": "raw",
                    "fields": {"key": "[REDACTED]", "attempt": 3}}  # fmt: skip
    assert records[-1]["message"] == "all modules stopped"
    assert SECRET not in out


async def test_pretty_on_a_terminal_has_timestamps_and_colours_by_level(tmp_path: Path) -> None:
    out = await run_on_terminal(tmp_path)
    lines = [line for line in out.splitlines() if line]
    plain = [ANSI.sub("", line) for line in lines]
    assert all(TIMESTAMP.match(line) for line in plain), out
    assert any(re.fullmatch(r"\S+ pywatt: raw is up: .*", line) for line in plain), out
    assert any(line.endswith(" [raw] WARN token is [REDACTED] key=[REDACTED] attempt=3")
               for line in plain), out  # fmt: skip
    (warn,) = [line for line in lines if "token is" in line and "pywatt:" not in line]
    assert "\x1b[33mWARN\x1b[0m" in warn  # the level in yellow
    assert re.search(r"\x1b\[[0-9;]+m\[raw\]\x1b\[0m", warn)  # the module in its colour
    assert re.match(r"\x1b\[2m\d\d:\d\d:\d\d\.\d{3}\x1b\[0m ", warn)  # a dim timestamp
    assert SECRET not in out


async def test_no_color_keeps_the_terminal_plain(tmp_path: Path) -> None:
    out = await run_on_terminal(tmp_path, NO_COLOR="1")
    assert "\x1b[" not in out
    lines = [line for line in out.splitlines() if line]
    assert all(TIMESTAMP.match(line) for line in lines), out
    assert any(line.endswith(" [raw] plain line with [REDACTED]") for line in lines), out
    assert SECRET not in out


@pytest.mark.parametrize("how", ["--log-format", "PYWATT_LOG_FORMAT"])
async def test_pretty_can_be_asked_for_on_a_pipe(tmp_path: Path, how: str) -> None:
    if how == "--log-format":
        out = await run_on_pipe(tmp_path, "--log-format", "pretty")
    else:
        out = await run_on_pipe(tmp_path, PYWATT_LOG_FORMAT="pretty")
    lines = [line for line in out.splitlines() if line]
    assert all(TIMESTAMP.match(line) for line in lines), out
    assert "\x1b[" not in out  # not a terminal: no colours
    assert lines[-1].endswith(" pywatt: all modules stopped")
    assert SECRET not in out


async def test_json_can_be_asked_for_on_a_terminal(tmp_path: Path) -> None:
    out = await run_on_terminal(tmp_path, PYWATT_LOG_FORMAT="json")
    records = [json.loads(line) for line in out.splitlines() if line]
    assert records[-1]["message"] == "all modules stopped"
    assert SECRET not in out

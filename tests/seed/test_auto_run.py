"""A module declared with ``@pywatt_module`` in the file Python runs starts by itself once
the file has run (the seed's snippets, and reference-SDK modules, never call ``.run()``)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

MODULES = Path(__file__).parent / "modules"
INIT = (
    b'{"orchestrator_api":"http://127.0.0.1:9","module_id":"auto","env":{},'
    b'"listen":"127.0.0.1:4102","security_level":"None"}\n'
)


def _spawn(name: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYWATT_EMBEDDED": "1", "PYWATT_MODULE_ID": "auto"}
    return subprocess.Popen(
        [sys.executable, str(MODULES / name)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def test_a_declared_module_runs_once_its_file_has_run() -> None:
    process = _spawn("declared_only.py")
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(INIT)
    process.stdin.flush()
    assert process.stdout.readline().startswith(b'{"op":"announce"')
    process.stdin.close()  # EOF: the module stops cleanly
    assert process.wait(timeout=30) == 0
    assert process.stderr is not None
    stderr = process.stderr.read()
    assert b"declared-only module auto is up" in stderr


def test_a_file_that_fails_after_declaring_does_not_run_its_module() -> None:
    process = _spawn("declared_then_fails.py")
    stdout, stderr = process.communicate(INIT, timeout=30)
    assert process.returncode == 1
    assert stdout == b""
    assert b"RuntimeError: the file itself is broken" in stderr


def test_a_declared_module_that_cannot_start_exits_non_zero() -> None:
    process = _spawn("declared_bad_option.py")
    stdout, stderr = process.communicate(INIT, timeout=30)
    assert process.returncode != 0
    assert stdout == b""
    assert b"unknown module option 'secretz' (did you mean 'secrets'?)" in stderr

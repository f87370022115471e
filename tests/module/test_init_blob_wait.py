"""A module process waiting for its InitBlob: any byte on stdin means an orchestrator is there,
so a partial blob is one line and exit status 1, never a second orchestrator writing onto the
protocol stream; with PYWATT_EMBEDDED=1 a missing blob fails at the deadline."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import trio

MODULE = str(Path(__file__).parent / "modules" / "quiet.py")
PARTIAL = b'{"orchestrator_api":"http://127.0.0.1:9","module_id":"quiet","env":{}'


async def _run_module(stdin: bytes, *, close_stdin: bool, **env: str) -> tuple[int, str, str]:
    """Start the module with ``stdin`` written to it (then closed, or held open) and return
    its exit status, stdout and stderr once it exits by itself (at most 30 s)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("PYWATT_")}
    process = await trio.lowlevel.open_process(
        [sys.executable, MODULE],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**base, **env},
    )
    assert process.stdin is not None
    out: list[bytes] = []
    err: list[bytes] = []

    async def drain(stream: trio.abc.ReceiveStream, into: list[bytes]) -> None:
        async for chunk in stream:
            into.append(chunk)

    try:
        await process.stdin.send_all(stdin)
        if close_stdin:
            await process.stdin.aclose()
        with trio.fail_after(30):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain, process.stdout, out)
                nursery.start_soon(drain, process.stderr, err)
                await process.wait()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        await process.stdin.aclose()
    return process.returncode, b"".join(out).decode(), b"".join(err).decode()


@pytest.mark.parametrize("embedded", [False, True], ids=["run-directly", "embedded"])
async def test_a_partial_init_blob_then_silence_fails_in_one_line_at_the_deadline(
    embedded: bool,
) -> None:
    extra = {"PYWATT_EMBEDDED": "1"} if embedded else {}
    code, out, err = await _run_module(PARTIAL, close_stdin=False, PYWATT_INIT_TIMEOUT="1", **extra)
    assert (code, out) == (1, ""), err  # nothing on the protocol stream
    assert err == (
        f"pywatt: the InitBlob on stdin is incomplete after 1 s ({len(PARTIAL)} bytes and no "
        "newline); if the orchestrator is that slow, raise PYWATT_INIT_TIMEOUT\n"
    )


@pytest.mark.parametrize("embedded", [False, True], ids=["run-directly", "embedded"])
async def test_a_partial_init_blob_then_eof_fails_in_one_line(embedded: bool) -> None:
    extra = {"PYWATT_EMBEDDED": "1"} if embedded else {}
    code, out, err = await _run_module(PARTIAL, close_stdin=True, **extra)
    assert (code, out) == (1, ""), err
    assert err == (
        f"pywatt: stdin closed after {len(PARTIAL)} bytes of the InitBlob, before the newline "
        "that ends it\n"
    )


async def test_embedded_with_a_silent_stdin_fails_in_one_line_at_the_deadline() -> None:
    code, out, err = await _run_module(
        b"", close_stdin=False, PYWATT_EMBEDDED="1", PYWATT_INIT_TIMEOUT="1"
    )
    assert (code, out) == (1, ""), err
    assert err == (
        "pywatt: no InitBlob on stdin within 1 s, though PYWATT_EMBEDDED=1 says an "
        "orchestrator started this module\n"
    )


async def test_a_bad_init_timeout_is_one_line() -> None:
    code, out, err = await _run_module(
        PARTIAL, close_stdin=True, PYWATT_EMBEDDED="1", PYWATT_INIT_TIMEOUT="soon"
    )
    assert (code, out) == (1, ""), err
    assert err == "pywatt: PYWATT_INIT_TIMEOUT must be a positive number of seconds, not 'soon'\n"

"""A module that prints a multi-line secret, whole and escaped, leaks none of it: the
orchestrator's console reads the module's stderr line by line and still masks every line and
every escaped form."""

from __future__ import annotations

import trio

from pywatt.testing import open_module

from .conftest import MODULES, remember

KEY = (
    "-----BEGIN TEST KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7Zq8bW2\n"
    "rT5Lk0pQ9sVn3HgYy6Jd1Fc8Xw4Ue7Am2Zb5Nt0Kq3Rs9Pv6Lh1Dj8Gf4\n"
    "tail'of\"the\\key-é-Xy7q\n"
    "-----END TEST KEY-----\n"
)


def _pieces(value: str, width: int = 8) -> set[str]:
    """Every run of ``width`` characters inside a line of ``value`` that holds a letter or a
    digit: finding any of them in the output means part of the secret got out."""
    return {
        line[i : i + width]
        for line in value.splitlines()
        for i in range(len(line) - width + 1)
        if any(c.isalnum() for c in line[i : i + width])
    }


async def test_a_multi_line_secret_printed_whole_and_escaped_reaches_no_output() -> None:
    async with open_module(MODULES / "prints_secret.py", secrets={"KEY": KEY}) as module:
        with trio.fail_after(20):
            await module.handle.wait_stderr("printed the key")
        captured = module.console_text() + "\n" + "\n".join(module.stderr_lines)
    remember({"KEY": KEY}, captured)
    assert captured.count("[REDACTED]") >= 20, captured  # it did print, many times over
    leaked = sorted(piece for piece in _pieces(KEY) if piece in captured)
    assert leaked == [], captured

"""No secret value the integration tests used reached any output they captured. Each
``remember`` checks as it records (the tests may run in any order, on several pytest-xdist
workers); this file also scans everything its process captured, after a scenario of its
own."""

from __future__ import annotations

from pywatt.testing import open_module

from .conftest import CAPTURED, EXAMPLES, SECRET_VALUES, remember


async def test_no_secret_value_appears_in_any_captured_output() -> None:
    # One scenario of our own, so the scan has material even when this file runs alone.
    secrets = {"GREETING": "leak-check-value-1"}
    async with open_module(EXAMPLES / "greeter.py", secrets=secrets) as module:
        await module.rotate("GREETING", "leak-check-value-2")
        await module.handle.wait_stderr("picked up rotated secret")
        remember({"a": "leak-check-value-2", **secrets}, module.console_text())
    text = "\n".join(CAPTURED)
    assert SECRET_VALUES
    assert "[REDACTED]" in text  # the greeter logs its greeting: it must come out masked
    leaked = sorted(v for v in SECRET_VALUES if v in text)
    assert leaked == []

"""Shared state of the integration tests: every secret value used and every stderr line seen,
so that one test can scan all of it for leaks."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).parents[2]
EXAMPLES = ROOT / "examples"
MODULES = Path(__file__).parent / "modules"

SECRET_VALUES: set[str] = set()
CAPTURED: list[str] = []


def remember(values: dict[str, str], *texts: str) -> None:
    """Record secret values used by a test and text it captured from modules, and fail at
    once if a secret value recorded so far appears in text captured so far (in this
    process). That is the scan of test_zz_no_secret_leaks made as the tests go, so it holds
    whatever order they run in and whichever pytest-xdist worker runs them."""
    new = set(values.values()) - SECRET_VALUES
    SECRET_VALUES.update(values.values())
    leaked = {value for value in SECRET_VALUES if any(value in text for text in texts)}
    leaked |= {value for value in new if any(value in text for text in CAPTURED)}
    CAPTURED.extend(texts)
    assert not leaked, f"secret values in captured output: {sorted(leaked)}"

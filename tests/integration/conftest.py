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
    """Record secret values used by a test and text it captured from modules."""
    SECRET_VALUES.update(values.values())
    CAPTURED.extend(texts)

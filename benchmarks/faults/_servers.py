"""Scenarios that restart database and cache servers under load (filled in by the fault
suite's data part)."""

from __future__ import annotations

from ._counts import Named

SCENARIOS: list[Named] = []

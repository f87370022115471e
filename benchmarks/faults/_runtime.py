"""Scenarios against modules, the orchestrator and the actors in them (filled in by the
fault suite's runtime part)."""

from __future__ import annotations

from ._counts import Named

SCENARIOS: list[Named] = []

"""A pywatt module whose ``main`` always raises: a failure that a restart might fix, so the
orchestrator restarts it until its policy gives up."""

from __future__ import annotations

from typing import Any

from pywatt import AppState, run_module


async def main(state: AppState[Any]) -> None:
    raise RuntimeError("crashing at start on purpose")


if __name__ == "__main__":
    raise SystemExit(run_module(main))

"""A module that answers ``gc`` with what the collector froze (``gc.get_freeze_count()``)."""

from __future__ import annotations

import gc
from typing import Any

from pywatt import AppState, run_module


async def main(state: AppState[Any]) -> None:
    def report(request: Any) -> dict[str, Any]:
        return {"frozen": gc.get_freeze_count(), "enabled": gc.isenabled()}

    await state.serve("gc", report)


if __name__ == "__main__":
    raise SystemExit(run_module(main))

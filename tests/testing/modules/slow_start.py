"""A pywatt module whose ``main`` takes longer than the test waits for its announce."""

from __future__ import annotations

import logging
from typing import Any

import trio

from pywatt import AppState, run_module

log = logging.getLogger("slow_start")


async def main(state: AppState[Any]) -> None:
    log.info("warming up slowly")
    await trio.sleep(60)  # stopped long before: the test waits 4 s for an announce


if __name__ == "__main__":
    raise SystemExit(run_module(main))

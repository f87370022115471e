"""Ponger: a module that answers ``ping`` requests from other modules over its channels.

Run it with its partner: ``pywatt run examples/ponger.py examples/pinger.py``.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

from pywatt import AppState, run_module

log = logging.getLogger("ponger")


@attrs.frozen
class Ping:
    n: int


@attrs.frozen
class Pong:
    n: int
    by: str


async def main(state: AppState[Any]) -> None:
    async def ping(request: Ping) -> Pong:
        log.info("ping %d", request.n)
        return Pong(request.n, state.module_id)

    await state.serve("ping", ping, request_type=Ping)


if __name__ == "__main__":
    raise SystemExit(run_module(main))

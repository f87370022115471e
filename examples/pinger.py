"""Pinger: asks the ``ponger`` module's ``ping`` endpoint over the router, typed both ways.

Run it with its partner: ``pywatt run examples/ponger.py examples/pinger.py``. It waits for
ponger through discovery-free retries, sends ``PINGS`` pings (default 5) as a request and
through a remote ref, then one notification, and logs each answer.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import attrs
import trio

import actors
from pywatt import AppState, run_module
from pywatt.router import RemoteRef

log = logging.getLogger("pinger")


@attrs.frozen
class Ping(actors.Request["Pong"]):
    n: int


@attrs.frozen
class Pong:
    n: int
    by: str


@attrs.frozen
class _Never:
    pass


class Pinger(actors.Actor[_Never]):
    def __init__(self, state: AppState[Any]) -> None:
        self.state = state

    async def on_start(self) -> None:
        self.ctx.start_task(self._run)

    async def receive(self, message: _Never) -> None:
        return None

    async def _run(self) -> None:
        state = self.state
        while True:  # ponger may start after us
            try:
                await state.send_request("ponger:ping", Ping(0), response_type=Pong, timeout=2)
                break
            except Exception as exc:  # not up yet: any outcome means "try again"
                log.info("ponger not ready (%s); retrying", type(exc).__name__)
                await trio.sleep(0.2)
        ponger = state.ref("ponger/ping")
        assert isinstance(ponger, RemoteRef)
        for n in range(1, int(os.environ.get("PINGS", "5")) + 1):
            pong = await ponger.ask(Ping(n))
            log.info("pong %d from %s", pong.n, pong.by)
        await state.send_message("ponger:ping", Ping(-1))
        log.info("pinger done")


async def main(state: AppState[Any]) -> None:
    await state.spawn(lambda: Pinger(state), name="pinger")


if __name__ == "__main__":
    raise SystemExit(run_module(main))

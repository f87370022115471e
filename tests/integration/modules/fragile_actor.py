"""A module whose own actor crashes on a timer; its supervisor restarts it in-process."""

from __future__ import annotations

import logging
from typing import Any

import attrs

import actors
from pywatt import AppState, pywatt_module

log = logging.getLogger("fragile")


@attrs.frozen
class Fault:
    pass


class Worker(actors.Actor[Fault]):
    async def on_start(self) -> None:
        log.info("worker incarnation %d serving", self.ctx.incarnation)
        if self.ctx.incarnation == 1:
            self.ctx.send_after(0.2, Fault())

    async def receive(self, message: Fault) -> None:
        raise RuntimeError("worker fault on purpose")


@pywatt_module()
async def create_app(state: AppState[Any]) -> None:
    await state.spawn(Worker, name="worker")


if __name__ == "__main__":
    raise SystemExit(create_app.run())

"""A PyWatt module that crashes once, to show the orchestrator restarting it.

Its first life ends with an error about a second after it announced; the restarted module
finds the marker file it left (in ``$FLAKY_STATE_DIR``, default the system temp dir) and
keeps running.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import attrs

import actors
from pywatt import AppState, pywatt_module

log = logging.getLogger("flaky")


@attrs.frozen
class Tick:
    pass


class Heart(actors.Actor[Tick]):
    """Beats every half second; on the module's first life the third beat is fatal."""

    def __init__(self, marker: Path, first_life: bool) -> None:
        self.marker = marker
        self.first_life = first_life
        self.beats = 0

    async def on_start(self) -> None:
        self.ctx.send_interval(0.5, Tick())

    async def receive(self, message: Tick) -> None:
        self.beats += 1
        log.info("beat %d", self.beats)
        if self.first_life and self.beats == 3:
            self.marker.write_text("crashed once\n")
            log.error("simulating a fatal fault: the process exits with status 3")
            os._exit(3)


@pywatt_module()
async def create_app(state: AppState[Any]) -> None:
    directory = Path(os.environ.get("FLAKY_STATE_DIR", tempfile.gettempdir()))
    marker = directory / f"flaky-{state.module_id}.crashed"
    first_life = not marker.exists()
    log.info("starting (%s)", "first life" if first_life else "restarted after the crash")
    await state.spawn(lambda: Heart(marker, first_life), name="heart")


if __name__ == "__main__":
    raise SystemExit(create_app.run())

"""A pywatt module for the observability tests: one actor of its own, ``<id>.worker``, that
ticks to itself (so it handles messages at a steady rate) and crashes on SIGUSR1. With
``OBSERVED_SECRET`` set it fetches that secret at start. SIGUSR2 crashes the module's event
forwarder."""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import attrs
import trio

import actors
import actors.testing
from pywatt import AppState, run_module


@attrs.frozen
class Tick:
    pass


class Boom(Exception):
    pass


@attrs.frozen
class Crash:
    pass


class Worker(actors.Actor[Tick | Crash]):
    async def on_start(self) -> None:
        self.ctx.send_interval(0.01, Tick())

    async def receive(self, message: Tick | Crash) -> None:
        if isinstance(message, Crash):
            raise Boom("crashed on SIGUSR1")


async def crash_on_signal(state: AppState[Any], name: str) -> None:
    with trio.open_signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as signals:
        async for signum in signals:
            if signum == signal.SIGUSR1:
                state.system.tell_nowait(name, Crash())
            else:  # the event forwarder itself
                await actors.testing.crash(state.system, "pywatt.events")


async def main(state: AppState[Any]) -> None:
    name = f"{state.module_id}.worker"
    await state.spawn(Worker, name=name)
    await state.spawn(lambda: _Signals(state, name), name=f"{state.module_id}.signals")


class _Signals(actors.Actor[None]):
    def __init__(self, state: AppState[Any], name: str) -> None:
        self.state = state
        self.name = name

    async def on_start(self) -> None:
        self.ctx.start_task(crash_on_signal, self.state, self.name)

    async def receive(self, message: None) -> None:
        return None


if __name__ == "__main__":
    wanted = os.environ.get("OBSERVED_SECRET")  # fetched at start, so rotations reach it
    sys.exit(run_module(main, secrets=[wanted] if wanted else []))

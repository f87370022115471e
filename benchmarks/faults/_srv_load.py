"""What the server scenarios share: the kill-and-restart loop, the time back to service after
each restart, and the module-level view (``/health``) while the server is down."""

from __future__ import annotations

import collections
import random
from collections.abc import Callable

import trio

import actors
from pywatt.http import HealthTracker

from ._counts import Counts
from ._srv_procs import PrivateServer


class Restarts:
    """Kills and restarts ``server`` while the load runs; remembers how long service took to
    come back after each restart and what ``/health`` said while the server was down."""

    def __init__(self, server: PrivateServer, counts: Counts, system: actors.ActorSystem) -> None:
        self.server = server
        self.counts = counts
        self.health = HealthTracker(system)
        self.health_while_down: collections.Counter[str] = collections.Counter()
        self.back_after: list[float] = []
        self._restarted_at: float | None = None
        self.down = False
        self.epoch = 0
        """Even while one server incarnation serves; odd from just before a kill until the
        next incarnation is up (an operation that saw only one even epoch ran against one
        incarnation)."""

    def succeeded(self) -> None:
        """An operation just succeeded: the first one after a restart ends its outage."""
        if self._restarted_at is not None:
            self.back_after.append(trio.current_time() - self._restarted_at)
            self._restarted_at = None

    async def kill(self) -> None:
        self.epoch += 1
        self.down = True
        await self.server.kill()
        self.counts.faults_injected += 1

    async def start(self) -> None:
        await self.server.start()
        self.down = False
        self.epoch += 1
        self._restarted_at = trio.current_time()

    def look_at_health(self) -> None:
        _, body = self.health.report()
        self.health_while_down[body["status"]] += 1

    async def cycle(
        self,
        end: float,
        rng: random.Random,
        *,
        up: tuple[float, float] = (0.5, 1.0),
        down: tuple[float, float] = (0.2, 0.5),
        after_kill: Callable[[], None] | None = None,
    ) -> None:
        """Until ``end`` (trio clock): serve for a while, kill, stay down a while (looking at
        ``/health`` meanwhile), start again. Returns with the server up."""
        while True:
            await trio.sleep(rng.uniform(*up))
            if trio.current_time() >= end:
                return
            await self.kill()
            if after_kill is not None:
                after_kill()
            pause = rng.uniform(*down)
            await trio.sleep(pause / 2)
            self.look_at_health()
            await trio.sleep(pause / 2)
            self.look_at_health()
            await self.start()

    def note(self) -> None:
        notes = self.counts.notes
        if self.back_after:
            worst = max(self.back_after)
            notes.append(
                f"service back {len(self.back_after)}x after a restart, "
                f"at worst {worst:.2f} s after the server accepted connections"
            )
        seen = ", ".join(f"{status} {n}x" for status, n in self.health_while_down.items())
        if seen:
            notes.append(f"the module's /health while the server was down: {seen}")
        if "healthy" in self.health_while_down:
            notes.append(
                "/health follows the supervision tree only: the actor keeps serving (typed "
                "errors) while its server is down, so the module says healthy, not degraded"
            )

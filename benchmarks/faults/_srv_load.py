"""What the server scenarios share: the fault loops (kill and restart, or stop and continue),
the time back to service after each fault, and the module-level view (``/health``) while
the server is out."""

from __future__ import annotations

import collections
import random

import trio

import actors
from pywatt.http import HealthTracker

from ._counts import Counts
from ._srv_procs import PrivateServer


class Faults:
    """Kills and restarts ``server`` (or stops and continues it) while the load runs;
    remembers how long service took to come back after each fault and what ``/health`` said
    while the server was out."""

    def __init__(
        self, server: PrivateServer, counts: Counts, system: actors.ActorSystem, name: str = ""
    ) -> None:
        self.server = server
        self.prefix = f"{name}: " if name else ""
        self.counts = counts
        self.health = HealthTracker(system)
        self.health_while_out: collections.Counter[str] = collections.Counter()
        self.back_after: list[float] = []
        self._back_at: float | None = None
        self.epoch = 0
        """Even while one server incarnation serves; odd from just before a kill until the
        next incarnation is up (an operation that saw only one even epoch ran against one
        incarnation). A stop and continue keeps the incarnation, and so the epoch."""

    def succeeded(self) -> None:
        """An operation just succeeded: the first one after a fault ends its outage."""
        if self._back_at is not None:
            self.back_after.append(trio.current_time() - self._back_at)
            self._back_at = None

    async def kill(self) -> None:
        self.epoch += 1
        await self.server.kill()
        self.counts.faults_injected += 1

    async def start(self) -> None:
        await self.server.start()
        self.epoch += 1
        self._back_at = trio.current_time()

    def look_at_health(self) -> None:
        _, body = self.health.report()
        self.health_while_out[body["status"]] += 1

    async def _out_for(self, seconds: float) -> None:
        await trio.sleep(seconds / 2)
        self.look_at_health()
        await trio.sleep(seconds / 2)
        self.look_at_health()

    async def restarts(
        self,
        end: float,
        rng: random.Random,
        *,
        up: tuple[float, float] = (0.5, 1.0),
        down: tuple[float, float] = (0.2, 0.5),
    ) -> None:
        """Until ``end`` (trio clock): serve for a while, kill, stay down a while, start
        again. Returns with the server up."""
        while True:
            await trio.sleep(rng.uniform(*up))
            if trio.current_time() >= end:
                return
            await self.kill()
            await self._out_for(rng.uniform(*down))
            await self.start()

    async def stalls(
        self,
        end: float,
        rng: random.Random,
        *,
        up: tuple[float, float] = (0.5, 1.0),
        stopped: tuple[float, float] = (0.8, 1.5),
        long: float | None = None,
    ) -> None:
        """Until ``end``: serve for a while, SIGSTOP every process of the server, leave it
        stopped a while (connected, but silent), SIGCONT. Every fourth stop lasts ``long``
        seconds if given. Returns with the server running."""
        count = 0
        while True:
            await trio.sleep(rng.uniform(*up))
            if trio.current_time() >= end:
                return
            count += 1
            seconds = long if long is not None and count % 4 == 0 else rng.uniform(*stopped)
            self.server.pause()
            self.counts.faults_injected += 1
            try:
                await self._out_for(seconds)
            finally:
                self.server.resume()
            self._back_at = trio.current_time()

    def note(self, what: str = "a restart") -> None:
        notes: list[str] = []
        if self.back_after:
            worst = max(self.back_after)
            notes.append(
                f"service back {len(self.back_after)}x after {what}, at worst {worst:.2f} s "
                "after the server was serving again"
            )
        seen = ", ".join(f"{status} {n}x" for status, n in self.health_while_out.items())
        if seen:
            notes.append(f"the module's /health while the server was out: {seen}")
        if "healthy" in self.health_while_out:
            notes.append(
                "/health said healthy for part of the outage: a stopped (not dead) server "
                "keeps its connections open, so its backend is seen down only once a request "
                "on one of them has timed out"
            )
        self.counts.notes += [self.prefix + note for note in notes]

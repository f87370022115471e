"""Running operations under a hang watchdog and counting how each ended, for the server
scenarios.

An operation *succeeded*, *failed typed* (raised one of the errors the API documents for a
server that is down or slow), *hung* (still running ``hang_after`` seconds after it began,
far past every timeout the API documents: the watchdog cancels it) or raised anything else
(*unexpected*). The operations themselves carry no deadline unless a scenario gives them
one, so the library's own timeouts are what must end them.
"""

from __future__ import annotations

import collections
import enum
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import trio

import actors

from ._counts import Counts

T = TypeVar("T")

NOTE_LIMIT: Final = 6
"""Distinct unexpected exceptions noted per scenario (the rest only counted)."""


class Outcome(enum.Enum):
    OK = "ok"
    TYPED = "typed"
    HUNG = "hung"
    UNEXPECTED = "unexpected"


class Ops:
    """Counts every operation run through :meth:`run` into ``counts``."""

    def __init__(
        self, counts: Counts, typed: tuple[type[BaseException], ...], hang_after: float
    ) -> None:
        self.counts = counts
        self.typed = typed
        self.hang_after = hang_after
        self._active: dict[trio.CancelScope, float] = {}
        self.typed_seen: collections.Counter[str] = collections.Counter()
        self.unexpected_seen: collections.Counter[str] = collections.Counter()
        self.slowest = 0.0

    async def watchdog(self) -> None:
        """Cancel every operation running longer than ``hang_after`` (run it in a nursery
        beside the load; cancel it when the load is done)."""
        while True:
            await trio.sleep(0.05)
            now = trio.current_time()
            for scope, started in list(self._active.items()):
                if now - started > self.hang_after:
                    scope.cancel()

    async def run(self, op: Callable[..., Awaitable[T]], *args: Any) -> tuple[Outcome, T | None]:
        """Run ``op(*args)`` once and count its outcome; returns it with the value (None
        unless it succeeded)."""
        counts = self.counts
        counts.requests_sent += 1
        started = trio.current_time()
        outcome, value = Outcome.HUNG, None
        with trio.CancelScope() as scope:
            self._active[scope] = started
            try:
                value = await op(*args)
                outcome = Outcome.OK
            except self.typed as exc:
                outcome = Outcome.TYPED
                self.typed_seen[type(exc).__name__] += 1
            except Exception as exc:
                outcome = Outcome.UNEXPECTED
                self.unexpected(f"{type(exc).__name__}: {str(exc)[:200]}")
            finally:
                del self._active[scope]
        self.slowest = max(self.slowest, trio.current_time() - started)
        if scope.cancel_called:  # the watchdog's: whatever it ended with, it had hung
            if outcome is Outcome.UNEXPECTED:
                counts.unexpected_exceptions -= 1
            outcome, value = Outcome.HUNG, None
        if outcome is Outcome.OK:
            counts.succeeded += 1
        elif outcome is Outcome.TYPED:
            counts.failed_typed += 1
        elif outcome is Outcome.HUNG:
            counts.hung += 1
        return outcome, value

    def count_crashes(self, system: actors.ActorSystem) -> None:
        """Count every actor crash in ``system`` as unexpected: a server failure is an
        answer (a typed error), not a crash."""

        def seen(event: actors.LifecycleEvent) -> None:
            if isinstance(event, actors.Crashed):
                self.unexpected(f"{event.name} crashed: {event.error!r}")

        system.events.subscribe(seen)

    def unexpected(self, what: str) -> None:
        """Count one unexpected exception or event (noted once per distinct text)."""
        self.counts.unexpected_exceptions += 1
        self.unexpected_seen[what] += 1

    def summarize(self) -> None:
        """Add what was seen to the notes: typed failures by type, unexpected texts, the
        slowest operation."""
        notes = self.counts.notes
        if self.typed_seen:
            seen = ", ".join(f"{name} {n}" for name, n in self.typed_seen.most_common())
            notes.append(f"typed failures: {seen}")
        for text, n in self.unexpected_seen.most_common(NOTE_LIMIT):
            notes.append(f"unexpected ({n}x): {text}")
        if len(self.unexpected_seen) > NOTE_LIMIT:
            notes.append(f"... and {len(self.unexpected_seen) - NOTE_LIMIT} other unexpected texts")
        notes.append(f"slowest operation: {self.slowest:.2f} s (hung after {self.hang_after:g} s)")


class _Tally(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.seen: collections.Counter[tuple[str, str]] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.seen[(record.levelname.lower(), record.name)] += 1


@contextmanager
def tallied_logs(counts: Counts, *names: str) -> Iterator[None]:
    """Count (instead of printing) what the loggers ``names`` log meanwhile: a pool logs a
    warning per failed connection attempt, which under restarts is many lines. The tally
    goes to the notes."""
    tally = _Tally()
    saved: list[tuple[logging.Logger, bool, int]] = []
    for name in names:
        logger = logging.getLogger(name)
        saved.append((logger, logger.propagate, logger.level))
        logger.addHandler(tally)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, propagate, level in saved:
            logger.removeHandler(tally)
            logger.propagate = propagate
            logger.setLevel(level)
        if tally.seen:
            seen = ", ".join(f"{n} {level} ({name})" for (level, name), n in tally.seen.items())
            counts.notes.append(f"logged: {seen}")


def describe(values: dict[str, Any]) -> str:
    """``a=1, b=2`` for a note."""
    return ", ".join(f"{key}={value}" for key, value in values.items())

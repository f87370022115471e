"""Whether the pool reaches its server: the pool's side of :mod:`pywatt.backends`.

A base class of :class:`~pywatt.db.DatabasePool` (the state it uses is the pool's). The
pool is *up* once a connection opened, *down* when an attempt failed with no connection
left: then it answers every request at once (:meth:`Reach.unreachable`) and only the retry
timer tries the server again, one connection at a time, 0.1 s doubling to 5 s, so a server
that is away is not hammered by one attempt per request.
"""

from __future__ import annotations

from typing import Final

import attrs

import actors
from pywatt.backends import BackendReporter, BackendState

from ._errors import DatabaseConnectionError, DatabaseError, DatabaseRefused
from ._jobs import Worker

__all__ = ["RETRY_CAP", "RETRY_FIRST", "Reach", "Retry"]

RETRY_FIRST: Final = 0.1
RETRY_CAP: Final = 5.0


@attrs.frozen
class Retry:
    """Internal: the retry timer of a pool whose server is down."""


class Reach:
    """The pool's view of its server (see the module docstring)."""

    ctx: actors.ActorContext
    backend: str
    _workers: set[Worker]
    _opening: int
    _stopping: bool

    def __init__(self, *, required: bool = False) -> None:
        self.required = required
        self._retry_delay = RETRY_FIRST
        self._retry_pending = False

    async def _open(self) -> None:
        raise NotImplementedError  # pragma: no cover - the pool's

    def report(self, target: str, settle_within: float, verb: str) -> None:
        """Start reporting (in ``on_start``)."""
        self.reporter = BackendReporter(
            self.ctx.system,
            self.ctx.name,
            target,
            required=self.required,
            settle_within=settle_within,
            verb=verb,
        )

    def away(self) -> bool:
        """Whether the server is down (requests fail at once)."""
        return self.reporter.state is BackendState.DOWN

    def reached(self) -> bool:
        """Whether an attempt has ended (up or down) since the pool first started."""
        return self.reporter.state is not BackendState.CONNECTING

    def came_up(self) -> None:
        self._retry_delay = RETRY_FIRST
        self.reporter.up()

    def went_down(self, error: DatabaseError) -> None:
        """No connection could be opened and none is left: down, and retry later."""
        self.reporter.down(error.detail, heals=not isinstance(error, DatabaseRefused))
        if not self._retry_pending and not self._stopping:
            self._retry_pending = True
            self.ctx.send_after(self._retry_delay, Retry())
            self._retry_delay = min(RETRY_CAP, self._retry_delay * 2)

    def retry(self, *, now: bool = False) -> None:
        """The retry timer fired (or ``now``: try at once): one connection attempt, if the
        server is still down and none is under way."""
        if now:
            self._retry_delay = RETRY_FIRST
        else:
            self._retry_pending = False
        if self._stopping or not self.away() or self._opening or self._workers:
            return
        self._opening += 1
        self.ctx.start_task(self._open)

    def unreachable(self) -> DatabaseConnectionError:
        """The error for a request while the server is down."""
        status = self.reporter.status
        text = status.describe().partition(": ")[2]
        if not status.heals:
            return DatabaseRefused(text, backend=self.backend)
        return DatabaseConnectionError(text, backend=self.backend)

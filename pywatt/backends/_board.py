"""The board of one actor system's backends: what each last said, for ``/health`` and the
module's start-up to read.

One board per :class:`~actors.ActorSystem` (:func:`backend_board`), kept beside it rather
than in any actor: a backend actor that crashes and restarts finds its entry as its last
incarnation left it, so the module's view of its server survives the restart.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable

import trio

import actors

from ._status import BackendStatus

__all__ = ["BackendBoard", "backend_board"]


class BackendBoard:
    """Each backend's last :class:`BackendStatus`, by actor name. Does not block."""

    def __init__(self) -> None:
        self._statuses: dict[str, BackendStatus] = {}
        self._changed = trio.Event()

    def get(self, name: str) -> BackendStatus | None:
        return self._statuses.get(name)

    def statuses(self) -> list[BackendStatus]:
        """Every entry, in the order the backends first reported."""
        return list(self._statuses.values())

    def put(self, status: BackendStatus) -> None:
        """Record ``status`` (replacing the backend's last one) and wake the waiters."""
        self._statuses[status.name] = status
        self._changed.set()
        self._changed = trio.Event()

    async def wait_until(self, done: Callable[[BackendBoard], bool]) -> None:
        """Block until ``done(board)`` holds (checked now and at every change)."""
        while not done(self):
            await self._changed.wait()


_BOARDS: weakref.WeakKeyDictionary[actors.ActorSystem, BackendBoard] = weakref.WeakKeyDictionary()


def backend_board(system: actors.ActorSystem) -> BackendBoard:
    """The board of ``system`` (made on first use; it lives as long as the system)."""
    board = _BOARDS.get(system)
    if board is None:
        board = _BOARDS[system] = BackendBoard()
    return board

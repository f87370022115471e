"""The module's start-up view of its backends: wait for their first attempts, and stop the
module when a required one failed."""

from __future__ import annotations

from typing import Final

import attrs
import trio

import actors

from ._board import BackendBoard, backend_board
from ._errors import BackendUnreachable
from ._status import BackendState, BackendStatus

__all__ = ["BACKEND_WAIT", "check_backends"]

BACKEND_WAIT: Final = 5.0
"""Seconds the start-up waits for the first attempts of the backends that are not required
(each backend logs its first attempt's outcome itself, whenever it comes)."""
REQUIRED_MARGIN: Final = 1.0
"""Seconds past a required backend's own bound on one attempt that the start-up waits."""


async def check_backends(system: actors.ActorSystem, *, wait: float = BACKEND_WAIT) -> None:
    """Wait until the backends of ``system`` have ended their first attempts: a required one
    for as long as its attempt may take (plus :data:`REQUIRED_MARGIN`), the others at most
    ``wait`` seconds in all (they go on connecting in the background; the module starts and
    its ``/health`` says degraded meanwhile). Raises :class:`BackendUnreachable` if a
    required backend is not up then."""
    board = backend_board(system)
    required = [status for status in board.statuses() if status.required]
    bound = max((status.settle_within + REQUIRED_MARGIN for status in required), default=0.0)
    deadline = trio.current_time() + wait
    with trio.move_on_after(bound):
        await board.wait_until(lambda b: _settled(b, required=True))
    with trio.move_on_at(deadline):
        await board.wait_until(lambda b: _settled(b, required=False))
    failed = [
        _failure(status, bound)
        for status in board.statuses()
        if status.required and status.state is not BackendState.UP
    ]
    if failed:
        raise BackendUnreachable(failed)


def _settled(board: BackendBoard, *, required: bool) -> bool:
    """Whether every backend (every required one) has ended its first attempt."""
    return all(s.settled for s in board.statuses() if s.required or not required)


def _failure(status: BackendStatus, bound: float) -> BackendStatus:
    if status.state is BackendState.CONNECTING:
        reason = f"no answer within {bound:g} s"
        return attrs.evolve(status, state=BackendState.DOWN, reason=reason)
    return status

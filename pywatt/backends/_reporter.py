"""How a backend actor says where it stands: :class:`BackendReporter`.

Each change is one line in the module's log and the backend's entry on its system's
:class:`~pywatt.backends.BackendBoard` (which ``/health`` reads and the module's start-up
waits on). Only changes are logged: a server that stays away while the backend retries
every few seconds is said once, and once more when it is back.

========================  =======================================================  =======
change                    line                                                     level
========================  =======================================================  =======
first attempt, up         ``cache: connected to redis at 127.0.0.1:6379/0``          INFO
first attempt, down       ``cache: cannot reach redis at ...: <reason>; will keep    WARNING
                          retrying`` (``cache: cannot use redis at ...: <reason>``
                          when the server said no)
up, then down             ``cache: lost redis at ...: <reason>; will keep retrying``  WARNING
down, then up             ``cache: reconnected to redis at ... after 3.2 s``         INFO
========================  =======================================================  =======

A *required* backend says nothing when its first attempt fails: the module's start-up then
stops the module with one line of its own (:func:`~pywatt.backends.check_backends`).
"""

from __future__ import annotations

import logging

import attrs
import trio

import actors

from ._board import backend_board
from ._status import BackendState, BackendStatus, one_line

__all__ = ["BackendReporter"]

log = logging.getLogger("pywatt.backends")


class BackendReporter:
    """The reporter of the backend actor ``name`` in ``system``, connecting to ``target``.

    Made in the actor's ``on_start``. A backend new to the board starts ``connecting``; a
    restarted one keeps the entry its last incarnation left (and its next change is logged
    against that). ``verb`` words the first line of a local backend (``opened``, ``using``).
    """

    def __init__(
        self,
        system: actors.ActorSystem,
        name: str,
        target: str,
        *,
        required: bool = False,
        settle_within: float = 5.0,
        verb: str = "connected to",
    ) -> None:
        self.board = backend_board(system)
        self.name = name
        self.verb = verb
        last = self.board.get(name)
        status = BackendStatus(
            name=name,
            target=target,
            state=BackendState.CONNECTING if last is None else last.state,
            reason=None if last is None else last.reason,
            heals=True if last is None else last.heals,
            required=required,
            settle_within=settle_within,
            since=trio.current_time() if last is None else last.since,
        )
        self.board.put(status)

    @property
    def status(self) -> BackendStatus:
        status = self.board.get(self.name)
        assert status is not None
        return status

    @property
    def state(self) -> BackendState:
        return self.status.state

    def up(self) -> None:
        """The backend is connected (or ready)."""
        last = self.status
        if last.state is BackendState.UP:
            return
        now = trio.current_time()
        now_up = attrs.evolve(last, state=BackendState.UP, reason=None, heals=True, since=now)
        self.board.put(now_up)
        if last.state is BackendState.CONNECTING:
            log.info("%s: %s %s", self.name, self.verb, last.target)
        else:
            log.info("%s: reconnected to %s after %.1f s", self.name, last.target, now - last.since)

    def down(self, reason: str, *, heals: bool = True) -> None:
        """The backend cannot use its server, for ``reason``; ``heals`` False when the
        server refused it (retrying alone will not help)."""
        last = self.status
        reason = one_line(reason)
        since = last.since if last.state is BackendState.DOWN else trio.current_time()
        now = attrs.evolve(last, state=BackendState.DOWN, reason=reason, heals=heals, since=since)
        self.board.put(now)
        if last.state is BackendState.DOWN:
            if (last.reason, last.heals) != (reason, heals):
                log.debug("%s: still down: %s", self.name, reason)
            return
        if last.state is BackendState.UP:
            log.warning("%s: lost %s: %s; will keep retrying", self.name, last.target, reason)
        elif not last.required:  # a required one is said by the start-up, which stops
            log.warning("%s; will keep retrying", now.describe())

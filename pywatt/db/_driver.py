"""What the pool actor needs from a database backend: a driver that opens connections.

A backend (PostgreSQL, SQLite, MySQL) is a :class:`Driver` whose connections implement
:class:`DbConnection`. The pool actor owns the connections and never blocks on them except
through these async methods, each of which is cancellable: a cancelled statement is
interrupted on the server (or in the engine) and the connection's :attr:`state` then tells
the pool whether to reuse it, roll it back or discard it.

Every method raises only :class:`~pywatt.db.DatabaseError` subclasses (chained from the
driver's error) or ``trio.Cancelled``.
"""

from __future__ import annotations

import abc
import enum
from collections.abc import Sequence
from typing import Any

import trio

import actors

from ._params import Dialect, bind

__all__ = ["ConnState", "DbConnection", "Driver", "Mode", "Outcome"]


class ConnState(enum.Enum):
    """Where a connection stands between operations."""

    IDLE = "idle"
    """No transaction open: reusable as it is."""
    IN_TRANSACTION = "in transaction"
    """A transaction is open (roll it back before giving the connection to someone else)."""
    IN_ERROR = "in error"
    """A transaction failed and must be rolled back."""
    BROKEN = "broken"
    """Closed, or in a state nobody can trust: discard it."""


class Mode(enum.Enum):
    """What a statement's caller wants back."""

    QUERY = "query"
    """Columns, every row and the row count (:class:`~pywatt.db.QueryResult`)."""
    EXECUTE = "execute"
    """The number of rows affected."""
    ONE = "one"
    """The first row as a dict, or None."""
    MANY = "many"
    """Up to ``size`` rows (every row when ``size`` is None) as dicts."""


Outcome = Any
"""What :meth:`DbConnection.run` returns for its mode (see :class:`Mode`)."""


class DbConnection(abc.ABC):
    """One open connection of a backend. Used by one task at a time (the pool ensures it)."""

    created: float
    """``trio.current_time()`` when it was opened (for the pool's maximum lifetime)."""
    generation: int = 0
    """The credentials generation it was opened with (the pool discards older ones)."""

    def __init__(self) -> None:
        self.created = trio.current_time()
        self.last_used = self.created

    @property
    @abc.abstractmethod
    def state(self) -> ConnState:
        """The connection's transaction state, read without I/O."""

    @abc.abstractmethod
    async def run(
        self, mode: Mode, sql: str, params: Sequence[Any], size: int | None = None
    ) -> Outcome:
        """Run one statement already in the driver's placeholder style."""

    @abc.abstractmethod
    async def begin(self) -> None:
        """Open a transaction."""

    @abc.abstractmethod
    async def commit(self) -> None:
        """Commit the open transaction."""

    @abc.abstractmethod
    async def rollback(self) -> None:
        """Roll back the open transaction (a no-op without one)."""

    startable: bool = False
    """Whether :meth:`start` sends a statement at once, for :meth:`finish` to wait on."""

    def start(self, sql: str, params: Sequence[Any]) -> Any:
        """Send a statement without waiting; never raises (see ``startable``)."""
        raise NotImplementedError(f"{type(self).__name__} cannot start statements")

    async def finish(self, started: Any, mode: Mode, size: int | None = None) -> Outcome:
        """The answer of a statement :meth:`start` sent, as :meth:`run` answers."""
        raise NotImplementedError(f"{type(self).__name__} cannot start statements")

    batchable: bool = False
    """Whether :meth:`run_batch` runs statements together (one round trip); the pool
    then hands it several queued read-only statements at once."""

    async def run_batch(
        self, statements: Sequence[tuple[Mode, str, Sequence[Any], int | None]]
    ) -> list[Outcome]:
        """Run independent statements (each outside any transaction); one entry per
        statement: its outcome, or the :class:`~pywatt.db.DatabaseError` it failed with.
        Raises only when the connection itself fails. One at a time by default."""
        from ._errors import DatabaseError

        outcomes: list[Outcome] = []
        for mode, sql, params, size in statements:
            try:
                outcomes.append(await self.run(mode, sql, params, size))
            except DatabaseError as exc:
                outcomes.append(exc)
        return outcomes

    async def ping(self) -> None:
        """Check the connection with a trivial round trip."""
        await self.run(Mode.EXECUTE, "SELECT 1", ())

    @abc.abstractmethod
    async def aclose(self) -> None:
        """Close it. Never raises; bounded in time."""


class Driver(abc.ABC):
    """Opens connections to one database. ``name`` labels errors and logs."""

    name: str
    dialect: Dialect
    ready_verb = "connected to"
    """How the first line says it worked (``pywatt.db: connected to postgresql at ...``)."""

    @abc.abstractmethod
    async def connect(self, password: str | None) -> DbConnection:
        """Open one connection, with ``password`` when the credentials come from a secret
        (None: whatever the configuration says). Raises
        :class:`~pywatt.db.DatabaseConnectionError`."""

    def describe(self) -> str:
        """Where it connects, without credentials (for logs and errors)."""
        return self.name

    def attach(self, system: actors.ActorSystem) -> None:  # noqa: B027 - optional hook
        """Called by the pool actor when it starts, with its system (the proxy driver
        reaches the orchestrator link through it). Does nothing by default."""

    def prepare(
        self, sql: str, params: Sequence[Any], allow_numbered: bool
    ) -> tuple[str, tuple[Any, ...]]:
        """``sql`` and ``params`` in this driver's placeholder style (raises
        :class:`~pywatt.db.ParameterError`). Pure; does not block."""
        return bind(sql, params, self.dialect, allow_numbered=allow_numbered)

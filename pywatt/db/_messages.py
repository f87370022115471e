"""The database protocol: the messages every database actor answers.

The pool actors for PostgreSQL, SQLite and MySQL answer them, and so does the proxy actor
that goes through the orchestrator; a user's own actor that answers the same messages can
be registered under the same name (:data:`DATABASE` is the :class:`actors.Protocol`).

Statements use ``?`` placeholders whatever the backend (``pywatt.db._params``). Every
statement message may name a ``transaction`` (an id from :class:`Begin`): it then runs on
that transaction's connection. ``deadline`` is an absolute ``trio.current_time()`` after
which the actor cancels the statement (on the server too) and answers
:class:`~pywatt.db.DatabaseTimeout`; :class:`~pywatt.db.DatabaseFacade` fills it from the
caller's own deadline, so ``with trio.fail_after(1): await db.fetch_all(...)`` cancels the
query in PostgreSQL after a second.

Reply errors: :class:`~pywatt.db.DatabaseError` and its subclasses.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import attrs

import actors
from pywatt.metrics import HistogramSnapshot

__all__ = [
    "DATABASE",
    "Abandon",
    "Batch",
    "Begin",
    "Commit",
    "Execute",
    "FetchMany",
    "FetchOne",
    "Ping",
    "PoolStatistics",
    "PoolStatus",
    "Query",
    "QueryResult",
    "Rollback",
    "Row",
    "Statement",
]

Row = dict[str, Any]
"""A row: column name → value."""


def _params(value: Iterable[Any] | None) -> tuple[Any, ...]:
    if value is None:
        return ()
    if isinstance(value, str | bytes | dict):
        raise TypeError(f"parameters must be a sequence of values, not {type(value).__name__}")
    return tuple(value)


def _statements(value: Iterable[Statement]) -> tuple[Statement, ...]:
    items = tuple(value)
    for item in items:
        if not isinstance(item, Statement):
            raise TypeError(f"a batch holds Statement objects, not {type(item).__name__}")
    return items


@attrs.frozen
class QueryResult:
    """What :class:`Query` answers: column names, rows as tuples, and the row count."""

    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    rowcount: int

    def dicts(self) -> list[Row]:
        """The rows as dicts (column → value)."""
        columns = self.columns
        return [dict(zip(columns, row, strict=True)) for row in self.rows]


@attrs.frozen
class Statement:
    """One statement of a :class:`Batch`."""

    sql: str
    params: tuple[Any, ...] = attrs.field(default=(), converter=_params)


@attrs.frozen(eq=False)
class Query(actors.Request[QueryResult]):
    """Run a statement; answers its columns, rows and row count."""

    sql: str
    params: tuple[Any, ...] = attrs.field(default=(), converter=_params)
    transaction: str | None = None
    deadline: float | None = None
    allow_numbered: bool = False
    """Accept ``$1``-style placeholders too (the proxy path: what the Rust SDK sends)."""


@attrs.frozen(eq=False)
class Execute(actors.Request[int]):
    """Run a statement; answers the number of rows affected (-1 when the driver cannot say)."""

    sql: str
    params: tuple[Any, ...] = attrs.field(default=(), converter=_params)
    transaction: str | None = None
    deadline: float | None = None
    allow_numbered: bool = False


@attrs.frozen(eq=False)
class FetchOne(actors.Request[Row | None]):
    """Run a query; answers its first row as a dict, or None when it has none."""

    sql: str
    params: tuple[Any, ...] = attrs.field(default=(), converter=_params)
    transaction: str | None = None
    deadline: float | None = None
    allow_numbered: bool = False


@attrs.frozen(eq=False)
class FetchMany(actors.Request[list[Row]]):
    """Run a query; answers up to ``size`` rows as dicts (every row when ``size`` is None)."""

    sql: str
    params: tuple[Any, ...] = attrs.field(default=(), converter=_params)
    size: int | None = None
    transaction: str | None = None
    deadline: float | None = None
    allow_numbered: bool = False


@attrs.frozen(eq=False)
class Batch(actors.Request[list[int]]):
    """Run statements in order on one connection, all or nothing; answers each row count.

    Outside a transaction the batch is its own transaction: the first failure rolls every
    statement back and is the answer. Inside one (``transaction`` given) it runs there,
    and the transaction's owner decides.
    """

    statements: tuple[Statement, ...] = attrs.field(converter=_statements)
    transaction: str | None = None
    deadline: float | None = None
    allow_numbered: bool = False


@attrs.frozen(eq=False)
class Begin(actors.Request[str]):
    """Open a transaction on a connection of its own; answers its id.

    The connection stays with the transaction until :class:`Commit` or :class:`Rollback`,
    or until the pool's ``transaction_timeout`` passes (then the pool rolls it back).
    ``deadline`` bounds the wait for a connection.
    """

    deadline: float | None = None


@attrs.frozen(eq=False)
class Commit(actors.Request[None]):
    """Commit a transaction and give its connection back. Raises TransactionError when
    it is unknown or already ended."""

    transaction: str
    deadline: float | None = None


@attrs.frozen(eq=False)
class Rollback(actors.Request[None]):
    """Roll a transaction back and give its connection back. Unknown ids are ignored
    (a rollback after the pool already rolled it back is not an error)."""

    transaction: str
    deadline: float | None = None


@attrs.frozen(eq=False)
class Ping(actors.Request[None]):
    """Check that the database answers (one trivial round trip)."""

    deadline: float | None = None


@attrs.frozen
class PoolStatistics:
    """A snapshot of a pool."""

    backend: str
    idle: int
    in_use: int
    opening: int
    waiting: int
    transactions: int
    opened: int
    closed: int
    failed_opens: int
    query_latency: HistogramSnapshot = attrs.Factory(HistogramSnapshot)
    """Seconds each statement took on its connection."""


@attrs.frozen(eq=False)
class PoolStatus(actors.Request[PoolStatistics]):
    """Ask for the pool's statistics."""


@attrs.frozen(eq=False)
class Abandon:
    """Told by an asker that was cancelled: stop working on ``request`` (the very message
    object it asked with) and cancel its statement on the server."""

    request: object


StatementMessage = Query | Execute | FetchOne | FetchMany
DatabaseMessage = StatementMessage | Batch | Begin | Commit | Rollback | Ping | PoolStatus | Abandon

DATABASE = actors.Protocol(
    "database",
    (
        Query,
        Execute,
        FetchOne,
        FetchMany,
        Batch,
        Begin,
        Commit,
        Rollback,
        Ping,
        PoolStatus,
        Abandon,
    ),
)
"""The protocol of every database actor, built in or the user's own."""


def statements(sql: str, param_sets: Iterable[Sequence[Any]]) -> tuple[Statement, ...]:
    """One :class:`Statement` per parameter set (``executemany`` as a :class:`Batch`)."""
    return tuple(Statement(sql, tuple(p)) for p in param_sets)

"""A worker thread owned by one connection, for drivers that block (sqlite3, PyMySQL).

Each connection of a blocking driver lives in its own OS thread for its whole life: every
call on it runs there, one at a time, so drivers that insist on one thread per connection
(sqlite3) are satisfied and the trio loop never blocks. A cancelled call asks the engine to
interrupt the statement (``on_cancel``: ``sqlite3.Connection.interrupt``, MySQL's ``KILL
QUERY``) and waits, shielded and bounded, for the thread to come back; if it does not, the
worker is marked stuck and its connection must be discarded.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

import outcome
import trio

from ._driver import Mode
from ._messages import QueryResult

__all__ = ["WorkerThread", "dbapi_run"]

T = TypeVar("T")

CANCEL_GRACE: Final = 5.0
"""Seconds a cancelled call may take to come back before its worker is marked stuck."""


class WorkerThread:
    """One daemon thread running blocking calls in order (see the module docstring)."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self.stuck = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            job()

    async def run(self, fn: Callable[[], T], *, on_cancel: Callable[[], None] | None = None) -> T:
        """Run ``fn()`` in the thread and return its result (or raise its exception).

        Blocks (cancellably) until it is done. On cancellation, calls ``on_cancel()`` from
        the trio thread, waits up to :data:`CANCEL_GRACE` for ``fn`` to return, then
        re-raises ``Cancelled``.
        """
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        box: list[outcome.Outcome[T]] = []

        def job() -> None:
            box.append(outcome.capture(fn))
            with contextlib.suppress(trio.RunFinishedError):
                token.run_sync_soon(done.set)

        self._jobs.put(job)
        try:
            await done.wait()
        except trio.Cancelled:
            if on_cancel is not None:
                on_cancel()
            with trio.CancelScope(shield=True):
                with trio.move_on_after(CANCEL_GRACE):
                    await done.wait()
            if not box:
                self.stuck = True
            raise
        return box[0].unwrap()

    def stop(self) -> None:
        """Let the thread end after the calls already queued. Does not block."""
        self._jobs.put(None)


def dbapi_run(cursor: Any, mode: Mode, sql: str, params: Sequence[Any], size: int | None) -> Any:
    """Run one statement on a DB-API cursor and shape the result for ``mode`` (in the
    worker thread: this blocks)."""
    cursor.execute(sql, tuple(params))
    description = cursor.description
    if mode is Mode.EXECUTE:
        return cursor.rowcount
    if description is None:
        if mode is Mode.QUERY:
            return QueryResult((), [], cursor.rowcount)
        return None if mode is Mode.ONE else []
    columns = tuple(column[0] for column in description)
    if mode is Mode.ONE:
        row = cursor.fetchone()
        return None if row is None else dict(zip(columns, row, strict=True))
    if mode is Mode.MANY:
        rows = cursor.fetchall() if size is None else cursor.fetchmany(size)
        return [dict(zip(columns, row, strict=True)) for row in rows]
    rows = [tuple(row) for row in cursor.fetchall()]
    rowcount = cursor.rowcount if cursor.rowcount >= 0 else len(rows)
    return QueryResult(columns, rows, rowcount)

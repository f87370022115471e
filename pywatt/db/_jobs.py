"""What the pool actor hands its connection workers: jobs, workers and transactions.

Plain slotted records, kept apart from the pool actor (``_pool.py``) so that the hot path
allocates as little as possible: one :class:`Job` per request, no task, no closure for a
plain statement. A :class:`Worker` is one open connection and the long-lived task that
serves it; it parks (``wait_task_rescheduled``) when it has nothing to do, and the pool
wakes it directly with :meth:`Worker.wake` after appending a job to :attr:`Worker.jobs`.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Awaitable, Callable
from typing import Any, Final

import trio
from trio.lowlevel import Abort, Task, current_task, reschedule, wait_task_rescheduled

import actors

from ._driver import DbConnection, Mode

__all__ = ["NO_REPLY", "Job", "Kind", "Transaction", "Work", "Worker"]

Work = Callable[[DbConnection], Awaitable[Any]]


class Kind(enum.IntEnum):
    """What a job asks of its worker."""

    STATEMENT = 0
    """``conn.run(mode, sql, params, size)``: the hot path."""
    WORK = 1
    """``await work(conn)`` (a batch, a ping)."""
    BEGIN = 2
    """Open a transaction; on success the worker belongs to it."""
    END = 3
    """Commit or roll back the worker's transaction (``message`` says which)."""
    CHECK = 4
    """The health check's ping: a failure discards the connection."""


class Job:
    """One request for a worker. ``reply`` answers its asker; ``deadline`` (absolute trio
    time, or None) cancels it, on the server too; ``expires`` bounds its wait for a
    connection while it is queued."""

    __slots__ = (
        "batchable",
        "deadline",
        "expires",
        "kind",
        "message",
        "mode",
        "params",
        "reply",
        "size",
        "sql",
        "started",
        "work",
    )

    def __init__(
        self,
        kind: Kind,
        message: Any,
        reply: actors.DeferredReply | _NoReply,
        deadline: float | None,
        *,
        mode: Mode = Mode.EXECUTE,
        sql: str = "",
        params: tuple[Any, ...] = (),
        size: int | None = None,
        work: Work | None = None,
    ) -> None:
        self.kind = kind
        self.message = message
        self.reply = reply
        self.deadline = deadline
        self.mode = mode
        self.sql = sql
        self.params = params
        self.size = size
        self.work = work
        self.expires = 0.0
        self.batchable = False
        self.started: Any = None
        """Set when the pool already sent the statement (``DbConnection.start``)."""


class Worker:
    """One open connection and the task serving it.

    ``jobs`` is its queue: one pool job at a time, or a transaction's statements in order.
    ``task`` is set while it is parked; ``scope`` is the cancel scope its jobs run in (a
    job's deadline is set on it, and :meth:`cancel` cancels it, telling the worker to go
    on in a fresh scope through ``cancelled``). ``tx`` is the
    transaction it belongs to, if any; ``discard`` asks for its connection to be closed
    once the job in hand is done.
    """

    __slots__ = (
        "abort",
        "batch",
        "cancelled",
        "conn",
        "discard",
        "job",
        "jobs",
        "scope",
        "task",
        "tx",
    )

    def __init__(self, conn: DbConnection, on_abort: Callable[[Worker], None]) -> None:
        self.conn = conn
        self.jobs: collections.deque[Job] = collections.deque()
        self.job: Job | None = None
        self.batch: list[Job] | None = None
        self.task: Task | None = None
        self.scope: trio.CancelScope | None = None
        self.cancelled = False
        self.tx: Transaction | None = None
        self.discard = False

        def abort(_: object) -> Abort:
            self.task = None
            on_abort(self)
            return Abort.SUCCEEDED

        self.abort = abort  # allocated once: parking is on the hot path

    def wake(self) -> None:
        """Wake it if it is parked (it looks at ``jobs`` and the pool's state)."""
        task = self.task
        if task is not None:
            self.task = None
            reschedule(task)

    def cancel(self) -> None:
        """Cancel the job in hand (its scope); the worker goes on in a fresh scope."""
        scope = self.scope
        if scope is not None:
            self.cancelled = True
            scope.cancel()

    async def park(self) -> None:
        """Park until :meth:`wake` (or a cancellation, which ``on_abort`` is told of)."""
        self.task = current_task()
        await wait_task_rescheduled(self.abort)


class Transaction:
    """An open transaction: its id, the worker it holds and when it began."""

    __slots__ = ("id", "started", "worker")

    def __init__(self, tx_id: str, worker: Worker, started: float) -> None:
        self.id = tx_id
        self.worker = worker
        self.started = started


class _NoReply:
    """A stand-in reply for work the pool starts itself (nobody waits for it)."""

    pending = False

    def reply(self, value: object) -> None:
        pass

    def fail(self, error: BaseException) -> None:
        pass


NO_REPLY: Final = _NoReply()

"""The worker side of the pool actor: the task that serves one connection.

Every open connection has one long-lived worker task. It runs the jobs the pool actor
appends to its queue (waking it directly), answers their askers, and then settles the
connection: it keeps serving its transaction, takes the next queued request at once, parks
as idle, or (broken, stale, failed rollback) closes the connection and ends.

Jobs run inside one cancel scope per worker: a job's deadline is set on it for the job's
duration and reset after; :meth:`~pywatt.db._jobs.Worker.cancel` (an Abandon, the pool
stopping) cancels it, and the worker goes on in a fresh scope. So no task, closure or cancel
scope is made per statement.

Queued read statements (``SELECT`` without a deadline, outside transactions) that pile up
behind a busy connection are run together in one pipeline when the backend can
(:meth:`~pywatt.db.DbConnection.run_batch`): one round trip for all of them.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import time
import uuid
from typing import TYPE_CHECKING, Any, Final

import trio

from pywatt.metrics import Histogram

from ._driver import ConnState, DbConnection
from ._errors import DatabaseConnectionError, DatabaseError, DatabaseTimeout, TransactionError
from ._jobs import Job, Kind, Transaction, Worker
from ._messages import Commit, Rollback

if TYPE_CHECKING:
    from ._pool import PoolSettings

__all__ = ["BATCH_MAX", "ConnectionServing"]

log = logging.getLogger("pywatt.db._pool")

BATCH_MAX: Final = 16
"""Most statements one worker runs in one pipeline."""
CLOSE_BOUND: Final = 2.0
"""Seconds a connection may take to close."""
_IN_TRANSACTION: Final = (ConnState.IN_TRANSACTION, ConnState.IN_ERROR)


class ConnectionServing:
    """What :class:`~pywatt.db.DatabasePool` does in its connections' worker tasks (a base
    class of the pool; the state it uses is the pool's)."""

    settings: PoolSettings
    backend: str
    _workers: set[Worker]
    _idle: collections.deque[Worker]
    _waiters: collections.deque[Job]
    _transactions: dict[str, Transaction]
    _stopping: bool
    _generation: int
    _closed: int
    _all_closed: trio.Event
    query_latency: Histogram

    def _maybe_open(self) -> None:
        raise NotImplementedError  # pragma: no cover - the pool's

    async def _serve(self, worker: Worker) -> None:
        """The task of one connection: run its jobs until it is discarded, then close it."""
        try:
            while await self._serve_in_scope(worker):
                pass
        finally:
            await self._retire(worker)

    async def _serve_in_scope(self, worker: Worker) -> bool:
        """Run jobs inside one cancel scope. Returns False when the worker should end, True
        to go on in a fresh scope (this one was cancelled: a deadline or an Abandon)."""
        scope = worker.scope = trio.CancelScope()
        worker.cancelled = False
        conn = worker.conn
        jobs = worker.jobs
        with scope:
            while True:
                if self._stopping or worker.discard:
                    return False
                if worker.cancelled:  # after its job was settled: go on in a fresh scope
                    return True
                if not jobs:
                    await worker.park()
                    continue
                job = worker.job = jobs.popleft()
                kind = job.kind
                deadline = job.deadline
                skip = kind <= Kind.BEGIN and not job.reply.pending and job.started is None
                if not skip and deadline is not None and deadline <= trio.current_time():
                    job.reply.fail(self._cancelled(job.message))
                    skip = True
                if skip:  # its asker gave up, or its deadline passed, before it was sent
                    worker.job = None
                    # Settle all the same: a worker handed a job is off the idle list and
                    # would otherwise park for good, lost to the pool.
                    if not await self._settle(worker):
                        return False
                    continue
                if deadline is not None:
                    scope.deadline = deadline
                if (
                    job.batchable
                    and job.started is None
                    and worker.tx is None
                    and conn.batchable
                    and self._waiters
                    and self._waiters[0].batchable
                ):
                    worker.job = None
                    await self._run_batch(worker, job)
                    if worker.cancelled:
                        break
                    if not await self._settle(worker):
                        return False
                    continue
                began = time.perf_counter()
                try:
                    if job.started is not None:
                        result = await conn.finish(job.started, job.mode, job.size)
                    elif kind is Kind.STATEMENT:
                        result = await conn.run(job.mode, job.sql, job.params, job.size)
                    elif kind is Kind.WORK or kind is Kind.CHECK:
                        assert job.work is not None
                        result = await job.work(conn)
                    elif kind is Kind.BEGIN:
                        await conn.begin()
                        result = None
                    else:
                        await self._end(worker, job.message)
                        result = None
                except DatabaseError as exc:
                    worker.job = None
                    if deadline is not None:
                        scope.deadline = math.inf
                    if kind is Kind.STATEMENT:
                        self.query_latency.observe(time.perf_counter() - began)
                    self._failed(worker, job, exc)
                else:
                    if kind is Kind.STATEMENT:
                        self.query_latency.observe(time.perf_counter() - began)
                    worker.job = None
                    if deadline is not None:
                        scope.deadline = math.inf
                    self._succeeded(worker, job, result)
                if worker.cancelled or (deadline is not None and scope.cancel_called):
                    break  # cancelled just as the job ended: settle, then a fresh scope
                if not await self._settle(worker):
                    return False
        interrupted = worker.job
        if interrupted is not None:  # cancelled mid-job
            worker.job = None
            if interrupted.kind is Kind.CHECK:
                worker.discard = True
            interrupted.reply.fail(self._cancelled(interrupted.message))
        return await self._settle(worker)

    async def _run_batch(self, worker: Worker, first: Job) -> None:
        """Run ``first`` and the batchable jobs queued behind it in one pipeline."""
        batch = [first]
        waiters = self._waiters
        while waiters and len(batch) < BATCH_MAX:
            job = waiters[0]
            if not job.batchable:
                break
            waiters.popleft()
            if job.reply.pending:
                batch.append(job)
        worker.batch = batch
        began = time.perf_counter()
        try:
            outcomes = await worker.conn.run_batch(
                [(job.mode, job.sql, job.params, job.size) for job in batch]
            )
        except DatabaseError as exc:
            for job in batch:
                job.reply.fail(exc)
            return
        except trio.Cancelled:  # every asker gave up, or the pool stops
            for job in batch:
                job.reply.fail(self._cancelled(job.message))
            raise
        finally:
            worker.batch = None
        took = time.perf_counter() - began
        for job, outcome in zip(batch, outcomes, strict=True):
            self.query_latency.observe(took)
            if isinstance(outcome, DatabaseError):
                job.reply.fail(outcome)
            else:
                job.reply.reply(outcome)

    def _succeeded(self, worker: Worker, job: Job, result: Any) -> None:
        if job.kind is Kind.BEGIN:
            if job.reply.pending:  # else the asker gave up: _settle rolls it back
                tx = Transaction(uuid.uuid4().hex, worker, trio.current_time())
                self._transactions[tx.id] = worker.tx = tx
                job.reply.reply(tx.id)
        else:
            job.reply.reply(result)

    def _failed(self, worker: Worker, job: Job, error: DatabaseError) -> None:
        if job.kind is Kind.CHECK:
            log.warning("%s: an idle connection failed its health check (%s)", self.backend, error)
            worker.discard = True
        job.reply.fail(error)

    async def _end(self, worker: Worker, message: Commit | Rollback) -> None:
        """Commit or roll back the worker's transaction; the worker is the pool's again."""
        tx = worker.tx
        worker.tx = None
        conn = worker.conn
        if conn.state is ConnState.BROKEN:
            if isinstance(message, Commit):
                tx_id = tx.id if tx is not None else message.transaction
                raise TransactionError(
                    f"transaction {tx_id!r} lost its connection; it was not committed",
                    backend=self.backend,
                )
            await trio.lowlevel.checkpoint()
        elif isinstance(message, Commit):
            await conn.commit()
        else:
            await conn.rollback()

    def _cancelled(self, message: Any) -> DatabaseTimeout:
        return DatabaseTimeout(
            f"{type(message).__name__} cancelled (its deadline passed or its asker gave up)",
            backend=self.backend,
        )

    async def _settle(self, worker: Worker) -> bool:
        """After a job: keep serving a transaction, or give the connection back (rolled back
        first when it was left in a transaction). Returns False to discard it."""
        conn = worker.conn
        if worker.tx is not None:
            return not (conn.state is ConnState.BROKEN or self._stopping)
        if worker.discard or self._stopping:
            return False
        state = conn.state
        if state in _IN_TRANSACTION:
            try:
                with trio.fail_after(self.settings.acquire_timeout):
                    await conn.rollback()
            except (DatabaseError, trio.TooSlowError) as exc:
                log.warning(
                    "%s: rollback of a returned connection failed (%s): discarded",
                    self.backend,
                    exc,
                )
                return False
            state = conn.state
        if state is not ConnState.IDLE or self._stale(conn):
            return False
        self._hand_over(worker)
        return True

    def _hand_over(self, worker: Worker) -> None:
        """Give a ready worker the first request still waiting, else make it idle."""
        waiters = self._waiters
        while waiters:
            job = waiters.popleft()
            if job.reply.pending:
                worker.jobs.append(job)
                return
        worker.conn.last_used = trio.current_time()
        self._idle.append(worker)

    def _parked_worker_cancelled(self, worker: Worker) -> None:
        with contextlib.suppress(ValueError):
            self._idle.remove(worker)

    async def _retire(self, worker: Worker) -> None:
        """The worker ends: its transaction is lost, its queued jobs fail, it closes."""
        self._parked_worker_cancelled(worker)
        tx = worker.tx
        if tx is not None and self._transactions.get(tx.id) is tx:
            del self._transactions[tx.id]
        lost = DatabaseConnectionError(
            "the connection was closed before this statement ran", backend=self.backend
        )
        while worker.jobs:
            job = worker.jobs.popleft()
            if job.kind is Kind.END and isinstance(job.message, Rollback):
                job.reply.reply(None)  # nothing left to roll back
            elif job.kind is Kind.END:
                job.reply.fail(
                    TransactionError(
                        f"transaction {job.message.transaction!r} lost its connection; "
                        "it was not committed",
                        backend=self.backend,
                    )
                )
            else:
                job.reply.fail(lost)
        with trio.CancelScope(shield=True):
            await self._close(worker.conn)
        self._workers.discard(worker)
        if self._stopping:
            if not self._workers:
                self._all_closed.set()
        else:
            self._maybe_open()

    def _stale(self, conn: DbConnection) -> bool:
        return (
            self._stopping
            or conn.generation != self._generation
            or trio.current_time() - conn.created >= self.settings.max_lifetime
        )

    async def _close(self, conn: DbConnection) -> None:
        self._closed += 1
        with trio.move_on_after(CLOSE_BOUND):
            await conn.aclose()

"""The pool actor: one per database, answering the database protocol over a pool of
connections opened by a backend :class:`~pywatt.db._driver.Driver`.

How a statement flows: the handler defers its reply and appends one job to an idle
connection's worker, waking that worker's task directly (or queues the job, opening a
connection when under ``max_connections``). Every open connection has one long-lived worker
task (``_jobs.Worker``), so the mailbox keeps flowing while statements run concurrently, one
per connection, and no task is spawned per statement. The worker answers the asker and then
gives its connection back: reused as it is when idle (it takes the next queued job at
once, or parks as idle), rolled back first when a transaction is left open or failed,
discarded when broken, past its lifetime, or opened with credentials that have since
rotated.

Statements that pile up behind busy connections are not all equal: read statements
(``SELECT`` without a deadline, outside transactions) are handed to the next free worker
together and run in one pipeline when the backend can (PostgreSQL), which is what makes
many concurrent callers cheap. An idle connection gets its statement sent straight from
the handler (``DbConnection.start``), so the server works while the worker wakes up.

Failures are answers, not crashes: a driver error becomes a typed
:class:`~pywatt.db.DatabaseError` for its asker and the pool goes on. A request that finds
no connection within ``acquire_timeout`` gets :class:`~pywatt.db.DatabaseTimeout`; when no
connection can be opened at all (the server is down), every waiting request gets the
:class:`~pywatt.db.DatabaseConnectionError` at once, so callers see errors, not hangs.

The server being away is a state of the pool, not of each request (``_reach.py``): the pool
tries its server at start (one connection, even with ``min_connections`` 0), says where it
stands on the system's backend board (one log line per change; ``/health`` reads it), and
while it is *down* answers every request at once with
:class:`~pywatt.db.DatabaseConnectionError` and retries one connection in the background
(0.1 s doubling to 5 s) until the server is back.

Cancellation: a request's ``deadline`` cancels its statement (in the server too) and an
asker that is cancelled tells :class:`~pywatt.db.Abandon`, which does the same (for a
statement sharing a pipeline, only once every asker of that pipeline gave up: cancelling
it earlier would cancel their statements too; until then its answer is dropped). A worker
runs its jobs inside one cancel scope: a job's deadline is set on it for the job's
duration, and a cancelled scope is replaced by a fresh one.

Transactions own their connection's worker from :class:`Begin` to
:class:`Commit`/:class:`Rollback`; statements naming the transaction queue on that worker and
run there in order. A transaction left open longer than ``transaction_timeout`` is rolled
back by the pool (its owner then gets :class:`~pywatt.db.TransactionError`), so a
transaction always ends.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.metrics import Histogram
from pywatt.secrets._messages import GetSecret, SecretRotated, Subscribe, Unsubscribe

from ._driver import DbConnection, Driver, Mode
from ._errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseTimeout,
    TransactionError,
)
from ._jobs import NO_REPLY, Job, Kind, Transaction, Work, Worker
from ._messages import (
    Abandon,
    Batch,
    Begin,
    Commit,
    DatabaseMessage,
    Execute,
    FetchMany,
    FetchOne,
    Ping,
    PoolStatistics,
    PoolStatus,
    Query,
    Rollback,
)
from ._reach import Reach, Retry
from ._serving import CLOSE_BOUND, ConnectionServing

__all__ = ["DatabasePool", "PoolSettings"]

log = logging.getLogger(__name__)

_MODES: Final[dict[type[Any], Mode]] = {
    Query: Mode.QUERY,
    Execute: Mode.EXECUTE,
    FetchOne: Mode.ONE,
    FetchMany: Mode.MANY,
}


def _positive(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is not None and value <= 0:
        raise ValueError(f"pool setting {attribute.name} must be positive, not {value}")


@attrs.frozen(kw_only=True)
class PoolSettings:
    """How a pool sizes and checks its connections (seconds for every duration).

    ``min_connections`` are opened at start and kept open; at most ``max_connections`` are
    open at once. ``acquire_timeout`` bounds the wait for a free connection (and each
    connection attempt). Every ``health_check_interval`` the pool closes connections idle
    for longer than ``idle_timeout`` (down to the minimum) or older than ``max_lifetime``,
    pings the others, reopens up to the minimum and rolls back transactions older than
    ``transaction_timeout`` (None: never).
    """

    min_connections: int = 1
    max_connections: int = 10
    acquire_timeout: float = attrs.field(default=30.0, validator=_positive)
    idle_timeout: float = attrs.field(default=300.0, validator=_positive)
    max_lifetime: float = attrs.field(default=1800.0, validator=_positive)
    health_check_interval: float = attrs.field(default=30.0, validator=_positive)
    transaction_timeout: float | None = attrs.field(default=300.0, validator=_positive)

    def __attrs_post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError(f"max_connections must be at least 1, not {self.max_connections}")
        if not 0 <= self.min_connections <= self.max_connections:
            raise ValueError(
                f"min_connections must be between 0 and max_connections "
                f"({self.max_connections}), not {self.min_connections}"
            )


@attrs.frozen
class _Tick:
    """Internal: time for the health check."""


PoolMessage = DatabaseMessage | _Tick | Retry | SecretRotated


class DatabasePool(Reach, ConnectionServing, actors.Actor[PoolMessage]):
    """The pool actor of one database (see the module docstring).

    ``password_secret`` names a secret (asked of ``secrets``, default ``pywatt.secrets``)
    whose value is the password: it is read at start and again whenever it rotates; the
    connections opened with the old value are closed as soon as they are free.
    ``required``: a server that cannot be used at start-up stops the module (see
    :func:`~pywatt.backends.check_backends`).
    """

    reply_errors = (DatabaseError,)

    def __init__(
        self,
        driver: Driver,
        settings: PoolSettings | None = None,
        *,
        password_secret: str | None = None,
        secrets: str = "pywatt.secrets",
        required: bool = False,
    ) -> None:
        super().__init__(required=required)
        self.driver = driver
        self.settings = settings or PoolSettings()
        self.password_secret = password_secret
        self.secrets = secrets
        self.backend = driver.name
        self._workers: set[Worker] = set()
        self._idle: collections.deque[Worker] = collections.deque()
        self._waiters: collections.deque[Job] = collections.deque()
        self._waiters_changed = trio.Event()
        self._transactions: dict[str, Transaction] = {}
        self._opening = 0
        self._opened = 0
        self._closed = 0
        self._failed_opens = 0
        self.query_latency = Histogram()
        self._generation = 0
        self._password: str | None = None
        self._stopping = False
        self._all_closed = trio.Event()

    # -- lifecycle -------------------------------------------------------------------------

    async def on_start(self) -> None:
        driver = self.driver
        self.report(driver.describe(), self.settings.acquire_timeout, driver.ready_verb)
        self.driver.attach(self.ctx.system)
        if self.password_secret is not None:
            system = self.ctx.system
            await system.ask(
                self.secrets, Subscribe(frozenset({self.password_secret}), self.ctx.self_ref)
            )
            secret = await system.ask(self.secrets, GetSecret(self.password_secret))
            self._password = secret.value
        self.ctx.start_task(self._expire_waiters)
        self.ctx.send_interval(self.settings.health_check_interval, _Tick())
        if self.away():  # restarted while its server was down: try it again at once
            self.retry(now=True)
        self._maybe_open()

    async def on_stop(self) -> None:
        self._stopping = True
        if self.password_secret is not None:
            with trio.move_on_after(1.0):
                with contextlib.suppress(actors.ActorError):
                    await self.ctx.system.ask(self.secrets, Unsubscribe(self.ctx.self_ref))
        # Parked workers wake and close their connection; busy ones have their job
        # cancelled (its asker gets DatabaseTimeout) and then close theirs.
        for worker in list(self._workers):
            if worker.task is not None:
                worker.wake()
            else:
                worker.cancel()
        if self._workers:
            with trio.move_on_after(CLOSE_BOUND + 1.0):
                await self._all_closed.wait()

    # -- messages --------------------------------------------------------------------------

    async def receive(self, message: PoolMessage) -> Any:
        mode = _MODES.get(type(message))
        if mode is not None:  # Query, Execute, FetchOne, FetchMany: the hot path
            assert isinstance(message, Query | Execute | FetchOne | FetchMany)
            tx_id = message.transaction
            tx = None if tx_id is None else self._transaction(tx_id)
            sql, params = self.driver.prepare(message.sql, message.params, message.allow_numbered)
            size = message.size if isinstance(message, FetchMany) else None
            job = Job(
                Kind.STATEMENT,
                message,
                self.ctx.defer_reply(),
                message.deadline,
                mode=mode,
                sql=sql,
                params=params,
                size=size,
            )
            job.batchable = (
                mode is not Mode.EXECUTE
                and message.deadline is None
                and tx is None
                and sql[:6].lower() == "select"
            )
            if tx is None:
                self._submit(job)
            else:
                self._queue_on(tx.worker, job)
            return None
        if isinstance(message, Batch | Ping):
            tx_id = message.transaction if isinstance(message, Batch) else None
            tx = None if tx_id is None else self._transaction(tx_id)
            work = self._batch(message) if isinstance(message, Batch) else _ping
            job = Job(Kind.WORK, message, self.ctx.defer_reply(), message.deadline, work=work)
            if tx is None:
                self._submit(job)
            else:
                self._queue_on(tx.worker, job)
            return None
        if isinstance(message, Begin):
            self._submit(Job(Kind.BEGIN, message, self.ctx.defer_reply(), message.deadline))
            return None
        if isinstance(message, Commit | Rollback):
            tx = self._transactions.pop(message.transaction, None)
            if tx is None:
                if isinstance(message, Rollback):
                    return None
                raise TransactionError(
                    f"transaction {message.transaction!r} is unknown or already ended",
                    backend=self.backend,
                )
            self._queue_on(tx.worker, Job(Kind.END, message, self.ctx.defer_reply(), None))
            return None
        if isinstance(message, Abandon):
            self._abandon(message.request)
            return None
        if isinstance(message, PoolStatus):
            return self.statistics()
        if isinstance(message, SecretRotated):
            self._rotated(message)
            return None
        if isinstance(message, _Tick):
            self._health_check()
            return None
        if isinstance(message, Retry):
            self.retry()
            return None
        raise TypeError(f"unexpected message {message!r}")  # pragma: no cover

    def statistics(self) -> PoolStatistics:
        """A snapshot of the pool. Does not block."""
        return PoolStatistics(
            backend=self.backend,
            idle=len(self._idle),
            in_use=len(self._workers) - len(self._idle),
            opening=self._opening,
            waiting=self._waiting(),
            transactions=len(self._transactions),
            opened=self._opened,
            closed=self._closed,
            failed_opens=self._failed_opens,
            query_latency=self.query_latency.snapshot(),
        )

    # -- handing jobs out ------------------------------------------------------------------

    def _batch(self, message: Batch) -> Work:
        prepare = self.driver.prepare
        own = message.transaction is None
        bound = [prepare(s.sql, s.params, message.allow_numbered) for s in message.statements]

        async def batch(conn: DbConnection) -> list[int]:
            if own:
                await conn.begin()
            counts = [await conn.run(Mode.EXECUTE, sql, params) for sql, params in bound]
            if own:
                await conn.commit()
            return counts

        return batch

    def _submit(self, job: Job) -> None:
        """Give ``job`` to an idle worker, else queue it for the next free one."""
        idle = self._idle
        if idle:
            worker = idle.pop()
            conn = worker.conn
            if job.kind is Kind.STATEMENT and job.deadline is None and conn.startable:
                # Send it now: the server works while the worker wakes up.
                job.started = conn.start(job.sql, job.params)
                worker.job = job  # an Abandon finds it from now on
            worker.jobs.append(job)
            worker.wake()
            return
        if self.away():  # nothing to wait for: the server is down
            job.reply.fail(self.unreachable())
            return
        job.expires = trio.current_time() + self.settings.acquire_timeout
        self._waiters.append(job)
        self._waiters_changed.set()
        self._maybe_open()

    def _queue_on(self, worker: Worker, job: Job) -> None:
        worker.jobs.append(job)
        worker.wake()

    def _transaction(self, tx_id: str) -> Transaction:
        tx = self._transactions.get(tx_id)
        if tx is None:
            raise TransactionError(
                f"transaction {tx_id!r} is unknown or already ended", backend=self.backend
            )
        return tx

    def _abandon(self, request: object) -> None:
        """The asker of ``request`` gave up: cancel its job if a worker is running it.
        (A queued job is skipped anyway: its reply is no longer pending.)"""
        for worker in self._workers:
            job = worker.job
            if job is not None and job.message is request:
                worker.cancel()
                return
            batch = worker.batch
            if batch is not None and any(job.message is request for job in batch):
                # Cancelling it would cancel its neighbours' statements too: only when
                # every asker of the batch gave up (it is theirs alone then).
                if not any(job.reply.pending for job in batch):
                    worker.cancel()
                return

    def _waiting(self) -> int:
        return sum(1 for job in self._waiters if job.reply.pending)

    # -- opening connections ---------------------------------------------------------------

    def _maybe_open(self) -> None:
        total = len(self._workers) + self._opening
        if self._stopping or total >= self.settings.max_connections or self.away():
            return  # (while away, only the retry timer tries the server)
        waiting = self._waiting()
        wanted = max(self.settings.min_connections - total, waiting - self._opening)
        if total == 0 and not self.reached():
            wanted = max(wanted, 1)  # the first attempt, whatever min_connections says
        room = self.settings.max_connections - total
        for _ in range(max(0, min(wanted, room))):
            self._opening += 1
            self.ctx.start_task(self._open)

    async def _open(self) -> None:
        """Open one connection, then serve it for its whole life (this task is its worker)."""
        generation = self._generation
        try:
            with trio.fail_after(self.settings.acquire_timeout):
                conn = await self.driver.connect(self._password)
        except (DatabaseError, trio.TooSlowError) as exc:
            self._opening -= 1
            self._failed_opens += 1
            error = (
                exc
                if isinstance(exc, DatabaseError)
                else DatabaseTimeout(
                    f"connecting took longer than {self.settings.acquire_timeout:g} s",
                    backend=self.backend,
                )
            )
            if not self._workers and self._opening == 0:
                self.went_down(error)  # logged there, once per outage
                self._fail_waiters(error)
            else:
                log.warning("%s: cannot open another connection: %s", self.backend, error)
            return
        except BaseException:
            self._opening -= 1
            raise
        self._opening -= 1
        self._opened += 1
        self.came_up()
        conn.generation = generation
        if self._stale(conn):
            await self._close(conn)
            self._maybe_open()
            return
        worker = Worker(conn, self._parked_worker_cancelled)
        self._workers.add(worker)
        self._hand_over(worker)
        await self._serve(worker)

    def _fail_waiters(self, error: DatabaseError) -> None:
        """Nothing can serve the waiting requests (no connection opens): answer them now."""
        kind = type(error) if isinstance(error, DatabaseConnectionError) else None
        while self._waiters:
            job = self._waiters.popleft()
            failure = (kind or DatabaseConnectionError)(str(error.detail), backend=self.backend)
            failure.__cause__ = error
            job.reply.fail(failure)

    async def _expire_waiters(self) -> None:
        """Answer DatabaseTimeout to requests that found no connection in time."""
        while True:
            if not self._waiters:
                self._waiters_changed = trio.Event()
                await self._waiters_changed.wait()
                continue
            await trio.sleep_until(self._waiters[0].expires)
            now = trio.current_time()
            while self._waiters and self._waiters[0].expires <= now:
                job = self._waiters.popleft()
                job.reply.fail(
                    DatabaseTimeout(
                        f"no connection became free within {self.settings.acquire_timeout:g} s",
                        backend=self.backend,
                    )
                )

    # -- health and rotation ---------------------------------------------------------------

    def _health_check(self) -> None:
        now = trio.current_time()
        settings = self.settings
        idle = list(self._idle)
        self._idle.clear()
        remaining = len(self._workers)
        for worker in idle:
            conn = worker.conn
            idle_too_long = now - conn.last_used >= settings.idle_timeout
            if self._stale(conn) or (idle_too_long and remaining > settings.min_connections):
                remaining -= 1
                self._discard(worker)
            elif now - conn.last_used >= settings.health_check_interval:
                check = Job(Kind.CHECK, None, NO_REPLY, now + settings.acquire_timeout, work=_ping)
                self._queue_on(worker, check)
            else:
                self._idle.append(worker)
        if settings.transaction_timeout is not None:
            for tx in list(self._transactions.values()):
                if now - tx.started >= settings.transaction_timeout:
                    del self._transactions[tx.id]
                    log.warning(
                        "%s: transaction %s open for more than %g s: rolled back",
                        self.backend,
                        tx.id,
                        settings.transaction_timeout,
                    )
                    self._queue_on(tx.worker, Job(Kind.END, Rollback(tx.id), NO_REPLY, None))
        self._maybe_open()

    def _discard(self, worker: Worker) -> None:
        """Close an idle worker's connection (it is no longer in the idle list)."""
        worker.discard = True
        worker.wake()

    def _rotated(self, event: SecretRotated) -> None:
        if event.secret.name != self.password_secret:
            return
        self._password = event.secret.value
        self._generation += 1
        log.info("%s: credentials rotated; reconnecting with the new ones", self.backend)
        stale = list(self._idle)
        self._idle.clear()
        for worker in stale:
            self._discard(worker)
        if self.away():
            self.retry(now=True)  # the new credentials may be what it was missing
        self._maybe_open()


async def _ping(conn: DbConnection) -> None:
    await conn.ping()

"""The pool actor: one per database, answering the database protocol over a pool of
connections opened by a backend :class:`~pywatt.db._driver.Driver`.

How a statement flows: the handler defers its reply, takes an idle connection (or queues
the request, opening a connection when under ``max_connections``) and runs the statement in
a task beside the mailbox, so the mailbox keeps flowing while statements run concurrently,
one per connection. The task answers the asker and gives the connection back: reused as it
is when idle, rolled back first when a transaction is left open or failed, discarded when
broken, past its lifetime, or opened with credentials that have since rotated.

Failures are answers, not crashes: a driver error becomes a typed
:class:`~pywatt.db.DatabaseError` for its asker and the pool goes on. A request that finds
no connection within ``acquire_timeout`` gets :class:`~pywatt.db.DatabaseTimeout`; when no
connection can be opened at all (the server is down), every waiting request gets the
:class:`~pywatt.db.DatabaseConnectionError` at once, so callers see errors, not hangs.

Cancellation: a request's ``deadline`` cancels its statement (in the server too) and an
asker that is cancelled tells :class:`~pywatt.db.Abandon`, which does the same.

Transactions own their connection from :class:`Begin` to :class:`Commit`/:class:`Rollback`;
statements naming the transaction run there one at a time. A transaction left open longer
than ``transaction_timeout`` is rolled back by the pool (its owner then gets
:class:`~pywatt.db.TransactionError`), so a transaction always ends.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.secrets._messages import GetSecret, SecretRotated, Subscribe, Unsubscribe

from ._driver import ConnState, DbConnection, Driver, Mode
from ._errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseTimeout,
    TransactionError,
)
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

__all__ = ["DatabasePool", "PoolSettings"]

log = logging.getLogger(__name__)

_CLOSE_BOUND: Final = 2.0
Work = Callable[[DbConnection], Awaitable[Any]]


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


@attrs.define(eq=False)
class _Waiter:
    message: object
    reply: actors.DeferredReply
    work: Work
    deadline: float
    keep: bool


@attrs.define(eq=False)
class _Transaction:
    id: str
    conn: DbConnection
    started: float
    lock: trio.Lock = attrs.Factory(trio.Lock)


PoolMessage = DatabaseMessage | _Tick | SecretRotated


class DatabasePool(actors.Actor[PoolMessage]):
    """The pool actor of one database (see the module docstring).

    ``password_secret`` names a secret (asked of ``secrets``, default ``pywatt.secrets``)
    whose value is the password: it is read at start and again whenever it rotates; the
    connections opened with the old value are closed as soon as they are free.
    """

    reply_errors = (DatabaseError,)

    def __init__(
        self,
        driver: Driver,
        settings: PoolSettings | None = None,
        *,
        password_secret: str | None = None,
        secrets: str = "pywatt.secrets",
    ) -> None:
        self.driver = driver
        self.settings = settings or PoolSettings()
        self.password_secret = password_secret
        self.secrets = secrets
        self.backend = driver.name
        self._idle: collections.deque[DbConnection] = collections.deque()
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._waiters_changed = trio.Event()
        self._transactions: dict[str, _Transaction] = {}
        self._running: dict[int, trio.CancelScope] = {}
        self._in_use = 0
        self._opening = 0
        self._opened = 0
        self._closed = 0
        self._failed_opens = 0
        self._generation = 0
        self._password: str | None = None
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------------

    async def on_start(self) -> None:
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
        self._maybe_open()

    async def on_stop(self) -> None:
        self._stopping = True
        if self.password_secret is not None:
            with trio.move_on_after(1.0):
                with contextlib.suppress(actors.ActorError):
                    await self.ctx.system.ask(self.secrets, Unsubscribe(self.ctx.self_ref))
        for scope in self._running.values():
            scope.cancel()
        conns = list(self._idle) + [tx.conn for tx in self._transactions.values()]
        self._idle.clear()
        self._transactions.clear()
        for conn in conns:
            await self._close(conn)

    # -- messages --------------------------------------------------------------------------

    async def receive(self, message: PoolMessage) -> Any:
        if isinstance(message, Query | Execute | FetchOne | FetchMany | Batch | Ping):
            tx_id = getattr(message, "transaction", None)
            work = self._work(message)
            if tx_id is None:
                self._submit(message, work, keep=False)
            else:
                self._in_transaction(self._transaction(tx_id), message, work)
            return None
        if isinstance(message, Begin):
            self._submit(message, _begin, keep=True)
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
            self._end_transaction(tx, message)
            return None
        if isinstance(message, Abandon):
            scope = self._running.get(id(message.request))
            if scope is not None:
                scope.cancel()
            return None
        if isinstance(message, PoolStatus):
            return self.statistics()
        if isinstance(message, SecretRotated):
            self._rotated(message)
            return None
        if isinstance(message, _Tick):
            self._health_check()
            return None
        raise TypeError(f"unexpected message {message!r}")  # pragma: no cover

    def statistics(self) -> PoolStatistics:
        """A snapshot of the pool. Does not block."""
        return PoolStatistics(
            backend=self.backend,
            idle=len(self._idle),
            in_use=self._in_use,
            opening=self._opening,
            waiting=sum(1 for w in self._waiters if w.reply.pending),
            transactions=len(self._transactions),
            opened=self._opened,
            closed=self._closed,
            failed_opens=self._failed_opens,
        )

    # -- statements ------------------------------------------------------------------------

    def _work(self, message: DatabaseMessage) -> Work:
        prepare = self.driver.prepare
        if isinstance(message, Ping):
            return _ping
        if isinstance(message, Batch):
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
        assert isinstance(message, Query | Execute | FetchOne | FetchMany)
        sql, params = prepare(message.sql, message.params, message.allow_numbered)
        size: int | None = None
        if isinstance(message, Query):
            mode = Mode.QUERY
        elif isinstance(message, Execute):
            mode = Mode.EXECUTE
        elif isinstance(message, FetchOne):
            mode = Mode.ONE
        else:
            mode = Mode.MANY
            size = message.size

        async def statement(conn: DbConnection) -> Any:
            return await conn.run(mode, sql, params, size)

        return statement

    def _submit(self, message: Any, work: Work, *, keep: bool) -> None:
        reply = self.ctx.defer_reply()
        if self._idle:
            self._start(self._idle.pop(), message, reply, work, keep)
            return
        deadline = trio.current_time() + self.settings.acquire_timeout
        self._waiters.append(_Waiter(message, reply, work, deadline, keep))
        self._waiters_changed.set()
        self._maybe_open()

    def _start(
        self,
        conn: DbConnection,
        message: Any,
        reply: actors.DeferredReply,
        work: Work,
        keep: bool,
    ) -> None:
        self._in_use += 1
        deadline = message.deadline if message.deadline is not None else math.inf
        scope = trio.CancelScope(deadline=deadline)
        self._running[id(message)] = scope
        self.ctx.start_task(self._run, conn, message, reply, work, scope, keep)

    async def _run(
        self,
        conn: DbConnection,
        message: Any,
        reply: actors.DeferredReply,
        work: Work,
        scope: trio.CancelScope,
        keep: bool,
    ) -> None:
        kept = False
        try:
            try:
                with scope:
                    result = await work(conn)
                if scope.cancelled_caught:
                    reply.fail(self._cancelled(message))
                elif keep:  # Begin: the connection now belongs to the transaction
                    tx_id = uuid.uuid4().hex
                    self._transactions[tx_id] = _Transaction(tx_id, conn, trio.current_time())
                    kept = True
                    if reply.pending:
                        reply.reply(tx_id)
                    else:  # the asker gave up while we were opening it
                        del self._transactions[tx_id]
                        kept = False
                else:
                    reply.reply(result)
            except DatabaseError as exc:
                reply.fail(exc)
            finally:
                self._running.pop(id(message), None)
        except BaseException:
            self._in_use -= 1
            with trio.CancelScope(shield=True):
                await self._close(conn)
            raise
        if not kept:
            await self._release(conn)

    def _cancelled(self, message: Any) -> DatabaseTimeout:
        return DatabaseTimeout(
            f"{type(message).__name__} cancelled (its deadline passed or its asker gave up)",
            backend=self.backend,
        )

    # -- transactions ----------------------------------------------------------------------

    def _transaction(self, tx_id: str) -> _Transaction:
        tx = self._transactions.get(tx_id)
        if tx is None:
            raise TransactionError(
                f"transaction {tx_id!r} is unknown or already ended", backend=self.backend
            )
        return tx

    def _in_transaction(self, tx: _Transaction, message: Any, work: Work) -> None:
        reply = self.ctx.defer_reply()
        deadline = message.deadline if message.deadline is not None else math.inf
        scope = trio.CancelScope(deadline=deadline)
        self._running[id(message)] = scope
        self.ctx.start_task(self._run_in_transaction, tx, message, reply, work, scope)

    async def _run_in_transaction(
        self,
        tx: _Transaction,
        message: Any,
        reply: actors.DeferredReply,
        work: Work,
        scope: trio.CancelScope,
    ) -> None:
        try:
            with scope:
                async with tx.lock:
                    result = await work(tx.conn)
            if scope.cancelled_caught:
                reply.fail(self._cancelled(message))
            else:
                reply.reply(result)
        except DatabaseError as exc:
            reply.fail(exc)
        finally:
            self._running.pop(id(message), None)
        if tx.conn.state is ConnState.BROKEN and self._transactions.pop(tx.id, None) is not None:
            self._in_use -= 1
            await self._close(tx.conn)
            self._maybe_open()

    def _end_transaction(self, tx: _Transaction, message: Commit | Rollback) -> None:
        reply = self.ctx.defer_reply()
        self.ctx.start_task(self._finish_transaction, tx, message, reply)

    async def _finish_transaction(
        self, tx: _Transaction, message: Commit | Rollback, reply: actors.DeferredReply
    ) -> None:
        conn = tx.conn
        try:
            async with tx.lock:
                if conn.state is ConnState.BROKEN:
                    if isinstance(message, Commit):
                        raise TransactionError(
                            f"transaction {tx.id!r} lost its connection; it was not committed",
                            backend=self.backend,
                        )
                elif isinstance(message, Commit):
                    await conn.commit()
                else:
                    await conn.rollback()
            reply.reply(None)
        except DatabaseError as exc:
            reply.fail(exc)
        except BaseException:
            self._in_use -= 1
            with trio.CancelScope(shield=True):
                await self._close(conn)
            raise
        await self._release(conn)

    # -- giving connections back -----------------------------------------------------------

    async def _release(self, conn: DbConnection) -> None:
        self._in_use -= 1
        state = conn.state
        if state in (ConnState.IN_TRANSACTION, ConnState.IN_ERROR):
            try:
                with trio.fail_after(self.settings.acquire_timeout):
                    await conn.rollback()
            except (DatabaseError, trio.TooSlowError) as exc:
                log.warning(
                    "%s: rollback of a returned connection failed (%s): discarded",
                    self.backend,
                    exc,
                )
                state = ConnState.BROKEN
            else:
                state = conn.state
        if state is not ConnState.IDLE or self._stale(conn):
            await self._close(conn)
            self._maybe_open()
            return
        self._hand_over(conn)

    def _stale(self, conn: DbConnection) -> bool:
        return (
            self._stopping
            or conn.generation != self._generation
            or trio.current_time() - conn.created >= self.settings.max_lifetime
        )

    def _hand_over(self, conn: DbConnection) -> None:
        """Give a ready connection to the first request still waiting, else keep it idle."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if waiter.reply.pending:
                self._start(conn, waiter.message, waiter.reply, waiter.work, waiter.keep)
                return
        conn.last_used = trio.current_time()
        self._idle.append(conn)

    async def _close(self, conn: DbConnection) -> None:
        self._closed += 1
        with trio.move_on_after(_CLOSE_BOUND):
            await conn.aclose()

    # -- opening connections ---------------------------------------------------------------

    def _maybe_open(self) -> None:
        if self._stopping:
            return
        total = len(self._idle) + self._in_use + self._opening
        waiting = sum(1 for w in self._waiters if w.reply.pending)
        wanted = max(self.settings.min_connections - total, waiting - self._opening)
        room = self.settings.max_connections - total
        for _ in range(max(0, min(wanted, room))):
            self._opening += 1
            self.ctx.start_task(self._open)

    async def _open(self) -> None:
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
            log.warning("%s: cannot open a connection: %s", self.backend, error)
            if self._in_use == 0 and self._opening == 0:
                self._fail_waiters(error)
            return
        except BaseException:
            self._opening -= 1
            raise
        self._opening -= 1
        self._opened += 1
        conn.generation = generation
        if self._stale(conn):
            await self._close(conn)
            self._maybe_open()
            return
        self._hand_over(conn)

    def _fail_waiters(self, error: DatabaseError) -> None:
        """Nothing can serve the waiting requests (no connection opens): answer them now."""
        while self._waiters:
            waiter = self._waiters.popleft()
            failure = DatabaseConnectionError(str(error.detail), backend=self.backend)
            failure.__cause__ = error
            waiter.reply.fail(failure)

    async def _expire_waiters(self) -> None:
        """Answer DatabaseTimeout to requests that found no connection in time."""
        while True:
            if not self._waiters:
                self._waiters_changed = trio.Event()
                await self._waiters_changed.wait()
                continue
            await trio.sleep_until(self._waiters[0].deadline)
            now = trio.current_time()
            while self._waiters and self._waiters[0].deadline <= now:
                waiter = self._waiters.popleft()
                waiter.reply.fail(
                    DatabaseTimeout(
                        f"no connection became free within {self.settings.acquire_timeout:g} s",
                        backend=self.backend,
                    )
                )

    # -- health and rotation ---------------------------------------------------------------

    def _health_check(self) -> None:
        now = trio.current_time()
        settings = self.settings
        keep: list[DbConnection] = []
        check: list[DbConnection] = []
        while self._idle:
            conn = self._idle.popleft()
            total = len(self._idle) + len(keep) + len(check) + self._in_use
            idle_too_long = now - conn.last_used >= settings.idle_timeout
            if self._stale(conn) or (idle_too_long and total >= settings.min_connections):
                self._in_use += 1  # counted until _discard closes it
                self.ctx.start_task(self._discard, conn)
            elif now - conn.last_used >= settings.health_check_interval:
                check.append(conn)
            else:
                keep.append(conn)
        self._idle.extend(keep)
        for conn in check:
            self._in_use += 1
            self.ctx.start_task(self._check, conn)
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
                    self.ctx.start_task(self._finish_transaction, tx, Rollback(tx.id), _NO_REPLY)
        self._maybe_open()

    async def _discard(self, conn: DbConnection) -> None:
        self._in_use -= 1
        await self._close(conn)
        self._maybe_open()

    async def _check(self, conn: DbConnection) -> None:
        try:
            with trio.fail_after(self.settings.acquire_timeout):
                await conn.ping()
        except (DatabaseError, trio.TooSlowError) as exc:
            log.warning("%s: an idle connection failed its health check (%s)", self.backend, exc)
            self._in_use -= 1
            await self._close(conn)
            self._maybe_open()
            return
        await self._release(conn)

    def _rotated(self, event: SecretRotated) -> None:
        if event.secret.name != self.password_secret:
            return
        self._password = event.secret.value
        self._generation += 1
        log.info("%s: credentials rotated; reconnecting with the new ones", self.backend)
        stale = list(self._idle)
        self._idle.clear()
        for conn in stale:
            self._in_use += 1
            self.ctx.start_task(self._discard, conn)
        self._maybe_open()


class _NoReply:
    """A stand-in reply for work the pool starts itself (nobody waits for it)."""

    pending = False

    def reply(self, value: object) -> None:
        pass

    def fail(self, error: BaseException) -> None:
        pass


_NO_REPLY: Any = _NoReply()


async def _begin(conn: DbConnection) -> None:
    await conn.begin()


async def _ping(conn: DbConnection) -> None:
    await conn.ping()

"""``TrioConnection``: psycopg 3's async connection, driven natively by trio.

psycopg's async classes do every I/O operation through ``AsyncConnection.wait(gen)``, where
``gen`` is one of its sans-I/O generators: it yields ``Wait.R``/``W``/``RW`` and is resumed
with a ``Ready`` value. Only ``connect()`` and ``cancel_safe()`` drive generators of their
own. So overriding ``wait``, ``connect``, ``cancel_safe`` and ``close``, and replacing the
asyncio lock, makes the whole psycopg API work on trio, with no thread per query
(docs/architecture.md, decision 20: psycopg's non-blocking protocol driven by trio).

Pitfalls handled here (each found by measurement):

* ``trio.Lock.acquire()`` always checkpoints, which costs a scheduler round per query; the
  lock here takes the free lock without one (the I/O wait that follows is the checkpoint).
* When a wait is cancelled, the generator is resumed with ``gen.send(Ready.NONE)``; the
  Cython generators of psycopg_binary refuse ``next(gen)`` (``TypeError``).
* PostgreSQL ignores a cancel request that arrives while the backend is still reading the
  command, so a cancelled operation sends a cancel, drains the reply for up to 0.5 s, and
  repeats, for at most 5 s; then the connection is closed (never left in an unknown state).
* ``Wait.RW`` (flushing a large send) waits on a private epoll fd that watches the socket
  for both directions, instead of a nursery of two waits (which would wrap ``Cancelled`` in
  an ExceptionGroup). Linux only, like the rest of the deployment.

Private psycopg API relied on, all pinned by ``psycopg>=3.3.9,<3.4`` and checked by
``tests/db/test_psycopg_contract.py``: ``AsyncConnection._connect_gen``, ``._cancel_gen``,
``._should_cancel``, ``._autocommit``, ``psycopg.conninfo.conninfo_attempts`` and
``timeout_from_conninfo``, ``psycopg.waiting.Wait``/``Ready``, ``psycopg.errors._WaitTimeout``
and the ``lock`` attribute that the cursors enter.
"""

from __future__ import annotations

import contextlib
import logging
import select
from collections.abc import Generator
from types import TracebackType
from typing import Any, Final, TypeVar

import psycopg
import trio
from psycopg import errors as e
from psycopg import pq
from psycopg._capabilities import capabilities
from psycopg.conninfo import conninfo_attempts, make_conninfo, timeout_from_conninfo
from psycopg.waiting import Ready, Wait

__all__ = ["TrioConnection", "TrioLock"]

log = logging.getLogger(__name__)

RV = TypeVar("RV")

_ACTIVE: Final = pq.TransactionStatus.ACTIVE
_WAIT_R: Final = Wait.R
_WAIT_W: Final = Wait.W
_READY_NONE: Final = Ready.NONE
_READY_R: Final = Ready.R
_READY_W: Final = Ready.W
_READY_RW: Final = Ready.RW

CANCEL_DRAIN: Final = 0.5
"""Seconds to wait for the server to answer a cancel before sending it again."""
CANCEL_CAP: Final = 5.0
"""Seconds after which a cancelled operation gives up and closes the connection."""


class TrioLock:
    """An async lock for ``async with`` that does not checkpoint when it is free.

    psycopg enters ``conn.lock`` around every operation; ``trio.Lock`` would add a scheduler
    round each time. Taking a free lock without yielding is safe because the operation it
    guards always waits on the socket right after.
    """

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = trio.Lock()

    async def __aenter__(self) -> None:
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()


def _poll_writable(fileno: int) -> bool:
    poller = select.poll()
    poller.register(fileno, select.POLLOUT)
    return bool(poller.poll(0))


class TrioConnection(psycopg.AsyncConnection[Any]):
    """A psycopg ``AsyncConnection`` whose waits are trio's (see the module docstring).

    Use it as the stock class: ``await TrioConnection.connect(url, autocommit=True)``, then
    cursors, ``execute``, ``transaction()``, pipelines, ``notifies()`` and COPY (except the
    queued COPY writer, which spawns an asyncio task). Every wait is a trio checkpoint and is
    cancellable; a cancelled query is cancelled on the server too and the connection stays
    usable (or, if the server does not answer the cancel within 5 s, is closed).
    """

    def __init__(self, pgconn: Any, row_factory: Any = None) -> None:
        if row_factory is None:
            super().__init__(pgconn)
        else:
            super().__init__(pgconn, row_factory)
        self.lock = TrioLock()  # type: ignore[assignment]
        self._epoll: select.epoll | None = None

    # -- connecting ------------------------------------------------------------------------

    @classmethod
    async def connect(
        cls,
        conninfo: str = "",
        *,
        autocommit: bool = False,
        prepare_threshold: int | None = 5,
        row_factory: Any = None,
        **kwargs: Any,
    ) -> TrioConnection:
        """Connect (trying each host of the conninfo in turn) and return the connection.

        Blocks until connected; the libpq ``connect_timeout`` applies to each attempt.
        Host names are resolved in a worker thread. Raises ``psycopg.OperationalError``
        (``ConnectionTimeout`` when an attempt times out).
        """
        params = await cls._get_connection_params(conninfo, **kwargs)
        timeout = timeout_from_conninfo(params)
        attempts = await trio.to_thread.run_sync(conninfo_attempts, params)
        errors: list[tuple[e.Error, str]] = []
        conn: TrioConnection | None = None
        for attempt in attempts:
            described = f"host: {attempt.get('host')!r}, port: {attempt.get('port')!r}"
            gen = cls._connect_gen(make_conninfo("", **attempt))
            try:
                with trio.fail_after(timeout):
                    conn = await _wait_conn(gen)
            except trio.TooSlowError:
                errors.append((e.ConnectionTimeout("connection timeout expired"), described))
            except e.Error as exc:
                errors.append((exc, described))
            else:
                break
        if conn is None:
            last = errors[-1][0] if errors else e.OperationalError("no host to connect to")
            if len(errors) > 1:
                lines = [str(last), "Multiple connection attempts failed. All failures were:"]
                lines += [f"- {where}: {error}" for error, where in errors]
                raise type(last)("\n".join(lines)).with_traceback(None)
            raise last.with_traceback(None)
        conn._autocommit = bool(autocommit)
        conn.prepare_threshold = prepare_threshold
        if row_factory is not None:
            conn.row_factory = row_factory
        return conn

    # -- the driving loop ------------------------------------------------------------------

    async def wait(
        self,
        gen: Generator[Wait, Ready | int, RV],
        interval: float = 0.1,
        timeout: float | None = None,
    ) -> RV:
        """Drive one of psycopg's generators on trio; see the module docstring.

        ``interval`` is accepted for compatibility and ignored: trio wakes on the socket
        itself. ``timeout`` raises psycopg's ``_WaitTimeout`` like the stock method.
        """
        try:
            state = next(gen)
        except StopIteration as stop:
            await trio.lowlevel.checkpoint_if_cancelled()
            result: RV = stop.value
            return result
        if timeout is None:
            return await self.resume(gen, state)
        with trio.move_on_after(timeout):
            return await self.resume(gen, state)
        raise e._WaitTimeout("wait timeout expired")

    async def resume(self, gen: Generator[Wait, Ready | int, RV], state: Wait) -> RV:
        """Drive ``gen`` on from ``state``, the wait it yielded when it was started with
        ``next(gen)`` (which did its sending). Like :meth:`wait`: cancellable, and a
        cancelled operation is cancelled on the server too. Raises psycopg errors."""
        box = [state]
        try:
            return await self._drive(gen, box)
        except trio.Cancelled:
            with trio.CancelScope(shield=True):
                await self._cancel_in_flight(gen)
            raise
        except OSError as exc:
            raise e.OperationalError("connection socket closed") from exc

    async def _drive(self, gen: Generator[Wait, Ready | int, RV], box: list[Wait]) -> RV:
        """Resume ``gen`` until it returns; ``box[0]`` always holds the pending wait."""
        fileno = self.pgconn.socket
        state = box[0]
        try:
            while True:
                if state == _WAIT_R:
                    await trio.lowlevel.wait_readable(fileno)
                    ready = _READY_R
                elif state == _WAIT_W:
                    # A socket asked for writing is nearly always writable, and a zero-timeout
                    # poll is far cheaper than a scheduler round (the checkpoint comes with
                    # the read that always follows a write).
                    if not _poll_writable(fileno):
                        await trio.lowlevel.wait_writable(fileno)
                    ready = _READY_W
                else:
                    ready = await self._wait_rw(fileno)
                state = box[0] = gen.send(ready)
        except StopIteration as stop:
            result: RV = stop.value
            return result

    async def _wait_rw(self, fileno: int) -> Ready:
        poller = self._epoll
        if poller is None:
            poller = self._epoll = select.epoll()
            poller.register(fileno, select.EPOLLIN | select.EPOLLOUT)
        events = poller.poll(0)
        if not events:
            await trio.lowlevel.wait_readable(poller.fileno())
            events = poller.poll(0)
        ready = 0
        for _, mask in events:
            if mask & (select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR):
                ready |= _READY_R
            if mask & select.EPOLLOUT:
                ready |= _READY_W
        return Ready(ready) if ready else _READY_NONE

    async def _cancel_in_flight(self, gen: Generator[Wait, Ready | int, Any]) -> None:
        """The operation driving ``gen`` was cancelled: cancel it on the server too and
        drain its reply, so the connection is left idle and usable, or close it."""
        if self.closed:
            return
        if self.pgconn.transaction_status != _ACTIVE:
            # Nothing runs on the server, but the generator is half-way: unusable.
            log.warning("operation cancelled outside a query: closing the connection")
            self._finish()
            return
        try:
            box = [gen.send(_READY_NONE)]
        except StopIteration:
            return
        except e.Error:
            return
        give_up = trio.current_time() + CANCEL_CAP
        while trio.current_time() < give_up:
            # A stopped server accepts the cancel request's connection (the kernel does)
            # and never answers it: sending is bounded by what is left of the cap too.
            with trio.move_on_after(give_up - trio.current_time()):
                try:
                    await self._send_cancel()
                except (e.Error, trio.TooSlowError) as exc:
                    log.warning("query cancellation failed (%r): closing the connection", exc)
                    self._finish()
                    return
            if trio.current_time() >= give_up:
                break
            with trio.move_on_after(min(CANCEL_DRAIN, give_up - trio.current_time())):
                # QueryCanceled, as expected (or the connection broke).
                with contextlib.suppress(e.Error, OSError):
                    await self._drive(gen, box)
                return
        log.warning(
            "query not cancelled by the server within %g s: closing the connection", CANCEL_CAP
        )
        self._finish()

    async def _send_cancel(self) -> None:
        if not self._should_cancel():
            return
        if capabilities.has_cancel_safe():
            with trio.fail_after(CANCEL_CAP):
                await _wait_conn(self._cancel_gen())
        else:  # libpq < 17: the blocking cancel, in a thread
            await trio.to_thread.run_sync(self.cancel)

    async def cancel_safe(self, *, timeout: float = 30.0) -> None:
        """Ask the server to cancel the running query, without blocking the trio loop.

        Raises ``psycopg.errors.CancellationTimeout`` if the request is not through within
        ``timeout`` seconds.
        """
        if not self._should_cancel():
            await trio.lowlevel.checkpoint()
            return
        if capabilities.has_cancel_safe():
            try:
                with trio.fail_after(timeout or CANCEL_CAP):
                    await _wait_conn(self._cancel_gen())
            except trio.TooSlowError:
                raise e.CancellationTimeout("cancellation timeout expired") from None
        else:
            await trio.to_thread.run_sync(self.cancel)

    # -- closing ---------------------------------------------------------------------------

    async def close(self) -> None:
        """Close the connection; a query still running is cancelled on the server first
        (bounded by 1 s). Does not raise."""
        if self.closed:
            await trio.lowlevel.checkpoint()
            return
        if self.pgconn.transaction_status == _ACTIVE:
            with trio.move_on_after(1.0):
                with contextlib.suppress(e.Error):
                    await self.cancel_safe(timeout=1.0)
        self._finish()

    def _finish(self) -> None:
        self._closed = True
        if self._epoll is not None:
            self._epoll.close()
            self._epoll = None
        self.pgconn.finish()


async def _wait_conn(gen: Generator[tuple[int, Wait], Ready | int, RV]) -> RV:
    """Drive a generator that names its own fd at each step (connect and cancel)."""
    try:
        fileno, state = next(gen)
        while True:
            if state == _WAIT_R:
                await trio.lowlevel.wait_readable(fileno)
                ready = _READY_R
            elif state == _WAIT_W:
                await trio.lowlevel.wait_writable(fileno)
                ready = _READY_W
            else:  # connect asks for RW rarely; writable is what it needs to go on
                await trio.lowlevel.wait_writable(fileno)
                ready = _READY_RW
            fileno, state = gen.send(ready)
    except StopIteration as stop:
        result: RV = stop.value
        return result
    except OSError as exc:
        raise e.OperationalError("connection socket closed") from exc

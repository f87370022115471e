"""``postgres_restart`` and ``mariadb_restart``: the database pool actor under concurrent load
while its (private) server is killed and started again, repeatedly.

The pool runs as a module runs it (``database_children`` under a services supervisor) and
is used through ``DatabaseFacade``. The load: writers inserting rows with unique ids, one
writer inserting pairs of rows in a transaction, readers reading back rows whose insert was
acknowledged (without a deadline, so PostgreSQL pipelines them, and every third one with a
deadline in the message). The server is killed (PostgreSQL ``pg_ctl -m immediate stop``,
MariaDB SIGKILL) and started again every second or so, and once more after the load.

Counted: every operation succeeded, failed with a documented typed error
(``DatabaseConnectionError``, ``DatabaseTimeout``, ``TransactionError`` for a transaction
whose connection was lost) or hung. An *acknowledged write lost* is an insert that returned
success whose row is missing when read back (during the load, or after the final restart),
or a transaction of which one row exists and the other not. An insert that failed is in
doubt (the server may have committed it before the connection broke): not counted, but
noted. A crash of the pool actor is unexpected (failures are replies, not crashes).
"""

from __future__ import annotations

import random
from typing import Any, Final

import trio

import actors
from pywatt.db import (
    DatabaseConnectionError,
    DatabaseFacade,
    DatabaseTimeout,
    Execute,
    FetchOne,
    TransactionError,
    database_children,
)

from ._counts import Counts, Named
from ._srv_load import Faults
from ._srv_procs import PrivateMariadb, PrivatePostgres, PrivateServer, running
from ._srv_watch import Ops, Outcome, tallied_logs

WRITERS: Final = 4
READERS: Final = 3
HANG_AFTER: Final = 10.0
"""Far past every bound an operation has here: ``acquire_timeout`` (2 s) for a free
connection and for each connection attempt; a statement on a killed server fails when its
connection breaks."""
RECONNECT_BOUND: Final = 20.0
POOL: Final = {
    "min_connections": 2,
    "max_connections": 4,
    "acquire_timeout": 2.0,
    "health_check_interval": 1.0,
    "transaction_timeout": 5.0,
}
TYPED: Final = (DatabaseConnectionError, DatabaseTimeout, TransactionError)
INSERT: Final = "INSERT INTO faults_rows (id, writer, note) VALUES (?, ?, ?)"
SELECT: Final = "SELECT id, note FROM faults_rows WHERE id = ?"


def _note(row_id: int) -> str:
    return f"row-{row_id}"


class DbLoad:
    """The load against one pool and what it learnt."""

    def __init__(
        self,
        system: actors.ActorSystem,
        ops: Ops,
        faults: Faults,
        *,
        write_deadline: float | None = None,
        read_deadline: float = 5.0,
    ) -> None:
        self.system = system
        self.write_deadline = write_deadline
        self.read_deadline = read_deadline
        self.timeouts_late = 0.0  # how late past its deadline a DatabaseTimeout came, at worst
        self.db = DatabaseFacade(system)
        self.ops = ops
        self.faults = faults
        self.stop = False
        self.acked: list[int] = []
        self.acked_set: set[int] = set()
        self.in_doubt: set[int] = set()
        self.pairs_in_doubt: list[tuple[int, int]] = []
        self.missing: set[int] = set()
        self.wrong: set[int] = set()

    def spawn(self, nursery: trio.Nursery) -> None:
        """Start the writers, the transaction writer and the readers in ``nursery``; they
        stop once :attr:`stop` is set."""
        for number in range(WRITERS):
            nursery.start_soon(self.writer, number)
        nursery.start_soon(self.pair_writer)
        for number in range(READERS):
            nursery.start_soon(self.reader, number)

    def _ok(self, outcome: Outcome) -> bool:
        if outcome is Outcome.OK:
            self.faults.succeeded()
            return True
        return False

    async def _pace(self, outcome: Outcome) -> None:
        """After a failure, a breath: a server that is down answers at once, and a loop
        of instant failures would only burn the CPU the restart needs."""
        await trio.sleep(0 if outcome is Outcome.OK else 0.02)

    async def writer(self, number: int) -> None:
        seq = 0
        while not self.stop:
            seq += 1
            row_id = number * 1_000_000_000 + seq
            outcome, _ = await self.ops.run(self._insert, row_id, number)
            if self._ok(outcome):
                self.acked.append(row_id)
                self.acked_set.add(row_id)
            else:
                self.in_doubt.add(row_id)
            await self._pace(outcome)

    async def pair_writer(self) -> None:
        number = WRITERS
        seq = 0
        while not self.stop:
            first = number * 1_000_000_000 + seq + 1
            second = first + 1
            seq += 2

            outcome, _ = await self.ops.run(self._pair, number, first, second)
            if self._ok(outcome):
                self.acked += (first, second)
                self.acked_set.update((first, second))
            else:
                self.pairs_in_doubt.append((first, second))
            await self._pace(outcome)

    async def _insert(self, row_id: int, number: int) -> Any:
        params = (row_id, number, _note(row_id))
        if self.write_deadline is None:
            return await self.db.execute(INSERT, params)
        deadline = trio.current_time() + self.write_deadline
        return await self._ask(Execute(INSERT, params, deadline=deadline))

    async def _ask(self, message: Execute | FetchOne) -> Any:
        """Ask the pool with the deadline in the message; note how late a timeout comes."""
        try:
            return await self.system.ask("pywatt.db", message)
        except DatabaseTimeout:
            assert message.deadline is not None
            self.timeouts_late = max(self.timeouts_late, trio.current_time() - message.deadline)
            raise

    async def _pair(self, number: int, first: int, second: int) -> None:
        async with self.db.transaction() as tx:
            await tx.execute(INSERT, [first, number, _note(first)])
            await tx.execute(INSERT, [second, number, _note(second)])

    async def reader(self, number: int) -> None:
        rng = random.Random(number)
        reads = 0
        while not self.stop:
            if not self.acked:
                await trio.sleep(0.01)
                continue
            row_id = rng.choice(self.acked)  # acknowledged before this read began
            reads += 1
            if reads % 3:
                outcome, row = await self.ops.run(self.db.fetch_one, SELECT, [row_id])
            else:  # the deadline path: the message carries it, the pool enforces it
                outcome, row = await self.ops.run(self._fetch_with_deadline, row_id)
            if self._ok(outcome):
                self._check(row_id, row)
            await self._pace(outcome)

    async def _fetch_with_deadline(self, row_id: int) -> Any:
        deadline = trio.current_time() + self.read_deadline
        return await self._ask(FetchOne(SELECT, (row_id,), deadline=deadline))

    def _check(self, row_id: int, row: Any) -> None:
        if row is None:
            self.missing.add(row_id)
        elif row != {"id": row_id, "note": _note(row_id)}:
            self.wrong.add(row_id)

    async def verify(self, counts: Counts) -> None:
        """After the final restart: every acknowledged row is there, and every transaction
        is whole."""
        with trio.move_on_after(RECONNECT_BOUND) as waiting:
            while True:
                outcome, _ = await self.ops.run(self.db.ping)
                if outcome is Outcome.OK:
                    break
                await trio.sleep(0.1)
        if waiting.cancelled_caught:
            self.ops.unexpected(f"the pool did not serve again within {RECONNECT_BOUND:g} s")
            return
        outcome, rows = await self.ops.run(self.db.fetch_all, "SELECT id, note FROM faults_rows")
        if rows is None:
            self.ops.unexpected(f"reading every row after the final restart: {outcome.value}")
            return
        present = {row["id"]: row["note"] for row in rows}
        gone = (self.acked_set - present.keys()) | self.missing
        wrong = self.wrong | {i for i, note in present.items() if note != _note(i)}
        torn = [p for p in self.pairs_in_doubt if (p[0] in present) != (p[1] in present)]
        counts.acked_writes_lost += len(gone) + len(wrong) + len(torn)
        notes = counts.notes
        notes.append(
            f"{len(self.acked_set)} rows acknowledged, {len(present)} present at the end; "
            f"{len(self.in_doubt & present.keys())} of {len(self.in_doubt)} failed "
            f"inserts and {sum(p[0] in present for p in self.pairs_in_doubt)} of "
            f"{len(self.pairs_in_doubt)} failed transactions had been committed (in doubt)"
        )
        if self.timeouts_late:
            notes.append(
                f"a DatabaseTimeout came at worst {self.timeouts_late:.2f} s after its deadline"
            )
        if gone:
            notes.append(f"acknowledged rows missing: {sorted(gone)[:10]}")
        if wrong:
            notes.append(f"rows read back with another row's content: {sorted(wrong)[:10]}")
        if torn:
            notes.append(f"transactions committed by half: {torn[:5]}")
        strangers = present.keys() - self.acked_set - self.in_doubt - {i for p in
                    self.pairs_in_doubt for i in p}  # fmt: skip
        if strangers:
            self.ops.unexpected(f"{len(strangers)} rows that no insert wrote")


async def open_pool(system: actors.ActorSystem, url: str) -> None:
    """The pool as a module runs it, under a services supervisor, and the table."""
    specs = database_children({"url": url, "pool_config": POOL})
    await system.start_supervisor(actors.SupervisorSpec("pywatt.services", specs))
    with trio.fail_after(RECONNECT_BOUND):
        await DatabaseFacade(system).execute(
            "CREATE TABLE faults_rows (id BIGINT PRIMARY KEY, writer INT NOT NULL, "
            "note VARCHAR(64) NOT NULL)"
        )


async def note_pool(system: actors.ActorSystem, counts: Counts) -> None:
    stats = await DatabaseFacade(system).statistics()
    counts.notes.append(
        f"pool: {stats.opened} connections opened, {stats.failed_opens} attempts failed"
    )


async def _scenario(server: PrivateServer, url: str, budget: float, counts: Counts) -> None:
    rng = random.Random(12)
    ops = Ops(counts, TYPED, HANG_AFTER)
    with tallied_logs(counts, "pywatt"):
        async with running(server), actors.open_actor_system() as system:
            ops.count_crashes(system)
            await open_pool(system, url)
            faults = Faults(server, counts, system)
            load = DbLoad(system, ops, faults)
            async with trio.open_nursery() as watching:
                watching.start_soon(ops.watchdog)
                async with trio.open_nursery() as nursery:
                    load.spawn(nursery)
                    await faults.restarts(trio.current_time() + budget, rng)
                    await trio.sleep(0.5)  # service resumes under load
                    load.stop = True
                # the final restart, without load: what was acknowledged must be there after
                await faults.kill()
                await faults.start()
                await load.verify(counts)
                watching.cancel_scope.cancel()
            await note_pool(system, counts)
            faults.note()
    ops.summarize()


async def postgres_restart(budget: float, counts: Counts) -> None:
    server = PrivatePostgres()
    await _scenario(server, server.url, budget, counts)


async def mariadb_restart(budget: float, counts: Counts) -> None:
    server = PrivateMariadb()
    await _scenario(server, server.url, budget, counts)


SCENARIOS: Final = [
    Named("postgres_restart", postgres_restart),
    Named("mariadb_restart", mariadb_restart),
]

"""``redis_restart`` and ``memcached_restart``: the cache actor under load while its (private)
server is killed (SIGKILL) and started again, repeatedly.

The cache runs as a module runs it (``cache_children``: the backend actor under its
supervisor) and is used through the facade (``cache_facade``, raw bytes). The load: writers
setting keys of their own to values that name the key and a sequence number, and
incrementing a counter of their own; readers getting keys (one at a time and three at a
time) and checking what they read.

These servers keep nothing across a restart (memory only), so an acknowledged write lost is
defined within one server incarnation: a read that began after a write was acknowledged and
that ran, as did that write, entirely while the same incarnation was up, and that returned

* a value written under another key, or a value never written;
* nothing, or an older value than the acknowledged one (stale);
* for a counter, an increment's result that does not follow the last acknowledged one (less
  any increments that failed and so may or may not have landed).

Values missing after a restart are expected; they are counted in the notes. Every
operation must succeed, fail with ``CacheUnavailable`` (the documented error for a server
that is down, a broken connection or no reply within ``operation_timeout``) or be counted
as hung. The actor must not crash (a server failure is an answer: the actor goes down and
reconnects by itself); a crash is counted as unexpected.
"""

from __future__ import annotations

import random
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.cache import CacheFacade, CacheUnavailable, cache_children, cache_facade

from ._counts import Counts, Named
from ._srv_load import Faults
from ._srv_procs import PrivateMemcached, PrivateRedis, PrivateServer, running
from ._srv_watch import Ops, Outcome, tallied_logs

WRITERS: Final = 4
READERS: Final = 3
KEYS_PER_WRITER: Final = 16
HANG_AFTER: Final = 10.0
"""Far past every bound here: ``operation_timeout`` (1 s) and ``connection_timeout``
(1 s)."""
RECONNECT_BOUND: Final = 15.0
TYPED: Final = (CacheUnavailable,)


@attrs.define
class _Ack:
    seq: int
    epoch: int


@attrs.define
class _Key:
    acked: _Ack | None = None
    attempted: int = 0  # the highest sequence number ever sent for it


@attrs.define
class _Counter:
    acked: _Ack | None = None
    value: int = 0
    doubtful: int = 0  # increments since the acknowledged one that failed (may have landed)


def _value(key: str, seq: int) -> bytes:
    return f"{key}|{seq}".encode()


class CacheLoad:
    def __init__(self, cache: CacheFacade, ops: Ops, faults: Faults) -> None:
        self.cache = cache
        self.ops = ops
        self.faults = faults
        self.stop = False
        self.keys = {f"w{w}:k{k}": _Key() for w in range(WRITERS) for k in range(KEYS_PER_WRITER)}
        self.names = list(self.keys)
        self.counters = {f"w{w}:n": _Counter() for w in range(WRITERS)}
        self.lost_in_incarnation: list[str] = []
        self.gone_after_restart = 0
        self.checked = 0

    def spawn(self, nursery: trio.Nursery) -> None:
        """Start the writers and readers in ``nursery``; they stop once :attr:`stop` is
        set."""
        for number in range(WRITERS):
            nursery.start_soon(self.writer, number)
        for number in range(READERS):
            nursery.start_soon(self.reader, number)

    def _lost(self, what: str) -> None:
        self.faults.counts.acked_writes_lost += 1
        self.lost_in_incarnation.append(what)

    async def _pace(self, outcome: Outcome) -> None:
        await trio.sleep(0 if outcome is Outcome.OK else 0.02)

    async def writer(self, number: int) -> None:
        rng = random.Random(number)
        mine = [f"w{number}:k{k}" for k in range(KEYS_PER_WRITER)]
        counter_key = f"w{number}:n"
        counter = self.counters[counter_key]
        seq = 0
        while not self.stop:
            epoch = self.faults.epoch
            if rng.random() < 0.2:
                outcome, value = await self.ops.run(self.cache.increment, counter_key)
                self._counted(counter_key, counter, epoch, outcome, value)
            else:
                key = rng.choice(mine)
                seq += 1
                state = self.keys[key]
                state.attempted = seq
                outcome, _ = await self.ops.run(self.cache.set, key, _value(key, seq), None)
                if outcome is Outcome.OK:
                    self.faults.succeeded()
                    if self.faults.epoch == epoch:
                        state.acked = _Ack(seq, epoch)
            await self._pace(outcome)

    def _counted(
        self, key: str, counter: _Counter, epoch: int, outcome: Outcome, value: int | None
    ) -> None:
        if outcome is not Outcome.OK or value is None:
            counter.doubtful += 1
            return
        self.faults.succeeded()
        acked = counter.acked
        if self.faults.epoch != epoch or epoch % 2:
            counter.acked = None  # ran across a restart: nothing to compare with
            return
        if acked is not None and acked.epoch == epoch:
            low, high = counter.value + 1, counter.value + 1 + counter.doubtful
            if not low <= value <= high:
                self._lost(f"{key}: incremented to {value} after {counter.value} "
                           f"({counter.doubtful} failed increments between)")  # fmt: skip
        counter.acked = _Ack(value, epoch)
        counter.value = value
        counter.doubtful = 0

    async def reader(self, number: int) -> None:
        rng = random.Random(100 + number)
        while not self.stop:
            epoch = self.faults.epoch
            if rng.random() < 0.5:
                key = rng.choice(self.names)
                before = {key: self.keys[key].acked}
                outcome, value = await self.ops.run(self.cache.get, key)
                found = {key: value} if value is not None else {}
            else:
                keys = rng.sample(self.names, 3)
                before = {key: self.keys[key].acked for key in keys}
                outcome, many = await self.ops.run(self.cache.get_many, keys)
                found = many or {}
            if outcome is Outcome.OK:
                self.faults.succeeded()
                same = self.faults.epoch == epoch and not epoch % 2
                for key, acked in before.items():
                    self._check(key, found.get(key), acked, epoch if same else None)
            await self._pace(outcome)

    def _check(self, key: str, value: Any, acked: _Ack | None, epoch: int | None) -> None:
        """``value`` read under ``key``; ``acked`` was its last acknowledged write when the
        read began; ``epoch`` is the incarnation the read ran in (None: across a restart)."""
        self.checked += 1
        seq = None
        if value is not None:
            name, _, number = bytes(value).decode(errors="replace").rpartition("|")
            if name != key or not number.isdigit():
                self._lost(f"{key}: read {bytes(value)[:60]!r}, written under another key")
                return
            seq = int(number)
            if seq > self.keys[key].attempted:
                self._lost(f"{key}: read sequence {seq}, never written")
                return
        if acked is None:
            return
        if epoch is None or acked.epoch != epoch:
            if seq is None and epoch is not None:
                self.gone_after_restart += 1  # written before a restart: expected
            return
        if seq is None:
            self._lost(f"{key}: missing; sequence {acked.seq} was acknowledged")
        elif seq < acked.seq:
            self._lost(f"{key}: read sequence {seq} after {acked.seq} was acknowledged")

    def note(self, counts: Counts) -> None:
        counts.notes.append(
            f"{self.checked} values checked; {self.gone_after_restart} reads found a value "
            "acknowledged before a restart gone (expected: the server keeps nothing)"
        )
        for what in self.lost_in_incarnation[:8]:
            counts.notes.append(f"lost within one incarnation: {what}")


async def serves_again(cache: CacheFacade, ops: Ops) -> None:
    """The actor reconnects by itself: a request succeeds within the bound."""
    with trio.move_on_after(RECONNECT_BOUND) as waiting:
        while True:
            outcome, _ = await ops.run(cache.exists, "w0:k0")
            if outcome is Outcome.OK:
                break
            await trio.sleep(0.1)
    if waiting.cancelled_caught:
        ops.unexpected(f"the cache did not serve again within {RECONNECT_BOUND:g} s")


async def open_cache(
    system: actors.ActorSystem, server: PrivateServer, operation_timeout: float = 1.0
) -> CacheFacade:
    """The cache as a module runs it (``cache_children``) on ``server``, and its facade."""
    config: dict[str, Any] = {"codec": "raw", "connection_timeout": 1.0,
                              "operation_timeout": operation_timeout}  # fmt: skip
    if isinstance(server, PrivateRedis):
        config.update(type="redis", url=server.url)
    else:
        config.update(type="memcached", address=server.address)
    for spec in cache_children(config):
        assert isinstance(spec, actors.SupervisorSpec)
        await system.start_supervisor(spec)
    return cache_facade(system, config)


async def _scenario(server: PrivateServer, budget: float, counts: Counts) -> None:
    rng = random.Random(21)
    ops = Ops(counts, TYPED, HANG_AFTER)
    with tallied_logs(counts, "pywatt"):
        async with running(server), actors.open_actor_system() as system:
            ops.count_crashes(system)
            cache = await open_cache(system, server)
            faults = Faults(server, counts, system)
            load = CacheLoad(cache, ops, faults)
            async with trio.open_nursery() as watching:
                watching.start_soon(ops.watchdog)
                async with trio.open_nursery() as nursery:
                    load.spawn(nursery)
                    await faults.restarts(trio.current_time() + budget, rng)
                    await trio.sleep(0.5)  # service resumes under load
                    load.stop = True
                await serves_again(cache, ops)
                watching.cancel_scope.cancel()
            load.note(counts)
            faults.note()
    ops.summarize()


async def redis_restart(budget: float, counts: Counts) -> None:
    await _scenario(PrivateRedis(), budget, counts)


async def memcached_restart(budget: float, counts: Counts) -> None:
    await _scenario(PrivateMemcached(), budget, counts)


SCENARIOS: Final = [
    Named("redis_restart", redis_restart),
    Named("memcached_restart", memcached_restart),
]

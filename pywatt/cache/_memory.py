"""The in-memory cache backend: an actor holding a dict, with TTL on the trio clock and
LRU / LFU / FIFO / MRU / Random eviction under a maximum number of entries and of bytes.

Every operation first drops the entries whose TTL has passed (a heap ordered by expiry, so
this costs nothing when none is due), then does its work; an entry expires at the instant
``set time + ttl``, so under ``trio.testing.MockClock`` expiry is exact. The actor handles one
message at a time, so every operation, ``Increment`` and ``GetSet`` included, is atomic.
"""

from __future__ import annotations

import heapq
import random
import time
from collections.abc import Callable
from typing import Any

import trio

import actors
from pywatt.backends import BackendReporter

from ._counter import add_counter, encode_counter, read_counter
from ._errors import CacheError, CacheFull, ValueTooLarge
from ._messages import (
    CacheRequest,
    CacheStatistics,
    Clear,
    Decrement,
    Delete,
    DeleteMany,
    Exists,
    Get,
    GetMany,
    GetSet,
    Increment,
    Set,
    SetMany,
    SetNx,
    Stats,
)
from ._policies import EvictionPolicy, make_policy
from ._stats import StatsRecorder


class _Entry:
    __slots__ = ("expires", "generation", "size", "value")

    def __init__(self, value: bytes, size: int, expires: float | None, generation: int) -> None:
        self.value = value
        self.size = size
        self.expires = expires
        self.generation = generation


class MemoryStore:
    """The dict, its eviction order and its expiry heap; no I/O and no clock of its own.

    Every public method takes ``now`` (seconds on any monotonic clock). Not thread-safe: one
    actor owns it. Raises :class:`ValueTooLarge` for a value bigger than ``max_bytes`` and
    :class:`CacheFull` under the ``NONE`` policy when room is needed.
    """

    def __init__(
        self,
        *,
        policy: EvictionPolicy = EvictionPolicy.LRU,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        rng: random.Random | None = None,
        stats: StatsRecorder | None = None,
    ) -> None:
        if max_entries is not None and max_entries < 1:
            raise ValueError(f"max_entries must be at least 1 or None, not {max_entries}")
        if max_bytes is not None and max_bytes < 1:
            raise ValueError(f"max_bytes must be at least 1 or None, not {max_bytes}")
        self.policy = policy
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.order = make_policy(policy, rng or random.Random())
        self.stats = stats or StatsRecorder("memory")
        self.entries: dict[str, _Entry] = {}
        self.bytes = 0
        self._heap: list[tuple[float, int, str]] = []
        self._generation = 0

    # -- reading ---------------------------------------------------------------------------

    def get(self, key: str, now: float) -> bytes | None:
        self.expire(now)
        entry = self.entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        self.stats.hits += 1
        self.order.touch(key)
        return entry.value

    def exists(self, key: str, now: float) -> bool:
        self.expire(now)
        return key in self.entries

    def get_many(self, keys: tuple[str, ...], now: float) -> dict[str, bytes]:
        self.expire(now)
        found: dict[str, bytes] = {}
        for key in keys:
            entry = self.entries.get(key)
            if entry is None:
                self.stats.misses += 1
            else:
                self.stats.hits += 1
                self.order.touch(key)
                found[key] = entry.value
        return found

    # -- writing ---------------------------------------------------------------------------

    def set(self, key: str, value: bytes, ttl: float | None, now: float) -> None:
        self.expire(now)
        self._store(key, value, ttl, now)

    def set_nx(self, key: str, value: bytes, ttl: float | None, now: float) -> bool:
        self.expire(now)
        if key in self.entries:
            return False
        self._store(key, value, ttl, now)
        return True

    def get_set(self, key: str, value: bytes, ttl: float | None, now: float) -> bytes | None:
        self.expire(now)
        entry = self.entries.get(key)
        previous = None if entry is None else entry.value
        self._store(key, value, ttl, now)
        return previous

    def add(self, key: str, delta: int, now: float) -> int:
        """Increment (or, with a negative delta, decrement); the TTL is kept."""
        self.expire(now)
        entry = self.entries.get(key)
        number = add_counter(key, read_counter(key, None if entry is None else entry.value), delta)
        keep = None if entry is None or entry.expires is None else entry.expires - now
        self._store(key, encode_counter(number), keep, now)
        return number

    def set_many(self, items: dict[str, bytes], ttl: float | None, now: float) -> None:
        self.expire(now)
        for key, value in items.items():
            self._size_check(key, value)
        for key, value in items.items():
            self._store(key, value, ttl, now)

    def delete(self, key: str, now: float) -> bool:
        self.expire(now)
        if key not in self.entries:
            return False
        self._remove(key)
        self.stats.deletes += 1
        return True

    def delete_many(self, keys: tuple[str, ...], now: float) -> int:
        self.expire(now)
        removed = 0
        for key in dict.fromkeys(keys):
            if key in self.entries:
                self._remove(key)
                removed += 1
        self.stats.deletes += removed
        return removed

    def clear(self) -> None:
        for key in list(self.entries):
            self._remove(key)
        self._heap.clear()

    # -- upkeep ----------------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Drop every entry whose expiry time is at or before ``now``."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            _, generation, key = heapq.heappop(heap)
            entry = self.entries.get(key)
            if entry is not None and entry.generation == generation:
                self._remove(key)
                self.stats.expirations += 1

    def _size_check(self, key: str, value: bytes) -> int:
        size = len(key.encode()) + len(value)
        if self.max_bytes is not None and size > self.max_bytes:
            raise ValueTooLarge(key, size, f"max_bytes is {self.max_bytes} (key + value)")
        return size

    def _store(self, key: str, value: bytes, ttl: float | None, now: float) -> None:
        size = self._size_check(key, value)
        old = self.entries.get(key)
        if old is None:
            self._make_room(1, size, key)
        else:  # a rewrite keeps its entry (and its place) while room is made around it
            self._make_room(0, size - old.size, key)
        self._generation += 1
        generation = self._generation
        expires = None if ttl is None else now + ttl
        self.entries[key] = _Entry(value, size, expires, generation)
        if old is None:
            self.bytes += size
            self.order.insert(key)
        else:
            self.bytes += size - old.size
            self.order.touch(key)
        if expires is not None:
            heapq.heappush(self._heap, (expires, generation, key))
        self.stats.sets += 1

    def _make_room(self, entries: int, size: int, key: str) -> None:
        max_entries, max_bytes = self.max_entries, self.max_bytes
        while (max_entries is not None and len(self.entries) + entries > max_entries) or (
            max_bytes is not None and self.bytes + size > max_bytes
        ):
            if self.policy is EvictionPolicy.NONE:
                raise CacheFull(
                    f"the in-memory cache is full ({len(self.entries)} entries, {self.bytes} "
                    "bytes) and its policy is None: it never evicts"
                )
            victim = self.order.victim(exclude=key)
            self._remove(victim)
            self.stats.evictions += 1

    def _remove(self, key: str) -> None:
        entry = self.entries.pop(key)
        self.bytes -= entry.size
        self.order.remove(key)


class MemoryCache(actors.Actor[CacheRequest]):
    """The in-memory cache backend (answers the cache protocol).

    ``policy``: an :class:`EvictionPolicy` (or its name); ``max_entries`` / ``max_bytes``
    (key + value bytes) bound it, None for no bound. TTLs run on the trio clock
    (``trio.current_time``). ``seed`` makes the Random policy reproducible. Errors it answers:
    :class:`ValueTooLarge`, :class:`CacheFull`, :class:`NotAnInteger`, :class:`CounterOverflow`.
    """

    reply_errors = (CacheError,)

    def __init__(
        self,
        *,
        policy: EvictionPolicy | str = EvictionPolicy.LRU,
        max_entries: int | None = None,
        max_bytes: int | None = None,
        seed: int | None = None,
    ) -> None:
        self.stats = StatsRecorder("memory")
        self.store = MemoryStore(
            policy=EvictionPolicy.parse(policy),
            max_entries=max_entries,
            max_bytes=max_bytes,
            rng=random.Random(seed),
            stats=self.stats,
        )
        self._handlers: dict[type[Any], Callable[[Any], Any]] = {
            Get: self._get,
            Set: self._set,
            Delete: self._delete,
            Exists: self._exists,
            SetNx: self._set_nx,
            GetSet: self._get_set,
            Increment: self._increment,
            Decrement: self._decrement,
            GetMany: self._get_many,
            SetMany: self._set_many,
            DeleteMany: self._delete_many,
            Clear: self._clear,
            Stats: self._stats,
        }

    async def on_start(self) -> None:
        policy = self.store.policy
        evicts = "no eviction" if policy is EvictionPolicy.NONE else policy.value
        where = f"memory ({evicts})"
        BackendReporter(self.ctx.system, self.ctx.name, where, verb="using").up()

    async def receive(self, message: CacheRequest) -> Any:
        start = time.perf_counter()
        try:
            return self._handlers[message.__class__](message)
        except CacheError:
            self.stats.errors += 1
            raise
        finally:
            self.stats.observe(time.perf_counter() - start)

    def _get(self, m: Get) -> bytes | None:
        return self.store.get(m.key, trio.current_time())

    def _set(self, m: Set) -> None:
        self.store.set(m.key, m.value, m.ttl, trio.current_time())

    def _delete(self, m: Delete) -> bool:
        return self.store.delete(m.key, trio.current_time())

    def _exists(self, m: Exists) -> bool:
        return self.store.exists(m.key, trio.current_time())

    def _set_nx(self, m: SetNx) -> bool:
        return self.store.set_nx(m.key, m.value, m.ttl, trio.current_time())

    def _get_set(self, m: GetSet) -> bytes | None:
        return self.store.get_set(m.key, m.value, m.ttl, trio.current_time())

    def _increment(self, m: Increment) -> int:
        return self.store.add(m.key, m.delta, trio.current_time())

    def _decrement(self, m: Decrement) -> int:
        return self.store.add(m.key, -m.delta, trio.current_time())

    def _get_many(self, m: GetMany) -> dict[str, bytes]:
        return self.store.get_many(m.keys, trio.current_time())

    def _set_many(self, m: SetMany) -> None:
        self.store.set_many(m.items, m.ttl, trio.current_time())

    def _delete_many(self, m: DeleteMany) -> int:
        return self.store.delete_many(m.keys, trio.current_time())

    def _clear(self, m: Clear) -> None:
        self.store.clear()

    def _stats(self, m: Stats) -> CacheStatistics:
        self.store.expire(trio.current_time())
        return self.stats.snapshot(
            items=len(self.store.entries),
            size=self.store.bytes,
            server={"policy": self.store.policy.value},
        )

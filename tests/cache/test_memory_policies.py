"""Hypothesis stateful tests: the in-memory cache actor against a model of its policies
(LRU, LFU, FIFO, MRU, None; Random by its invariants), its byte and entry limits and its
TTLs, with time moved by hand on trio's MockClock (hypothesis-trio does not work with
current hypothesis, so: one ``trio.run`` per example in a helper thread, rules call in with
``trio.from_thread``)."""

from __future__ import annotations

import threading
from typing import Any

import attrs
import pytest
import trio
import trio.testing
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

import actors
from pywatt.cache import (
    CACHE,
    CacheFull,
    Delete,
    EvictionPolicy,
    Exists,
    Get,
    GetMany,
    Increment,
    MemoryCache,
    NotAnInteger,
    Set,
    Stats,
    ValueTooLarge,
)

KEYS = st.sampled_from(["a", "b", "c", "d", "e"])
VALUES = st.one_of(st.binary(max_size=9), st.integers(-50, 50).map(lambda n: b"%d" % n))
TTLS = st.one_of(st.none(), st.sampled_from([0.5, 1.0, 2.5]))
MAX_ENTRIES = 3
MAX_BYTES = 18


@attrs.define
class Entry:
    value: bytes
    expires: float | None
    inserted: int
    used: int
    uses: int = 1

    @property
    def size(self) -> int:
        return 1 + len(self.value)  # one-letter keys


class Model:
    """What the cache should hold, and which entry each policy evicts."""

    def __init__(self, policy: EvictionPolicy) -> None:
        self.policy = policy
        self.entries: dict[str, Entry] = {}
        self.tick = 0
        self.evictions = 0

    def expire(self, now: float) -> None:
        for key in [
            k for k, e in self.entries.items() if e.expires is not None and e.expires <= now
        ]:
            del self.entries[key]

    def victim(self, exclude: str) -> str | None:
        candidates = {k: e for k, e in self.entries.items() if k != exclude}
        match self.policy:
            case EvictionPolicy.LRU:
                return min(candidates, key=lambda k: candidates[k].used)
            case EvictionPolicy.MRU:
                return max(candidates, key=lambda k: candidates[k].used)
            case EvictionPolicy.FIFO:
                return min(candidates, key=lambda k: candidates[k].inserted)
            case EvictionPolicy.LFU:
                return min(candidates, key=lambda k: (candidates[k].uses, candidates[k].used))
        return None  # RANDOM: any; NONE: never

    def store(self, key: str, value: bytes, ttl: float | None, now: float) -> str:
        """Apply a write; returns "ok", "too_large", "full" or "random" (unknown victims)."""
        size = 1 + len(value)
        if size > MAX_BYTES:
            return "too_large"
        old = self.entries.get(key)
        extra_entries = 0 if old else 1
        extra_bytes = size - (old.size if old else 0)
        unknown = False
        while (len(self.entries) + extra_entries > MAX_ENTRIES) or (
            sum(e.size for e in self.entries.values()) + extra_bytes > MAX_BYTES
        ):
            if self.policy is EvictionPolicy.NONE:
                return "full"
            if self.policy is EvictionPolicy.RANDOM:
                unknown = True
                break
            victim = self.victim(key)
            assert victim is not None
            del self.entries[victim]
            self.evictions += 1
        self.tick += 1
        expires = None if ttl is None else now + ttl
        if old is None:
            self.entries[key] = Entry(value, expires, self.tick, self.tick)
        else:
            old.value, old.expires = value, expires
            old.used, old.uses = self.tick, old.uses + 1
        return "random" if unknown else "ok"

    def touch(self, key: str) -> None:
        self.tick += 1
        entry = self.entries[key]
        entry.used, entry.uses = self.tick, entry.uses + 1


class CacheMachine(RuleBasedStateMachine):
    policy = EvictionPolicy.LRU

    def __init__(self) -> None:
        super().__init__()
        self.model = Model(self.policy)
        self.ready = threading.Event()
        self.token: trio.lowlevel.TrioToken | None = None
        self.clock = trio.testing.MockClock()
        self.stop: trio.Event | None = None
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10), "the trio thread did not start"

    def _run(self) -> None:
        async def main() -> None:
            self.stop = trio.Event()
            policy, limit = self.policy, MAX_ENTRIES
            async with actors.open_actor_system() as system:
                self.system = system
                await system.spawn(
                    lambda: MemoryCache(policy=policy, max_entries=limit, max_bytes=MAX_BYTES),
                    name="cache",
                    protocol=CACHE,
                )
                self.token = trio.lowlevel.current_trio_token()
                self.ready.set()
                await self.stop.wait()

        try:
            trio.run(main, clock=self.clock)
        except BaseException as exc:  # reported by teardown
            self.failure = exc
            self.ready.set()

    def ask(self, message: Any) -> Any:
        return trio.from_thread.run(self.system.ask, "cache", message, trio_token=self.token)

    def now(self) -> float:
        now: float = trio.from_thread.run_sync(trio.current_time, trio_token=self.token)
        return now

    def teardown(self) -> None:
        if self.stop is not None and self.token is not None:
            trio.from_thread.run_sync(self.stop.set, trio_token=self.token)
        self.thread.join(10)
        if self.failure is not None:
            raise self.failure

    def _reconcile_random(self) -> None:
        """Random evictions are unknown to the model: learn them from the cache."""
        live = self.ask(GetMany(tuple(self.model.entries)))
        lost = set(self.model.entries) - set(live)
        for key in lost:
            del self.model.entries[key]
        self.model.evictions += len(lost)

    # -- rules -----------------------------------------------------------------------------

    @rule(key=KEYS, value=VALUES, ttl=TTLS)
    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        now = self.now()
        self.model.expire(now)
        before = set(self.model.entries)
        outcome = self.model.store(key, value, ttl, now)
        if outcome == "too_large":
            with pytest.raises(ValueTooLarge):
                self.ask(Set(key, value, ttl))
            return
        if outcome == "full":
            with pytest.raises(CacheFull):
                self.ask(Set(key, value, ttl))
            return
        self.ask(Set(key, value, ttl))
        if outcome == "random":
            others = before - {key}
            lost = others - set(self.ask(GetMany(tuple(others))))
            assert lost, "the cache was over its limits: something had to go"
            for lost_key in lost:
                del self.model.entries[lost_key]
            self.model.evictions += len(lost)

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        self.model.expire(self.now())
        expected = self.model.entries.get(key)
        assert self.ask(Get(key)) == (None if expected is None else expected.value)
        if expected is not None:
            self.model.touch(key)

    @rule(key=KEYS)
    def exists(self, key: str) -> None:
        self.model.expire(self.now())
        assert self.ask(Exists(key)) == (key in self.model.entries)

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        self.model.expire(self.now())
        assert self.ask(Delete(key)) == (self.model.entries.pop(key, None) is not None)

    @rule(key=KEYS, delta=st.integers(-5, 5))
    def increment(self, key: str, delta: int) -> None:
        now = self.now()
        self.model.expire(now)
        entry = self.model.entries.get(key)
        try:
            current = 0 if entry is None else int(entry.value.decode("ascii"))
            valid = entry is None or entry.value == b"%d" % current
        except (UnicodeDecodeError, ValueError):
            valid = False
        if not valid:
            with pytest.raises(NotAnInteger):
                self.ask(Increment(key, delta))
            return
        keep = None if entry is None or entry.expires is None else entry.expires - now
        outcome = self.model.store(key, b"%d" % (current + delta), keep, now)
        if outcome == "full":
            with pytest.raises(CacheFull):
                self.ask(Increment(key, delta))
            return
        assert self.ask(Increment(key, delta)) == current + delta
        if outcome == "random":
            self._reconcile_random()

    @rule(seconds=st.sampled_from([0.25, 0.5, 1.0, 3.0]))
    def advance(self, seconds: float) -> None:
        trio.from_thread.run_sync(self.clock.jump, seconds, trio_token=self.token)

    @invariant()
    def same_size_and_evictions(self) -> None:
        if self.token is None:
            return
        self.model.expire(self.now())
        stats = self.ask(Stats())
        assert stats.items == len(self.model.entries)
        assert stats.bytes == sum(e.size for e in self.model.entries.values())
        assert stats.items <= MAX_ENTRIES
        assert stats.bytes <= MAX_BYTES
        assert stats.evictions == self.model.evictions


def _machine(policy: EvictionPolicy) -> Any:
    machine = type(f"{policy.name}Machine", (CacheMachine,), {"policy": policy})
    case = machine.TestCase
    case.settings = settings(
        max_examples=25,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    return case


TestLru = _machine(EvictionPolicy.LRU)
TestLfu = _machine(EvictionPolicy.LFU)
TestFifo = _machine(EvictionPolicy.FIFO)
TestMru = _machine(EvictionPolicy.MRU)
TestRandom = _machine(EvictionPolicy.RANDOM)
TestNone = _machine(EvictionPolicy.NONE)

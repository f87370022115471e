"""Eviction policies of the in-memory cache: which live entry to drop when it is full.

Each policy keeps only the order it needs, with O(1) work per use (LFU's victim search
is O(distinct frequencies) after its lowest bucket empties). What counts as a *use* of a key
is decided by the store: reads and writes of the value, not ``exists``.
"""

from __future__ import annotations

import collections
import enum
import random


class EvictionPolicy(enum.Enum):
    """How the in-memory cache picks a victim when it is over ``max_entries`` or ``max_bytes``."""

    LRU = "LRU"
    """Least recently used."""
    LFU = "LFU"
    """Least frequently used; ties go to the least recently used of them."""
    FIFO = "FIFO"
    """First in, first out: the oldest insertion (overwriting keeps its place)."""
    MRU = "MRU"
    """Most recently used (good for cyclic scans larger than the cache)."""
    RANDOM = "Random"
    """A uniformly random entry."""
    NONE = "None"
    """Never evict: a write that needs room raises :class:`~pywatt.cache.CacheFull`."""

    @classmethod
    def parse(cls, value: object) -> EvictionPolicy:
        """From an enum (ours or the wire's ``CachePolicy``) or a name, case-insensitively.

        Raises ValueError naming the accepted values.
        """
        if isinstance(value, EvictionPolicy):
            return value
        text = getattr(value, "value", value)
        if isinstance(text, str):
            for policy in cls:
                if text.lower() in (policy.value.lower(), policy.name.lower()):
                    return policy
        names = ", ".join(p.value for p in cls)
        raise ValueError(f"unknown eviction policy {value!r}: use one of {names}")


class Policy:
    """The order one policy keeps. ``victim`` is only called when at least one key is held."""

    def insert(self, key: str) -> None:
        raise NotImplementedError

    def touch(self, key: str) -> None:
        raise NotImplementedError

    def remove(self, key: str) -> None:
        raise NotImplementedError

    def victim(self, exclude: str | None = None) -> str:
        """The key to evict, never ``exclude`` (the key being rewritten)."""
        raise NotImplementedError


class _Ordered(Policy):
    """LRU, MRU and FIFO: one ordered dict, oldest first."""

    __slots__ = ("evict_newest", "move_on_use", "order")

    def __init__(self, *, move_on_use: bool, evict_newest: bool) -> None:
        self.order: collections.OrderedDict[str, None] = collections.OrderedDict()
        self.move_on_use = move_on_use
        self.evict_newest = evict_newest

    def insert(self, key: str) -> None:
        self.order[key] = None

    def touch(self, key: str) -> None:
        if self.move_on_use:
            self.order.move_to_end(key)

    def remove(self, key: str) -> None:
        del self.order[key]

    def victim(self, exclude: str | None = None) -> str:
        keys = reversed(self.order) if self.evict_newest else iter(self.order)
        key = next(keys)
        return next(keys) if key == exclude else key


class _Lfu(Policy):
    """Frequency buckets; each bucket is ordered by when its keys reached that frequency,
    which is their last use, so ties go to the least recently used."""

    __slots__ = ("buckets", "frequency", "lowest")

    def __init__(self) -> None:
        self.buckets: dict[int, collections.OrderedDict[str, None]] = {}
        self.frequency: dict[str, int] = {}
        self.lowest = 1

    def insert(self, key: str) -> None:
        self.frequency[key] = 1
        self.buckets.setdefault(1, collections.OrderedDict())[key] = None
        self.lowest = 1

    def touch(self, key: str) -> None:
        count = self.frequency[key]
        bucket = self.buckets[count]
        del bucket[key]
        if not bucket:
            del self.buckets[count]
            if self.lowest == count:
                self.lowest = count + 1
        self.frequency[key] = count + 1
        self.buckets.setdefault(count + 1, collections.OrderedDict())[key] = None

    def remove(self, key: str) -> None:
        count = self.frequency.pop(key)
        bucket = self.buckets[count]
        del bucket[key]
        if not bucket:
            del self.buckets[count]

    def victim(self, exclude: str | None = None) -> str:
        if self.lowest not in self.buckets:
            self.lowest = min(self.buckets)
        for key in self.buckets[self.lowest]:
            if key != exclude:
                return key
        # the lowest bucket holds only the excluded key: the next bucket up
        return next(iter(self.buckets[min(c for c in self.buckets if c != self.lowest)]))


class _Random(Policy):
    """A list of keys with an index, so removal and a random pick are O(1)."""

    __slots__ = ("index", "keys", "rng")

    def __init__(self, rng: random.Random) -> None:
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.rng = rng

    def insert(self, key: str) -> None:
        self.index[key] = len(self.keys)
        self.keys.append(key)

    def touch(self, key: str) -> None:
        pass

    def remove(self, key: str) -> None:
        position = self.index.pop(key)
        last = self.keys.pop()
        if last != key:
            self.keys[position] = last
            self.index[last] = position

    def victim(self, exclude: str | None = None) -> str:
        if exclude is None or exclude not in self.index:
            return self.keys[self.rng.randrange(len(self.keys))]
        pick = self.rng.randrange(len(self.keys) - 1)  # every key but the excluded one
        return self.keys[pick + 1 if pick >= self.index[exclude] else pick]


def make_policy(policy: EvictionPolicy, rng: random.Random) -> Policy:
    """A fresh order keeper for ``policy`` (NONE keeps FIFO order but is never asked)."""
    match policy:
        case EvictionPolicy.LRU:
            return _Ordered(move_on_use=True, evict_newest=False)
        case EvictionPolicy.MRU:
            return _Ordered(move_on_use=True, evict_newest=True)
        case EvictionPolicy.FIFO | EvictionPolicy.NONE:
            return _Ordered(move_on_use=False, evict_newest=False)
        case EvictionPolicy.LFU:
            return _Lfu()
        case EvictionPolicy.RANDOM:
            return _Random(rng)
    raise AssertionError(policy)

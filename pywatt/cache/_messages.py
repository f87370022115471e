"""The cache protocol: the messages every cache backend actor answers.

A name that carries :data:`CACHE` (``cache`` in a module) only takes actors that accept all of
them, so a user's provider that answers these messages replaces a built-in backend by being
registered under the same name (docs/custom-providers.md).

Values are bytes: backends never interpret them, except ``Increment``/``Decrement``, which
read and write decimal ASCII integers (``b"42"``), as Redis and Memcached do. A ``ttl`` is in
seconds; ``None`` means the entry never expires (the facade applies a configured default).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

import actors

from ._errors import InvalidKey

__all__ = [
    "CACHE",
    "CacheRequest",
    "CacheStatistics",
    "Clear",
    "Decrement",
    "Delete",
    "DeleteMany",
    "Exists",
    "Get",
    "GetMany",
    "GetSet",
    "Increment",
    "Set",
    "SetMany",
    "SetNx",
    "Stats",
]


def _key(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, str):
        raise InvalidKey(value, f"a key is a str, not {type(value).__name__}")
    if not value:
        raise InvalidKey(value, "a key must not be empty")


def _keys(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for key in value:
        _key(_, attribute, key)


def _value(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if not isinstance(value, bytes):
        raise TypeError(
            f"a cache value is bytes, not {type(value).__name__} (the facade encodes objects)"
        )


def _ttl(_: object, attribute: attrs.Attribute[Any], value: float | None) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"ttl is seconds (a number) or None, not {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"ttl must be a positive number of seconds or None, not {value!r}")


def _delta(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"delta is an int, not {type(value).__name__}")


def _as_keys(keys: Iterable[str]) -> tuple[str, ...]:
    if isinstance(keys, str):
        raise InvalidKey(keys, "give a list of keys, not one string")
    return tuple(keys)


def _items(value: Mapping[str, bytes]) -> dict[str, bytes]:
    return dict(value)


def _check_items(_: object, attribute: attrs.Attribute[Any], value: dict[str, bytes]) -> None:
    for key, item in value.items():
        _key(_, attribute, key)
        _value(_, attribute, item)


@attrs.frozen(kw_only=True)
class CacheStatistics:
    """What a cache backend has counted since its actor started (a frozen record).

    ``hits``/``misses`` count keys read by ``Get``/``GetMany``; ``errors`` counts failed
    operations; ``evictions`` entries dropped to make room; ``expirations`` entries dropped
    because their TTL passed (where the backend can tell). Latencies are in microseconds,
    over the most recent operations. ``items``/``bytes`` are None when the backend cannot tell
    cheaply. ``server`` holds backend-specific figures (for example Redis ``evicted_keys``).
    """

    backend: str
    hits: int = 0
    misses: int = 0
    sets: int = 0
    deletes: int = 0
    evictions: int = 0
    expirations: int = 0
    errors: int = 0
    operations: int = 0
    items: int | None = None
    bytes: int | None = None
    latency_mean_us: float = 0.0
    latency_p50_us: float = 0.0
    latency_p99_us: float = 0.0
    latency_max_us: float = 0.0
    server: dict[str, str] = attrs.field(factory=dict)

    @property
    def hit_ratio(self) -> float:
        """hits / (hits + misses), 0.0 before any read."""
        reads = self.hits + self.misses
        return self.hits / reads if reads else 0.0


@attrs.frozen
class Get(actors.Request[bytes | None]):
    """The value stored under ``key``, or None when it is missing or expired."""

    key: str = attrs.field(validator=_key)


@attrs.frozen
class Set(actors.Request[None]):
    """Store ``value`` under ``key`` (replacing any value), expiring after ``ttl`` seconds."""

    key: str = attrs.field(validator=_key)
    value: bytes = attrs.field(validator=_value, repr=False)
    ttl: float | None = attrs.field(default=None, validator=_ttl)


@attrs.frozen
class Delete(actors.Request[bool]):
    """Remove ``key``; True if it was there."""

    key: str = attrs.field(validator=_key)


@attrs.frozen
class Exists(actors.Request[bool]):
    """Whether ``key`` holds a live value (does not count as a use for LRU/LFU)."""

    key: str = attrs.field(validator=_key)


@attrs.frozen
class SetNx(actors.Request[bool]):
    """Store ``value`` only if ``key`` holds nothing; True if it was stored. Atomic."""

    key: str = attrs.field(validator=_key)
    value: bytes = attrs.field(validator=_value, repr=False)
    ttl: float | None = attrs.field(default=None, validator=_ttl)


@attrs.frozen
class GetSet(actors.Request[bytes | None]):
    """Store ``value`` and answer the previous value (None if there was none). Atomic."""

    key: str = attrs.field(validator=_key)
    value: bytes = attrs.field(validator=_value, repr=False)
    ttl: float | None = attrs.field(default=None, validator=_ttl)


@attrs.frozen
class Increment(actors.Request[int]):
    """Add ``delta`` to the integer under ``key`` (a missing key counts as 0); answer the
    new value. Atomic. Raises :class:`NotAnInteger` or :class:`CounterOverflow`."""

    key: str = attrs.field(validator=_key)
    delta: int = attrs.field(default=1, validator=_delta)


@attrs.frozen
class Decrement(actors.Request[int]):
    """Subtract ``delta`` from the integer under ``key``; answer the new value. Atomic.
    Memcached counters are unsigned and stop at 0 (docs/cache-backends.md)."""

    key: str = attrs.field(validator=_key)
    delta: int = attrs.field(default=1, validator=_delta)


@attrs.frozen
class GetMany(actors.Request[dict[str, bytes]]):
    """The live values of ``keys``; missing keys are left out of the answer."""

    keys: tuple[str, ...] = attrs.field(converter=_as_keys, validator=_keys)


@attrs.frozen
class SetMany(actors.Request[None]):
    """Store every item, each expiring after ``ttl`` seconds."""

    items: dict[str, bytes] = attrs.field(converter=_items, validator=_check_items, repr=False)
    ttl: float | None = attrs.field(default=None, validator=_ttl)


@attrs.frozen
class DeleteMany(actors.Request[int]):
    """Remove ``keys``; answer how many were there."""

    keys: tuple[str, ...] = attrs.field(converter=_as_keys, validator=_keys)


@attrs.frozen
class Clear(actors.Request[None]):
    """Remove every entry this cache can reach (its scope per backend is in the table)."""


@attrs.frozen
class Stats(actors.Request[CacheStatistics]):
    """Answer the backend's :class:`CacheStatistics`."""


CacheRequest = (
    Get
    | Set
    | Delete
    | Exists
    | SetNx
    | GetSet
    | Increment
    | Decrement
    | GetMany
    | SetMany
    | DeleteMany
    | Clear
    | Stats
)
"""Every message of the cache protocol."""

CACHE = actors.Protocol(
    "cache",
    (
        Get,
        Set,
        Delete,
        Exists,
        SetNx,
        GetSet,
        Increment,
        Decrement,
        GetMany,
        SetMany,
        DeleteMany,
        Clear,
        Stats,
    ),
)
"""The cache protocol: a name carrying it only takes actors that answer all of it."""

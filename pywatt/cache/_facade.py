"""The cache facade: what ``state.cache`` is. It encodes values and asks the actor named
``cache``; no cache logic lives here, so a user's provider registered under that name
answers instead of the built-in backend."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeVar

import actors
from pywatt.tracing import cache_span
from pywatt.tracing import enabled as tracing_enabled

from ._codec import Codec
from ._messages import (
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

R = TypeVar("R")

CACHE_NAME: Final = "cache"
"""The actor name the cache protocol is served under in a module."""


class _Default(enum.Enum):
    TTL = "default ttl"


DEFAULT_TTL: Final = _Default.TTL
"""``ttl=`` default: use the facade's ``default_ttl``."""

Ttl = float | None | _Default


class CacheFacade:
    """The seed's cache operations over the cache actor (``state.cache``).

    Every method asks the actor registered as ``name`` and blocks until it answers. Values are
    encoded by ``codec`` (JSON by default, ``"msgpack"`` on request, ``"raw"`` for bytes);
    ``ttl`` is seconds, None for no expiry, and defaults to ``default_ttl``. Raises what the
    backend answers (:class:`~pywatt.cache.CacheUnavailable`, :class:`~pywatt.cache.InvalidKey`,
    :class:`~pywatt.cache.NotAnInteger`, ...), :class:`~pywatt.cache.CodecError` for a value
    the codec cannot handle, and :class:`~actors.NoSuchActor` when no cache actor runs.
    Deadlines are the caller's (``trio.fail_after``).
    """

    def __init__(
        self,
        system: actors.ActorSystem,
        name: str = CACHE_NAME,
        *,
        codec: Codec | str = Codec.JSON,
        default_ttl: float | None = None,
    ) -> None:
        self.system = system
        self.name = name
        self.codec = Codec.parse(codec)
        self.default_ttl = default_ttl
        self._ref: actors.ActorRef[Any] | None = None

    async def _ask(self, message: actors.Request[R]) -> R:
        ref = self._ref
        if ref is None:
            ref = self._ref = self.system.ref(self.name)
        if tracing_enabled():
            with cache_span(self.name, _operation(message)):
                return await ref.ask(message)
        return await ref.ask(message)

    def _ttl(self, ttl: Ttl) -> float | None:
        return self.default_ttl if ttl is DEFAULT_TTL else ttl

    async def get(self, key: str, default: Any = None) -> Any:
        """The decoded value under ``key``, or ``default`` when it is missing or expired."""
        data = await self._ask(Get(key))
        return default if data is None else self.codec.decode(key, data)

    async def set(self, key: str, value: Any, ttl: Ttl = DEFAULT_TTL) -> None:
        """Store ``value`` under ``key``, expiring after ``ttl`` seconds."""
        await self._ask(Set(key, self.codec.encode(key, value), self._ttl(ttl)))

    async def delete(self, key: str) -> bool:
        """Remove ``key``; True if it was there."""
        return await self._ask(Delete(key))

    async def exists(self, key: str) -> bool:
        """Whether ``key`` holds a live value."""
        return await self._ask(Exists(key))

    async def set_nx(self, key: str, value: Any, ttl: Ttl = DEFAULT_TTL) -> bool:
        """Store only if ``key`` is empty (atomically on the backend); True if stored."""
        return await self._ask(SetNx(key, self.codec.encode(key, value), self._ttl(ttl)))

    async def get_set(self, key: str, value: Any, ttl: Ttl = DEFAULT_TTL) -> Any:
        """Store ``value`` and return the previous decoded value (None if none). Atomic."""
        old = await self._ask(GetSet(key, self.codec.encode(key, value), self._ttl(ttl)))
        return None if old is None else self.codec.decode(key, old)

    async def increment(self, key: str, delta: int = 1) -> int:
        """Add ``delta`` atomically on the backend (a missing key counts as 0); the new value."""
        return await self._ask(Increment(key, delta))

    async def decrement(self, key: str, delta: int = 1) -> int:
        """Subtract ``delta`` atomically (Memcached stops at 0); the new value."""
        return await self._ask(Decrement(key, delta))

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The decoded live values of ``keys``; missing keys are left out."""
        found = await self._ask(GetMany(keys))
        return {key: self.codec.decode(key, data) for key, data in found.items()}

    async def set_many(self, items: Mapping[str, Any], ttl: Ttl = DEFAULT_TTL) -> None:
        """Store every item with the same ``ttl``."""
        encoded = {key: self.codec.encode(key, value) for key, value in items.items()}
        await self._ask(SetMany(encoded, self._ttl(ttl)))

    async def delete_many(self, keys: Iterable[str]) -> int:
        """Remove ``keys``; how many were there."""
        return await self._ask(DeleteMany(keys))

    async def clear(self) -> None:
        """Remove every entry the backend can reach (see docs/cache-backends.md)."""
        await self._ask(Clear())

    async def stats(self) -> CacheStatistics:
        """The backend's statistics: hits, misses, evictions, errors, latency, ..."""
        return await self._ask(Stats())


def _operation(message: object) -> str:
    """A cache message's operation name for its span: ``SetNx`` -> ``set_nx``."""
    name = type(message).__name__
    return "".join("_" + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))

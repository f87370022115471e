"""A small TTL + LRU cache of secrets (pure data; the caller passes the time)."""

from __future__ import annotations

import collections

from ._messages import Secret


class SecretCache:
    """At most ``max_entries`` secrets, each fresh for ``ttl`` seconds (None: forever).

    The least recently used entry is evicted first. Times are the caller's (the trio clock), so
    tests drive it with a MockClock.
    """

    def __init__(self, max_entries: int = 256, ttl: float | None = 300.0) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be at least 1, not {max_entries}")
        self.max_entries = max_entries
        self.ttl = ttl
        self._entries: collections.OrderedDict[str, tuple[Secret, float]] = (
            collections.OrderedDict()
        )
        self.hits = 0
        self.misses = 0
        self.evictions = 0
        self.expirations = 0

    def get(self, name: str, now: float) -> Secret | None:
        """The fresh cached secret, or None (a miss; an expired entry is dropped)."""
        entry = self._entries.get(name)
        if entry is None:
            self.misses += 1
            return None
        secret, stored_at = entry
        if self.ttl is not None and now - stored_at >= self.ttl:
            del self._entries[name]
            self.expirations += 1
            self.misses += 1
            return None
        self._entries.move_to_end(name)
        self.hits += 1
        return secret

    def peek(self, name: str) -> Secret | None:
        """The cached secret whether fresh or not, without touching statistics or order."""
        entry = self._entries.get(name)
        return None if entry is None else entry[0]

    def put(self, secret: Secret, now: float) -> None:
        """Store (or refresh) a secret, evicting the least recently used past the limit."""
        self._entries[secret.name] = (secret, now)
        self._entries.move_to_end(secret.name)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
            self.evictions += 1

    def discard(self, name: str) -> None:
        """Forget a secret (a rotation invalidates it)."""
        self._entries.pop(name, None)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

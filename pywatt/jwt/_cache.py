"""A bounded cache of verified tokens: a repeated token costs a hash and a dict lookup.

Keys are the BLAKE2b digest of the raw token (the token itself is never kept). An entry
holds the claims of a token that passed *every* check, and answers only while its time
window still holds: before ``exp`` (the token's own, never ``exp`` + leeway) and, for
``nbf`` / ``iat``, exactly as the full check would judge them now. Outside that window the
caller validates in full (which applies the leeway and says why it refuses), so a cache hit
never accepts what a full validation would refuse. Refusals are never cached.

Entries are least-recently-used evicted beyond ``size``; :meth:`TokenCache.clear` drops all
of them and starts a new generation, so a validation that began before a key change cannot
put its result in after it. Thread-safe (the WSGI middleware validates from many threads).
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from collections import OrderedDict
from typing import Any, Final, TypeGuard

_SCALARS: Final = (str, int, float, bool, type(None))


def token_digest(token: str) -> bytes:
    """The cache key of ``token``: a 32-byte BLAKE2b digest (``surrogatepass`` so any str
    hashes; such a token never verifies, but must not raise here)."""
    return hashlib.blake2b(token.encode("utf-8", "surrogatepass"), digest_size=32).digest()


def _numeric(value: object) -> TypeGuard[int | float]:
    """A NumericDate as joserfc accepts one: an int or a finite float, never a bool."""
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


class Entry:
    """The claims of one verified token and the window in which they may be answered."""

    __slots__ = ("_data", "expires", "starts")

    def __init__(self, data: dict[str, Any] | bytes, expires: float, starts: float | None):
        self._data = data
        self.expires = expires
        self.starts = starts

    @classmethod
    def of(cls, claims: dict[str, Any], payload: bytes) -> Entry | None:
        """An entry for verified ``claims`` (parsed from ``payload``), or None when the token
        has no usable ``exp`` (it would never expire here: not cached)."""
        expires = claims.get("exp")
        if not _numeric(expires):
            return None
        times = [claims[name] for name in ("nbf", "iat") if _numeric(claims.get(name))]
        # Flat claims (no lists or objects) are kept as a dict and copied shallowly on a hit;
        # the others as the payload, parsed again on a hit: either way a fresh object.
        flat = all(isinstance(value, _SCALARS) for value in claims.values())
        data: dict[str, Any] | bytes = dict(claims) if flat else payload
        return cls(data, expires, max(times) if times else None)

    def claims_at(self, now: float, leeway: int) -> dict[str, Any] | None:
        """A fresh copy of the claims if the window holds at ``now``, else None.

        ``now < exp`` implies the full check's ``exp > int(now) - leeway``; ``starts <=
        int(now) + leeway`` is the full check's own test of ``nbf`` and ``iat``.
        """
        if not now < self.expires:
            return None
        starts = self.starts
        if starts is not None and starts > int(now) + leeway:
            return None  # the clock went back: let the full check judge it
        data = self._data
        if isinstance(data, dict):
            return data.copy()
        try:
            claims: dict[str, Any] = json.loads(data)
        except RecursionError:
            return None  # parsed once at a shallower stack: validate in full instead
        return claims


class TokenCache:
    """Verified tokens by digest, at most ``size`` of them (see the module docstring)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[bytes, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, digest: bytes) -> Entry | None:
        """The entry of ``digest`` (now the most recently used), or None."""
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None:
                self.misses += 1
                return None
            self._entries.move_to_end(digest)
            self.hits += 1
            return entry

    def put(self, digest: bytes, entry: Entry, generation: int) -> None:
        """Keep ``entry`` unless the cache was cleared since ``generation`` was read."""
        with self._lock:
            if generation != self.generation:
                return
            entries = self._entries
            entries[digest] = entry
            entries.move_to_end(digest)
            if len(entries) > self.size:
                entries.popitem(last=False)

    def discard(self, digest: bytes, entry: Entry) -> None:
        """Drop ``digest`` if it still maps to ``entry`` (its window no longer holds)."""
        with self._lock:
            if self._entries.get(digest) is entry:
                del self._entries[digest]

    def clear(self) -> None:
        """Drop every entry and start a new generation (the keys changed)."""
        with self._lock:
            self._entries.clear()
            self.generation += 1

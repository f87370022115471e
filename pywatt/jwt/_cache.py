"""A bounded cache of verified tokens: a repeated token costs a hash and a dict lookup.

An entry holds the claims of a token that passed *every* check, and answers only while its
time window still holds: before ``exp`` (the token's own, never ``exp`` + leeway) and, for
``nbf`` / ``iat``, exactly as the full check would judge them now. Outside that window the
caller validates in full (which applies the leeway and says why it refuses), so a cache hit
never accepts what a full validation would refuse. Refusals are never cached.

Keys: entries are found by the token's ``hash()`` and each holds its token's SHA-256
digest, compared on every hit, so two tokens with one ``hash()`` never answer for each
other; the token itself is never kept. A token is kept from its second validation on: a
table of the ``hash()`` values last seen (the "doorkeeper") lets a token seen once pass
without a digest or an entry, so a stream of one-off tokens costs next to nothing and does
not evict the tokens that come back.

Entries are least-recently-used evicted beyond ``size``; :meth:`TokenCache.clear` drops all
of them and starts a new generation, and an entry answers only in the generation it was
verified in, so a validation that began before a key change is never answered after it.
Thread-safe without a lock (the WSGI middleware validates from many threads): each step is
one operation on the ``OrderedDict`` or the table, atomic under the GIL.

An entry stores the payload bytes, and the first hit parses them; claims without lists or
objects are then kept as a dict, copied on later hits. Either way each caller gets a new
dict.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
from array import array
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final

_SCALARS: Final = frozenset({str, int, float, bool, type(None)})
"""The types of JSON values that are immutable (``json.loads`` makes exactly these)."""

Entry = tuple[bytes, bytes | dict[str, Any], int | float, int | float | None, int]
"""One verified token: its SHA-256 digest, the payload (or, once seen flat, its claims as a
private dict), ``exp``, the later of ``nbf`` and ``iat`` (or None; read from the payload
while the entry holds one), and the generation it was verified in."""


def token_digest(token: str) -> bytes:
    """The cache key of ``token``: its SHA-256 digest (``surrogatepass`` so any str hashes;
    such a token never verifies, but must not raise here)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _time(value: object) -> int | float | None:
    """A NumericDate as joserfc accepts one (an int or a finite float, never a bool)."""
    if type(value) is int:
        return value
    if type(value) is float and math.isfinite(value):
        return value
    return None


def _starts(claims: dict[str, Any]) -> int | float | None:
    """The later of ``nbf`` and ``iat`` (None without either)."""
    nbf, iat = _time(claims.get("nbf")), _time(claims.get("iat"))
    if iat is not None and (nbf is None or iat > nbf):
        return iat
    return nbf


class TokenCache:
    """Verified tokens, at most ``size`` of them (see the module docstring).

    ``hits`` and ``misses`` are statistics (approximate when threads race).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self.generation = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[int, Entry] = OrderedDict()
        slots = 1 << max(4, (2 * size - 1).bit_length())  # a power of two >= 2 * size
        self._seen = array("q", bytes(8 * slots))
        self._mask = slots - 1

    def __len__(self) -> int:
        return len(self._entries)

    def answer(self, token: str, now: Callable[[], float], leeway: int) -> dict[str, Any] | None:
        """New claims of ``token`` if it is cached in this generation and its window holds
        at ``now()``; otherwise None (the caller validates in full).

        ``now < exp`` implies the full check's ``exp > int(now) - leeway``; ``starts <=
        int(now) + leeway`` is the full check's own test of ``nbf`` and ``iat``.
        """
        key = hash(token)
        entries = self._entries
        entry = entries.get(key)
        if entry is None or entry[4] != self.generation or entry[0] != token_digest(token):
            self.misses += 1
            return None
        _, data, expires, starts, generation = entry
        moment = now()
        if not moment < expires:
            self._drop(key, entry)
            return None
        if isinstance(data, dict):
            claims = data.copy()
        else:
            try:
                claims = json.loads(data)
            except RecursionError:
                return None  # parsed once at a shallower stack: validate in full instead
            starts = _starts(claims)
        if starts is not None and starts > int(moment) + leeway:
            self._drop(key, entry)  # the clock went back
            return None
        if (
            not isinstance(data, dict)
            and all(type(value) in _SCALARS for value in claims.values())
            and entries.get(key) is entry
        ):
            # Flat: kept as a private dict from now on (a copy is cheaper than a parse), its
            # claim names shared with every other entry's ("sub", "exp", ...).
            private = {sys.intern(name): value for name, value in claims.items()}
            entries[key] = (entry[0], private, expires, starts, generation)
        try:  # noqa: SIM105 (contextlib.suppress costs more than the lookup)
            entries.move_to_end(key)
        except KeyError:  # dropped by another thread meanwhile
            pass
        self.hits += 1
        return claims

    def _drop(self, key: int, entry: Entry) -> None:
        """``entry`` is past its window: forget it; the full check judges the token."""
        entries = self._entries
        if entries.get(key) is entry:
            entries.pop(key, None)
        self.misses += 1

    def remember(
        self,
        token: str,
        claims: dict[str, Any],
        payload: bytes,
        generation: int,
        now: Callable[[], float],
    ) -> None:
        """Keep ``token``'s verified ``claims`` (parsed from ``payload``, verified in
        ``generation``) until their ``exp`` if it was seen before, evicting the least
        recently used beyond ``size``; otherwise only note that it was seen. A token without
        a usable ``exp``, or past it (accepted within the leeway), is not kept.

        Every miss comes here, so only ``exp`` is read now: ``nbf``/``iat`` wait for a
        first hit, which parses the payload anyway.
        """
        key = hash(token)
        slot = key & self._mask
        if self._seen[slot] != key:
            self._seen[slot] = key  # the first time (or the slot was taken): note it only
            return
        expires = _time(claims.get("exp"))
        if expires is None or not now() < expires:
            return
        entries = self._entries
        entries[key] = (token_digest(token), payload, expires, None, generation)
        if len(entries) > self.size:
            try:  # noqa: SIM105 (as above: every miss comes here)
                entries.popitem(last=False)
            except KeyError:  # emptied by another thread meanwhile
                pass

    def clear(self) -> None:
        """Start a new generation and drop every entry (the keys changed)."""
        self.generation += 1
        self._entries.clear()

"""The Memcached backend: the meta protocol (``mg``/``ms``/``md``/``ma``, memcached ≥ 1.6)
over a trio stream, keys checked by pymemcache's ``check_key_helper``, requests pipelined.

Atomic on the server: ``SetNx`` is ``ms`` in add mode, counters are ``ma`` (with
auto-create), and ``GetSet``, which Memcached has no single command for, is a
compare-and-swap loop (``mg`` with the CAS token, then ``ms C<cas>``, or ``ms`` in add mode
when the key is missing; retried when another client got in between). Differences from the
other backends are in docs/cache-backends.md: counters are unsigned 64-bit (a decrement stops
at 0, an increment wraps), TTLs are whole seconds (over 30 days sent as an absolute Unix
time), keys are at most 250 bytes without whitespace, and ``Clear`` flushes the whole server.
"""

from __future__ import annotations

import math
import time
from typing import Any, Final

import attrs
from pymemcache.client.base import check_key_helper  # type: ignore[import-untyped]
from pymemcache.exceptions import MemcacheIllegalInputError  # type: ignore[import-untyped]

from ._errors import (
    CacheBackendError,
    CacheConfigError,
    CacheError,
    CacheProtocolError,
    CounterOverflow,
    InvalidKey,
    NotAnInteger,
    ValueTooLarge,
)
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
from ._pipeline import NEED_DATA, PipelinedConnection
from ._remote import Endpoint, Reconnect, RemoteBackend

MAX_LINE: Final = 8192
"""A reply line longer than this is a protocol error (the server's are short)."""
RELATIVE_TTL_LIMIT: Final = 30 * 24 * 3600
"""Memcached reads an expiry above 30 days as an absolute Unix time."""
UINT64_MAX: Final = 2**64 - 1
CAS_ATTEMPTS: Final = 64
STATS: Final = "stats"
LINE: Final = "line"


@attrs.frozen
class MetaReply:
    """One meta-protocol reply: its code (``HD``, ``VA``, ``EN``, ``NS``, ``EX``, ``NF``,
    ``MN``, or an error code), its flags, and the value of a ``VA`` (or an error's text)."""

    code: bytes
    flags: tuple[bytes, ...] = ()
    value: bytes | None = None

    def flag(self, letter: bytes) -> bytes | None:
        """The token of flag ``letter`` (``c`` → the CAS value), or None."""
        for flag in self.flags:
            if flag[:1] == letter:
                return flag[1:]
        return None


_ERRORS = (b"ERROR", b"CLIENT_ERROR", b"SERVER_ERROR")


class MetaParser:
    """Sans-io parser of meta replies, ``stats`` blocks and one-line replies."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes | bytearray) -> None:
        self.buffer += data

    def _line(self, start: int = 0) -> tuple[bytes, int] | None:
        end = self.buffer.find(b"\r\n", start)
        if end < 0:
            if len(self.buffer) - start > MAX_LINE:
                raise CacheProtocolError(f"memcached sent a line longer than {MAX_LINE} bytes")
            return None
        return bytes(self.buffer[start:end]), end + 2

    def next_reply(self, kind: object) -> object:
        if kind == STATS:
            return self._stats()
        found = self._line()
        if found is None:
            return NEED_DATA
        line, after = found
        code, _, rest = line.partition(b" ")
        if kind == LINE or code in _ERRORS:
            del self.buffer[:after]
            return MetaReply(code, (), rest)
        flags = tuple(rest.split())
        if code == b"VA":
            if not flags or not flags[0].isdigit():
                raise CacheProtocolError(f"memcached sent a bad VA line: {line[:80]!r}")
            size = int(flags[0])
            if len(self.buffer) < after + size + 2:
                return NEED_DATA
            if self.buffer[after + size : after + size + 2] != b"\r\n":
                raise CacheProtocolError("memcached sent a value without its CRLF")
            value = bytes(self.buffer[after : after + size])
            del self.buffer[: after + size + 2]
            return MetaReply(code, flags[1:], value)
        if code not in (b"HD", b"EN", b"NS", b"EX", b"NF", b"MN"):
            raise CacheProtocolError(f"memcached sent an unknown reply: {line[:80]!r}")
        del self.buffer[:after]
        return MetaReply(code, flags)

    def _stats(self) -> object:
        stats: dict[str, str] = {}
        position = 0
        while True:
            found = self._line(position)
            if found is None:
                return NEED_DATA
            line, position = found
            if line == b"END":
                del self.buffer[:position]
                return stats
            if line.split(b" ", 1)[0] in _ERRORS:
                del self.buffer[:position]
                return MetaReply(line.split(b" ", 1)[0], (), line)
            _, name, value = line.decode("utf-8", "replace").split(" ", 2)
            stats[name] = value


def _ttl_flag(ttl: float | None) -> bytes:
    if ttl is None:
        return b""
    # memcached's clock ticks in whole seconds, so T<n> lives n - 1 to n seconds: one more
    # second makes an entry live at least its TTL
    seconds = math.ceil(ttl) + 1
    if seconds > RELATIVE_TTL_LIMIT:
        seconds = math.ceil(time.time() + ttl)  # memcached takes this as an absolute time
    return b" T%d" % seconds


def _failed(key: str, reply: MetaReply) -> CacheError:
    text = (reply.value or b"").decode("utf-8", "replace")
    if b"non-numeric" in (reply.value or b""):
        return NotAnInteger(key, f"memcached: {text}")
    if b"too large" in (reply.value or b""):
        return ValueTooLarge(key, -1, f"memcached: {text}")
    return CacheBackendError(f"memcached refused the command on {key!r}: {reply.code!r} {text}")


def _expect(key: str, reply: MetaReply, *codes: bytes) -> MetaReply:
    if reply.code not in codes:
        raise _failed(key, reply)
    return reply


class MemcachedCache(RemoteBackend):
    """The Memcached backend actor (answers the cache protocol).

    ``namespace`` prefixes every key (the 250-byte limit counts it). ``item_limit`` is the
    server's item size (memcached ``-I``, 1 MiB by default): larger values are refused with
    :class:`ValueTooLarge` before they are sent. Answers :class:`CacheUnavailable`,
    :class:`InvalidKey`, :class:`NotAnInteger`, :class:`CounterOverflow`,
    :class:`ValueTooLarge`, :class:`CacheBackendError`.
    """

    backend = "memcached"

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        namespace: str = "",
        item_limit: int = 1024 * 1024,
        connections: int = 1,
        required: bool = False,
    ) -> None:
        super().__init__(endpoint, connections=connections, required=required)
        self.namespace = namespace
        self.item_limit = item_limit

    @classmethod
    def from_address(cls, address: str, **options: Any) -> MemcachedCache:
        """A backend for ``host:port`` (``MEMCACHED_ADDR``). Does not connect yet."""
        host, _, port = address.rpartition(":")
        names = ("connect_timeout", "operation_timeout")
        timeouts = {k: options.pop(k) for k in names if k in options}
        if not host or not port.isdigit():
            raise CacheConfigError(f"a Memcached address is host:port, not {address!r}")
        return cls(Endpoint(host=host, port=int(port), **timeouts), **options)

    def make_parser(self) -> MetaParser:
        return MetaParser()

    async def handshake(self, connection: PipelinedConnection) -> None:
        """A meta no-op: its answer proves the server is there (a stopped one still accepts
        connections)."""
        (reply,) = await connection.request(b"mn\r\n")
        if reply.code != b"MN":
            raise CacheProtocolError(f"memcached answered mn with {reply.code!r}")

    def _key(self, key: str) -> bytes:
        try:
            checked: bytes = check_key_helper(self.namespace + key, allow_unicode_keys=True)
        except MemcacheIllegalInputError as exc:
            self.stats.errors += 1
            raise InvalidKey(key, f"memcached: {exc}") from None
        return checked

    def _value(self, key: str, value: bytes) -> bytes:
        if len(value) > self.item_limit:
            self.stats.errors += 1
            raise ValueTooLarge(key, len(value), f"memcached's item limit is {self.item_limit}")
        return value

    def _store(self, key: str, value: bytes, ttl: float | None, mode: bytes = b"") -> bytes:
        raw = self._key(key)
        data = self._value(key, value)
        return b"ms %s %d%s%s\r\n%s\r\n" % (raw, len(data), _ttl_flag(ttl), mode, data)

    # -- the protocol ----------------------------------------------------------------------

    async def receive(self, message: CacheRequest | Reconnect) -> Any:
        match message:
            case Get(key):
                self.call(b"mg %s v\r\n" % self._key(key), 1, self._got(key))
            case Set(key, value, ttl):
                self.call(self._store(key, value, ttl), 1, self._stored(key, b"HD"))
            case Delete(key):
                self.call(b"md %s\r\n" % self._key(key), 1, self._deleted(key))
            case Exists(key):
                command = b"mg %s\r\n" % self._key(key)
                self.call(command, 1, lambda r: _expect(key, r[0], b"HD", b"EN").code == b"HD")
            case SetNx(key, value, ttl):
                command = self._store(key, value, ttl, b" ME")
                self.call(command, 1, lambda r: _expect(key, r[0], b"HD", b"NS").code == b"HD")
            case GetSet(key, value, ttl):
                self._store(key, value, ttl)  # checks now, so a bad key fails before the loop
                self.spawn_operation(self._get_set, key, value, ttl)
            case Increment(key, delta):
                self._count(key, delta)
            case Decrement(key, delta):
                self._count(key, -delta)
            case GetMany(keys):
                if not keys:
                    return {}
                commands = b"".join(b"mg %s v\r\n" % self._key(k) for k in keys)
                self.call(commands, len(keys), self._found(keys))
            case SetMany(items, ttl):
                if not items:
                    return None
                commands = b"".join(self._store(k, v, ttl) for k, v in items.items())
                self.call(commands, len(items), self._stored("(set_many)", b"HD"))
            case DeleteMany(keys):
                unique = list(dict.fromkeys(keys))
                if not unique:
                    return 0
                commands = b"".join(b"md %s\r\n" % self._key(k) for k in unique)
                self.call(commands, len(unique), self._deleted("(delete_many)"))
            case Clear():
                self.call(b"flush_all\r\n", 1, self._flushed, kinds=(LINE,))
            case Stats():
                self.call(b"stats\r\n", 1, self._statistics, kinds=(STATS,))
            case Reconnect():
                await self.on_reconnect()
        return None

    def _count(self, key: str, delta: int) -> None:
        raw = self._key(key)
        if abs(delta) > UINT64_MAX:
            self.stats.errors += 1
            raise CounterOverflow(key, f"memcached deltas are unsigned 64-bit, not {delta}")
        mode, initial = (b"MI", delta) if delta >= 0 else (b"MD", 0)
        command = b"ma %s N0 J%d %s D%d v\r\n" % (raw, initial, mode, abs(delta))

        def transform(replies: list[Any]) -> int:
            reply = _expect(key, replies[0], b"VA")
            return int((reply.value or b"0").strip())

        self.call(command, 1, transform)

    def _got(self, key: str) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> bytes | None:
            reply = _expect(key, replies[0], b"VA", b"EN")
            if reply.code == b"EN":
                stats.misses += 1
                return None
            stats.hits += 1
            return reply.value

        return transform

    def _stored(self, key: str, *ok: bytes) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> None:
            for reply in replies:
                _expect(key, reply, *ok)
            stats.sets += len(replies)

        return transform

    def _deleted(self, key: str) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> int | bool:
            removed = sum(_expect(key, r, b"HD", b"NF").code == b"HD" for r in replies)
            stats.deletes += removed
            return removed if key == "(delete_many)" else bool(removed)

        return transform

    def _found(self, keys: tuple[str, ...]) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> dict[str, bytes]:
            found: dict[str, bytes] = {}
            for key, reply in zip(keys, replies, strict=True):
                if _expect(key, reply, b"VA", b"EN").code == b"VA" and reply.value is not None:
                    found[key] = reply.value
            stats.hits += len(found)
            stats.misses += len(keys) - len(found)
            return found

        return transform

    def _flushed(self, replies: list[Any]) -> None:
        _expect("(clear)", replies[0], b"OK")

    def _statistics(self, replies: list[Any]) -> CacheStatistics:
        reply = replies[0]
        if isinstance(reply, MetaReply):
            raise _failed("(stats)", reply)
        wanted = ("evictions", "expired_unfetched", "curr_items", "bytes", "get_hits", "get_misses")
        server = {name: reply[name] for name in wanted if name in reply}
        return self.stats.snapshot(server=server)

    async def _get_set(self, key: str, value: bytes, ttl: float | None) -> bytes | None:
        """Compare-and-swap until no other client wrote in between."""
        connection = self.connection()
        raw = self._key(key)
        for _ in range(CAS_ATTEMPTS):
            (current,) = await connection.request(b"mg %s v c\r\n" % raw)
            _expect(key, current, b"VA", b"EN")
            if current.code == b"EN":
                (stored,) = await connection.request(self._store(key, value, ttl, b" ME"))
                if _expect(key, stored, b"HD", b"NS").code == b"HD":
                    self.stats.sets += 1
                    return None
                continue  # another client added it first: read it again
            cas = current.flag(b"c")
            if cas is None:
                raise CacheProtocolError("memcached sent no CAS token for mg ... c")
            command = self._store(key, value, ttl, b" C" + cas)
            (stored,) = await connection.request(command)
            if _expect(key, stored, b"HD", b"EX", b"NF").code == b"HD":
                self.stats.sets += 1
                previous: bytes | None = current.value
                return previous
        raise CacheBackendError(
            f"get_set on {key!r} lost the compare-and-swap race {CAS_ATTEMPTS} times in a row"
        )

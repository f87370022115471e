"""The Redis backend: RESP over a trio stream, commands packed by ``hiredis.pack_command``,
replies parsed by ``hiredis.Reader``, requests pipelined.

Every operation is one Redis command (or one MULTI/EXEC block), so it is atomic on the
server: ``SET NX``, ``SET ... GET``, ``INCRBY``/``DECRBY``, ``MGET``, ``DEL k1 k2``. Only
``Clear`` with a namespace takes several round trips (``SCAN`` + ``UNLINK``; not atomic).
"""

from __future__ import annotations

import math
from typing import Any, Final

import hiredis

from ._errors import (
    CacheBackendError,
    CacheProtocolError,
    CacheUnavailable,
    CounterOverflow,
    NotAnInteger,
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
from ._redis_url import parse_redis_url
from ._remote import Endpoint, Reconnect, RemoteBackend


def pack(*args: bytes | str | int) -> bytes:
    """One RESP command; each argument is one word (no splitting on spaces)."""
    # hiredis' stub types the tuple as one element; it takes any number.
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]
    return packed


class RespParser:
    """``hiredis.Reader`` behind the pipeline's parser interface. Error replies come back as
    ``hiredis.ReplyError`` values (not raised): the request's transform decides."""

    def __init__(self) -> None:
        self.reader = hiredis.Reader()

    def feed(self, data: bytes | bytearray) -> None:
        self.reader.feed(data if isinstance(data, bytes) else bytes(data))

    def next_reply(self, kind: object) -> object:
        try:
            reply = self.reader.gets()
        except hiredis.ProtocolError as exc:
            raise CacheProtocolError(f"redis sent an unreadable reply: {exc}") from exc
        return NEED_DATA if reply is False else reply


def _check(key: str, reply: Any) -> Any:
    """Raise the typed error for an error reply; else return it."""
    if isinstance(reply, hiredis.ReplyError):
        text = str(reply)
        if "not an integer" in text:
            raise NotAnInteger(key, f"redis: {text}")
        if "overflow" in text:
            raise CounterOverflow(key, f"redis: {text}")
        raise CacheBackendError(f"redis refused the command on {key!r}: {text}")
    return reply


def _ttl_args(ttl: float | None) -> tuple[bytes | int, ...]:
    return () if ttl is None else (b"PX", max(1, math.ceil(ttl * 1000)))


CLEAR_BATCH: Final = 500
_PASSING: Final = ("LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN")
"""Error replies of a server that will take the connection later (the others refuse it)."""


class RedisCache(RemoteBackend):
    """The Redis backend actor (answers the cache protocol).

    ``endpoint``: where the server is; ``username``/``password`` are sent with ``AUTH`` and
    ``db`` with ``SELECT`` on each new connection; ``namespace`` prefixes every key (and makes
    ``Clear`` delete only the keys under it, with ``SCAN``; without one ``Clear`` is
    ``FLUSHDB``). ``connections``: how many pipelined connections to spread requests over.
    Answers :class:`CacheUnavailable`, :class:`NotAnInteger`, :class:`CounterOverflow`,
    :class:`CacheBackendError`.
    """

    backend = "redis"

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        username: str | None = None,
        password: str | None = None,
        db: int = 0,
        namespace: str = "",
        connections: int = 1,
        required: bool = False,
    ) -> None:
        super().__init__(endpoint, connections=connections, required=required)
        self.username = username
        self.password = password
        self.db = db
        self.namespace = namespace

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "", **options: Any) -> RedisCache:
        """A backend for ``redis://[user[:password]@]host[:port][/db]``. Does not connect
        (that happens when the actor starts). Raises :class:`CacheConfigError`."""
        parts = parse_redis_url(url)
        timeouts = {
            k: options.pop(k) for k in ("connect_timeout", "operation_timeout") if k in options
        }
        endpoint = Endpoint(host=parts["host"], port=parts["port"], tls=parts["tls"], **timeouts)
        return cls(
            endpoint,
            username=parts["username"],
            password=parts["password"],
            db=parts["db"],
            namespace=namespace,
            **options,
        )

    def make_parser(self) -> RespParser:
        return RespParser()

    def describe(self) -> str:
        return f"redis at {self.endpoint.address}/{self.db}"

    async def handshake(self, connection: PipelinedConnection) -> None:
        commands: list[bytes] = []
        if self.password is not None:
            auth = (self.username, self.password) if self.username else (self.password,)
            commands.append(pack(b"AUTH", *auth))
        if self.db:
            commands.append(pack(b"SELECT", self.db))
        # An answer proves the server is there: a stopped one still accepts connections.
        commands.append(pack(b"PING"))
        for reply in await connection.request(b"".join(commands), len(commands)):
            if isinstance(reply, hiredis.ReplyError):
                if str(reply).startswith(_PASSING):
                    raise CacheUnavailable(self.backend, f"redis is not ready: {reply}")
                raise CacheBackendError(f"redis refused the connection set-up: {reply}")

    # -- the protocol ----------------------------------------------------------------------

    async def receive(self, message: CacheRequest | Reconnect) -> Any:
        ns = self.namespace
        match message:
            case Get(key):
                self.call(pack(b"GET", ns + key), 1, self._counted_get(key))
            case Set(key, value, ttl):
                self.call(pack(b"SET", ns + key, value, *_ttl_args(ttl)), 1, self._stored(key))
            case Delete(key):
                deleted = self._deleted(key)
                self.call(pack(b"DEL", ns + key), 1, lambda r: bool(deleted(r)))
            case Exists(key):
                self.call(pack(b"EXISTS", ns + key), 1, lambda r: bool(_check(key, r[0])))
            case SetNx(key, value, ttl):
                command = pack(b"SET", ns + key, value, b"NX", *_ttl_args(ttl))
                self.call(command, 1, lambda r: _check(key, r[0]) is not None)
            case GetSet(key, value, ttl):
                command = pack(b"SET", ns + key, value, b"GET", *_ttl_args(ttl))
                self.call(command, 1, lambda r: _check(key, r[0]))
            case Increment(key, delta):
                self.call(pack(b"INCRBY", ns + key, delta), 1, lambda r: _check(key, r[0]))
            case Decrement(key, delta):
                self.call(pack(b"DECRBY", ns + key, delta), 1, lambda r: _check(key, r[0]))
            case GetMany(keys):
                if not keys:
                    return {}
                self.call(pack(b"MGET", *[ns + k for k in keys]), 1, self._found(keys))
            case SetMany(items, ttl):
                if not items:
                    return None
                ttl_args = _ttl_args(ttl)
                sets = [pack(b"SET", ns + k, v, *ttl_args) for k, v in items.items()]
                block = b"".join([pack(b"MULTI"), *sets, pack(b"EXEC")])
                self.call(block, len(sets) + 2, self._transaction(len(items)))
            case DeleteMany(keys):
                if not keys:
                    return 0
                unique = list(dict.fromkeys(ns + k for k in keys))
                self.call(pack(b"DEL", *unique), 1, self._deleted(keys[0]))
            case Clear():
                if ns:
                    self.spawn_operation(self._clear_namespace)
                else:
                    self.call(pack(b"FLUSHDB"), 1, lambda r: _check("(clear)", r[0]) and None)
            case Stats():
                self.spawn_operation(self._statistics)
            case Reconnect():
                await self.on_reconnect()
        return None

    def _counted_get(self, key: str) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> Any:
            value = _check(key, replies[0])
            if value is None:
                stats.misses += 1
            else:
                stats.hits += 1
            return value

        return transform

    def _stored(self, key: str) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> None:
            _check(key, replies[0])
            stats.sets += 1

        return transform

    def _deleted(self, key: str) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> Any:
            count: int = _check(key, replies[0])
            stats.deletes += count
            return count

        return transform

    def _found(self, keys: tuple[str, ...]) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> dict[str, bytes]:
            values = _check(keys[0], replies[0])
            found = {k: v for k, v in zip(keys, values, strict=True) if v is not None}
            stats.hits += len(found)
            stats.misses += len(keys) - len(found)
            return found

        return transform

    def _transaction(self, count: int) -> Any:
        stats = self.stats

        def transform(replies: list[Any]) -> None:
            for reply in replies:
                _check("(set_many)", reply)
            if replies[-1] is None:
                raise CacheBackendError("redis aborted the set_many transaction")
            stats.sets += count

        return transform

    async def _clear_namespace(self) -> None:
        connection = self.connection()
        pattern = _glob_escape(self.namespace) + "*"
        cursor: bytes = b"0"
        while True:
            (reply,) = await connection.request(
                pack(b"SCAN", cursor, b"MATCH", pattern, b"COUNT", CLEAR_BATCH)
            )
            cursor, keys = _check("(clear)", reply)
            if keys:
                _check("(clear)", (await connection.request(pack(b"UNLINK", *keys)))[0])
            if cursor == b"0":
                return

    async def _statistics(self) -> CacheStatistics:
        connection = self.connection()
        info, size = await connection.request(pack(b"INFO", b"stats") + pack(b"DBSIZE"), 2)
        server: dict[str, str] = {}
        for line in _check("(stats)", info).decode().splitlines():
            name, sep, value = line.partition(":")
            if sep and name in ("evicted_keys", "expired_keys", "keyspace_hits", "keyspace_misses"):
                server[name] = value.strip()
        server["dbsize"] = str(_check("(stats)", size))
        return self.stats.snapshot(server=server)


def _glob_escape(text: str) -> str:
    """``text`` with the glob characters of Redis ``MATCH`` escaped."""
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)

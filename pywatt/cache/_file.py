"""The file backend: one file per entry under a directory, written atomically, with TTL.

Each entry lives in ``<dir>/<h[:2]>/<h>`` where ``h`` is the SHA-256 of the key; the file
holds a header (magic, expiry as a Unix time, key length), the key and the value. A write
goes to a temporary file in the same directory and is renamed over the entry, so a reader
sees the old file or the new one, never half of one. Every write takes an exclusive
``flock`` on ``<dir>/.lock``, so read-modify-write operations (``SetNx``, ``GetSet``,
``Increment``) are atomic even between processes sharing the directory; reads take no lock.

TTLs run on the wall clock (``time.time``) because the files outlive the process. Expired
files read as missing and are deleted by the next write to them, by ``Clear``, and by a sweep
every ``sweep_interval`` seconds. File I/O runs in a worker thread the actor owns (one at a
time), so it never blocks the trio loop.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import attrs
import trio

import actors
from pywatt.backends import BackendReporter

from ._counter import add_counter, encode_counter, read_counter
from ._errors import CacheError, CacheUnavailable, InvalidKey
from ._messages import (
    CacheRequest,
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
from ._remote import RETRY_CAP, RETRY_FIRST, Reconnect
from ._stats import StatsRecorder

MAGIC: Final = b"PWC1"
_HEADER: Final = struct.Struct(">4sdI")  # magic, expires (0.0 = never), key length
MAX_KEY_BYTES: Final = 65536


@attrs.frozen
class Sweep:
    """Internal: the file cache's periodic removal of expired entries."""


class FileStore:
    """The directory and its entry files; blocking calls, run in a worker thread.

    ``clock`` gives the Unix time (injectable for tests). Methods return what the protocol
    answers and raise :class:`CacheError` subclasses.
    """

    def __init__(
        self, directory: Path, *, clock: Callable[[], float] = time.time, fsync: bool = False
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.fsync = fsync
        directory.mkdir(parents=True, exist_ok=True)
        self.lock_path = directory / ".lock"
        self.lock_path.touch(exist_ok=True)

    # -- files -----------------------------------------------------------------------------

    def path(self, key: str) -> Path:
        raw = key.encode("utf-8")
        if len(raw) > MAX_KEY_BYTES:
            raise InvalidKey(key, f"the file cache takes keys up to {MAX_KEY_BYTES} bytes")
        digest = hashlib.sha256(raw).hexdigest()
        return self.directory / digest[:2] / digest

    def read(self, key: str) -> tuple[bytes, float | None] | None:
        """The live value and its expiry (Unix time or None), or None."""
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(data) < _HEADER.size:
            return None
        magic, expires, key_length = _HEADER.unpack_from(data)
        start = _HEADER.size + key_length
        if magic != MAGIC or data[_HEADER.size : start] != key.encode():
            return None  # not ours, or another key with the same hash (never seen in practice)
        if expires and expires <= self.clock():
            return None
        return data[start:], (expires or None)

    def write(self, key: str, value: bytes, expires: float | None) -> None:
        path = self.path(key)
        path.parent.mkdir(exist_ok=True)
        raw_key = key.encode()
        header = _HEADER.pack(MAGIC, expires or 0.0, len(raw_key))
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(header + raw_key + value)
                if self.fsync:
                    file.flush()
                    os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)
            raise

    def remove(self, key: str) -> bool:
        """Remove a live entry; True if there was one (an expired one is removed too)."""
        live = self.read(key) is not None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path(key))
        return live

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the directory's exclusive write lock (between processes too)."""
        with open(self.lock_path, "rb") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def entries(self) -> Iterator[Path]:
        for sub in self.directory.iterdir():
            if sub.is_dir() and len(sub.name) == 2:
                yield from (p for p in sub.iterdir() if not p.name.startswith("."))

    # -- operations (blocking) -------------------------------------------------------------

    def expires(self, ttl: float | None) -> float | None:
        return None if ttl is None else self.clock() + ttl

    def set(self, key: str, value: bytes, ttl: float | None) -> None:
        with self.locked():
            self.write(key, value, self.expires(ttl))

    def set_nx(self, key: str, value: bytes, ttl: float | None) -> bool:
        with self.locked():
            if self.read(key) is not None:
                return False
            self.write(key, value, self.expires(ttl))
            return True

    def get_set(self, key: str, value: bytes, ttl: float | None) -> bytes | None:
        with self.locked():
            current = self.read(key)
            self.write(key, value, self.expires(ttl))
            return None if current is None else current[0]

    def add(self, key: str, delta: int) -> int:
        with self.locked():
            current = self.read(key)
            value, expires = (None, None) if current is None else current
            number = add_counter(key, read_counter(key, value), delta)
            self.write(key, encode_counter(number), expires)
            return number

    def set_many(self, items: dict[str, bytes], ttl: float | None) -> None:
        expires = self.expires(ttl)
        with self.locked():
            for key, value in items.items():
                self.write(key, value, expires)

    def delete_many(self, keys: tuple[str, ...]) -> int:
        with self.locked():
            return sum(self.remove(key) for key in dict.fromkeys(keys))

    def clear(self) -> None:
        with self.locked():
            for path in list(self.entries()):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()

    def sweep(self) -> tuple[int, int, int]:
        """Remove expired entries; (removed, live entries, live bytes)."""
        removed = items = size = 0
        now = self.clock()
        with self.locked():
            for path in list(self.entries()):
                try:
                    with open(path, "rb") as file:
                        header = file.read(_HEADER.size)
                    length = path.stat().st_size
                except FileNotFoundError:
                    continue
                if len(header) < _HEADER.size:
                    continue
                magic, expires, _ = _HEADER.unpack(header)
                if magic == MAGIC and expires and expires <= now:
                    path.unlink()
                    removed += 1
                else:
                    items += 1
                    size += length
        return removed, items, size


class FileCache(actors.Actor[CacheRequest | Sweep | Reconnect]):
    """The file backend actor (answers the cache protocol).

    ``directory`` is created if needed; ``namespace`` prefixes keys; ``fsync`` makes each
    write durable before it is renamed into place (slower). Answers :class:`InvalidKey`,
    :class:`NotAnInteger`, :class:`CounterOverflow` and :class:`CacheUnavailable` (the
    directory cannot be read or written; the OS error is chained).
    """

    reply_errors = (CacheError,)

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        namespace: str = "",
        fsync: bool = False,
        sweep_interval: float | None = 60.0,
        clock: Callable[[], float] = time.time,
        required: bool = False,
    ) -> None:
        self.directory = Path(directory)
        self.namespace = namespace
        self.fsync = fsync
        self.sweep_interval = sweep_interval
        self.clock = clock
        self.required = required
        self.stats = StatsRecorder("file")
        self.limiter = trio.CapacityLimiter(1)  # this actor's one worker thread at a time
        self.store: FileStore | None = None
        self.retry_delay = RETRY_FIRST

    async def on_start(self) -> None:
        self.reporter = BackendReporter(
            self.ctx.system,
            self.ctx.name,
            f"files in {self.directory}",
            required=self.required,
            verb="using",
        )
        await self._open_store()
        if self.sweep_interval is not None:
            self.ctx.send_interval(self.sweep_interval, Sweep())

    async def _open_store(self) -> None:
        """Create (or find) the directory. If it cannot be used, the actor serves anyway,
        *down*: requests get :class:`CacheUnavailable` and a timer tries again (0.1 s
        doubling to 5 s), as the server backends do."""
        try:
            self.store = await self._run(
                lambda: FileStore(self.directory, clock=self.clock, fsync=self.fsync)
            )
        except CacheUnavailable as exc:
            # A directory that cannot be made stays so until someone changes it.
            self.reporter.down(exc.detail, heals=False)
            self.ctx.send_after(self.retry_delay, Reconnect())
            self.retry_delay = min(RETRY_CAP, self.retry_delay * 2)
            return
        self.retry_delay = RETRY_FIRST
        self.reporter.up()

    async def _run(self, work: Callable[[], Any]) -> Any:
        try:
            return await trio.to_thread.run_sync(work, limiter=self.limiter)
        except OSError as exc:
            raise CacheUnavailable("file", f"{self.directory}: {exc}") from exc

    async def receive(self, message: CacheRequest | Sweep | Reconnect) -> Any:
        start = time.perf_counter()
        try:
            return await self._handle(message)
        except CacheError:
            self.stats.errors += 1
            raise
        finally:
            self.stats.observe(time.perf_counter() - start)

    async def _handle(self, message: CacheRequest | Sweep | Reconnect) -> Any:
        store, ns, stats = self.store, self.namespace, self.stats
        if store is None:
            if isinstance(message, Reconnect):
                await self._open_store()
            elif not isinstance(message, Sweep):
                raise CacheUnavailable("file", self.reporter.status.reason or "not ready")
            return None
        match message:
            case Get(key):
                found = await self._run(lambda: store.read(ns + key))
                if found is None:
                    stats.misses += 1
                    return None
                stats.hits += 1
                return found[0]
            case Set(key, value, ttl):
                await self._run(lambda: store.set(ns + key, value, ttl))
                stats.sets += 1
            case Delete(key):
                removed = await self._run(lambda: store.delete_many((ns + key,)))
                stats.deletes += removed
                return bool(removed)
            case Exists(key):
                return await self._run(lambda: store.read(ns + key) is not None)
            case SetNx(key, value, ttl):
                stored = await self._run(lambda: store.set_nx(ns + key, value, ttl))
                stats.sets += stored
                return stored
            case GetSet(key, value, ttl):
                stats.sets += 1
                return await self._run(lambda: store.get_set(ns + key, value, ttl))
            case Increment(key, delta):
                return await self._run(lambda: store.add(ns + key, delta))
            case Decrement(key, delta):
                return await self._run(lambda: store.add(ns + key, -delta))
            case GetMany(keys):
                found = await self._run(lambda: {k: store.read(ns + k) for k in keys})
                values = {k: v[0] for k, v in found.items() if v is not None}
                stats.hits += len(values)
                stats.misses += len(keys) - len(values)
                return values
            case SetMany(items, ttl):
                await self._run(lambda: store.set_many({ns + k: v for k, v in items.items()}, ttl))
                stats.sets += len(items)
            case DeleteMany(keys):
                removed = await self._run(lambda: store.delete_many(tuple(ns + k for k in keys)))
                stats.deletes += removed
                return removed
            case Clear():
                await self._run(store.clear)
            case Stats():
                removed, items, size = await self._run(store.sweep)
                stats.expirations += removed
                return self.stats.snapshot(
                    items=items, size=size, server={"directory": str(self.directory)}
                )
            case Sweep():
                removed, _, _ = await self._run(store.sweep)
                stats.expirations += removed
        return None

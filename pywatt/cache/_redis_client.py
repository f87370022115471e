"""A Redis connection for the parts of pywatt outside the cache (discovery's registry): the
cache's own pipeline (:class:`PipelinedConnection` with the hiredis parser) behind a small
command / subscribe interface, so that there is one Redis client and one URL parser.

The pipeline's reader and writer run as a task the caller starts (an actor's
``ctx.start_task``): when the connection breaks, that task raises :class:`CacheUnavailable`
(so the actor crashes and its supervisor connects again) and every command in flight fails
with it.
"""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final

import hiredis
import trio

from ._errors import CacheBackendError, CacheUnavailable
from ._pipeline import PipelinedConnection
from ._redis import RespParser, pack
from ._redis_url import parse_redis_url

__all__ = ["RedisConnection", "open_redis"]

PUSH_BUFFER: Final = 1024
"""Pub/sub messages a subscriber may have unread before the connection is dropped."""

StartTask = Callable[[Callable[[], Awaitable[object]]], object]


class RedisConnection:
    """One Redis connection: :meth:`command` (several callers may pipeline on it), or, after
    :meth:`subscribe`, only :meth:`messages`."""

    def __init__(self, pipeline: PipelinedConnection) -> None:
        self.pipeline = pipeline
        self._pushed_in, self._pushed = trio.open_memory_channel[Any](PUSH_BUFFER)

    @property
    def address(self) -> str:
        return self.pipeline.address

    async def command(self, *args: str | bytes | int) -> Any:
        """Send one command and return its reply. Raises :class:`CacheBackendError` for an
        error reply and :class:`CacheUnavailable` when the connection breaks."""
        (reply,) = await self.pipeline.request(pack(*args))
        if isinstance(reply, hiredis.ReplyError):
            raise CacheBackendError(f"Redis at {self.address} answered: {reply}")
        return reply

    async def subscribe(self, channel: str) -> None:
        """SUBSCRIBE to ``channel``; returns once Redis confirmed it, so nothing published
        after this is missed. The connection then only reads :meth:`messages`."""
        self.pipeline.on_push = self._push
        await self.command("SUBSCRIBE", channel)

    def _push(self, reply: Any) -> None:
        if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
            try:
                self._pushed_in.send_nowait(reply[2])
            except trio.WouldBlock:
                raise CacheUnavailable(
                    "redis", f"the subscriber on {self.address} fell {PUSH_BUFFER} messages behind"
                ) from None

    async def messages(self) -> AsyncIterator[bytes]:
        """Yield the data of each message published on the subscribed channel (blocks)."""
        async for data in self._pushed:
            yield data

    async def aclose(self) -> None:
        await self.pipeline.aclose()


async def open_redis(
    url: str,
    start_task: StartTask,
    *,
    name: str | None = None,
    connect_timeout: float = 10.0,
    operation_timeout: float = 10.0,
) -> RedisConnection:
    """Connect to ``url`` (``redis://`` or ``rediss://``, read by redis-py's parser); AUTH
    and SELECT as it says, and ``CLIENT SETNAME name`` (what ``CLIENT LIST`` shows) when a
    name is given. ``start_task`` runs the connection's reader and writer (it raises
    :class:`CacheUnavailable` when the connection breaks).

    Blocks up to ``connect_timeout``. Raises :class:`CacheUnavailable` (cannot connect),
    :class:`CacheBackendError` (Redis refused the set-up), :class:`CacheConfigError` (a bad URL).
    """
    parts = parse_redis_url(url)
    address = f"{parts['host']}:{parts['port']}"
    try:
        with trio.fail_after(connect_timeout):
            stream: trio.abc.Stream = await trio.open_tcp_stream(parts["host"], parts["port"])
            if parts["tls"]:
                stream = trio.SSLStream(
                    stream, ssl.create_default_context(), server_hostname=parts["host"]
                )
                await stream.do_handshake()
    except (OSError, trio.TooSlowError, trio.BrokenResourceError) as exc:
        detail = "no answer in time" if isinstance(exc, trio.TooSlowError) else str(exc)
        raise CacheUnavailable("redis", f"cannot connect to {address}: {detail}") from exc
    pipeline = PipelinedConnection(
        stream,
        RespParser(),
        backend="redis",
        address=address,
        operation_timeout=operation_timeout,
    )
    start_task(pipeline.run)
    connection = RedisConnection(pipeline)
    try:
        with trio.fail_after(connect_timeout):
            if parts["password"] is not None:
                await connection.command("AUTH", parts["username"] or "default", parts["password"])
            if parts["db"]:
                await connection.command("SELECT", parts["db"])
            if name is not None:
                await connection.command("CLIENT", "SETNAME", name)
    except trio.TooSlowError:
        await connection.aclose()
        raise CacheUnavailable("redis", f"{address} did not answer the set-up in time") from None
    except BaseException:
        await connection.aclose()
        raise
    return connection

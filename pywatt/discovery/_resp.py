"""A minimal Redis client for the discovery registry: RESP over a trio stream, parsed by
``hiredis.Reader`` (docs/architecture.md, decision 20). It speaks exactly what the registry
needs: commands with replies, and a subscriber mode that yields pushed messages. The cache
layer has its own client; this one stays private to discovery.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import AsyncIterator
from typing import Any, Final

import hiredis
import trio

from ._errors import RegistryUnavailable

__all__ = ["RespConnection", "open_resp"]

_RECEIVE: Final = 65536
_NOTHING: Final = object()


def _encode(args: tuple[str | bytes | int, ...]) -> bytes:
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class RespConnection:
    """One connection to Redis. Not shared between tasks: one command at a time."""

    def __init__(self, stream: trio.abc.Stream, where: str) -> None:
        self.stream = stream
        self.where = where
        self.reader = hiredis.Reader()

    async def _reply(self) -> Any:
        while True:
            reply = self.reader.gets()
            if reply is not False:
                if isinstance(reply, hiredis.ReplyError):
                    raise RegistryUnavailable(f"Redis at {self.where} answered: {reply}")
                return reply
            try:
                data = await self.stream.receive_some(_RECEIVE)
            except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
                raise RegistryUnavailable(f"lost Redis at {self.where}: {exc}") from exc
            if not data:
                raise RegistryUnavailable(f"Redis at {self.where} closed the connection")
            self.reader.feed(bytes(data))

    async def send(self, *args: str | bytes | int) -> None:
        try:
            await self.stream.send_all(_encode(args))
        except (trio.BrokenResourceError, trio.ClosedResourceError) as exc:
            raise RegistryUnavailable(f"lost Redis at {self.where}: {exc}") from exc

    async def command(self, *args: str | bytes | int) -> Any:
        """Send one command and return its reply. Raises :class:`RegistryUnavailable`."""
        await self.send(*args)
        return await self._reply()

    async def subscribe(self, channel: str) -> None:
        """SUBSCRIBE to ``channel``; returns once Redis confirmed it, so nothing published
        after this is missed. The connection then only reads :meth:`messages`."""
        await self.command("SUBSCRIBE", channel)

    async def messages(self) -> AsyncIterator[bytes]:
        """Yield the data of each message published on the subscribed channel (blocks)."""
        while True:
            reply = await self._reply()
            if isinstance(reply, list) and len(reply) == 3 and reply[0] == b"message":
                yield reply[2]

    async def aclose(self) -> None:
        await trio.aclose_forcefully(self.stream)


async def open_resp(url: str, *, name: str | None = None) -> RespConnection:
    """Connect to ``redis://[user:password@]host[:port][/db]``; AUTH and SELECT as given,
    and ``CLIENT SETNAME name`` (what ``CLIENT LIST`` shows) when a name is given.

    Blocks up to 10 s. Raises :class:`RegistryUnavailable`.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "redis":
        raise RegistryUnavailable(f"only redis:// URLs are supported, not {parts.scheme!r}")
    host, port = parts.hostname or "127.0.0.1", parts.port or 6379
    where = f"{host}:{port}"
    try:
        with trio.fail_after(10):
            stream = await trio.open_tcp_stream(host, port)
    except (OSError, trio.TooSlowError) as exc:
        raise RegistryUnavailable(f"cannot connect to Redis at {where}: {exc}") from exc
    connection = RespConnection(stream, where)
    try:
        if parts.password:
            user = urllib.parse.unquote(parts.username or "default")
            await connection.command("AUTH", user, urllib.parse.unquote(parts.password))
        db = parts.path.strip("/")
        if db and db != "0":
            await connection.command("SELECT", db)
        if name is not None:
            await connection.command("CLIENT", "SETNAME", name)
    except BaseException:
        await connection.aclose()
        raise
    return connection

"""The bare baselines' peers: trio servers that move bytes and parse nothing.

``python _channels_echo.py [PATH]``: writes back every byte it reads, on a TCP port (printed
on stdout) and, with ``PATH``, on a Unix socket there too.
``python _channels_echo.py relay PATH UPSTREAM``: listens on the Unix socket ``PATH``; each
connection gets one of its own to the Unix socket ``UPSTREAM`` and the bytes are pumped both
ways, as received; prints ``ready`` once listening.

Both serve until stdin closes. Run as a script by ``benchmarks/channels.py``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from functools import partial

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import trio  # noqa: E402


async def echo(stream: trio.abc.Stream) -> None:
    try:
        while data := await stream.receive_some(65536):
            await stream.send_all(data)
    except trio.BrokenResourceError:
        pass


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream, done: trio.CancelScope) -> None:
    try:
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    except trio.BrokenResourceError:
        pass
    done.cancel()  # one side ended: so does the other direction


async def relay(upstream_path: str, stream: trio.abc.Stream) -> None:
    upstream = await trio.open_unix_socket(upstream_path)
    async with stream, upstream, trio.open_nursery() as nursery:
        nursery.start_soon(_pump, stream, upstream, nursery.cancel_scope)
        nursery.start_soon(_pump, upstream, stream, nursery.cancel_scope)


async def _unix_listener(path: str) -> trio.SocketListener:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a leftover of an earlier run
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen(64)
    return trio.SocketListener(sock)


async def main(args: list[str]) -> None:
    async with trio.open_nursery() as nursery:
        if args[:1] == ["relay"]:
            listener = await _unix_listener(args[1])
            nursery.start_soon(trio.serve_listeners, partial(relay, args[2]), [listener])
            print("ready", flush=True)
        else:
            listeners: list[trio.SocketListener] = list(
                await trio.open_tcp_listeners(0, host="127.0.0.1")
            )
            port = listeners[0].socket.getsockname()[1]
            if args:
                listeners.append(await _unix_listener(args[0]))
            nursery.start_soon(trio.serve_listeners, echo, listeners)
            print(port, flush=True)
        await trio.to_thread.run_sync(sys.stdin.read)
        nursery.cancel_scope.cancel()


if __name__ == "__main__":
    trio.run(main, sys.argv[1:])

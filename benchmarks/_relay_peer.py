"""The bare baselines' processes on Unix sockets: trio, moving bytes without reading them.

``consumer PATH SIZE``: listens on PATH, reads SIZE bytes, answers one byte.
``relay PATH UPSTREAM``: listens on PATH; each connection gets one of its own to UPSTREAM
and the bytes are pumped both ways until either side ends.
``echo PATH``: listens on PATH and writes back every byte each connection sends.
``producer PATH SIZE``: connects to PATH, sends SIZE bytes in 1 MiB writes, waits for the
answer, prints the seconds it took.
Each listening role prints ``ready`` once listening. ``benchmarks/streams.py`` runs
consumer, relay and producer (its ``bare_relay``); ``benchmarks/channels.py`` relay and echo
(the routed request's ``bare_relay``).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from functools import partial

import trio

BLOCK = bytes(range(256)) * 4096


async def _listener(path: str) -> trio.SocketListener:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a leftover of an earlier run
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen(64)
    print("ready", flush=True)
    return trio.SocketListener(sock)


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream, done: trio.CancelScope) -> None:
    with contextlib.suppress(trio.BrokenResourceError):
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    done.cancel()  # one side ended: so does the other direction


async def _relay(upstream_path: str, stream: trio.abc.Stream) -> None:
    upstream = await trio.open_unix_socket(upstream_path)
    async with stream, upstream, trio.open_nursery() as nursery:
        nursery.start_soon(_pump, stream, upstream, nursery.cancel_scope)
        nursery.start_soon(_pump, upstream, stream, nursery.cancel_scope)


async def _echo(stream: trio.abc.Stream) -> None:
    with contextlib.suppress(trio.BrokenResourceError):
        while data := await stream.receive_some(65536):
            await stream.send_all(data)


async def main(args: list[str]) -> None:
    role, path, arg = (*args, "")[:3]
    if role == "consumer":
        stream = await (await _listener(path)).accept()
        left = int(arg)
        while left > 0:
            data = await stream.receive_some(65536)
            left -= len(data)
        await stream.send_all(b"!")
        await trio.sleep(1)
    elif role == "relay":
        await trio.serve_listeners(partial(_relay, arg), [await _listener(path)])
    elif role == "echo":
        await trio.serve_listeners(_echo, [await _listener(path)])
    else:
        stream = await trio.open_unix_socket(path)
        size = int(arg)
        t0 = time.perf_counter()
        sent = 0
        while sent < size:
            piece = BLOCK[: min(len(BLOCK), size - sent)]
            await stream.send_all(piece)
            sent += len(piece)
        await stream.receive_some(1)
        print(time.perf_counter() - t0, flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1:4])

"""The bare baseline of ``benchmarks/streams.py``: three trio processes on Unix sockets.

``consumer PATH SIZE``: listens on PATH, reads SIZE bytes, answers one byte.
``relay PATH UPSTREAM``: listens on PATH, connects to UPSTREAM, pumps both ways.
``producer PATH SIZE``: connects to PATH, sends SIZE bytes in 1 MiB writes, waits for the
answer, prints the seconds it took. Each prints ``ready`` once listening or connected.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

import trio

BLOCK = bytes(range(256)) * 4096


async def _listen(path: str) -> trio.SocketStream:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # a leftover of an earlier run
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen(1)
    listener = trio.SocketListener(sock)
    print("ready", flush=True)
    return await listener.accept()


async def _pump(source: trio.abc.Stream, sink: trio.abc.Stream) -> None:
    while data := await source.receive_some(65536):
        await sink.send_all(data)


async def main(role: str, path: str, arg: str) -> None:
    if role == "consumer":
        stream = await _listen(path)
        left = int(arg)
        while left > 0:
            data = await stream.receive_some(65536)
            left -= len(data)
        await stream.send_all(b"!")
        await trio.sleep(1)
    elif role == "relay":
        upstream = await trio.open_unix_socket(arg)
        stream = await _listen(path)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_pump, stream, upstream)
            nursery.start_soon(_pump, upstream, stream)
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
    trio.run(main, *sys.argv[1:4])

"""The pywatt module of ``benchmarks/streams.py``: ``sink`` (streamed) reads a stream to the end
and answers its size and the wall-clock time of its first chunk; ``push`` streams
``{"size"}`` bytes to ``{"target"}`` in 1 MiB sends and answers the elapsed seconds (open to
the sink's answer) and the sink's answer; ``size`` answers the length of the bytes it is
asked with (the orchestrator's own big request)."""

from __future__ import annotations

import os
import sys

# Run as a script, this file's directory comes first on sys.path, and benchmarks/actors.py
# would shadow the actors package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import time  # noqa: E402
from typing import Any  # noqa: E402

from pywatt import AppState, run_module  # noqa: E402
from pywatt.router import RemoteInbound  # noqa: E402

BLOCK = bytes(range(256)) * 4096  # 1 MiB


async def main(state: AppState[Any]) -> None:
    async def sink(stream: RemoteInbound) -> dict[str, Any]:
        size = 0
        first = None
        async for chunk in stream:
            if first is None:
                first = time.time()
            size += len(chunk)
        return {"bytes": size, "first_chunk_at": first}

    async def push(request: dict[str, Any]) -> dict[str, Any]:
        size = int(request["size"])
        started = time.time()
        t0 = time.perf_counter()
        window = int(request.get("window", 10))
        async with state.open_stream(request["target"], window=window) as stream:
            sent = 0
            while sent < size:
                piece = BLOCK[: min(len(BLOCK), size - sent)]
                await stream.send(piece)
                sent += len(piece)
        elapsed = time.perf_counter() - t0
        return {"seconds": elapsed, "started_at": started, "reply": stream.reply}

    def size_of(value: bytes) -> int:
        return len(value)

    await state.serve_stream("sink", sink)
    await state.serve("push", push)
    await state.serve("size", size_of, request_type=bytes)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="WARNING"))

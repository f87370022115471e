"""The child of the echo baseline in ``benchmarks.module``: a trio loop echoing stdin lines.

Reads fd 0 through :class:`trio.lowlevel.FdStream`, splits what arrives at newlines and
writes each complete line (with its newline) back on fd 1, one line at a time, as a module
answers one protocol line with another. Exits at end of input.

Run by the benchmark only (``python -P benchmarks/_echo_child.py``).
"""

from __future__ import annotations

import os

import trio

CHUNK = 65536


async def echo_lines() -> None:
    """Echo every complete stdin line to stdout until stdin ends. Blocks until then."""
    async with (
        trio.lowlevel.FdStream(os.dup(0)) as stdin,
        trio.lowlevel.FdStream(os.dup(1)) as stdout,
    ):
        pending = b""
        while data := await stdin.receive_some(CHUNK):
            pending += data
            while (end := pending.find(b"\n")) >= 0:
                line, pending = pending[: end + 1], pending[end + 1 :]
                await stdout.send_all(line)


if __name__ == "__main__":
    trio.run(echo_lines)

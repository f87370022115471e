"""Lines from a child's pipe, never stuck on bad input.

A thin I/O loop around :class:`pywatt.wire.LineDecoder`: it feeds what the pipe delivers and
hands each complete line to a callback. A line over the limit is reported through
``on_error`` and skipped up to its newline, after which reading goes on with a fresh
decoder: the pipe must keep being
drained, or the child would block on a full pipe.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable

import trio

from pywatt.wire import LineDecoder, NeedData, RemoteProtocolError

__all__ = ["read_lines"]

_CHUNK = 65536


async def read_lines(
    stream: trio.abc.ReceiveStream,
    on_line: Callable[[bytes, int], Awaitable[None]],
    on_error: Callable[[str], None],
    *,
    max_line: int,
    on_quiet: Callable[[], None] | None = None,
    quiet_after: float = 0.2,
) -> None:
    """Read ``stream`` to its end, calling ``await on_line(line, number)`` for each line
    (without its newline; ``number`` counts from 1). Returns at end of stream.

    Raises nothing for bad input (``on_error`` gets a description); a closed or broken
    stream ends the loop as end of stream would. ``on_quiet`` is called once whenever the
    stream has been silent for ``quiet_after`` seconds after some data.
    """
    decoder = LineDecoder(max_line=max_line, first_line_max=None)
    number = 0
    skipping = False  # inside an overlong line: drop bytes up to the next newline
    heard = False  # data since the last quiet moment
    while True:
        try:
            with trio.move_on_after(quiet_after if heard and on_quiet else math.inf) as quiet:
                chunk = bytes(await stream.receive_some(_CHUNK))
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            chunk = b""
        if quiet.cancelled_caught:
            assert on_quiet is not None
            on_quiet()
            heard = False
            continue
        heard = True
        if not chunk:
            break
        # Fed piece by piece (each ends at a newline but the last), so that when a line is
        # too long we know whether its newline has been seen.
        pieces = chunk.split(b"\n")
        for index, piece in enumerate(pieces):
            ends_line = index < len(pieces) - 1
            if skipping:
                skipping = not ends_line
                continue
            decoder.feed(piece + b"\n" if ends_line else piece)
            while True:
                try:
                    line = decoder.next_line()
                except RemoteProtocolError as exc:
                    number += 1
                    on_error(f"line {number} was dropped: {exc}")
                    decoder = LineDecoder(max_line=max_line, first_line_max=None)
                    skipping = not ends_line
                    break
                if isinstance(line, NeedData):
                    break
                number += 1
                await on_line(line, number)
    try:
        last = decoder.at_eof()
    except RemoteProtocolError as exc:
        on_error(f"the last line was dropped: {exc}")
        return
    if last is not None and not skipping:
        await on_line(last, number + 1)

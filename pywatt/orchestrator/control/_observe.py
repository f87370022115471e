"""The control commands ``tree`` and ``events`` (``pywatt status --tree``, ``pywatt events``,
``pywatt top``): the orchestrator's and its modules' trees in one reply, and its event stream
as JSON lines."""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

import trio

from pywatt.observe import EventsDropped
from pywatt.wire import encode_line

from ..processes import EVENTS_BUFFER, event_line

if TYPE_CHECKING:
    from .._orchestrator import Orchestrator

__all__ = ["stream_events"]


async def stream_events(orch: Orchestrator, stream: trio.abc.Stream) -> None:
    """Serve ``events``: ``{"ok":true}``, then one JSON line per event until the client goes.

    A client that reads slowly loses the oldest events (counted in an ``events_dropped``
    line), never slows the orchestrator."""
    try:
        await _stream(orch, stream)
    except* (trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the client went away (closed, or stopped reading): nobody left to tell


async def _stream(orch: Orchestrator, stream: trio.abc.Stream) -> None:
    """The lines of :func:`stream_events`. Raises the stream's errors when the client goes,
    inside the nursery's exception group."""
    async with orch.events(buffer=EVENTS_BUFFER) as events, trio.open_nursery() as nursery:
        await stream.send_all(encode_line(b'{"ok":true}'))

        async def watch_close() -> None:  # the client closing ends the stream
            with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
                while await stream.receive_some(1024):
                    pass
            nursery.cancel_scope.cancel()

        nursery.start_soon(watch_close)
        reported = 0
        async for event in events:
            if events.dropped != reported:
                gap = EventsDropped(events.dropped - reported)
                reported = events.dropped
                await stream.send_all(_encode(event_line(gap)))
            data = event_line(event)
            if data is not None:
                await stream.send_all(_encode(data))


def _encode(data: dict[str, Any] | None) -> bytes:
    return encode_line(json.dumps(data, separators=(",", ":")).encode())

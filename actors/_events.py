"""The event bus of an actor system: lifecycle events, and any event the application adds.

Two ways to listen:

* ``system.events.subscribe(callback)``: ``callback(event)`` runs synchronously, in order,
  inside whatever emitted the event. For cheap bookkeeping (metrics, tests).
* ``async with system.events.subscribe() as events: async for event in events``: a bounded
  buffer per subscriber. When the subscriber falls behind, the oldest buffered event is
  dropped and counted (``events.dropped``): a slow reader never blocks the runtime.
"""

from __future__ import annotations

import collections
from collections.abc import Callable
from types import TracebackType
from typing import overload

import trio

from ._messages import Event

DEFAULT_BUFFER = 256
"""Events a stream subscription keeps for a reader that falls behind."""


class EventSubscription:
    """A bounded stream of events (``async with system.events.subscribe() as events``).

    Iterate it with ``async for``; the iteration ends when the subscription is closed. When
    the buffer is full the oldest event is dropped and counted in :attr:`dropped`.
    """

    __slots__ = ("_buffer", "_bus", "_closed", "_lot", "dropped", "size")

    def __init__(self, bus: Events, size: int) -> None:
        if size < 1:
            raise ValueError(f"an event buffer holds at least 1 event, not {size}")
        self._bus = bus
        self.size = size
        self._buffer: collections.deque[Event] = collections.deque()
        self._lot = trio.lowlevel.ParkingLot()
        self._closed = False
        self.dropped = 0
        """Events dropped because the buffer was full (the oldest go first)."""

    async def __aenter__(self) -> EventSubscription:
        self._bus._add(self._push)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop receiving; a reader waiting in ``async for`` finishes. Idempotent."""
        if not self._closed:
            self._closed = True
            self._bus._remove(self._push)
            self._lot.unpark_all()

    def _push(self, event: Event) -> None:
        buffer = self._buffer
        if len(buffer) >= self.size:
            buffer.popleft()
            self.dropped += 1
            self._bus.dropped += 1
        buffer.append(event)
        if self._lot:
            self._lot.unpark_all()

    def receive_nowait(self) -> Event | None:
        """The oldest buffered event, or None if there is none. Does not block."""
        return self._buffer.popleft() if self._buffer else None

    def __aiter__(self) -> EventSubscription:
        return self

    async def __anext__(self) -> Event:
        while not self._buffer:
            if self._closed:
                raise StopAsyncIteration
            await self._lot.park()
        await trio.lowlevel.checkpoint()
        if not self._buffer:  # closed meanwhile with nothing left
            raise StopAsyncIteration
        return self._buffer.popleft()


class Events:
    """Publishes events to subscribers, synchronously and in order (see the module docstring).

    The runtime publishes the lifecycle events (:class:`~actors.Started`,
    :class:`~actors.Stopped`, :class:`~actors.Crashed`, :class:`~actors.Restarted`,
    :class:`~actors.GaveUp`); an application publishes its own subclasses of
    :class:`~actors.Event` with :meth:`emit`. Callback subscribers must not block or raise;
    one that needs to do async work should ``tell_nowait`` an actor, or use a stream.
    """

    __slots__ = ("_subscribers", "dropped", "emitted")

    def __init__(self) -> None:
        self._subscribers: list[Callable[[Event], None]] = []
        self.emitted = 0
        """Events published so far."""
        self.dropped = 0
        """Events dropped by stream subscribers that fell behind, all subscriptions summed."""

    @overload
    def subscribe(self, callback: Callable[[Event], None]) -> Callable[[], None]: ...

    @overload
    def subscribe(self, callback: None = None, *, buffer: int = ...) -> EventSubscription: ...

    def subscribe(
        self, callback: Callable[[Event], None] | None = None, *, buffer: int = DEFAULT_BUFFER
    ) -> Callable[[], None] | EventSubscription:
        """With ``callback``: call it for every future event; returns a function that
        unsubscribes. Without: a bounded stream of future events, to enter with ``async
        with`` (it subscribes on entry and unsubscribes on exit); ``buffer`` events are kept
        for a reader that falls behind, then the oldest are dropped and counted."""
        if callback is None:
            return EventSubscription(self, buffer)
        self._add(callback)
        return lambda: self._remove(callback)

    def emit(self, event: Event) -> None:
        """Publish one event. Does not block."""
        self.emitted += 1
        for subscriber in self._subscribers:
            subscriber(event)

    def _add(self, callback: Callable[[Event], None]) -> None:
        # Copy on write: a subscriber may (un)subscribe while an event is being published.
        self._subscribers = [*self._subscribers, callback]

    def _remove(self, callback: Callable[[Event], None]) -> None:
        subscribers = list(self._subscribers)
        if callback in subscribers:
            subscribers.remove(callback)
            self._subscribers = subscribers

"""The lifecycle event bus: started, stopped, crashed and restarted."""

from __future__ import annotations

from collections.abc import Callable

from ._messages import LifecycleEvent


class Events:
    """Publishes lifecycle events to subscribers, synchronously and in order.

    Subscribers (logging, metrics, tests) must not block or raise; one that needs to do async
    work should ``tell_nowait`` an actor.
    """

    __slots__ = ("_subscribers",)

    def __init__(self) -> None:
        self._subscribers: list[Callable[[LifecycleEvent], None]] = []

    def subscribe(self, callback: Callable[[LifecycleEvent], None]) -> Callable[[], None]:
        """Call ``callback`` for every future event; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

    def emit(self, event: LifecycleEvent) -> None:
        """Publish one event."""
        for subscriber in self._subscribers:
            subscriber(event)

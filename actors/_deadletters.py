"""The dead-letter office: every message that could not be delivered is recorded here."""

from __future__ import annotations

import collections
from collections.abc import Callable

from ._messages import DeadLetter, DeadLetterReason


class DeadLetters:
    """Counts every undelivered message by reason and keeps the most recent ones.

    Counts are exact and never drop; the record of recent letters is bounded (``keep``) so a
    flood of dead letters cannot exhaust memory. Subscribers are called synchronously for each
    letter; they must not block or raise.
    """

    __slots__ = ("_by_reason", "_recent", "_subscribers", "total")

    def __init__(self, keep: int = 1000) -> None:
        self.total = 0
        self._by_reason: collections.Counter[DeadLetterReason] = collections.Counter()
        self._recent: collections.deque[DeadLetter] = collections.deque(maxlen=keep)
        self._subscribers: list[Callable[[DeadLetter], None]] = []

    def record(self, recipient: str, message: object, reason: DeadLetterReason) -> None:
        """Record one undelivered message. Does not block."""
        letter = DeadLetter(recipient, message, reason)
        self.total += 1
        self._by_reason[reason] += 1
        self._recent.append(letter)
        for subscriber in self._subscribers:
            subscriber(letter)

    def count(self, reason: DeadLetterReason | None = None) -> int:
        """How many letters were recorded, in all or for one reason."""
        return self.total if reason is None else self._by_reason[reason]

    def recent(self) -> list[DeadLetter]:
        """The most recent letters, oldest first."""
        return list(self._recent)

    def subscribe(self, callback: Callable[[DeadLetter], None]) -> Callable[[], None]:
        """Call ``callback`` for every future letter; returns a function that unsubscribes."""
        self._subscribers.append(callback)
        return lambda: self._subscribers.remove(callback)

"""A dispatch table: which actor, by name, gets which message type.

A transport that decodes messages for other actors (a module's stdio link, its channel
connections) reads one of these instead of matching on types itself, so one table says who
gets what. It holds names, not references: a subscriber that restarts keeps its entries, and
a table kept outside the actor that reads it (handed to every incarnation by its spec) keeps
what other actors subscribed across that actor's restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Subscriptions"]


class Subscriptions:
    """Which actor gets which message type; a message of a subclass goes to the subscriber
    of its nearest subscribed base class."""

    __slots__ = ("_by_type", "_found")

    def __init__(self, initial: Mapping[type[Any], str] | None = None) -> None:
        self._by_type: dict[type[Any], str] = dict(initial or {})
        self._found: dict[type[Any], str | None] = {}  # every type looked up, by its MRO

    def add(self, types: Iterable[type[Any]], name: str) -> None:
        """Send messages of ``types`` to ``name`` (replacing an earlier subscriber)."""
        for cls in types:
            self._by_type[cls] = name
        self._found.clear()

    def target(self, message: object) -> str | None:
        """The subscriber of ``message``'s type (or of a base class), or None."""
        return self.target_of(type(message))

    def target_of(self, cls: type[Any]) -> str | None:
        """The subscriber of type ``cls`` (or of its nearest subscribed base class), or None."""
        try:
            return self._found[cls]
        except KeyError:
            pass
        by_type = self._by_type
        name = next((by_type[base] for base in cls.__mro__ if base in by_type), None)
        self._found[cls] = name
        return name

    def names(self) -> set[str]:
        """Every subscriber."""
        return set(self._by_type.values())

    def __repr__(self) -> str:
        entries = ", ".join(f"{cls.__name__}: {name!r}" for cls, name in self._by_type.items())
        return f"Subscriptions({{{entries}}})"

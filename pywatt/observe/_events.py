"""pywatt's own events, published on ``system.events`` beside the runtime's lifecycle events."""

from __future__ import annotations

import attrs

import actors

__all__ = [
    "ChannelChanged",
    "EventsDropped",
    "ModuleEvent",
    "ModuleStateChanged",
    "RemoteFailure",
    "SecretsRotated",
]


@attrs.frozen
class SecretsRotated(actors.Event):
    """Secrets ``keys`` were rotated (``rotation_id``): in a module, once it was told; in the
    orchestrator, once every holder acked (``outcome``: module id to ``ok``/``error``/...)."""

    keys: tuple[str, ...]
    rotation_id: str
    outcome: dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class ChannelChanged(actors.Event):
    """A channel connection opened or closed (``state``: ``open``, ``closed`` or ``lost``,
    with the ``reason`` when lost). In the orchestrator ``module`` names whose connection it
    is; in a module it is None (its own)."""

    channel: str
    state: str
    reason: str | None = None
    module: str | None = None


@attrs.frozen
class ModuleStateChanged(actors.Event):
    """The orchestrator's view of a module changed from ``previous`` to ``state`` (the values
    of ``pywatt.orchestrator.ModuleState``: starting, running, crashed, restarting, ...)."""

    module: str
    state: str
    previous: str
    incarnation: int = 0
    reason: str | None = None


@attrs.frozen
class EventsDropped(actors.Event):
    """``count`` events were dropped before this one (a buffer was full): the stream has a gap."""

    count: int


@attrs.frozen
class ModuleEvent(actors.Event):
    """An event a module forwarded to the orchestrator, published on the orchestrator's bus.

    ``event`` is rebuilt from the module's JSON: an exception in it is a
    :class:`RemoteFailure` carrying the original's ``Type: message``.
    """

    module: str
    event: actors.Event


class RemoteFailure(Exception):
    """An exception that happened in another process, known by its text (``Type: message``)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text

    def __str__(self) -> str:
        return self.text

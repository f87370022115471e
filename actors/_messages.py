"""Message base types and the records the runtime itself produces."""

from __future__ import annotations

import enum
import time
from typing import Generic, TypeVar

import attrs

R_co = TypeVar("R_co", covariant=True)


class Request(Generic[R_co]):
    """Base of a message that expects a reply of type ``R_co``.

    Subclass it with a frozen attrs class: ``@attrs.frozen class Get(Request[int]): key: str``.
    ``await ref.ask(Get("a"))`` is then typed ``int``: the handler's return value.
    """

    __slots__ = ()


class DeadLetterReason(enum.Enum):
    """Why a message could not be delivered."""

    STOPPED = "stopped"
    """The actor stopped for good (or was never restarted) with the message still queued."""
    MAILBOX_FULL = "mailbox full"
    """The mailbox was full and its policy dropped or refused the message."""
    NO_SUCH_ACTOR = "no such actor"
    """Nothing is registered under the name the message was sent to."""
    CRASHED = "crashed"
    """The actor crashed while handling this one-way message."""
    FAILED = "failed"
    """The handler raised a declared reply error for a one-way message, which has no asker."""
    CANCELLED = "cancelled"
    """The asker was cancelled before the actor picked the request up."""
    EXPIRED = "expired"
    """The request's own deadline (``ref.ask(m, timeout=...)`` or ``deadline=``) passed
    before the actor picked it up: the actor skipped it. (An asker whose cancel scope gave
    up on it is ``CANCELLED``.)"""


@attrs.frozen
class DeadLetter:
    """A message that was not delivered, and why."""

    recipient: str
    message: object
    reason: DeadLetterReason


@attrs.frozen
class Down:
    """Sent to a watcher when an incarnation it monitors ends.

    ``reason`` is ``None`` for a normal stop, else the exception that ended it.
    """

    name: str
    incarnation: int
    reason: BaseException | None


@attrs.frozen
class Event:
    """Base of everything published on ``system.events``: the runtime's lifecycle events and
    any event an application defines (subclass it with ``@attrs.frozen``).

    ``at`` is the wall-clock time it was made (``time.time()``); it takes no part in equality.
    """

    at: float = attrs.field(factory=time.time, eq=False, kw_only=True, repr=False)


@attrs.frozen
class Started(Event):
    """Lifecycle event: an incarnation finished ``on_start`` and is serving."""

    name: str
    incarnation: int


@attrs.frozen
class Stopped(Event):
    """Lifecycle event: an incarnation ended without crashing."""

    name: str
    incarnation: int


@attrs.frozen
class Crashed(Event):
    """Lifecycle event: an incarnation ended by raising ``error``."""

    name: str
    incarnation: int
    error: BaseException


@attrs.frozen
class Restarted(Event):
    """Lifecycle event: the supervisor scheduled a new incarnation after ``delay`` seconds."""

    name: str
    incarnation: int
    delay: float


@attrs.frozen
class GaveUp(Event):
    """Lifecycle event: supervisor ``name`` exceeded its restart intensity, stopped its
    children and failed to its parent (``error`` is the
    :class:`~actors.RestartIntensityExceeded`, chaining the last child failure)."""

    name: str
    error: BaseException


LifecycleEvent = Started | Stopped | Crashed | Restarted | GaveUp
"""Every lifecycle event the system publishes."""

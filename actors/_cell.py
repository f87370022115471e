"""The registry entry of one actor name: its mailbox, what it accepts, its current incarnation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import attrs

from ._errors import UnacceptedMessage
from ._mailbox import Mailbox, MailboxStatistics

if TYPE_CHECKING:
    from ._actor import ActorContext


_ACCEPTED: dict[tuple[type[Any], ...], set[type[Any]]] = {}


@attrs.frozen
class ActorStatistics:
    """A snapshot of an actor name (``system.statistics(name)``)."""

    name: str
    running: bool
    """An incarnation is serving (False while the actor starts, restarts or stops)."""
    incarnation: int | None
    """The number of the serving incarnation; None while none serves."""
    mailbox: MailboxStatistics
    kind: str | None = None
    """The serving incarnation's class (its ``__qualname__``); None while none serves."""


class Cell:
    """Everything that belongs to a name rather than to one incarnation. Runtime-internal:
    nothing outside :mod:`actors` sees a cell, only refs and statistics.

    The mailbox lives here, so a ref by name keeps working across restarts: messages queued
    while an actor restarts wait for the next incarnation.
    """

    __slots__ = ("_accepted_types", "accepts", "accepts_all", "ctx", "mailbox", "name")

    def __init__(self, name: str, mailbox: Mailbox, accepts: tuple[type[Any], ...]) -> None:
        self.name = name
        self.mailbox = mailbox
        self.ctx: ActorContext | None = None
        self.accepts = accepts
        self.accepts_all = object in accepts
        # Exact types seen to be accepted: the send path checks membership here first, which
        # is much cheaper than isinstance against a tuple of bases. Shared by every cell with
        # the same ``accepts``, since the answer depends on nothing else.
        self._accepted_types = _ACCEPTED.setdefault(accepts, set(accepts))

    def check(self, message: object) -> None:
        """Raise :class:`UnacceptedMessage` unless the actor accepts ``message``'s type."""
        cls = type(message)
        if cls in self._accepted_types:
            return
        if self.accepts_all or isinstance(message, self.accepts):
            self._accepted_types.add(cls)
            return
        raise UnacceptedMessage(self.name, cls.__qualname__)

    def statistics(self) -> ActorStatistics:
        """A snapshot of the name: whether an incarnation serves, and its mailbox."""
        ctx = self.ctx
        return ActorStatistics(
            self.name,
            running=ctx is not None,
            incarnation=None if ctx is None else ctx.incarnation,
            mailbox=self.mailbox.statistics(),
            kind=None if ctx is None else type(ctx.actor).__qualname__,
        )

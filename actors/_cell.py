"""The registry entry of one actor name: its mailbox, what it accepts, its current incarnation."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._errors import UnacceptedMessage
from ._mailbox import Mailbox

if TYPE_CHECKING:
    from ._actor import ActorContext


_ACCEPTED: dict[tuple[type[Any], ...], set[type[Any]]] = {}


class Cell:
    """Everything that belongs to a name rather than to one incarnation.

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

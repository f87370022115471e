"""Requests to the orchestrator whose replies carry no correlation: one in flight at a time.

The orchestrator answers registration (docs/protocol.md §10) and discovery (§11) requests
with bare ``*_response`` ops that name no request (§16 A18), so a reply can only be matched
to the one request outstanding. :class:`SerialRequests` is that line: the others wait in a
queue, and the one in flight has a deadline in a :class:`~actors.PendingReplies` table. Its
expiry fails the asker, frees the line at once, and tells the owning actor
:class:`LineExpired` so that it sends the next (were that message lost to a full mailbox, the
next request submitted or answered sends it). The registrar and the orchestrator-backed
discovery actor each own one.
"""

from __future__ import annotations

import collections
import logging
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import attrs

from actors import ActorContext, ActorError, DeferredReply, PendingReplies
from pywatt.wire import MessageMetadata

from ._actor import CHANNELS_ACTOR, Send
from ._errors import NoChannel
from ._frames import encode_module_frame


@attrs.define(eq=False)
class Outgoing:
    """One request: what it is (for errors and logs), its content, the reply op it expects,
    and who waits (None for a request of the actor's own, such as a heartbeat)."""

    what: str
    content: Any
    expects: type[Any]
    reply: DeferredReply | None
    as_type: Any = None
    """``encode_module_frame``'s ``as_type`` (the default: op-tagged content)."""


OutgoingT = TypeVar("OutgoingT", bound=Outgoing)


@attrs.frozen
class LineExpired:
    """Internal: the request in flight passed its deadline (its asker has the timeout error)
    and the line is free. The owning actor then calls :meth:`SerialRequests.next`."""

    outgoing: Outgoing = attrs.field(eq=False)


class SerialRequests(Generic[OutgoingT]):
    """The line of an actor's uncorrelated requests (see the module docstring).

    Made in ``on_start``: the in-flight deadline belongs to the incarnation. The actor must
    accept :class:`LineExpired`. ``timeout_error(what, seconds)`` is the asker's error at the
    deadline; a request nobody waits for (a heartbeat) that expires is a warning on ``log``.
    """

    def __init__(
        self,
        ctx: ActorContext,
        *,
        deadline: float,
        timeout_error: Callable[[str, float], BaseException],
        log: logging.Logger,
        channels: str = CHANNELS_ACTOR,
    ) -> None:
        self.ctx = ctx
        self.log = log
        self.channels = channels
        self.deadline = deadline
        self.queue: collections.deque[OutgoingT] = collections.deque()
        self.current: OutgoingT | None = None
        self._pending = PendingReplies[Outgoing](
            ctx,
            timeout_error=lambda o, s: timeout_error(o.what, s),
            on_expire=self._expire,
            expired=LineExpired,
        )

    async def submit(self, outgoing: OutgoingT, *, first: bool = False) -> None:
        """Queue ``outgoing`` (at the head if ``first``); it is sent now if nothing is in flight."""
        if first:
            self.queue.appendleft(outgoing)
        else:
            self.queue.append(outgoing)
        await self.next()

    async def next(self) -> None:
        """Send queued requests until one is in flight, through the channels actor
        (``Send``); without a channel (or without the channels actor) each fails
        :class:`NoChannel`."""
        while self.current is None and self.queue:
            outgoing = self.queue.popleft()
            frame = encode_module_frame(
                outgoing.content,
                metadata=MessageMetadata(id=str(uuid.uuid4())),
                as_type=outgoing.as_type,
            )
            try:
                await self.ctx.system.ask(self.channels, Send(frame, what=outgoing.what))
            except NoChannel as exc:
                if outgoing.reply is not None:
                    outgoing.reply.fail(exc)
                continue
            except ActorError as exc:  # no channels actor, or it ended while sending
                if outgoing.reply is not None:
                    error = NoChannel(outgoing.what)
                    error.__cause__ = exc
                    outgoing.reply.fail(error)
                continue
            self.current = outgoing
            self._pending.add(outgoing, outgoing.reply, timeout=self.deadline)

    def answered(self, message: object) -> OutgoingT | None:
        """The request in flight, taken off the line, if ``message`` is the reply it expects
        and its deadline has not passed; None (the reply is not for us) otherwise. The caller
        answers its ``reply`` and then calls :meth:`next`."""
        current = self.current
        if current is None or not isinstance(message, current.expects):
            return None
        self.current = None
        self._pending.take(current)
        return current

    def _expire(self, outgoing: Outgoing) -> None:
        """The deadline of the request in flight passed (its asker has the error)."""
        if outgoing is self.current:
            self.current = None
        if outgoing.reply is None:
            self.log.warning("%s: no reply within %g s", outgoing.what, self.deadline)

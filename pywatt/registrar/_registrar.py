"""The registrar: how the module tells the orchestrator who it is and what it serves."""

from __future__ import annotations

import attrs

import actors
from pywatt.link._messages import Send
from pywatt.wire import AnnounceBlob, EndpointAnnounce


@attrs.frozen
class Announce(actors.Request[AnnounceBlob]):
    """Write the ``announce`` line (PROTOCOL.md §3.3 step 8); answered with what was sent."""

    listen: str
    endpoints: tuple[EndpointAnnounce, ...]


class Registrar(actors.Actor[Announce]):
    """Announces the module's listen address and endpoints through the link (``pywatt.link``).

    Registered as ``pywatt.registrar``. Registration with capabilities, health on heartbeats
    and unregistration come with the channels.
    """

    def __init__(self, link: str = "pywatt.link") -> None:
        self.link = link
        self.announced: AnnounceBlob | None = None

    async def receive(self, message: Announce) -> AnnounceBlob:
        blob = AnnounceBlob(listen=message.listen, endpoints=list(message.endpoints))
        await self.ctx.system.tell(self.link, Send(blob))
        self.announced = blob
        return blob

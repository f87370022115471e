"""The orchestrator as a secret provider: ``get_secret`` over the module's stdio link."""

from __future__ import annotations

import actors
from pywatt.link._errors import LinkError
from pywatt.link._messages import FetchRemoteSecret

from ._errors import SecretNotFound, SecretTimeout, SecretUnavailable
from ._messages import ProvideSecret


class OrchestratorProvider(actors.Actor[ProvideSecret]):
    """Asks the orchestrator through the link actor; concurrent requests do not queue here.

    Answers with the value, or raises :class:`SecretNotFound` (the orchestrator's
    ``secret_error``), :class:`SecretTimeout` (no answer within the protocol's 5 s) or
    :class:`SecretUnavailable` (stdin closed, or the link is down).
    """

    reply_errors = (SecretNotFound, SecretTimeout, SecretUnavailable)

    def __init__(self, link: str = "pywatt.link") -> None:
        self.link = link

    async def receive(self, message: ProvideSecret) -> None:
        reply = self.ctx.defer_reply()
        self.ctx.start_task(self._fetch, message.name, reply)

    async def _fetch(self, name: str, reply: actors.DeferredReply) -> None:
        try:
            value = await self.ctx.system.ask(self.link, FetchRemoteSecret(name))
        except (SecretNotFound, SecretTimeout) as exc:
            reply.fail(exc)
        except (LinkError, actors.ActorError) as exc:  # no answer can come
            reply.fail(SecretUnavailable(name, str(exc)))
        else:
            reply.reply(value)

"""The orchestrator as a secret provider: ``get_secret`` over the module's stdio link."""

from __future__ import annotations

import actors

from ._errors import SecretNotFound, SecretTimeout, SecretUnavailable
from ._messages import ForwardedSecretFetch, ProvideSecret


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
        # The link answers the deferred reply itself when the secret line arrives.
        await self.ctx.system.tell(
            self.link, ForwardedSecretFetch(message.name, self.ctx.defer_reply())
        )

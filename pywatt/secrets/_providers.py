"""Built-in secret providers: memory, environment, and the orchestrator (over stdio).

Each is an actor answering :class:`ProvideSecret`; a user's provider is any actor that answers
it too (and raises :class:`SecretNotFound` for names it does not have).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import attrs

import actors

from ._errors import SecretNotFound
from ._messages import ProvideSecret


@attrs.frozen
class StoreSecret(actors.Request[None]):
    """Put a value into a :class:`MemoryProvider`."""

    name: str
    value: str = attrs.field(repr=False)


class MemoryProvider(actors.Actor[ProvideSecret | StoreSecret]):
    """Secrets held in memory, set by the module itself (``AppState.set_secret``)."""

    reply_errors = (SecretNotFound,)

    def __init__(self, initial: Mapping[str, str] | None = None) -> None:
        self.values = dict(initial or {})

    async def receive(self, message: ProvideSecret | StoreSecret) -> str | None:
        if isinstance(message, StoreSecret):
            self.values[message.name] = message.value
            return None
        try:
            return self.values[message.name]
        except KeyError:
            raise SecretNotFound(message.name, "not in the memory provider") from None


class EnvProvider(actors.Actor[ProvideSecret]):
    """Secrets from the process environment, optionally under a name prefix."""

    reply_errors = (SecretNotFound,)

    def __init__(self, prefix: str = "", environ: Mapping[str, str] | None = None) -> None:
        self.prefix = prefix
        self.environ = os.environ if environ is None else environ

    async def receive(self, message: ProvideSecret) -> str:
        try:
            return self.environ[self.prefix + message.name]
        except KeyError:
            raise SecretNotFound(
                message.name, f"no environment variable {self.prefix + message.name}"
            ) from None

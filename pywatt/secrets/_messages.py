"""The secrets protocol: what the secrets actor and its providers answer."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

import actors
from pywatt.wire import RotationAckRequest


@attrs.frozen(repr=False)
class Secret:
    """A secret value with its version and where it came from.

    ``repr`` never shows the value. ``version`` starts at 1 and grows each time the value
    changes (a rotation or a push); ``rotation_id`` is the orchestrator's id of the rotation
    that produced it, if any.
    """

    name: str
    value: str = attrs.field(eq=True)
    version: int = 1
    source: str = "unknown"
    rotation_id: str | None = None
    metadata: dict[str, str] = attrs.field(factory=dict)

    def __repr__(self) -> str:
        return (
            f"Secret(name={self.name!r}, value='[REDACTED]', version={self.version}, "
            f"source={self.source!r}, rotation_id={self.rotation_id!r})"
        )

    @property
    def key(self) -> str:
        """The secret's name (the reference SDK's spelling)."""
        return self.name

    def expose_secret(self) -> str:
        """The value (the reference SDK's and Rust's ``secrecy`` spelling of ``.value``)."""
        return self.value


class FetchMode(enum.Enum):
    """How :class:`GetSecret` uses the cache (the Rust SDK's client modes)."""

    CACHE_THEN_REMOTE = "cache_then_remote"
    """The cached value if there is a fresh one, else ask the providers (the default)."""
    FORCE_REMOTE = "force_remote"
    """Always ask the providers and refresh the cache."""
    CACHE_ONLY = "cache_only"
    """Never ask; a missing value is :class:`SecretNotFound`."""


@attrs.frozen
class GetSecret(actors.Request[Secret]):
    """Ask the secrets actor for a secret. Raises SecretNotFound or SecretTimeout."""

    name: str
    mode: FetchMode = FetchMode.CACHE_THEN_REMOTE


@attrs.frozen
class SetSecret(actors.Request[Secret]):
    """Store a value in the local memory provider (there is no wire op to write a secret).

    ``metadata`` stays with the value on the :class:`Secret` records until the value
    changes by other means (a rotation or a push)."""

    name: str
    value: str = attrs.field(repr=False)
    metadata: Mapping[str, str] = attrs.field(factory=dict)


@attrs.frozen
class Subscribe(actors.Request[None]):
    """Be told :class:`SecretRotated` whenever one of ``names`` changes.

    ``sink`` is an :class:`actors.ActorRef` (told the event) or a
    ``trio.MemorySendChannel`` (sent it without blocking; a full channel drops the event with
    a warning). An empty ``names`` means every secret.
    """

    names: frozenset[str]
    sink: Any


@attrs.frozen
class Unsubscribe(actors.Request[None]):
    """Stop telling ``sink``."""

    sink: Any


@attrs.frozen
class SecretRotated:
    """Told to subscribers after a rotation or push changed a secret."""

    secret: Secret


@attrs.frozen
class SecretPushed:
    """From the orchestrator link: a ``secret`` line arrived (solicited or not)."""

    name: str
    value: str = attrs.field(repr=False)
    rotation_id: str | None = None


@attrs.frozen
class RotationNotice:
    """From the orchestrator link: ``rotated`` — refetch these keys, notify, then ack."""

    keys: tuple[str, ...]
    rotation_id: str


@attrs.frozen
class ForwardedSecretFetch:
    """To the orchestrator link: fetch ``name`` with ``get_secret`` and answer ``reply``, a
    handle another actor deferred (the orchestrator provider's caller), so the provider needs
    no task of its own per request."""

    name: str
    reply: actors.DeferredReply = attrs.field(eq=False)


@attrs.frozen
class AckRotation:
    """To the orchestrator link: write this ``rotation_ack`` line once the rotated keys are
    refetched (docs/protocol.md §7)."""

    ack: RotationAckRequest


@attrs.frozen
class SecretStatistics(actors.Request["SecretStats"]):
    """Ask for cache statistics."""


@attrs.frozen
class SecretStats:
    """Cache statistics of the secrets actor."""

    hits: int
    misses: int
    evictions: int
    expirations: int
    rotations: int
    size: int


@attrs.frozen
class ProvideSecret(actors.Request[str]):
    """Asked of a provider actor: the current value of ``name``.

    A provider raises :class:`SecretNotFound` (a declared reply error) when it does not
    have it, so the next provider in the chain is asked.
    """

    name: str


PROVIDER = actors.Protocol("secret-provider", (ProvideSecret,))
"""The protocol every secret provider answers, built in or the user's own."""

SECRETS = actors.Protocol(
    "secrets",
    (GetSecret, SetSecret, Subscribe, Unsubscribe, SecretPushed, RotationNotice),
)
"""The protocol of the secrets actor itself."""

"""The JWT validator actor (``pywatt.jwt``): keys from secrets, rotation, validation.

On start it loads its keys: the literal ones of the config and, for each of
``key_secrets``, the secret's value from ``pywatt.secrets``; then it subscribes to those
secrets. When one rotates (the secrets actor tells :class:`~pywatt.secrets.SecretRotated`
after refetching it) the keys that came from it are replaced by the new value's, so a key
rotated out stops verifying at once. New material that does not parse drops that secret's
keys (fail closed) and is logged without the value.

Validation is CPU-bound and short (tens of microseconds for HS256, about 100 for RS256), so
it runs in the handler. In ``proxy`` mode the actor instead asks the orchestrator's JWT
service (docs/protocol.md §13) through ``pywatt.link``.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import actors
from pywatt.secrets import GetSecret, SecretRotated, Subscribe, Unsubscribe

from ._claims import Claims, make_claims
from ._config import JwtConfig
from ._errors import JwtConfigError, JwtError, ValidatorUnavailable
from ._keys import BoundKey, KeyRing, parse_keys
from ._messages import KeyInfo, KeyStatus, ValidateToken
from ._validator import TokenValidator, describe

log = logging.getLogger("pywatt.jwt")

JWT_ACTOR = "pywatt.jwt"
SECRETS_ACTOR = "pywatt.secrets"


def literal_keys(config: JwtConfig) -> list[BoundKey]:
    """The keys given literally in ``config`` (``secret_key``, ``public_key``)."""
    keys: list[BoundKey] = []
    if config.secret_key:
        keys += parse_keys(config.secret_key, source="jwt_config.secret_key", key_id=config.key_id)
    if config.public_key:
        keys += parse_keys(config.public_key, source="jwt_config.public_key", key_id=config.key_id)
    return keys


class JwtValidatorActor(actors.Actor[ValidateToken | KeyStatus | SecretRotated]):
    """Validates tokens for the module (see the module docstring).

    ``now`` is the clock for ``exp``/``nbf``/``iat`` (Unix seconds). ``proxy`` validates
    through the orchestrator instead (``validation="proxy"``): an object with an async
    ``validate(token) -> dict`` method; the module's default is built from ``pywatt.link``.
    """

    reply_errors = (JwtError,)

    def __init__(
        self,
        config: JwtConfig,
        *,
        secrets: str = SECRETS_ACTOR,
        now: Callable[[], float] = time.time,
        proxy: Any = None,
    ) -> None:
        self.config = config
        self.secrets = secrets
        self.validator = TokenValidator(config, now=now)
        self.proxy = proxy
        self.from_secrets: dict[str, list[BoundKey]] = {}
        self.literal: list[BoundKey] = []
        self.generation = 0
        self._subscribed: actors.ActorRef[Any] | None = None

    async def on_start(self) -> None:
        config = self.config
        if config.validation == "proxy":
            if self.proxy is None:
                from ._proxy import OrchestratorJwtProxy

                self.proxy = OrchestratorJwtProxy(self.ctx.system, config)
            return
        self.literal = literal_keys(config)
        system = self.ctx.system
        if config.key_secrets:  # subscribe first, so no rotation falls between the two
            self._subscribed = self.ctx.self_ref
            names = frozenset(config.key_secrets)
            await system.ask(self.secrets, Subscribe(names, self._subscribed))
        for name in config.key_secrets:
            secret = await system.ask(self.secrets, GetSecret(name))
            self.from_secrets[name] = parse_keys(secret.value, source=f"secret {name!r}",
                                                 key_id=config.key_id)  # fmt: skip
        self._rebuild()
        log.info("JWT validator ready: %d key(s) (kids: %s); algorithms %s",
                 len(self.validator.keys), ", ".join(self.validator.keys.kids()) or "none",
                 ", ".join(config.algorithms))  # fmt: skip

    async def on_stop(self) -> None:
        if self._subscribed is not None:
            # If the secrets actor is gone already there is nothing to undo.
            with contextlib.suppress(actors.ActorError):
                await self.ctx.system.ask(self.secrets, Unsubscribe(self._subscribed))

    async def receive(self, message: ValidateToken | KeyStatus | SecretRotated) -> Any:
        if type(message) is ValidateToken:  # the hot path: one type test
            if self.proxy is None:
                try:
                    raw = self.validator.validate(message.token)
                except JwtError as exc:
                    log.debug("refused a token: %s", describe(exc))
                    raise
                claims_type = self.config.claims_type
                return Claims(raw) if claims_type is None else make_claims(raw, claims_type)
            return await self._validate(message.token)
        if isinstance(message, SecretRotated):
            self._rotated(message.secret.name, message.secret.value)
            return None
        keys = self.validator.keys
        return KeyInfo(kids=tuple(keys.kids()), count=len(keys), generation=self.generation)

    async def _validate(self, token: str) -> Claims:
        if self.proxy is not None:
            raw = await self.proxy.validate(token)
        else:
            try:
                raw = self.validator.validate(token)
            except JwtError as exc:
                log.debug("refused a token: %s", describe(exc))
                raise
        return make_claims(raw, self.config.claims_type)

    def _rotated(self, name: str, value: str) -> None:
        if name not in self.config.key_secrets:
            return
        try:
            self.from_secrets[name] = parse_keys(value, source=f"secret {name!r}",
                                                 key_id=self.config.key_id)  # fmt: skip
        except JwtConfigError as exc:
            self.from_secrets[name] = []
            log.error("rotated JWT key secret %r is unusable, its keys are dropped: %s", name, exc)
        self._rebuild()
        keys = self.validator.keys
        kids = ", ".join(keys.kids()) or "none"
        log.info("JWT keys from %r rotated: now %d key(s) (kids: %s)", name, len(keys), kids)

    def _rebuild(self) -> None:
        keys = list(self.literal)
        for name in self.config.key_secrets:
            keys += self.from_secrets.get(name, [])
        self.validator.keys = KeyRing.of(keys)
        self.generation += 1


async def validate_jwt_token(system: actors.ActorSystem, token: str) -> Claims:
    """Validate ``token`` with the module's ``pywatt.jwt`` actor; returns its :class:`Claims`.

    What ``AppState.validate_jwt_token`` forwards to. Blocks for one ask. Raises a
    :class:`JwtError` subclass when the token is refused, and
    :class:`ValidatorUnavailable` when no validator runs.
    """
    try:
        return await system.ask(JWT_ACTOR, ValidateToken(token))
    except actors.NoSuchActor:
        raise ValidatorUnavailable("no JWT validator runs in this module") from None

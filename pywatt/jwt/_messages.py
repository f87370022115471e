"""The JWT actor's protocol: what ``pywatt.jwt`` answers (the built-in one or your own)."""

from __future__ import annotations

import attrs

import actors

from ._claims import Claims


@attrs.frozen
class ValidateToken(actors.Request[Claims]):
    """Validate a bearer token; answered with its :class:`Claims`, or raises a
    :class:`~pywatt.jwt.JwtError` subclass saying why it was refused."""

    token: str = attrs.field(repr=False)


@attrs.frozen
class KeyStatus(actors.Request["KeyInfo"]):
    """Which keys the validator holds now (``kid`` values only, never the keys)."""


@attrs.frozen
class KeyInfo:
    """The answer to :class:`KeyStatus`."""

    kids: tuple[str, ...]
    count: int
    generation: int
    """Grows by one each time the key set is replaced (a rotation)."""


JWT_PROTOCOL = actors.Protocol("jwt", (ValidateToken,))
"""The protocol a JWT validator answers; ``pywatt.jwt`` carries it."""

"""Errors of JWT validation. None of them ever carries a token or key material.

Every refusal is a :class:`JwtError` whose ``reason`` is a short, safe text that the HTTP
layer puts in its 401 body (``{"error":"Unauthorized: <reason>"}``).
"""

from __future__ import annotations

from .._errors import ConfigError, PywattError


class JwtError(PywattError):
    """A token was refused. ``reason`` says why, without the token."""

    reason_text = "invalid token"

    def __init__(self, detail: str | None = None) -> None:
        self.reason = detail or self.reason_text
        super().__init__(self.reason)


class MalformedToken(JwtError):
    """Not a compact JWS (three base64url segments with a JSON header), or too long."""

    reason_text = "malformed token"


class AlgorithmNotAllowed(JwtError):
    """The header's ``alg`` (``none`` included) is not in the allow-list, or does not fit the
    key it names (an RSA public key used as an HMAC secret: algorithm confusion)."""

    reason_text = "algorithm not allowed"


class UnknownKey(JwtError):
    """No key of the current key set has the token's ``kid`` (or, without a ``kid``, no
    single key fits its algorithm). A key rotated out is unknown from then on."""

    reason_text = "unknown signing key"


class BadSignature(JwtError):
    """The signature does not verify with the selected key."""

    reason_text = "bad signature"


class TokenExpired(JwtError):
    """``exp`` is past (beyond the leeway)."""

    reason_text = "token expired"


class TokenNotYetValid(JwtError):
    """``nbf`` (or ``iat``) is in the future (beyond the leeway)."""

    reason_text = "token not yet valid"


class InvalidClaim(JwtError):
    """A claim has the wrong value or type (``iss``, ``aud``, a custom claim)."""

    reason_text = "invalid claim"


class MissingClaim(JwtError):
    """A required claim is absent."""

    reason_text = "missing required claim"


class ValidatorUnavailable(JwtError):
    """No key is loaded yet, or the orchestrator's JWT service cannot be reached."""

    reason_text = "token validation unavailable"


class JwtConfigError(ConfigError):
    """The JWT configuration or key material is invalid (never quotes the key)."""

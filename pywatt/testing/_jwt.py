"""Tokens for tests, and the JWT middleware's keys replaced under a plain TestClient.

A module under test validates tokens with the keys in its secrets: serve it
:data:`TEST_JWT_KEY` as that secret and sign with :func:`jwt_token`. An app under a plain
Starlette/FastAPI ``TestClient`` or a Flask ``test_client`` runs outside any module, where
the middleware has only the config's literal keys (none, when they live in secrets: every
protected request is a 503). :func:`override_jwt` makes every JWT middleware outside a
module validate with the test key instead, keeping the config's claim checks::

    with override_jwt() as jwt, TestClient(app) as client:
        token = jwt.token({"sub": "alice"})
        reply = client.get("/me", headers={"Authorization": f"Bearer {token}"})
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

import attrs
from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.jwt import hold_test_key

__all__ = ["TEST_JWT_KEY", "JwtOverride", "jwt_token", "override_jwt"]

TEST_JWT_KEY: Final = "pywatt-testing-jwt-key-0123456789abcdef-not-a-secret"
"""The HMAC (HS256) key tests sign with by default. Known to everyone: never serve it
outside a test."""

DEFAULT_LIFETIME: Final = 3600.0


def jwt_token(
    claims: Mapping[str, Any] | None = None,
    *,
    key: str = TEST_JWT_KEY,
    lifetime: float = DEFAULT_LIFETIME,
    kid: str | None = None,
    **more_claims: Any,
) -> str:
    """A compact HS256 JWT signed with ``key`` carrying ``claims`` and ``more_claims``.

    ``iat`` (now) and ``exp`` (now + ``lifetime`` seconds) are added unless given; give
    ``iss`` / ``aud`` when the config checks them. ``kid`` goes in the header when set.
    Does not block.
    """
    now = int(time.time())
    payload: dict[str, Any] = {"iat": now, "exp": now + int(lifetime)}
    payload.update(claims or {})
    payload.update(more_claims)
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, payload, OctKey.import_key(key), algorithms=["HS256"])


@attrs.frozen
class JwtOverride:
    """The key in force while :func:`override_jwt` holds; :meth:`token` signs with it."""

    key: str

    def token(self, claims: Mapping[str, Any] | None = None, **more_claims: Any) -> str:
        """:func:`jwt_token` with this override's key."""
        return jwt_token(claims, key=self.key, **more_claims)


@contextmanager
def override_jwt(key: str = TEST_JWT_KEY) -> Iterator[JwtOverride]:
    """While inside, every JWT middleware (``create_jwt_middleware``, ASGI and WSGI) that
    runs outside a module validates with the HMAC ``key`` (HS256) instead of its configured
    keys; issuer, audience, required claims, leeway and ``claims_type`` are still checked as
    configured. A middleware inside a module is not affected (its ``pywatt.jwt`` actor has
    the module's keys). Process-wide, so it reaches a TestClient's worker thread; nests
    (the innermost key wins). Does not block.
    """
    if not key:
        raise ValueError("override_jwt needs a non-empty key")
    with hold_test_key(key):
        yield JwtOverride(key)

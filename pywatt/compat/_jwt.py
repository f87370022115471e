"""The reference SDK's standalone JWT helpers: ``JwtValidator`` (sync validation with the
literal key of a ``JwtConfig``, for code outside a module's request path) and
``create_jwt_token`` (sign claims with that key, for tests and tools)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from joserfc import jwt
from joserfc.jwk import OctKey

from pywatt.jwt import Claims, JwtConfig, JwtConfigError, KeyRing, TokenValidator, literal_keys

from ._state import JwtValidatorHandle, convert_claims

__all__ = ["JwtValidator", "create_jwt_token"]


class JwtValidator:
    """``JwtValidator(config, claims_type=None).validate_token(token)``: the claims as a
    dict (or ``claims_type``), checked with the config's ``secret_key`` / ``public_key``
    by pywatt's validator (algorithm allow-list, ``exp``/``nbf``, issuer, audience). Raises
    a :class:`~pywatt.jwt.JwtError` subclass (``JwtConfigError`` for a config without a
    key). Inside a module, prefer ``state.jwt_validator`` or the middleware, which use the
    module's keys and rotation."""

    def __init__(self, config: JwtConfig | Mapping[str, Any], claims_type: Any = None) -> None:
        self.config = JwtConfig.from_value(config)
        self.claims_type = claims_type if claims_type is not None else dict
        keys = literal_keys(self.config)
        if not keys:
            raise JwtConfigError("JwtValidator needs a secret_key or public_key in its config")
        self._validator = TokenValidator(self.config, KeyRing.of(keys))

    def validate_token(self, token: str) -> Any:
        raw = self._validator.validate(token)
        return convert_claims(Claims(raw), self.claims_type)

    extract_token_from_header = staticmethod(JwtValidatorHandle.extract_token_from_header)


def create_jwt_token(claims: Mapping[str, Any], config: JwtConfig | Mapping[str, Any]) -> str:
    """A token of ``claims`` signed with the config's ``secret_key`` (HS256)."""
    jwt_config = JwtConfig.from_value(config)
    if not jwt_config.secret_key or "HS256" not in jwt_config.algorithms:
        raise JwtConfigError("create_jwt_token signs with an HS256 secret_key only")
    key = OctKey.import_key(jwt_config.secret_key)
    return jwt.encode({"alg": "HS256"}, dict(claims), key)

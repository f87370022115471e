"""Minting test tokens with joserfc (and by hand where joserfc rightly refuses to)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

NOW = 1_800_000_000
"""The fixed clock of the tests (Unix seconds)."""

HS_SECRET = "hs256-test-secret-0123456789abcdef-not-for-production"
ISSUER = "https://issuer.example"
AUDIENCE = "pywatt-tests"

ALGS = ["HS256", "RS256", "ES256", "Ed25519"]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**overrides: Any) -> dict[str, Any]:
    """Valid claims at NOW; an override of None removes the claim."""
    base: dict[str, Any] = {
        "sub": "user-42",
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": NOW - 10,
        "nbf": NOW - 10,
        "exp": NOW + 300,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def mint(key: Any, alg: str, payload: dict[str, Any], *, kid: str | None = None) -> str:
    header: dict[str, Any] = {"alg": alg, "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return jwt.encode(header, payload, key, algorithms=[alg])


def mint_hmac_raw(secret: bytes, payload: dict[str, Any], *, kid: str | None = None) -> str:
    """An HS256 token signed by hand: how an attacker uses a public key as an HMAC secret."""
    header: dict[str, Any] = {"alg": "HS256", "typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def mint_hs256_text(payload: str, *, header: str | None = None, kid: str | None = None) -> str:
    """An HS256 token over raw JSON text, signed with HS_SECRET: for payloads json.dumps
    cannot write (3,000 nested arrays)."""
    if header is None:
        header = json.dumps({"alg": "HS256", "typ": "JWT", **({"kid": kid} if kid else {})})
    signing_input = f"{b64(header.encode())}.{b64(payload.encode())}"
    signature = hmac.new(HS_SECRET.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def unsigned(payload: dict[str, Any], *, alg: str = "none") -> str:
    header = {"alg": alg, "typ": "JWT"}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}."


def rsa_key(kid: str = "rsa-1") -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid})


def ec_key(kid: str = "ec-1") -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid})


def ed_key(kid: str = "ed-1") -> OKPKey:
    return OKPKey.generate_key("Ed25519", parameters={"kid": kid})


def oct_key(secret: str = HS_SECRET, kid: str | None = None) -> OctKey:
    params = {"kid": kid} if kid else None
    return OctKey.import_key(secret.encode(), parameters=params)


def jwks(*keys: Any, private: bool = False) -> str:
    """A JWKS document of ``keys`` (public parts unless ``private``)."""
    return json.dumps({"keys": [k.as_dict(private=private) for k in keys]})

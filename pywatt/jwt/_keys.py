"""Key material to verification keys, each bound to the one algorithm it may verify.

Binding every key to one algorithm by its type is what refuses algorithm confusion: an RSA
key verifies RS256 only, so a token that says HS256 and names it (or hopes to fall back to
it) is refused before any HMAC is computed with the public key as a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import attrs
from joserfc import jwk
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OctKey, OKPKey, RSAKey

from pywatt.logs import redactor

from ._errors import JwtConfigError

Key = OctKey | RSAKey | ECKey | OKPKey

_PRIVATE_FIELDS = ("k", "d", "p", "q", "dp", "dq", "qi")


@attrs.frozen(repr=False)
class BoundKey:
    """A verification key, the algorithm it verifies, its ``kid`` and where it came from."""

    key: Key
    algorithm: str
    kid: str | None
    source: str

    def __repr__(self) -> str:
        return f"BoundKey(kid={self.kid!r}, algorithm={self.algorithm!r}, source={self.source!r})"


def algorithm_of(key: Key) -> str:
    """The one algorithm ``key`` may verify, from its type (and curve)."""
    if isinstance(key, OctKey):
        return "HS256"
    if isinstance(key, RSAKey):
        return "RS256"
    if isinstance(key, ECKey):
        curve = key.curve_name
        if curve != "P-256":
            raise JwtConfigError(f"EC keys must use P-256 for ES256, not {curve}")
        return "ES256"
    if isinstance(key, OKPKey):
        if key.curve_name != "Ed25519":
            raise JwtConfigError(f"OKP keys must use Ed25519, not {key.curve_name}")
        return "Ed25519"
    raise JwtConfigError(f"unsupported key type {type(key).__name__}")


def parse_keys(material: str, *, source: str, key_id: str | None = None) -> list[BoundKey]:
    """The keys in ``material``: a JWKS (``{"keys": [...]}``), one JWK, a PEM key, or the raw
    text of an HMAC secret. ``key_id`` names a PEM or raw key (a JWK's ``kid`` wins).

    The material is registered with the log redactor. Raises :class:`JwtConfigError` (naming
    ``source``, never quoting the material).
    """
    text = material.strip()
    if not text:
        raise JwtConfigError(f"{source}: the key material is empty")
    redactor.register(material, text)
    try:
        if text.startswith("{"):
            try:
                document = json.loads(text)
            except ValueError:
                raise JwtConfigError(f"{source}: the key material is not valid JSON") from None
            entries = document.get("keys") if isinstance(document, dict) else None
            if entries is None:
                entries = [document]
            if not isinstance(entries, list) or not entries:
                raise JwtConfigError(f"{source}: 'keys' must be a non-empty list of JWKs")
            return [_from_jwk(entry, source, key_id) for entry in entries]
        if text.startswith("-----BEGIN"):
            key = _import_pem(text, source)
            return [BoundKey(key, algorithm_of(key), key_id, source)]
        return [BoundKey(OctKey.import_key(material.encode()), "HS256", key_id, source)]
    except JoseError as exc:
        raise JwtConfigError(f"{source}: invalid key: {type(exc).__name__}") from None
    except (ValueError, TypeError) as exc:
        if isinstance(exc, JwtConfigError):
            raise
        raise JwtConfigError(f"{source}: invalid key: {type(exc).__name__}") from None


def _from_jwk(entry: Any, source: str, key_id: str | None) -> BoundKey:
    if not isinstance(entry, dict):
        raise JwtConfigError(f"{source}: every JWK must be a JSON object")
    redactor.register(*(str(entry[f]) for f in _PRIVATE_FIELDS if f in entry))
    key = jwk.import_key(entry)
    bound = algorithm_of(key)
    declared = entry.get("alg")
    if declared is not None and declared != bound:
        raise JwtConfigError(
            f"{source}: a {entry.get('kty')} key cannot be used for {declared!r} "
            f"(it verifies {bound} only)"
        )
    kid = entry.get("kid", key_id)
    return BoundKey(key, bound, kid, source)


def _import_pem(text: str, source: str) -> Key:
    data = text.encode()
    for cls in (RSAKey, ECKey, OKPKey):
        try:
            return cls.import_key(data)
        except (JoseError, ValueError, TypeError):
            continue
    raise JwtConfigError(f"{source}: the PEM is not an RSA, EC (P-256) or Ed25519 key")


@attrs.frozen
class KeyRing:
    """The current keys, found by ``kid`` (keys without a ``kid`` by algorithm)."""

    by_kid: dict[str, BoundKey]
    anonymous: dict[str, list[BoundKey]]

    @classmethod
    def of(cls, keys: Iterable[BoundKey]) -> KeyRing:
        by_kid: dict[str, BoundKey] = {}
        anonymous: dict[str, list[BoundKey]] = {}
        for key in keys:
            if key.kid is None:
                anonymous.setdefault(key.algorithm, []).append(key)
            else:
                by_kid[key.kid] = key
        return cls(by_kid, anonymous)

    def __len__(self) -> int:
        return len(self.by_kid) + sum(len(v) for v in self.anonymous.values())

    def kids(self) -> list[str]:
        return sorted(self.by_kid)

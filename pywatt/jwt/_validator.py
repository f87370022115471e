"""Validating one token: algorithm allow-list, key by ``kid``, signature, then claims.

:class:`TokenValidator` is plain, synchronous code (no actor, no I/O): the actor owns one and
swaps its key ring on rotation; the standalone middleware owns one too. The order matters:

1. shape and size (three base64url segments: a compact JWS; JWE and anything else refused);
2. the header's ``alg`` must be in the allow-list (``none`` never is);
3. the key is chosen by ``kid`` (an unknown ``kid`` is refused, never "try them all"), and
   the key's own algorithm must equal ``alg`` (no algorithm confusion);
4. joserfc verifies the signature with that key and that algorithm only;
5. claims: required ones present, ``exp``/``nbf``/``iat`` with leeway, ``iss``, ``aud``.

Steps 1 to 3 read the header, which an issuer's tokens share: a header segment that passed
them is remembered (16 of them per validator; a failure never is), so a fresh token costs the
payload, the signature and the claims. The parts are decoded with joserfc's own strict
base64url and checked against its registries, and joserfc's algorithm verifies the signature.

A token that passed all of that (from its second time on) is kept in a :class:`TokenCache`
(``JwtConfig.cache_size`` of them; see ``_cache.py``) until its ``exp``: validating it
again is a hash and a lookup. Replacing :attr:`TokenValidator.keys` empties the cache.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from joserfc.errors import (
    JoseError,
)
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64decode

from ._cache import TokenCache
from ._claim_rules import ClaimRules
from ._config import JwtConfig
from ._errors import (
    AlgorithmNotAllowed,
    BadSignature,
    JwtError,
    MalformedToken,
    UnknownKey,
    ValidatorUnavailable,
)
from ._keys import BoundKey, KeyRing

# One registry per algorithm (Ed25519 is not one of joserfc's "recommended" algorithms: it
# must be allowed explicitly); parsing alone uses one that allows all four.
_REGISTRIES = {alg: JWSRegistry(algorithms=[alg]) for alg in ("HS256", "RS256", "ES256", "Ed25519")}
_PARSE_REGISTRY = JWSRegistry(algorithms=list(_REGISTRIES))
_HEADERS_KEPT = 16
"""Header segments a validator remembers as checked (an issuer's tokens share one)."""


class TokenValidator:
    """Validates tokens against a :class:`JwtConfig` and the current :class:`KeyRing`.

    ``now`` returns the current Unix time (tests pass a fixed clock). ``validate`` returns
    the claims as a dict, or raises a :class:`JwtError` subclass saying why (never quoting
    the token). Thread-safe for concurrent ``validate`` calls; ``keys`` may be swapped at
    any time, which drops every cached token (``cache`` is None when ``cache_size`` is 0).
    """

    def __init__(
        self,
        config: JwtConfig,
        keys: KeyRing | None = None,
        *,
        now: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.cache = TokenCache(config.cache_size) if config.cache_size else None
        self._keys = keys or KeyRing.of(())
        self.allowed = frozenset(config.algorithms)
        self._now = now
        self._leeway = math.ceil(config.leeway)
        self._headers: dict[str, tuple[str, object]] = {}
        """Header segments that passed every header check: ``(alg, kid)`` (``_header``)."""
        self._claims = ClaimRules(
            required=config.required_claims,
            issuer=config.issuer,
            audience=config.audience,
            leeway=self._leeway,
            now=now,
        )

    @property
    def keys(self) -> KeyRing:
        """The verification keys. Setting them empties the cache of verified tokens."""
        return self._keys

    @keys.setter
    def keys(self, keys: KeyRing) -> None:
        self._keys = keys
        if self.cache is not None:
            self.cache.clear()

    def validate(self, token: str) -> dict[str, Any]:
        """The verified claims of ``token`` (a dict of the caller's own). Raises
        :class:`JwtError` (a subclass)."""
        if len(token) > self.config.max_token_size:
            raise MalformedToken(f"token longer than {self.config.max_token_size} bytes")
        cache = self.cache
        if cache is None:
            return self._verify(token)[0]
        claims = cache.answer(token, self._now, self._leeway)
        if claims is None:
            generation = cache.generation  # read before the keys: a rotation after it wins
            claims, payload = self._verify(token)
            cache.remember(token, claims, payload, generation, self._now)
        return claims

    def _verify(self, token: str) -> tuple[dict[str, Any], bytes]:
        """Every check of the module docstring: the claims and the payload they came from."""
        head, signing_input, payload, signature_segment = _split(token)
        alg, kid = self._header(head)
        key = self._select(kid, alg)
        registry = _REGISTRIES[alg]
        try:
            # The key's type fits the algorithm, and joserfc verifies the signature with that
            # key and that algorithm only.
            algorithm = registry.get_alg(alg)
            algorithm.check_key(key.key)
            try:
                signature = urlsafe_b64decode(signature_segment)
            except (TypeError, ValueError):
                verified = False
            else:
                verified = algorithm.verify(signing_input, signature, key.key)
        except JoseError as exc:
            raise MalformedToken(f"cannot verify: {type(exc).__name__}") from None
        except (ValueError, TypeError):
            raise MalformedToken() from None
        if not verified:
            raise BadSignature()
        try:
            claims = json.loads(payload)
        except ValueError:
            raise MalformedToken("the payload is not JSON") from None
        except RecursionError:
            # Signed, yet arrays or objects nested past the parser's depth: refused like any
            # other unreadable payload, never a crash of the validator's actor.
            raise MalformedToken("the payload nests too deeply") from None
        if not isinstance(claims, dict):
            raise MalformedToken("the payload is not a JSON object")
        self._claims.check(claims)
        return claims, payload

    def _header(self, head: str) -> tuple[str, object]:
        """``(alg, kid)`` of a token's header segment once it passed every header check: a
        JSON object, ``alg`` allowed, no ``crit``, its registered fields as joserfc's registry
        of that algorithm requires. The tokens of one issuer share their header, so a header
        that passed is remembered by its segment (a few of them; failures never): the key is
        still chosen anew for each token. Raises :class:`JwtError`."""
        known = self._headers.get(head)
        if known is not None:
            return known
        try:
            segment = head.encode("ascii")
            _PARSE_REGISTRY.validate_header_size(segment)
            header = json.loads(urlsafe_b64decode(segment))
        except (JoseError, ValueError, TypeError, RecursionError):
            raise MalformedToken("not a compact JWS with a JSON header") from None
        if not isinstance(header, dict):
            raise MalformedToken("the header is not a JSON object")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.allowed:
            raise AlgorithmNotAllowed(
                f"algorithm {alg[:16]!r} not allowed"
                if isinstance(alg, str)
                else "no algorithm in the header"
            )
        if "crit" in header:
            raise MalformedToken("critical header parameters are not supported")
        try:
            _REGISTRIES[alg].check_header(header)
        except JoseError as exc:
            raise MalformedToken(f"cannot verify: {type(exc).__name__}") from None
        except (ValueError, TypeError):
            raise MalformedToken() from None
        kid = header.get("kid")
        headers = self._headers
        if len(headers) >= _HEADERS_KEPT:
            headers.clear()
        headers[head] = (alg, kid)
        return alg, kid

    def _select(self, kid: object, alg: str) -> BoundKey:
        keys = self._keys
        if not keys.by_kid and not keys.anonymous:  # not len(keys): a sum over a generator
            raise ValidatorUnavailable("no verification key is loaded")
        if kid is not None:
            if not isinstance(kid, str):
                raise MalformedToken("'kid' must be a string")
            key = keys.by_kid.get(kid)
            if key is None:
                raise UnknownKey()
        else:
            candidates = keys.anonymous.get(alg, [])
            if len(candidates) != 1:
                # Without a kid only an unambiguous key without a kid of that algorithm fits.
                raise UnknownKey("no kid and no single key for its algorithm")
            key = candidates[0]
        if key.algorithm != alg:
            raise AlgorithmNotAllowed(f"the key verifies {key.algorithm}, not {alg}")
        return key


def _split(token: str) -> tuple[str, bytes, bytes, bytes]:
    """The parts of a compact JWS, not verified: the header's segment (checked by
    ``TokenValidator._header``), the signing input, the payload, and the signature's segment
    (decoded when it is checked, as joserfc does: one that does not decode is a bad
    signature). The payload is base64url-decoded as joserfc does (strict: no padding, no
    other alphabet, canonical last character), each segment within its registry's size.
    Raises :class:`MalformedToken`."""
    segments = token.split(".")
    if len(segments) != 3:
        raise MalformedToken(
            "encrypted tokens (JWE) are not accepted" if len(segments) == 5 else None
        )
    head, body, tail = segments
    try:
        signing_input = token[: len(head) + 1 + len(body)].encode("ascii")
        signature = tail.encode("ascii")
        registry = _PARSE_REGISTRY
        registry.validate_signature_size(signature)
        payload_segment = signing_input[len(head) + 1 :]
        registry.validate_payload_size(payload_segment)
        payload = urlsafe_b64decode(payload_segment)
    except (JoseError, ValueError, TypeError):
        raise MalformedToken("not a compact JWS with a JSON header") from None
    return head, signing_input, payload, signature


def describe(error: JwtError) -> str:
    """A log-safe one-line description of a refusal."""
    return f"{type(error).__name__}: {error.reason}"

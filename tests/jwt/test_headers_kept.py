"""A fresh token's header checks are remembered by its segment (an issuer's tokens share
one): what is remembered is the header's own verdict, never the key or a refusal, so every
check still holds for every token."""

from __future__ import annotations

import json

import pytest

from pywatt.jwt import (
    AlgorithmNotAllowed,
    BadSignature,
    JwtConfig,
    KeyRing,
    MalformedToken,
    TokenValidator,
    UnknownKey,
    parse_keys,
)

from .tokens import AUDIENCE, ISSUER, NOW, b64, claims, mint, oct_key

HS = oct_key(kid="hs-1")
OTHER = oct_key("another-secret-another-secret-another-0", kid="hs-2")
FORGER = oct_key("a-different-secret-a-different-secret-0", kid="hs-1")


def validator(*keys: object, cache_size: int = 0) -> TokenValidator:
    config = JwtConfig(
        key_secrets="JWT_KEYS", issuer=ISSUER, audience=AUDIENCE, cache_size=cache_size
    )
    return TokenValidator(config, _ring(*keys), now=lambda: NOW)


def _ring(*keys: object) -> KeyRing:
    text = json.dumps({"keys": [k.as_dict(private=True) for k in keys]})  # type: ignore[attr-defined]
    return KeyRing.of(parse_keys(text, source="test"))


def test_tokens_sharing_a_header_are_each_checked_in_full() -> None:
    v = validator(HS)
    good = [mint(HS, "HS256", claims(jti=str(n)), kid="hs-1") for n in range(3)]
    assert len({token.split(".")[0] for token in good}) == 1  # one header for all
    for token in good:
        assert v.validate(token)["sub"]
    forged = mint(FORGER, "HS256", claims(), kid="hs-1")  # the same header, a wrong key
    with pytest.raises(BadSignature):
        v.validate(forged)
    assert len(v._headers) == 1


def test_the_key_is_chosen_anew_after_a_rotation() -> None:
    v = validator(HS)
    token = mint(HS, "HS256", claims(), kid="hs-1")
    v.validate(token)
    v.keys = _ring(OTHER)  # hs-1 is gone: its remembered header does not bring it back
    with pytest.raises(UnknownKey):
        v.validate(token)
    v.keys = _ring(HS, OTHER)
    assert v.validate(token)["sub"]


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ({"alg": "none", "kid": "hs-1"}, AlgorithmNotAllowed),
        ({"alg": "HS256", "kid": "hs-1", "crit": ["exp"]}, MalformedToken),
        ({"alg": "HS256", "kid": "hs-1", "jku": 5}, MalformedToken),
        (["alg", "HS256"], MalformedToken),
    ],
)
def test_a_refused_header_is_refused_every_time_and_never_remembered(
    header: object, error: type[Exception]
) -> None:
    v = validator(HS)
    good = mint(HS, "HS256", claims(), kid="hs-1")
    _, body, signature = good.split(".")
    token = ".".join((b64(json.dumps(header).encode()), body, signature))
    for _ in range(2):
        with pytest.raises(error):
            v.validate(token)
    assert v._headers == {}

"""The JWT negative suite (every token here must be refused) and the positive cases."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import pytest

from pywatt.jwt import (
    AlgorithmNotAllowed,
    BadSignature,
    InvalidClaim,
    JwtConfig,
    JwtConfigError,
    JwtError,
    KeyRing,
    MalformedToken,
    MissingClaim,
    TokenExpired,
    TokenNotYetValid,
    TokenValidator,
    UnknownKey,
    parse_keys,
    structure_claims,
)

from .tokens import (
    AUDIENCE,
    HS_SECRET,
    ISSUER,
    NOW,
    b64,
    claims,
    ec_key,
    ed_key,
    jwks,
    mint,
    mint_hmac_raw,
    mint_hs256_text,
    oct_key,
    rsa_key,
    unsigned,
)

RSA = rsa_key("rsa-1")
RSA_OTHER = rsa_key("rsa-1")  # same kid, different key: a forged signature
EC = ec_key("ec-1")
ED = ed_key("ed-1")
HS = oct_key(kid="hs-1")


def validator(**options: Any) -> TokenValidator:
    config = JwtConfig(
        algorithms=options.pop("algorithms", ("HS256", "RS256", "ES256", "Ed25519")),
        key_secrets=("JWT_KEYS",),
        issuer=options.pop("issuer", ISSUER),
        audience=options.pop("audience", AUDIENCE),
        required_claims=options.pop("required_claims", ("exp", "sub")),
        leeway=options.pop("leeway", 30),
        max_token_size=options.pop("max_token_size", 8192),
    )
    material = jwks(RSA, EC, ED) if not options else options.pop("material")
    keys = parse_keys(material, source="test") + parse_keys(
        json.dumps(HS.as_dict(private=True)), source="test-hs"
    )
    return TokenValidator(config, KeyRing.of(keys), now=lambda: NOW)


def test_a_valid_token_of_each_algorithm_is_accepted() -> None:
    v = validator()
    for key, alg in ((HS, "HS256"), (RSA, "RS256"), (EC, "ES256"), (ED, "Ed25519")):
        got = v.validate(mint(key, alg, claims(), kid=key.kid))
        assert got["sub"] == "user-42", alg


NEGATIVE: dict[str, tuple[Callable[[], str], type[JwtError]]] = {
    "alg none": (lambda: unsigned(claims()), AlgorithmNotAllowed),
    "alg none with a kid": (
        lambda: unsigned(claims()).replace(
            unsigned(claims()).split(".")[0], b64(b'{"alg":"none","kid":"rsa-1"}')
        ),
        AlgorithmNotAllowed,
    ),
    "HS/RS confusion: RSA public key as the HMAC secret, kid of the RSA key": (
        lambda: mint_hmac_raw(RSA.as_pem(private=False), claims(), kid="rsa-1"),
        AlgorithmNotAllowed,
    ),
    "HS/RS confusion without a kid": (
        lambda: mint_hmac_raw(RSA.as_pem(private=False), claims()),
        UnknownKey,
    ),
    "expired": (lambda: mint(HS, "HS256", claims(exp=NOW - 31), kid="hs-1"), TokenExpired),
    "not yet valid": (
        lambda: mint(HS, "HS256", claims(nbf=NOW + 31), kid="hs-1"),
        TokenNotYetValid,
    ),
    "issued in the future": (
        lambda: mint(HS, "HS256", claims(iat=NOW + 3600), kid="hs-1"),
        TokenNotYetValid,
    ),
    "wrong issuer": (
        lambda: mint(RSA, "RS256", claims(iss="https://evil.example"), kid="rsa-1"),
        InvalidClaim,
    ),
    "missing issuer": (lambda: mint(RSA, "RS256", claims(iss=None), kid="rsa-1"), MissingClaim),
    "wrong audience": (
        lambda: mint(RSA, "RS256", claims(aud="someone-else"), kid="rsa-1"),
        InvalidClaim,
    ),
    "wrong audience list": (
        lambda: mint(RSA, "RS256", claims(aud=["a", "b"]), kid="rsa-1"),
        InvalidClaim,
    ),
    "bad signature (same kid, another key)": (
        lambda: mint(RSA_OTHER, "RS256", claims(), kid="rsa-1"),
        BadSignature,
    ),
    "bad signature (tampered payload)": (
        lambda: _tamper(mint(EC, "ES256", claims(), kid="ec-1")),
        BadSignature,
    ),
    "bad HMAC signature": (
        lambda: mint(
            oct_key("another-secret-of-enough-length-000000"), "HS256", claims(), kid="hs-1"
        ),
        BadSignature,
    ),
    "unknown kid": (
        lambda: mint(rsa_key("stranger"), "RS256", claims(), kid="stranger"),
        UnknownKey,
    ),
    "missing required claim (sub)": (
        lambda: mint(ED, "Ed25519", claims(sub=None), kid="ed-1"),
        MissingClaim,
    ),
    "missing exp": (lambda: mint(ED, "Ed25519", claims(exp=None), kid="ed-1"), MissingClaim),
    "algorithm outside the allow-list (HS384)": (
        lambda: mint(HS, "HS384", claims(), kid="hs-1"),
        AlgorithmNotAllowed,
    ),
    "kid of an EC key with alg RS256": (
        lambda: mint(RSA, "RS256", claims(), kid="ec-1"),
        AlgorithmNotAllowed,
    ),
    "not a JWS": (lambda: "not-a-token", MalformedToken),
    "JWE shape": (lambda: "a.b.c.d.e", MalformedToken),
    "garbage header": (lambda: "!!!.e30.sig", MalformedToken),
    "oversized": (lambda: "e" * 9000, MalformedToken),
}


def _tamper(token: str) -> str:
    head, payload, sig = token.split(".")
    forged = b64(json.dumps(claims(sub="admin")).encode())
    assert forged != payload
    return f"{head}.{forged}.{sig}"


@pytest.mark.parametrize("case", sorted(NEGATIVE))
def test_every_token_of_the_negative_suite_is_refused(case: str) -> None:
    make, expected = NEGATIVE[case]
    token = make()
    with pytest.raises(expected) as info:
        validator().validate(token)
    assert token not in str(info.value)
    assert token not in info.value.reason


NESTED = "[" * 3000 + "]" * 3000


def test_a_validly_signed_payload_nesting_3000_arrays_is_a_malformed_token() -> None:
    v = validator(max_token_size=16384)
    body = json.dumps(claims())[:-1] + f', "deep": {NESTED}}}'
    token = mint_hs256_text(body, kid="hs-1")
    assert len(token) <= v.config.max_token_size  # refused for its depth, not its size
    with pytest.raises(MalformedToken, match="nest"):
        v.validate(token)
    assert v.validate(mint(HS, "HS256", claims(), kid="hs-1"))["sub"] == "user-42"


def test_a_header_nesting_3000_arrays_is_a_malformed_token_before_any_key_is_tried() -> None:
    header = '{"alg":"HS256","kid":"hs-1","x":' + NESTED + "}"
    token = mint_hs256_text(json.dumps(claims()), header=header)
    with pytest.raises(MalformedToken):
        validator(max_token_size=16384).validate(token)


def test_a_token_signed_with_a_key_rotated_out_is_refused() -> None:
    old, new = rsa_key("2024"), rsa_key("2025")
    v = validator(material=jwks(old))
    token = mint(old, "RS256", claims(), kid="2024")
    assert v.validate(token)["sub"] == "user-42"
    v.keys = KeyRing.of(parse_keys(jwks(new), source="rotated"))
    with pytest.raises(UnknownKey):
        v.validate(token)
    assert v.validate(mint(new, "RS256", claims(), kid="2025"))["sub"] == "user-42"


def test_an_hmac_secret_rotated_out_no_longer_verifies_tokens_without_kid() -> None:
    config = JwtConfig(secret_key="old-secret-old-secret-old-secret-00", issuer=None)
    v = TokenValidator(
        config, KeyRing.of(parse_keys(config.secret_key or "", source="s")), now=lambda: NOW
    )
    token = mint(oct_key("old-secret-old-secret-old-secret-00"), "HS256", {"exp": NOW + 60})
    assert v.validate(token)["exp"] == NOW + 60
    v.keys = KeyRing.of(parse_keys("new-secret-new-secret-new-secret-11", source="s"))
    with pytest.raises(BadSignature):
        v.validate(token)


@pytest.mark.parametrize(
    ("change", "leeway"),
    [({"exp": NOW - 29}, 30), ({"nbf": NOW + 29}, 30), ({"iat": NOW + 29}, 30),
     ({"exp": NOW - 119}, 120)],
)  # fmt: skip
def test_clock_skew_within_the_leeway_is_accepted(change: dict[str, int], leeway: int) -> None:
    v = validator(leeway=leeway)
    assert v.validate(mint(HS, "HS256", claims(**change), kid="hs-1"))["sub"] == "user-42"


def test_a_token_past_the_leeway_is_refused_and_zero_leeway_is_exact() -> None:
    v = validator(leeway=0)
    with pytest.raises(TokenExpired):
        v.validate(mint(HS, "HS256", claims(exp=NOW), kid="hs-1"))
    assert v.validate(mint(HS, "HS256", claims(exp=NOW + 1), kid="hs-1"))


def test_any_configured_audience_in_an_audience_list_is_accepted() -> None:
    v = validator(audience=("other", AUDIENCE))
    assert v.validate(mint(HS, "HS256", claims(aud=["x", AUDIENCE]), kid="hs-1"))


def test_an_allow_list_without_the_tokens_algorithm_refuses_it() -> None:
    v = validator(algorithms=("RS256",))
    with pytest.raises(AlgorithmNotAllowed):
        v.validate(mint(HS, "HS256", claims(), kid="hs-1"))


@attrs.frozen
class UserClaims:
    sub: str
    roles: list[str]
    exp: int
    tenant: str = "default"


def test_custom_claims_are_typed_as_attrs_classes() -> None:
    raw = validator().validate(mint(HS, "HS256", claims(roles=["admin"]), kid="hs-1"))
    typed = structure_claims(raw, UserClaims)
    assert typed == UserClaims(sub="user-42", roles=["admin"], exp=NOW + 300)
    with pytest.raises(InvalidClaim, match="UserClaims"):
        structure_claims({"sub": "x", "exp": 1}, UserClaims)


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"algorithms": ("none",), "secret_key": "x" * 32}, "not allowed"),
        ({"algorithms": ("EdDSA",), "secret_key": "x" * 32}, "Ed25519"),
        ({"algorithms": ("HS512",), "secret_key": "x" * 32}, "not allowed"),
        ({"algorithms": ()}, "empty"),
        ({}, "no key"),
        ({"secret_key": "x" * 32, "claims_type": dict}, "attrs"),
        ({"secret_key": "x" * 32, "leeway": -1}, "leeway"),
    ],
)
def test_bad_configurations_are_refused_with_a_clear_error(
    options: dict[str, Any], match: str
) -> None:
    with pytest.raises(JwtConfigError, match=match):
        JwtConfig(**options)


def test_the_seed_dict_config_is_accepted_and_unknown_keys_are_named() -> None:
    config = JwtConfig.from_value({"secret_key": HS_SECRET, "algorithm": "HS256"})
    assert config.algorithms == ("HS256",)
    with pytest.raises(JwtConfigError, match="frobnicate"):
        JwtConfig.from_value({"secret_key": HS_SECRET, "frobnicate": 1})


def test_key_material_errors_never_quote_the_material() -> None:
    secret_json = '{"keys": [{"kty": "oct", "k": "c2VjcmV0LXZhbHVlLTEyMzQ1Njc4", "alg": "RS256"}]}'
    with pytest.raises(JwtConfigError) as info:
        parse_keys(secret_json, source="secret 'JWT_KEYS'")
    assert "c2VjcmV0" not in str(info.value)
    assert "JWT_KEYS" in str(info.value)
    with pytest.raises(JwtConfigError) as info:
        parse_keys('{"keys": [{"kty": "RSA", "n": "bad"}]}', source="s")

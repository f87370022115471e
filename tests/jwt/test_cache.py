"""The cache of verified tokens in the validator: hits, the time window, keys, the bound."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pywatt.jwt import (
    BadSignature,
    InvalidClaim,
    JwtConfig,
    JwtConfigError,
    KeyRing,
    MalformedToken,
    TokenExpired,
    TokenNotYetValid,
    TokenValidator,
    UnknownKey,
    parse_keys,
)
from pywatt.jwt._cache import TokenCache, token_digest

from .tokens import AUDIENCE, HS_SECRET, ISSUER, NOW, b64, claims, jwks, mint, oct_key, rsa_key

HS = oct_key(kid="hs-1")
FORGER = oct_key("a-different-secret-a-different-secret-0", kid="hs-1")


class Clock:
    """A clock the test moves by hand (Unix seconds)."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def validator(clock: Clock, **options: Any) -> TokenValidator:
    config = JwtConfig(
        key_secrets="JWT_KEYS",
        issuer=ISSUER,
        audience=AUDIENCE,
        leeway=options.pop("leeway", 30),
        cache_size=options.pop("cache_size", 100),
        **options,
    )
    keys = parse_keys(json.dumps(HS.as_dict(private=True)), source="test")
    return TokenValidator(config, KeyRing.of(keys), now=clock)


def cache_of(v: TokenValidator) -> TokenCache:
    assert v.cache is not None
    return v.cache


def cached(v: TokenValidator, token: str) -> dict[str, Any]:
    """Validate ``token`` twice: the first time it is only noted, the second it is kept."""
    v.validate(token)
    return v.validate(token)


def test_a_token_is_kept_from_its_second_validation_on() -> None:
    v = validator(Clock())
    token = mint(HS, "HS256", claims(), kid="hs-1")
    v.validate(token)
    assert len(cache_of(v)) == 0  # a one-off token costs no entry
    v.validate(token)
    assert len(cache_of(v)) == 1
    assert cache_of(v).hits == 0
    v.validate(token)
    assert cache_of(v).hits == 1


def test_a_repeated_token_is_answered_from_the_cache_with_the_same_claims() -> None:
    v = validator(Clock())
    token = mint(HS, "HS256", claims(roles=["reader"], team="red"), kid="hs-1")
    first = cached(v, token)
    second = v.validate(token)
    assert cache_of(v).hits == 1
    assert second == first == claims(roles=["reader"], team="red")
    # Each caller owns its claims: changing one answer changes neither the cache nor others.
    second["roles"].append("admin")
    second["sub"] = "mallory"
    third = v.validate(token)
    assert third == first
    assert third is not second
    assert third["roles"] is not second["roles"]
    assert cache_of(v).hits == 2


def test_flat_claims_are_copied_too() -> None:
    v = validator(Clock())
    token = mint(HS, "HS256", claims(), kid="hs-1")
    cached(v, token)
    answer = v.validate(token)  # parsed from the payload, then kept as a dict
    answer["sub"] = "mallory"
    answer = v.validate(token)  # copied from that dict
    answer["sub"] = "mallory"
    assert v.validate(token)["sub"] == "user-42"
    assert cache_of(v).hits == 3


def test_the_token_is_never_kept_only_its_hash_and_digest() -> None:
    v = validator(Clock())
    token = mint(HS, "HS256", claims(), kid="hs-1")
    cached(v, token)
    [(key, entry)] = cache_of(v)._entries.items()
    assert key == hash(token)
    assert entry[0] == token_digest(token)
    assert not any(isinstance(part, str) for part in entry)
    assert token.encode() not in entry
    assert token.split(".")[2].encode() not in repr(entry).encode()


def test_two_tokens_of_one_hash_never_answer_for_each_other() -> None:
    clock = Clock()
    v = validator(clock)
    real = mint(HS, "HS256", claims(), kid="hs-1")
    forged = mint(FORGER, "HS256", claims(), kid="hs-1")
    other = mint(HS, "HS256", claims(sub="someone-else"), kid="hs-1")
    cached(v, real)
    entries = cache_of(v)._entries
    # As if forged (then other) had the hash() of real: the digest in the entry differs.
    for token in (forged, other):
        entries[hash(token)] = entries[hash(real)]
        assert cache_of(v).answer(token, clock, 30) is None
    with pytest.raises(BadSignature):
        v.validate(forged)
    assert v.validate(other)["sub"] == "someone-else"


@pytest.mark.parametrize("leeway", [0, 30])
def test_a_token_that_expired_since_it_was_cached_is_refused(leeway: int) -> None:
    clock = Clock()
    v = validator(clock, leeway=leeway)
    token = mint(HS, "HS256", claims(exp=NOW + 5), kid="hs-1")
    cached(v, token)
    assert v.validate(token)["exp"] == NOW + 5
    assert cache_of(v).hits == 1
    # At exp the entry is past its window: the full check judges, with the leeway.
    clock.now = NOW + 5
    if leeway:
        assert v.validate(token)["exp"] == NOW + 5
        assert len(cache_of(v)) == 0  # within the leeway, but never cached past exp
        clock.now = NOW + 5 + leeway
    with pytest.raises(TokenExpired):
        v.validate(token)
    assert len(cache_of(v)) == 0


@pytest.mark.parametrize(("nbf", "back_to"), [(NOW, NOW - 1), (NOW + 0.25, NOW + 0.5)])
def test_a_cached_token_is_refused_when_the_clock_goes_back_before_its_nbf(
    nbf: float, back_to: float
) -> None:
    # The full check compares nbf with int(now) + leeway: NOW + 0.25 > int(NOW + 0.5).
    clock = Clock(NOW + 5)
    v = validator(clock, leeway=0)
    token = mint(HS, "HS256", claims(nbf=nbf, iat=NOW - 10), kid="hs-1")
    cached(v, token)
    v.validate(token)
    assert cache_of(v).hits == 1
    clock.now = back_to
    with pytest.raises(TokenNotYetValid):
        v.validate(token)


def test_new_keys_empty_the_cache_and_a_cached_token_of_the_old_key_is_refused() -> None:
    v = validator(Clock())
    token = mint(HS, "HS256", claims(), kid="hs-1")
    cached(v, token)
    v.validate(token)
    assert cache_of(v).hits == 1
    generation = cache_of(v).generation
    # The same kid, another secret: only emptying the cache refuses the cached token.
    v.keys = KeyRing.of(parse_keys(json.dumps(FORGER.as_dict(private=True)), source="new"))
    assert len(cache_of(v)) == 0
    assert cache_of(v).generation == generation + 1
    with pytest.raises(BadSignature):
        v.validate(token)
    v.keys = KeyRing.of(parse_keys(jwks(rsa_key("rsa-1")), source="newer"))
    with pytest.raises(UnknownKey):
        v.validate(token)


def test_a_result_verified_before_a_key_change_is_never_answered_after_it() -> None:
    clock = Clock()
    v = validator(clock)
    token = mint(HS, "HS256", claims(), kid="hs-1")
    cache = cache_of(v)
    v.validate(token)  # noted: the next validation keeps it
    generation = cache.generation
    got = v.validate(token)
    cache._entries.clear()  # as if that validation had not kept its result yet
    # A validation verified with the old keys, then the keys change (another thread)
    # before it keeps its result: the result is kept, but never answered.
    v.keys = KeyRing.of(parse_keys(json.dumps(FORGER.as_dict(private=True)), source="new"))
    cache.remember(token, got, json.dumps(got).encode(), generation, clock)
    assert len(cache) == 1
    assert cache.answer(token, clock, 30) is None
    with pytest.raises(BadSignature):
        v.validate(token)


def test_a_forged_token_with_the_same_claims_is_refused_after_the_real_one_is_cached() -> None:
    v = validator(Clock())
    payload = claims()
    real = mint(HS, "HS256", payload, kid="hs-1")
    cached(v, real)
    forged = mint(FORGER, "HS256", payload, kid="hs-1")
    assert forged.rsplit(".", 1)[0] == real.rsplit(".", 1)[0]
    head, _, signature = real.split(".")
    tampered = f"{head}.{b64(json.dumps({**payload, 'sub': 'root'}).encode())}.{signature}"
    for bad in (forged, forged, tampered, tampered):
        with pytest.raises(BadSignature):
            v.validate(bad)
    assert len(cache_of(v)) == 1


def test_refusals_are_never_cached() -> None:
    clock = Clock()
    v = validator(clock, leeway=0)
    refused = {
        mint(HS, "HS256", claims(nbf=NOW + 10), kid="hs-1"): TokenNotYetValid,
        mint(HS, "HS256", claims(aud="someone-else"), kid="hs-1"): InvalidClaim,
        mint(HS, "HS256", claims(iss="https://evil.example"), kid="hs-1"): InvalidClaim,
        mint(HS, "HS256", claims(exp=NOW - 1), kid="hs-1"): TokenExpired,
        mint(HS, "HS256", claims(), kid="hs-1")[:-2]: BadSignature,
        "not.a-token": MalformedToken,
    }
    for _ in range(2):
        for token, error in refused.items():
            with pytest.raises(error):
                v.validate(token)
    assert len(cache_of(v)) == 0
    assert cache_of(v).hits == 0
    # Not a cached refusal: once its nbf is reached the same token is accepted.
    clock.now = NOW + 10
    assert v.validate(next(iter(refused)))["nbf"] == NOW + 10


def test_a_token_without_exp_is_validated_each_time_and_not_cached() -> None:
    config = JwtConfig(secret_key=HS_SECRET, required_claims=())
    v = TokenValidator(config, KeyRing.of(parse_keys(HS_SECRET, source="s")), now=Clock())
    token = mint(oct_key(), "HS256", {"sub": "forever"})
    assert v.validate(token) == v.validate(token) == v.validate(token) == {"sub": "forever"}
    assert len(cache_of(v)) == 0


def test_the_cache_holds_at_most_its_size_and_evicts_the_least_recently_used() -> None:
    v = validator(Clock(), cache_size=3)
    tokens = [mint(HS, "HS256", claims(sub=f"user-{i}"), kid="hs-1") for i in range(10)]
    for token in tokens:
        cached(v, token)
        assert len(cache_of(v)) <= 3
    assert len(cache_of(v)) == 3
    assert set(cache_of(v)._entries) == {hash(t) for t in tokens[-3:]}
    v.validate(tokens[7])  # a hit: now the most recently used, so tokens[8] goes next
    cached(v, tokens[0])
    assert set(cache_of(v)._entries) == {hash(t) for t in (tokens[9], tokens[7], tokens[0])}


def test_a_cache_size_of_zero_turns_the_cache_off() -> None:
    v = validator(Clock(), cache_size=0)
    token = mint(HS, "HS256", claims(), kid="hs-1")
    assert v.cache is None
    assert v.validate(token) == v.validate(token)


@pytest.mark.parametrize("size", [-1, 1.5, True, "100"])
def test_a_bad_cache_size_is_a_config_error(size: Any) -> None:
    with pytest.raises(JwtConfigError, match="cache_size"):
        JwtConfig(secret_key=HS_SECRET, cache_size=size)


def test_the_seed_dict_takes_cache_size() -> None:
    assert JwtConfig.from_value({"secret_key": HS_SECRET, "cache_size": 5}).cache_size == 5
    assert JwtConfig(secret_key=HS_SECRET).cache_size == 10_000

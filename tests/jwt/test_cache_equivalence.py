"""With the cache on or off, the validator gives the same answers: the same claims, or the
same refusal for the same reason, over random tokens, mutations, clock jumps (both ways)
and key rotations."""

from __future__ import annotations

import json
from typing import Any

import attrs
import hypothesis.strategies as st
from hypothesis import HealthCheck, event, given, settings

from pywatt.jwt import JwtConfig, JwtError, KeyRing, TokenValidator, parse_keys

from .tokens import AUDIENCE, ISSUER, NOW, b64, jwks, mint, oct_key, rsa_key, unsigned

HS = oct_key(kid="hs-1")
FORGER = oct_key("a-different-secret-a-different-secret-0", kid="hs-1")
ROTATED = oct_key("the-rotated-secret-the-rotated-secret-1", kid="hs-1")
RSA = rsa_key("rsa-1")
VALID_SIGNERS = [(HS, "HS256"), (ROTATED, "HS256"), (RSA, "RS256")]  # valid under a ring
SIGNERS = [*VALID_SIGNERS, (FORGER, "HS256")]
RINGS = [
    KeyRing.of(parse_keys(jwks(HS, RSA, private=True), source="a")),
    KeyRing.of(parse_keys(jwks(ROTATED, RSA, private=True), source="b")),
]
MUTATIONS = ["none", "flip", "truncate", "swap_payload", "alg_none", "no_signature"]
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_."


@st.composite
def tokens(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    """Mostly tokens that are valid for a while (so the cache answers), else anything;
    with the claims they were made of (whose times the clock then jumps near)."""
    valid = draw(st.integers(0, 3)) < 3  # 0, the simplest, is valid
    payload: dict[str, Any] = {"sub": draw(st.sampled_from(["a", "b"])), "iss": ISSUER}
    payload["aud"] = (
        draw(st.sampled_from([AUDIENCE, ["x", AUDIENCE]]))
        if valid
        else draw(st.sampled_from([AUDIENCE, "other", ["x"]]))
    )
    for name, span in (("exp", (0, 90)), ("nbf", (-45, 5)), ("iat", (-45, 5))):
        offset = draw(st.integers(*span) if valid else st.one_of(st.none(), st.integers(-45, 45)))
        if offset is not None:  # NumericDates may have fractions
            payload[name] = NOW + offset + draw(st.sampled_from([0, 0, 0.25]))
    if draw(st.booleans()):
        payload["roles"] = ["reader", {"team": "red"}]
    key, alg = draw(st.sampled_from(VALID_SIGNERS if valid else SIGNERS))
    return _mutated(draw, mint(key, alg, payload, kid=key.kid), payload, valid), payload


def _mutated(draw: st.DrawFn, token: str, payload: dict[str, Any], valid: bool) -> str:
    mutation = "none" if valid else draw(st.sampled_from(MUTATIONS))
    at = draw(st.integers(0, len(token) - 1))
    if mutation == "flip":
        char = draw(st.sampled_from(ALPHABET.replace(token[at], "")))
        return token[:at] + char + token[at + 1 :]
    if mutation == "truncate":
        return token[:at]
    head, _, signature = token.split(".")
    if mutation == "swap_payload":
        forged = {**payload, "sub": "root"}
        return f"{head}.{b64(json.dumps(forged).encode())}.{signature}"
    if mutation == "alg_none":
        return unsigned(payload)
    if mutation == "no_signature":
        return token.rsplit(".", 1)[0] + "."
    return token


def outcome(validator: TokenValidator, token: str) -> tuple[Any, ...]:
    try:
        return ("accepted", validator.validate(token))
    except JwtError as exc:
        return (type(exc).__name__, exc.reason)


# An operation: (kind, index, anchor, leeways, seconds); kind 11 (one time in twelve) rotates
# to ring ``index % 2``, any other validates the pool's token ``index`` with the clock at
# the anchor (NOW, or that token's exp, nbf or iat: where the boundaries are) plus
# ``leeways`` times the leeway plus ``seconds``.
operations = st.tuples(
    st.integers(0, 11),
    st.sampled_from([0, 0, 0, 1, 2, 3]),  # mostly the first token: a token is kept at its
    # second validation and answered from the third on
    st.sampled_from(["now", "now", "exp", "nbf", "iat"]),
    st.integers(-1, 1),
    st.one_of(st.sampled_from([-1.0, -0.5, 0.0, 0.5, 0.999]), st.floats(-40, 40)),
)


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(
    pool=st.lists(tokens(), min_size=1, max_size=4),
    ops=st.lists(operations, min_size=6, max_size=40),
    leeway=st.sampled_from([0, 5, 30]),
    required=st.sampled_from([(), ("exp",)]),
    size=st.sampled_from([1, 2, 100]),
)
def test_cache_on_and_off_give_the_same_answers(
    pool: list[tuple[str, dict[str, Any]]],
    ops: list[tuple[int, int, str, int, float]],
    leeway: int,
    required: tuple[str, ...],
    size: int,
) -> None:
    clock = [float(NOW)]
    config = JwtConfig(algorithms=("HS256", "RS256"), key_secrets="K", issuer=ISSUER,
                       audience=AUDIENCE, leeway=leeway, required_claims=required)  # fmt: skip
    cached = TokenValidator(_with_size(config, size), RINGS[0], now=lambda: clock[0])
    plain = TokenValidator(_with_size(config, 0), RINGS[0], now=lambda: clock[0])
    assert cached.cache is not None
    assert plain.cache is None
    for kind, index, anchor, leeways, seconds in ops:
        if kind == 11:
            cached.keys = plain.keys = RINGS[index % 2]
            continue
        token, payload = pool[index % len(pool)]
        clock[0] = payload.get(anchor, NOW) + leeways * leeway + seconds
        assert outcome(cached, token) == outcome(plain, token)
        assert len(cached.cache) <= size
    event(f"cache hits: {'some' if cached.cache.hits else 'none'}")


def _with_size(config: JwtConfig, size: int) -> JwtConfig:
    return attrs.evolve(config, cache_size=size)

"""``ClaimRules`` makes exactly the decisions of joserfc's ``JWTClaimsRegistry`` with the
options a ``JwtConfig`` sets, and raises the error the validator made of joserfc's: checked
against the registry itself on generated claims, configurations and clocks."""

from __future__ import annotations

import math
from typing import Any

import hypothesis.strategies as st
from hypothesis import given, settings
from joserfc import jwt
from joserfc.errors import ClaimError, ExpiredTokenError, InvalidClaimError, MissingClaimError

from pywatt.jwt import (
    InvalidClaim,
    JwtError,
    MissingClaim,
    TokenExpired,
    TokenNotYetValid,
)
from pywatt.jwt._claim_rules import ClaimRules

NOW = 1_800_000_000
NAMES = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti", "role", "x"]
AUDIENCES = ["api", "web"]
ISSUER = "https://issuer.example"


def joserfc_verdict(
    claims: dict[str, Any],
    required: tuple[str, ...],
    issuer: str | None,
    audience: tuple[str, ...],
    leeway: int,
    now: int,
) -> JwtError | None:
    """What the validator made of joserfc's registry (its code before ``ClaimRules``)."""
    options: dict[str, Any] = {name: {"essential": True} for name in required}
    if issuer is not None:
        options["iss"] = {"essential": True, "value": issuer}
    if audience:
        options["aud"] = {"essential": True, "values": list(audience)}
    registry = jwt.JWTClaimsRegistry(now=lambda: now, leeway=leeway, **options)
    try:
        registry.validate(claims)
    except ExpiredTokenError:
        return TokenExpired()
    except MissingClaimError as exc:
        return MissingClaim(f"missing required claim {exc.claim!r}")
    except InvalidClaimError as exc:
        if exc.claim in ("nbf", "iat") and "not yet" in str(exc.description).lower():
            return TokenNotYetValid()
        if exc.claim in ("nbf", "iat"):
            return TokenNotYetValid(f"invalid {exc.claim!r}")
        return InvalidClaim(f"invalid claim {exc.claim!r}")
    except ClaimError as exc:
        return InvalidClaim(f"invalid claim {exc.claim!r}")
    return None


def our_verdict(
    claims: dict[str, Any],
    required: tuple[str, ...],
    issuer: str | None,
    audience: tuple[str, ...],
    leeway: int,
    now: int,
) -> JwtError | None:
    rules = ClaimRules(
        required=required, issuer=issuer, audience=audience, leeway=leeway, now=lambda: now
    )
    try:
        rules.check(claims)
    except JwtError as exc:
        return exc
    return None


def _times() -> st.SearchStrategy[Any]:
    near = st.integers(NOW - 100, NOW + 100)
    return st.one_of(
        near,
        near.map(float),
        st.sampled_from([math.nan, math.inf, -math.inf, True, False, 10**30, -(10**30)]),
        st.text(max_size=3),
        st.none(),
    )


def _values(name: str) -> st.SearchStrategy[Any]:
    if name in ("exp", "nbf", "iat"):
        return _times()
    common: list[Any] = [None, "", [], {}, 0, 1.5, True, ISSUER, "other", *AUDIENCES]
    return st.one_of(
        st.sampled_from(common),
        st.lists(st.sampled_from([*AUDIENCES, "other", "", 1, None]), max_size=3),
        st.text(max_size=4),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    )


@st.composite
def cases(
    draw: st.DrawFn,
) -> tuple[dict[str, Any], tuple[str, ...], str | None, tuple[str, ...], int, int]:
    names = draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=len(NAMES)))
    claims = {name: draw(_values(name)) for name in names}
    required = tuple(draw(st.lists(st.sampled_from(NAMES), unique=True, max_size=3)))
    issuer = draw(st.sampled_from([None, ISSUER]))
    audience = tuple(draw(st.lists(st.sampled_from(AUDIENCES), unique=True, max_size=2)))
    leeway = draw(st.sampled_from([0, 30]))
    now = draw(st.integers(NOW - 60, NOW + 60))
    return claims, required, issuer, audience, leeway, now


@settings(max_examples=1000, deadline=None)
@given(cases())
def test_the_same_verdict_as_joserfcs_registry(
    case: tuple[dict[str, Any], tuple[str, ...], str | None, tuple[str, ...], int, int],
) -> None:
    theirs, ours = joserfc_verdict(*case), our_verdict(*case)
    assert (type(ours), str(ours)) == (type(theirs), str(theirs))


def test_valid_claims_pass_and_each_rule_is_applied() -> None:
    good = {"iss": ISSUER, "sub": "u", "aud": ["x", "api"], "exp": NOW + 10, "nbf": NOW,
            "iat": NOW}  # fmt: skip
    args = (("exp", "sub"), ISSUER, ("api",), 0, NOW)
    assert our_verdict(good, *args) is None
    assert isinstance(our_verdict({**good, "exp": NOW}, *args), TokenExpired)
    assert isinstance(our_verdict({**good, "nbf": NOW + 1}, *args), TokenNotYetValid)
    assert isinstance(our_verdict({**good, "aud": "web"}, *args), InvalidClaim)
    assert isinstance(our_verdict({**good, "iss": "x"}, *args), InvalidClaim)
    assert isinstance(our_verdict({**good, "sub": ""}, *args), InvalidClaim)
    assert isinstance(our_verdict({**good, "exp": math.nan}, *args), InvalidClaim)
    missing = our_verdict({k: v for k, v in good.items() if k != "exp"}, *args)
    assert isinstance(missing, MissingClaim)

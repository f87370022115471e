"""The claim checks of a validator, as joserfc's ``JWTClaimsRegistry`` makes them.

:class:`ClaimRules` applies exactly the rules of joserfc's registry for the options a
:class:`~pywatt.jwt.JwtConfig` sets (required claims, ``iss`` and ``aud`` with their
values, ``exp``/``nbf``/``iat`` with leeway), in the same order, and raises the error the
validator has always made of joserfc's: ``tests/jwt/test_claim_rules.py`` checks both
against each other on generated claims. It exists for speed alone: the registry is generic
(a method found by name for every claim, each claim's options looked up, the set of
essential claims rebuilt and the clock read for each time claim, on every token), which
cost a fresh token more than a third of its validation.

The rules, claim by claim in the token's order (the first broken one is reported):

* a required claim absent or ``null``: :class:`MissingClaim` (all of them named, sorted);
* ``iss``, ``sub``, ``jti`` must be strings, ``aud`` a string or a list of strings;
* ``exp``, ``nbf``, ``iat`` must be numbers (not booleans, finite); ``exp`` at or before
  now minus the leeway is :class:`TokenExpired`; ``nbf`` or ``iat`` after now plus the
  leeway is :class:`TokenNotYetValid`;
* a claim with options (required, ``iss``, ``aud``) may not be blank (``""``, ``[]``,
  ``{}``); ``iss`` must equal the issuer; ``aud`` must be one of the audiences, or as a list
  hold one of them.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Iterable
from typing import Any

from ._errors import InvalidClaim, MissingClaim, TokenExpired, TokenNotYetValid

__all__ = ["ClaimRules"]

_STRINGS = frozenset({"iss", "sub", "jti"})
_TIMES = frozenset({"exp", "nbf", "iat"})


def _numeric(value: object) -> bool:
    """A NumericDate as joserfc accepts one: an int or a finite float, never a bool."""
    kind = type(value)
    if kind is int:
        return True
    if kind is float:
        return math.isfinite(value)  # type: ignore[arg-type]
    if kind is bool:
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


class ClaimRules:
    """The claim checks for one configuration (see the module docstring). ``now`` is the
    clock (Unix seconds), read once per token."""

    __slots__ = ("_audience", "_essential", "_issuer", "_leeway", "_now", "_options")

    def __init__(
        self,
        *,
        required: Iterable[str],
        issuer: str | None,
        audience: Collection[str],
        leeway: int,
        now: Callable[[], float],
    ) -> None:
        options = set(required)
        if issuer is not None:
            options.add("iss")
        if audience:
            options.add("aud")
        self._options = frozenset(options)
        self._essential = tuple(sorted(options))
        self._issuer = issuer
        self._audience = list(audience) if audience else None
        self._leeway = leeway
        self._now = now

    def check(self, claims: dict[str, Any]) -> None:
        """Raise the error of the first rule ``claims`` breaks; return if none."""
        missed = [name for name in self._essential if claims.get(name) is None]
        if missed:
            raise MissingClaim(f"missing required claim {','.join(missed)!r}")
        now = int(self._now())
        leeway = self._leeway
        options = self._options
        for name, value in claims.items():
            if name in _TIMES:
                if not _numeric(value):
                    if name == "exp":
                        raise InvalidClaim("invalid claim 'exp'")
                    raise TokenNotYetValid(f"invalid {name!r}")
                if name == "exp":
                    if value <= now - leeway:
                        raise TokenExpired()
                elif value > now + leeway:
                    if name == "nbf":
                        raise TokenNotYetValid()
                    raise TokenNotYetValid("invalid 'iat'")
            elif name in _STRINGS:
                if not isinstance(value, str):
                    raise InvalidClaim(f"invalid claim {name!r}")
                if name in options:
                    self._value(name, value)
            elif name == "aud":
                if not (
                    isinstance(value, str)
                    or (isinstance(value, list) and all(isinstance(v, str) for v in value))
                ):
                    raise InvalidClaim("invalid claim 'aud'")
                if name in options:
                    self._value(name, value)
            elif name in options:
                self._value(name, value)

    def _value(self, name: str, value: Any) -> None:
        """joserfc's ``check_value`` for a claim with options."""
        if value in (None, "", [], {}):
            raise InvalidClaim(f"invalid claim {name!r}")
        if name == "aud" and self._audience is not None:
            if isinstance(value, list):
                if not any(v in value for v in self._audience):
                    raise InvalidClaim("invalid claim 'aud'")
            elif value not in self._audience:
                raise InvalidClaim("invalid claim 'aud'")
        elif name == "iss" and self._issuer is not None and value != self._issuer:
            raise InvalidClaim("invalid claim 'iss'")  # a string: checked before

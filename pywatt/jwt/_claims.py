"""Validated claims as objects: the registered claims as attributes, custom ones typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import attrs
import cattrs

from ._errors import InvalidClaim

T = TypeVar("T")

_REGISTERED = ("sub", "iss", "aud", "exp", "nbf", "iat", "jti")
_converter = cattrs.Converter(forbid_extra_keys=False)


@attrs.frozen
class Claims:
    """The claims of a validated token.

    The registered claims are attributes (``claims.sub``, ``claims.exp``, ...; None when
    absent); every claim, registered or not, is in ``raw`` and reachable as ``claims["k"]``.
    ``typed`` holds the claims converted to the configured ``claims_type`` (or None).
    """

    raw: Mapping[str, Any]
    typed: Any = None

    @property
    def sub(self) -> str | None:
        return self.raw.get("sub")

    @property
    def iss(self) -> str | None:
        return self.raw.get("iss")

    @property
    def aud(self) -> str | list[str] | None:
        return self.raw.get("aud")

    @property
    def exp(self) -> int | float | None:
        return self.raw.get("exp")

    @property
    def nbf(self) -> int | float | None:
        return self.raw.get("nbf")

    @property
    def iat(self) -> int | float | None:
        return self.raw.get("iat")

    @property
    def jti(self) -> str | None:
        return self.raw.get("jti")

    def __getitem__(self, name: str) -> Any:
        return self.raw[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.raw.get(name, default)

    def custom(self) -> dict[str, Any]:
        """The claims that are not registered JWT claims."""
        return {k: v for k, v in self.raw.items() if k not in _REGISTERED}


JwtClaims = Claims
"""The seed's name for :class:`Claims` (``claims = extract_jwt_claims(request, "fastapi")``)."""


def make_claims(raw: dict[str, Any], claims_type: type[Any] | None) -> Claims:
    """Wrap validated claims; convert them to ``claims_type`` (an attrs class) when given.

    Raises :class:`InvalidClaim` naming the class and the fields that do not fit.
    """
    typed = None
    if claims_type is not None:
        typed = structure_claims(raw, claims_type)
    return Claims(raw, typed)


def structure_claims(raw: Mapping[str, Any], claims_type: type[T]) -> T:
    """``raw`` as an instance of the attrs class ``claims_type``; extra claims are ignored.

    Raises :class:`InvalidClaim` (naming fields, never values).
    """
    try:
        return _converter.structure(dict(raw), claims_type)
    except cattrs.ClassValidationError as exc:
        # transform_error names the paths and expected types (``... @ $.roles``), no values.
        problems = "; ".join(cattrs.transform_error(exc, path="claims"))
        raise InvalidClaim(f"claims do not fit {claims_type.__name__}: {problems}") from None
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidClaim(
            f"claims do not fit {claims_type.__name__} ({type(exc).__name__})"
        ) from None

"""JWT validation options: the algorithm allow-list, where keys come from, which claims."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import attrs

from ._errors import JwtConfigError

ALLOWED_ALGORITHMS = frozenset({"HS256", "RS256", "ES256", "Ed25519"})
"""The only algorithms pywatt validates. ``none`` and every other one are always refused."""


def _algorithms(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = (value,)
    algorithms = tuple(value)
    if not algorithms:
        raise JwtConfigError("the algorithm allow-list is empty")
    for alg in algorithms:
        if alg == "EdDSA":
            raise JwtConfigError("use 'Ed25519' instead of the deprecated 'EdDSA'")
        if alg not in ALLOWED_ALGORITHMS:
            raise JwtConfigError(
                f"algorithm {alg!r} is not allowed (choose from {sorted(ALLOWED_ALGORITHMS)})"
            )
    return algorithms


def _audience(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _names(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


@attrs.frozen(kw_only=True)
class JwtConfig:
    """How tokens are validated.

    * ``algorithms``: the allow-list, a subset of HS256, RS256, ES256, Ed25519 (``algorithm``
      is accepted as the seed's single-algorithm spelling).
    * Keys: ``key_secrets`` names secrets (fetched from ``pywatt.secrets`` and re-read when
      they rotate) whose values are a JWKS (``{"keys": [...]}``), one JWK, a PEM key, or the
      raw text of an HMAC secret; ``secret_key`` / ``public_key`` are literal key material
      (the seed's ``secret_key``), for modules that do not keep keys in secrets. ``key_id``
      names the key of a PEM or raw secret (otherwise it matches tokens without ``kid``).
    * Claims: ``issuer`` and ``audience`` (any one of them must be in ``aud``) are required
      and checked when set; ``required_claims`` must be present (``exp`` by default);
      ``exp``, ``nbf`` and ``iat`` are checked whenever present, with ``leeway`` seconds.
    * ``claims_type``: an attrs class the claims are converted to (typed custom claims).
    * ``validation``: ``"local"`` (keys in this module) or ``"proxy"`` (each token is
      validated by the orchestrator's JWT service, docs/protocol.md §13; ``proxy_config`` is sent
      as its ``{"config": {...}}``).
    * ``max_token_size``: longer tokens are refused unread.
    """

    algorithms: tuple[str, ...] = attrs.field(default=("HS256",), converter=_algorithms)
    key_secrets: tuple[str, ...] = attrs.field(default=(), converter=_names)
    secret_key: str | None = attrs.field(default=None, repr=False)
    public_key: str | None = attrs.field(default=None, repr=False)
    key_id: str | None = None
    issuer: str | None = None
    audience: tuple[str, ...] = attrs.field(default=(), converter=_audience)
    required_claims: tuple[str, ...] = attrs.field(default=("exp",), converter=_names)
    leeway: float = 30.0
    claims_type: type[Any] | None = None
    validation: Literal["local", "proxy"] = "local"
    proxy_config: Mapping[str, str] = attrs.field(factory=dict)
    max_token_size: int = 8192

    def __attrs_post_init__(self) -> None:
        if self.leeway < 0:
            raise JwtConfigError(f"leeway must not be negative, not {self.leeway}")
        if self.validation not in ("local", "proxy"):
            raise JwtConfigError(f"validation must be 'local' or 'proxy', not {self.validation!r}")
        if self.validation == "local" and not (
            self.key_secrets or self.secret_key or self.public_key
        ):
            raise JwtConfigError(
                "no key: give key_secrets (names of secrets holding keys), secret_key or "
                "public_key, or use validation='proxy'"
            )
        if self.claims_type is not None and not attrs.has(self.claims_type):
            raise JwtConfigError("claims_type must be an attrs class")

    @classmethod
    def from_value(cls, value: JwtConfig | Mapping[str, Any]) -> JwtConfig:
        """A config from itself or from the seed's ``jwt_config`` dict (``secret_key``,
        ``algorithm``, ``issuer``, ``audience``, ``leeway``, ...). Raises
        :class:`JwtConfigError` naming an unknown key."""
        if isinstance(value, JwtConfig):
            return value
        options = dict(value)
        if "algorithm" in options:
            if "algorithms" in options:
                raise JwtConfigError("give 'algorithm' or 'algorithms', not both")
            options["algorithms"] = options.pop("algorithm")
        if "key_secret" in options:
            options["key_secrets"] = options.pop("key_secret")
        for old, new in (("verify_aud", None), ("verify_exp", None)):
            if old in options and new is None:
                raise JwtConfigError(
                    f"{old} is not an option: claims are always verified when configured"
                )
        known = set(attrs.fields_dict(cls))
        unknown = sorted(set(options) - known)
        if unknown:
            raise JwtConfigError(f"unknown jwt_config key(s): {', '.join(unknown)}")
        return cls(**options)

"""JWT validation options: the algorithm allow-list, where keys come from, which claims.

A ``jwt_config`` dict is read as data (:class:`JwtSettings`, structured by pywatt's one
config converter: each key of its type, an unknown key named with the allowed ones and a
did-you-mean), then checked as a whole by :class:`JwtConfig`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import attrs

from pywatt._config import CONVERTER, Invalid, aliases, structure_config

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


@attrs.frozen(kw_only=True, init=False)
class JwtConfig:
    """How tokens are validated.

    * ``algorithms``: the allow-list, a subset of HS256, RS256, ES256, Ed25519 (``algorithm``
      is accepted as the seed's single-algorithm spelling: ``JwtConfig(secret_key=...,
      algorithm="HS256")``).
    * Keys: ``key_secrets`` names secrets (fetched from ``pywatt.secrets`` and re-read when
      they rotate) whose values are a JWKS (``{"keys": [...]}``), one JWK, a PEM key, or the
      raw text of an HMAC secret; ``secret_key`` / ``public_key`` are literal key material
      (the seed's ``secret_key``), for modules that do not keep keys in secrets. ``key_id``
      names the key of a PEM or raw secret (otherwise it matches tokens without ``kid``).
    * Claims: ``issuer`` and ``audience`` (any one of them must be in ``aud``) are required
      and checked when set; ``required_claims`` must be present (``exp`` by default);
      ``exp``, ``nbf`` and ``iat`` are checked whenever present, with ``leeway`` seconds.
      The reference SDK's ``verify_exp`` / ``verify_aud`` / ``verify_iss`` are taken where
      they agree with that (``verify_exp=True``; ``verify_aud=True`` with an ``audience``;
      ``verify_aud=False`` without one); a combination pywatt would not honour is a
      :class:`JwtConfigError` saying what to pass instead.
    * ``claims_type``: an attrs class the claims are converted to (typed custom claims).
    * ``validation``: ``"local"`` (keys in this module) or ``"proxy"`` (each token is
      validated by the orchestrator's JWT service, docs/protocol.md §13; ``proxy_config`` is sent
      as its ``{"config": {...}}``).
    * ``max_token_size``: longer tokens are refused unread.
    * ``cache_size``: how many verified tokens are remembered until their ``exp`` (LRU; 0
      turns the cache off). Local validation only; see docs/http-and-jwt.md.
    """

    algorithms: tuple[str, ...] = attrs.field(converter=_algorithms)
    key_secrets: tuple[str, ...] = attrs.field(converter=_names)
    secret_key: str | None = attrs.field(repr=False)
    public_key: str | None = attrs.field(repr=False)
    key_id: str | None
    issuer: str | None
    audience: tuple[str, ...] = attrs.field(converter=_audience)
    required_claims: tuple[str, ...] = attrs.field(converter=_names)
    leeway: float
    claims_type: type[Any] | None
    validation: Literal["local", "proxy"]
    proxy_config: Mapping[str, str]
    max_token_size: int
    cache_size: int

    def __init__(
        self,
        *,
        algorithms: str | Iterable[str] | None = None,
        algorithm: str | None = None,
        key_secrets: str | Iterable[str] = (),
        secret_key: str | None = None,
        public_key: str | None = None,
        key_id: str | None = None,
        issuer: str | None = None,
        audience: str | Iterable[str] | None = None,
        required_claims: str | Iterable[str] = ("exp",),
        leeway: float = 30.0,
        claims_type: type[Any] | None = None,
        validation: Literal["local", "proxy"] = "local",
        proxy_config: Mapping[str, str] | None = None,
        max_token_size: int = 8192,
        cache_size: int = 10_000,
        verify_exp: bool = True,
        verify_aud: bool | None = None,
        verify_iss: bool | None = None,
    ) -> None:
        if algorithm is not None:
            if algorithms is not None:
                raise JwtConfigError("give 'algorithm' or 'algorithms', not both")
            algorithms = (algorithm,)
        _check_verify_flags(verify_exp, verify_aud, verify_iss, audience, issuer)
        self.__attrs_init__(
            algorithms=("HS256",) if algorithms is None else algorithms,
            key_secrets=key_secrets,
            secret_key=secret_key,
            public_key=public_key,
            key_id=key_id,
            issuer=issuer,
            audience=audience,
            required_claims=required_claims,
            leeway=leeway,
            claims_type=claims_type,
            validation=validation,
            proxy_config=dict(proxy_config or {}),
            max_token_size=max_token_size,
            cache_size=cache_size,
        )

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
        if (
            isinstance(self.cache_size, bool)
            or not isinstance(self.cache_size, int)
            or self.cache_size < 0
        ):
            raise JwtConfigError(
                f"cache_size must be a whole number >= 0 (0: no cache), not {self.cache_size!r}"
            )
        if self.claims_type is not None and not attrs.has(self.claims_type):
            raise JwtConfigError("claims_type must be an attrs class")

    @classmethod
    def from_value(cls, value: JwtConfig | JwtSettings | Mapping[str, Any]) -> JwtConfig:
        """A config from itself, from :class:`JwtSettings`, or from the seed's ``jwt_config``
        dict (``secret_key``, ``algorithm``, ``issuer``, ``audience``, ``leeway``, ...).
        Raises :class:`JwtConfigError` of one line naming the key (and the allowed keys, for
        an unknown one) or what does not fit together."""
        if isinstance(value, JwtConfig):
            return value
        return cls(**attrs.asdict(jwt_settings(value), recurse=False))


Names = str | tuple[str, ...]
"""One name, or several (``"HS256"`` or ``["HS256", "RS256"]``)."""


def _structure_names(value: object, kind: object) -> Names | None:
    if value is None and kind == Names | None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if not isinstance(item, str):
                raise Invalid(f"must be a name or a list of names (item {index} is {item!r})")
        return tuple(value)
    raise Invalid(f"must be a name or a list of names, not {type(value).__name__}")


def _structure_validation(value: object, _: object) -> str:
    if value in ("local", "proxy"):
        return str(value)
    raise Invalid(f"must be 'local' or 'proxy', not {value!r}")


CONVERTER.register_structure_hook_func(lambda t: t in (Names, Names | None), _structure_names)
CONVERTER.register_structure_hook_func(
    lambda t: t == Literal["local", "proxy"], _structure_validation
)


@attrs.frozen(kw_only=True)
class JwtSettings:
    """A ``jwt_config`` dict as data: the keys :class:`JwtConfig` takes (the seed's
    ``algorithm``, ``key_secret`` and ``verify_*`` spellings included), each of its type.
    What the keys mean together (an allowed algorithm, a key to validate with) is checked by
    :class:`JwtConfig`."""

    algorithms: Names | None = None
    algorithm: str | None = None
    key_secrets: Names = attrs.field(default=(), metadata=aliases("key_secret"))
    secret_key: str | None = attrs.field(default=None, repr=False)
    public_key: str | None = attrs.field(default=None, repr=False)
    key_id: str | None = None
    issuer: str | None = None
    audience: Names | None = None
    required_claims: Names = ("exp",)
    leeway: float = 30.0
    claims_type: Any = None
    validation: Literal["local", "proxy"] = "local"
    proxy_config: dict[str, str] = attrs.field(factory=dict)
    max_token_size: int = 8192
    cache_size: int = 10_000
    verify_exp: bool = True
    verify_aud: bool | None = None
    verify_iss: bool | None = None


def jwt_settings(value: JwtSettings | Mapping[str, Any]) -> JwtSettings:
    """``jwt_config`` read as :class:`JwtSettings`. Raises :class:`JwtConfigError` of one
    line: ``jwt_config['leeway'] must be a number, not 'ten'``, or an unknown key with the
    allowed ones and a did-you-mean."""
    settings: JwtSettings = structure_config(
        value, JwtSettings, root="jwt_config", error=JwtConfigError
    )
    return settings


def _check_verify_flags(
    verify_exp: bool,
    verify_aud: bool | None,
    verify_iss: bool | None,
    audience: object,
    issuer: object,
) -> None:
    """The reference SDK's switches, taken where they mean what pywatt does anyway."""
    if not verify_exp:
        raise JwtConfigError(
            "verify_exp=False is not supported: pywatt checks exp whenever a token has one; "
            "pass required_claims=() to also accept tokens without exp"
        )
    for flag, value, name in ((verify_aud, audience, "audience"), (verify_iss, issuer, "issuer")):
        given = value is not None and value != () and value != []
        if flag is True and not given:
            raise JwtConfigError(
                f"verify_{name[:3]}=True needs the {name} to check: pass {name}=..."
            )
        if flag is False and given:
            raise JwtConfigError(
                f"verify_{name[:3]}=False with an {name}: pywatt checks the {name} whenever "
                f"one is given; leave {name} out instead"
            )

"""The embedded orchestrator's JWT service (docs/protocol.md §13, service type ``Jwt``).

A module's ``service_request`` (``{"config": {...}}``, a map of strings) opens a connection
whose validation options come from that map:

* ``key_secrets``: comma-separated names of secrets in the orchestrator's store holding the
  keys (a JWKS, one JWK, a PEM, or an HMAC secret's text); the module must be allowed to
  read them (the manifest's ``secrets``), exactly as if it fetched them. Default
  ``JWT_SECRET``.
* ``algorithms`` (comma-separated; default ``HS256``), ``issuer``, ``audience``
  (comma-separated), ``required_claims`` (comma-separated; default ``exp``), ``leeway``
  (seconds; default 30), ``key_id``.

Operations: ``validate`` ``{"token"}`` answers the claims object; ``generate``
``{"claims"}`` answers a token signed with the first key that can sign (an HMAC secret or a
private JWK) using the first allowed algorithm that key fits; ``close`` ``{}`` forgets the
connection. Keys are read from the store on every operation, so a rotation of the key
secret takes effect at once (the parsed key set is cached by its material). A refused token
is ``success: false`` with ``"<ErrorType>: <reason>"``, which the module side
(:mod:`pywatt.jwt._proxy`) turns back into the same :class:`~pywatt.jwt.JwtError`. Neither
tokens nor keys ever appear in an error or a log line.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any, Final

import attrs
from joserfc import jwt
from joserfc.errors import JoseError

from pywatt.jwt import (
    BoundKey,
    JwtConfig,
    JwtConfigError,
    JwtError,
    KeyRing,
    TokenValidator,
    comma_names,
    jwt_service_request,
    parse_keys,
)
from pywatt.wire import ServiceOperation, ServiceRequest

from .._errors import SecretNotFound
from ..secrets import STORE_NAME, FetchSecret
from ._host import ServiceError, ServiceHost

__all__ = ["handle_jwt"]

log = logging.getLogger(__name__)

_STATE: Final = "jwt"
_DEFAULT_SECRET: Final = "JWT_SECRET"
_MAX_CACHED: Final = 64


@attrs.frozen
class _Connection:
    module_id: str
    config: JwtConfig


@attrs.define
class _JwtState:
    connections: dict[str, _Connection] = attrs.Factory(dict)
    rings: dict[tuple[str, ...], list[BoundKey]] = attrs.Factory(dict)


def config_from_request(options: Any) -> JwtConfig:
    """The validation config a module asked for (see the module docstring).

    Raises :class:`ServiceError` naming what is wrong.
    """
    try:
        asked = jwt_service_request(options).config
    except JwtConfigError as exc:
        raise ServiceError(str(exc)) from None
    try:
        leeway = float("30" if asked.leeway is None else asked.leeway)
    except ValueError:
        raise ServiceError("leeway must be a number of seconds") from None
    try:
        return JwtConfig(
            key_secrets=comma_names(asked.key_secrets) or (_DEFAULT_SECRET,),
            algorithms=comma_names(asked.algorithms) or ("HS256",),
            issuer=asked.issuer or None,
            audience=comma_names(asked.audience),
            required_claims=comma_names(asked.required_claims or "exp"),
            leeway=leeway,
            key_id=asked.key_id or None,
            cache_size=0,  # a validator per operation (keys re-read each time): nothing to keep
        )
    except JwtConfigError as exc:
        raise ServiceError(f"invalid Jwt config: {exc}") from None


async def handle_jwt(
    host: ServiceHost, module_id: str, message: ServiceRequest | ServiceOperation
) -> Any:
    """The ``Jwt`` service handler (the signature of ``_service_proxy``)."""
    state: _JwtState = host.state.setdefault(_STATE, _JwtState())
    if isinstance(message, ServiceRequest):
        config = config_from_request(message.config)
        await _keys(host, state, module_id, config)  # fail now if the keys are not readable
        connection_id = f"jwt-{uuid.uuid4()}"
        state.connections[connection_id] = _Connection(module_id, config)

        async def forget() -> None:
            for cid in [c for c, conn in state.connections.items() if conn.module_id == module_id]:
                del state.connections[cid]

        host.on_module_gone(module_id, forget)
        return connection_id
    connection = state.connections.get(message.connection_id)
    if connection is None or connection.module_id != module_id:
        raise ServiceError(f"no Jwt connection {message.connection_id!r}")
    params = message.params if isinstance(message.params, dict) else {}
    if message.operation == "close":
        del state.connections[message.connection_id]
        return None
    keys = await _keys(host, state, module_id, connection.config)
    if message.operation == "validate":
        token = params.get("token")
        if not isinstance(token, str):
            raise ServiceError('validate needs {"token": string}')
        try:
            return TokenValidator(connection.config, KeyRing.of(keys)).validate(token)
        except JwtError as exc:
            raise ServiceError(f"{type(exc).__name__}: {exc.reason}") from None
    if message.operation == "generate":
        claims = params.get("claims")
        if not isinstance(claims, dict):
            raise ServiceError('generate needs {"claims": object}')
        return _sign(connection.config, keys, claims)
    raise ServiceError(f"unknown Jwt operation {message.operation!r}")


async def _keys(
    host: ServiceHost, state: _JwtState, module_id: str, config: JwtConfig
) -> list[BoundKey]:
    """The current keys of ``config``'s key secrets, as the module may read them."""
    materials: list[str] = []
    for name in config.key_secrets:
        try:
            materials.append(await host.system.ask(STORE_NAME, FetchSecret(module_id, name)))
        except SecretNotFound as exc:
            raise ServiceError(f"JWT key secret {name!r}: {exc.reason}") from None
    cache_key = (*config.key_secrets, *materials, config.key_id or "")
    keys = state.rings.get(cache_key)
    if keys is None:
        keys = []
        try:
            for name, material in zip(config.key_secrets, materials, strict=True):
                keys += parse_keys(material, source=f"secret {name!r}", key_id=config.key_id)
        except JwtConfigError as exc:
            raise ServiceError(str(exc)) from None
        if len(state.rings) >= _MAX_CACHED:
            state.rings.clear()
        state.rings[cache_key] = keys
    return keys


def _sign(config: JwtConfig, keys: list[BoundKey], claims: dict[str, Any]) -> str:
    for bound in keys:
        if bound.algorithm not in config.algorithms or not bound.key.is_private:
            continue
        header: dict[str, Any] = {"alg": bound.algorithm, "typ": "JWT"}
        if bound.kid is not None:
            header["kid"] = bound.kid
        try:
            return jwt.encode(header, claims, bound.key, algorithms=[bound.algorithm])
        except (JoseError, ValueError, TypeError) as exc:
            raise ServiceError(f"cannot sign: {type(exc).__name__}") from None
    raise ServiceError("no signing key: the key secrets hold public keys only")

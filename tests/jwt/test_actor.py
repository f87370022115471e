"""The ``pywatt.jwt`` actor with a real secrets actor: keys from secrets, rotation by kid."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import attrs
import pytest
import trio

import actors
from pywatt.jwt import (
    JWT_ACTOR,
    BadSignature,
    Claims,
    InvalidClaim,
    JwtConfig,
    JwtValidatorActor,
    KeyInfo,
    KeyStatus,
    MalformedToken,
    TokenExpired,
    UnknownKey,
    ValidateToken,
    ValidatorUnavailable,
    validate_jwt_token,
)
from pywatt.secrets import PROVIDER, SECRETS, MemoryProvider, SecretsActor, SetSecret

from .tokens import AUDIENCE, ISSUER, NOW, claims, jwks, mint, mint_hs256_text, oct_key, rsa_key

OLD = rsa_key("k-2024")
NEW = rsa_key("k-2025")


@asynccontextmanager
async def jwt_system(
    config: JwtConfig, secrets: dict[str, str]
) -> AsyncIterator[actors.ActorSystem]:
    async with actors.open_actor_system() as system:
        await system.spawn(
            lambda: MemoryProvider(secrets), name="pywatt.secrets.memory", protocol=PROVIDER
        )
        await system.spawn(
            lambda: SecretsActor(["pywatt.secrets.memory"], link=None),
            name="pywatt.secrets",
            protocol=SECRETS,
        )
        await system.spawn(lambda: JwtValidatorActor(config, now=lambda: NOW), name=JWT_ACTOR)
        yield system


CONFIG = JwtConfig(
    algorithms=("RS256",), key_secrets=("JWT_KEYS",), issuer=ISSUER, audience=AUDIENCE
)


async def test_the_actor_validates_with_keys_from_a_secret() -> None:
    async with jwt_system(CONFIG, {"JWT_KEYS": jwks(OLD)}) as system:
        got = await validate_jwt_token(system, mint(OLD, "RS256", claims(), kid="k-2024"))
        assert isinstance(got, Claims)
        assert got.sub == "user-42"
        assert got["aud"] == AUDIENCE
        with pytest.raises(TokenExpired):
            await system.ask(JWT_ACTOR, ValidateToken(mint(OLD, "RS256", claims(exp=NOW - 99),
                                                            kid="k-2024")))  # fmt: skip
        # A refusal is an answer: the actor keeps running.
        info = await system.ask(JWT_ACTOR, KeyStatus())
        assert info == KeyInfo(kids=("k-2024",), count=1, generation=1)


async def test_a_deeply_nested_signed_payload_is_refused_and_the_actor_keeps_running() -> None:
    config = JwtConfig(algorithms=("HS256",), key_secrets=("JWT_KEYS",), issuer=ISSUER,
                       audience=AUDIENCE, max_token_size=16384)  # fmt: skip
    secret = jwks(oct_key(kid="hs"), private=True)
    crashes: list[object] = []
    async with jwt_system(config, {"JWT_KEYS": secret}) as system:
        system.events.subscribe(
            lambda e: crashes.append(e) if type(e).__name__ == "Crashed" else None
        )
        nested = "[" * 3000 + "]" * 3000
        deep = mint_hs256_text(json.dumps(claims())[:-1] + f', "deep": {nested}}}', kid="hs")
        with pytest.raises(MalformedToken):
            await validate_jwt_token(system, deep)
        good = await validate_jwt_token(
            system, mint(oct_key(kid="hs"), "HS256", claims(), kid="hs")
        )
        assert good.sub == "user-42"
    assert crashes == []


async def test_a_rotation_of_the_key_secret_retires_the_old_key() -> None:
    async with jwt_system(CONFIG, {"JWT_KEYS": jwks(OLD)}) as system:
        old_token = mint(OLD, "RS256", claims(), kid="k-2024")
        assert (await validate_jwt_token(system, old_token)).sub == "user-42"
        # Rotate to a set with both keys (overlap), then to the new key only.
        await system.ask("pywatt.secrets", SetSecret("JWT_KEYS", jwks(OLD, NEW)))
        await _wait_generation(system, 2)
        new_token = mint(NEW, "RS256", claims(), kid="k-2025")
        assert (await validate_jwt_token(system, new_token)).sub == "user-42"
        assert (await validate_jwt_token(system, old_token)).sub == "user-42"
        await system.ask("pywatt.secrets", SetSecret("JWT_KEYS", jwks(NEW)))
        await _wait_generation(system, 3)
        with pytest.raises(UnknownKey):
            await validate_jwt_token(system, old_token)
        assert (await validate_jwt_token(system, new_token)).sub == "user-42"


async def test_unusable_rotated_material_drops_the_keys_fail_closed() -> None:
    async with jwt_system(CONFIG, {"JWT_KEYS": jwks(OLD)}) as system:
        await system.ask("pywatt.secrets", SetSecret("JWT_KEYS", "{not json"))
        await _wait_generation(system, 2)
        with pytest.raises(ValidatorUnavailable):
            await validate_jwt_token(system, mint(OLD, "RS256", claims(), kid="k-2024"))


async def test_an_hmac_secret_from_secrets_rotates_too() -> None:
    config = JwtConfig(algorithms="HS256", key_secrets="JWT_SECRET")
    first, second = "first-secret-first-secret-first-00", "second-secret-second-secret-second-1"
    async with jwt_system(config, {"JWT_SECRET": first}) as system:
        from .tokens import oct_key

        token = mint(oct_key(first), "HS256", {"exp": NOW + 60, "sub": "a"})
        assert (await validate_jwt_token(system, token)).sub == "a"
        await system.ask("pywatt.secrets", SetSecret("JWT_SECRET", second))
        await _wait_generation(system, 2)
        with pytest.raises(BadSignature):
            await validate_jwt_token(system, token)


@attrs.frozen
class Member:
    sub: str
    team: str


async def test_claims_come_typed_when_a_claims_type_is_configured() -> None:
    config = attrs.evolve(CONFIG, claims_type=Member)
    async with jwt_system(config, {"JWT_KEYS": jwks(OLD)}) as system:
        got = await validate_jwt_token(system, mint(OLD, "RS256", claims(team="blue"),
                                                    kid="k-2024"))  # fmt: skip
        assert got.typed == Member(sub="user-42", team="blue")
        with pytest.raises(InvalidClaim, match="Member"):
            await validate_jwt_token(system, mint(OLD, "RS256", claims(), kid="k-2024"))


async def test_a_missing_key_secret_fails_the_start_clearly() -> None:
    async with jwt_system(CONFIG, {"JWT_KEYS": jwks(OLD)}) as system:
        other = attrs.evolve(CONFIG, key_secrets=("NOPE",))
        with pytest.raises(actors.StartFailed) as info:
            await system.spawn(lambda: JwtValidatorActor(other), name="jwt-2")
        assert "NOPE" in repr(info.value.__cause__)


async def test_without_a_validator_the_facade_says_so() -> None:
    async with actors.open_actor_system() as system:
        with pytest.raises(ValidatorUnavailable):
            await validate_jwt_token(system, "a.b.c")


async def _wait_generation(system: actors.ActorSystem, generation: int) -> None:
    with trio.fail_after(5):
        while (await system.ask(JWT_ACTOR, KeyStatus())).generation < generation:  # noqa: ASYNC110 (state of another actor)
            await trio.sleep(0.005)

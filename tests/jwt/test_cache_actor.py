"""The ``pywatt.jwt`` actor's cache with a real secrets actor and the real clock: rotations
empty it, a cached token refused once it expires, each caller its own claims."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
import trio

import actors
from pywatt.jwt import (
    JWT_ACTOR,
    BadSignature,
    JwtConfig,
    JwtValidatorActor,
    KeyStatus,
    TokenExpired,
    validate_jwt_token,
)
from pywatt.jwt._cache import TokenCache
from pywatt.secrets import PROVIDER, SECRETS, MemoryProvider, SecretsActor, SetSecret

from .tokens import NOW, claims, jwks, mint, oct_key, rsa_key

FIRST = "first-secret-first-secret-first-00"
SECOND = "second-secret-second-secret-second-1"


@asynccontextmanager
async def jwt_actor(
    config: JwtConfig, secrets: dict[str, str], *, now: float | None = NOW
) -> AsyncIterator[tuple[actors.ActorSystem, JwtValidatorActor]]:
    """A system with the memory secrets provider, the secrets actor and the JWT actor (at
    the fixed clock, or the real one with ``now=None``); yields the actor too."""
    actor = JwtValidatorActor(config) if now is None else JwtValidatorActor(config, now=lambda: now)
    async with actors.open_actor_system() as system:
        await system.spawn(
            lambda: MemoryProvider(secrets), name="pywatt.secrets.memory", protocol=PROVIDER
        )
        await system.spawn(
            lambda: SecretsActor(["pywatt.secrets.memory"], link=None),
            name="pywatt.secrets",
            protocol=SECRETS,
        )
        await system.spawn(lambda: actor, name=JWT_ACTOR)
        yield system, actor


def cache_of(actor: JwtValidatorActor) -> TokenCache:
    assert actor.validator.cache is not None
    return actor.validator.cache


async def rotate(system: actors.ActorSystem, name: str, value: str) -> None:
    before = (await system.ask(JWT_ACTOR, KeyStatus())).generation
    await system.ask("pywatt.secrets", SetSecret(name, value))
    with trio.fail_after(5):
        while (await system.ask(JWT_ACTOR, KeyStatus())).generation <= before:  # noqa: ASYNC110 (state of another actor)
            await trio.sleep(0.005)


async def test_a_rotated_hmac_secret_refuses_the_cached_token_of_the_old_one() -> None:
    config = JwtConfig(algorithms="HS256", key_secrets="JWT_SECRET")
    async with jwt_actor(config, {"JWT_SECRET": FIRST}) as (system, actor):
        token = mint(oct_key(FIRST), "HS256", {"exp": NOW + 60, "sub": "a"})
        for _ in range(3):  # noted, kept, answered from the cache
            assert (await validate_jwt_token(system, token)).sub == "a"
        assert cache_of(actor).hits == 1
        await rotate(system, "JWT_SECRET", SECOND)
        assert len(cache_of(actor)) == 0
        with pytest.raises(BadSignature):
            await validate_jwt_token(system, token)
        fresh = mint(oct_key(SECOND), "HS256", {"exp": NOW + 60, "sub": "b"})
        assert (await validate_jwt_token(system, fresh)).sub == "b"


async def test_a_new_jwks_with_the_same_kid_refuses_the_cached_token_of_the_old_key() -> None:
    old, new = rsa_key("k-1"), rsa_key("k-1")  # one kid, two keys: only the cache could err
    config = JwtConfig(algorithms="RS256", key_secrets="JWT_KEYS")
    async with jwt_actor(config, {"JWT_KEYS": jwks(old)}) as (system, actor):
        token = mint(old, "RS256", claims(), kid="k-1")
        for _ in range(3):
            await validate_jwt_token(system, token)
        assert cache_of(actor).hits == 1
        await rotate(system, "JWT_KEYS", jwks(new))
        with pytest.raises(BadSignature):
            await validate_jwt_token(system, token)
        assert (await validate_jwt_token(system, mint(new, "RS256", claims(), kid="k-1"))).sub


async def test_callers_get_claims_of_their_own() -> None:
    config = JwtConfig(algorithms="HS256", key_secrets="JWT_SECRET")
    async with jwt_actor(config, {"JWT_SECRET": FIRST}) as (system, actor):
        token = mint(oct_key(FIRST), "HS256", {"exp": NOW + 60, "sub": "a", "roles": ["r"]})
        answers = [await validate_jwt_token(system, token) for _ in range(2)]  # noted, kept
        for _ in range(2):  # answered from the cache
            answers.append(await validate_jwt_token(system, token))
            answers[-1].raw["roles"].append("admin")
        assert cache_of(actor).hits == 2
        assert (await validate_jwt_token(system, token))["roles"] == ["r"]
        assert answers[-1].raw is not answers[-2].raw


async def test_a_cached_token_is_refused_once_the_real_clock_passes_its_exp() -> None:
    config = JwtConfig(algorithms="HS256", key_secrets="JWT_SECRET", leeway=0)
    async with jwt_actor(config, {"JWT_SECRET": FIRST}, now=None) as (system, actor):
        exp = math.ceil(time.time() + 0.5)  # half a second to a second and a half away
        token = mint(oct_key(FIRST), "HS256", {"exp": exp, "sub": "a"})
        try:
            for _ in range(3):
                await validate_jwt_token(system, token)
        except TokenExpired:
            pytest.skip("the machine was too slow to validate within the second")
        assert cache_of(actor).hits == 1
        with trio.fail_after(5):
            while time.time() < exp:  # noqa: ASYNC110 (waiting on the wall clock itself)
                await trio.sleep(exp - time.time())
        with pytest.raises(TokenExpired):
            await validate_jwt_token(system, token)
        assert len(cache_of(actor)) == 0

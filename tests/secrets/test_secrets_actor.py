"""The secrets actor on its own: provider chain, cache policy, versions, user providers."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
from pywatt.secrets import (
    PROVIDER,
    SECRETS,
    EnvProvider,
    FetchMode,
    GetSecret,
    MemoryProvider,
    ProvideSecret,
    RotationNotice,
    Secret,
    SecretCache,
    SecretNotFound,
    SecretRotated,
    SecretsActor,
    SecretsKept,
    SecretStatistics,
    SetSecret,
    Subscribe,
)


class CountingVault(actors.Actor[ProvideSecret]):
    """A user's own provider: answers from a dict and counts the questions."""

    reply_errors = (SecretNotFound,)

    def __init__(self, values: dict[str, str], asked: list[str]) -> None:
        self.values = values
        self.asked = asked

    async def receive(self, message: ProvideSecret) -> str:
        self.asked.append(message.name)
        if message.name not in self.values:
            raise SecretNotFound(message.name, "not in the vault")
        return self.values[message.name]


async def _system_with(
    system: actors.ActorSystem, vault: dict[str, str], asked: list[str], **secrets: Any
) -> actors.ActorRef[Any]:
    await system.spawn(MemoryProvider, name="pywatt.secrets.memory", protocol=PROVIDER)
    await system.spawn(
        lambda: EnvProvider(environ={"FROM_ENV": "env-value"}), name="env", protocol=PROVIDER
    )
    await system.spawn(lambda: CountingVault(vault, asked), name="vault", protocol=PROVIDER)
    return await system.spawn(
        lambda: SecretsActor(["pywatt.secrets.memory", "env", "vault"], link=None, **secrets),
        name="pywatt.secrets",
        protocol=SECRETS,
    )


async def test_the_chain_asks_providers_in_order_and_a_user_provider_plugs_in() -> None:
    asked: list[str] = []
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {"DB": "vault-db"}, asked)
        from_env = await secrets.ask(GetSecret("FROM_ENV"))
        from_vault = await secrets.ask(GetSecret("DB"))
        assert (from_env.value, from_env.source) == ("env-value", "env")
        assert (from_vault.value, from_vault.source) == ("vault-db", "vault")
        with pytest.raises(SecretNotFound, match="not in the vault"):
            await secrets.ask(GetSecret("NOWHERE"))
    assert asked == ["DB", "NOWHERE"]


async def test_a_provider_that_misses_the_protocol_is_refused() -> None:
    class NotAProvider(actors.Actor[SetSecret]):
        pass

    async with actors.open_actor_system() as system:
        with pytest.raises(actors.ProtocolMismatch, match="ProvideSecret"):
            await system.spawn(NotAProvider, name="bad", protocol=PROVIDER)


async def test_cached_values_are_served_without_asking_until_the_ttl_passes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    asked: list[str] = []
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {"K": "v1"}, asked, ttl=60.0)
        for _ in range(3):
            assert (await secrets.ask(GetSecret("K"))).value == "v1"
        assert asked == ["K"]
        await trio.sleep(61)
        await secrets.ask(GetSecret("K"))
        assert asked == ["K", "K"]
        await secrets.ask(GetSecret("K", FetchMode.FORCE_REMOTE))
        assert asked == ["K", "K", "K"]
        stats = await secrets.ask(SecretStatistics())
        assert (stats.hits, stats.expirations) == (2, 1)


async def test_cache_only_never_asks() -> None:
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {"K": "v"}, [])
        with pytest.raises(SecretNotFound, match="cache-only"):
            await secrets.ask(GetSecret("K", FetchMode.CACHE_ONLY))


async def test_concurrent_fetches_of_one_name_share_one_request() -> None:
    asked: list[str] = []
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {"K": "v"}, asked)
        results: list[str] = []

        async def get() -> None:
            results.append((await secrets.ask(GetSecret("K"))).value)

        async with trio.open_nursery() as nursery:
            for _ in range(5):
                nursery.start_soon(get)
    assert results == ["v"] * 5
    assert asked == ["K"]


async def test_set_secret_writes_memory_and_bumps_the_version_and_notifies() -> None:
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {}, [])
        send, receive = trio.open_memory_channel[SecretRotated](10)
        await secrets.ask(Subscribe(frozenset({"LOCAL"}), send))
        first = await secrets.ask(SetSecret("LOCAL", "one-value"))
        second = await secrets.ask(SetSecret("LOCAL", "two-value"))
        assert (first.version, second.version) == (1, 2)
        assert await system.ask("pywatt.secrets.memory", ProvideSecret("LOCAL")) == "two-value"
        with pytest.raises(SecretNotFound):  # a forced fetch skips the local memory provider
            await secrets.ask(GetSecret("LOCAL", FetchMode.FORCE_REMOTE))
        event = receive.receive_nowait()
        assert event.secret.value == "two-value"
        assert event.secret.version == 2


async def test_rotation_refetches_and_notifies_even_an_unchanged_value() -> None:
    asked: list[str] = []
    async with actors.open_actor_system() as system:
        secrets = await _system_with(system, {"K": "same"}, asked)
        send, receive = trio.open_memory_channel[SecretRotated](10)
        await secrets.ask(Subscribe(frozenset(), send))
        await secrets.ask(GetSecret("K"))
        await secrets.tell(RotationNotice(("K",), "rot-1"))
        with trio.fail_after(5):
            event = await receive.receive()
        assert event.secret.name == "K"
    assert asked == ["K", "K"]


def test_the_cache_evicts_the_least_recently_used_entry() -> None:
    cache = SecretCache(max_entries=2, ttl=None)
    for name in "abc":
        cache.put(Secret(name, f"value-{name}"), now=0.0)
        if name == "b":
            assert cache.get("a", now=0.0) is not None  # 'a' becomes the most recent
    assert "b" not in cache
    assert {"a", "c"} <= {n for n in "abc" if n in cache}
    assert cache.evictions == 1


def test_a_secret_never_shows_its_value_in_repr() -> None:
    secret = Secret("API_KEY", "s3cr3t-value", version=3)
    assert "s3cr3t-value" not in repr(secret)
    assert "[REDACTED]" in repr(secret)


async def test_a_subscriber_keeps_hearing_of_new_versions_after_the_secrets_actor_crashed() -> None:
    kept = SecretsKept()  # as the module wires it: with the name
    async with actors.open_actor_system() as system:
        await system.spawn(MemoryProvider, name="pywatt.secrets.memory", protocol=PROVIDER)
        secrets = await system.spawn(
            lambda: SecretsActor(["pywatt.secrets.memory"], link=None, kept=kept),
            name="pywatt.secrets",
            protocol=SECRETS,
        )
        send, receive = trio.open_memory_channel[SecretRotated](10)
        await secrets.ask(Subscribe(frozenset({"LOCAL"}), send))
        await secrets.ask(SetSecret("LOCAL", "value-0"))  # a first value: nothing changed
        for round_ in range(1, 4):  # a change heard, a crash, the next change heard
            await secrets.ask(SetSecret("LOCAL", f"value-{round_}"))
            with trio.fail_after(5):
                event = await receive.receive()
            assert (event.secret.value, event.secret.version) == (f"value-{round_}", round_ + 1)
            await actors.testing.crash(system, "pywatt.secrets")

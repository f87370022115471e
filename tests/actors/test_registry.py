"""The registry: per-system names, refs that survive restarts, waiting, and protocols."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio

import actors
from actors.testing import Crash, Crasher, Ping

from .messages import Add, Counter, Total


async def test_two_systems_in_one_process_never_collide() -> None:
    async with actors.open_actor_system() as one, actors.open_actor_system() as two:
        a = await one.spawn(Counter, name="counter")
        b = await two.spawn(Counter, name="counter")
        await a.tell(Add(1))
        await b.tell(Add(5))
        assert (await a.ask(Total()), await b.ask(Total())) == (1, 5)


async def test_duplicate_names_are_refused() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(Counter, name="counter")
        with pytest.raises(actors.DuplicateName, match="already registered as 'counter'"):
            await system.spawn(Counter, name="counter")


async def test_ref_to_an_unknown_name_raises_no_such_actor() -> None:
    async with actors.open_actor_system() as system:
        with pytest.raises(actors.NoSuchActor, match="'ghost'") as info:
            system.ref("ghost")
        assert isinstance(info.value, LookupError)


async def test_a_ref_by_name_survives_restarts() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Crasher, name="c")
        assert await ref.ask(Ping()) == 1
        await ref.tell(Crash())
        assert await ref.ask(Ping()) == 2
        await ref.tell(Crash())
        assert await ref.ask(Ping()) == 3


async def test_a_ref_follows_a_name_registered_again() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter")
        await ref.tell(Add(3))
        await system.stop("counter")
        await system.spawn(Counter, name="counter")
        assert await ref.ask(Total()) == 0  # the new actor


async def test_wait_for_waits_until_the_name_appears() -> None:
    async with actors.open_actor_system() as system:
        found: list[actors.ActorRef[Any]] = []

        async def waiter() -> None:
            found.append(await system.wait_for("late"))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(waiter)
            await trio.testing.wait_all_tasks_blocked()
            assert found == []
            await system.spawn(Counter, name="late")
        await found[0].tell(Add(2))
        assert await found[0].ask(Total()) == 2


@attrs.frozen
class Get(actors.Request[bytes | None]):
    key: str


@attrs.frozen
class Put(actors.Request[None]):
    key: str
    value: bytes


KV = actors.Protocol("kv", (Get, Put))


class DictStore(actors.Actor[Get | Put]):
    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    async def receive(self, message: Get | Put) -> bytes | None:
        if isinstance(message, Put):
            self.data[message.key] = message.value
            return None
        return self.data.get(message.key)


class GetOnly(actors.Actor[Get]):
    async def receive(self, message: Get) -> bytes | None:
        return None


async def test_a_protocol_name_refuses_an_actor_that_misses_its_messages() -> None:
    async with actors.open_actor_system() as system:
        system.declare("kv", KV)
        with pytest.raises(actors.ProtocolMismatch, match="protocol 'kv'; missing: Put"):
            await system.spawn(GetOnly, name="kv")
        with pytest.raises(actors.ProtocolMismatch):
            await system.spawn(GetOnly, name="kv2", protocol=KV)


async def test_a_user_provider_replaces_a_built_in_one_by_registration() -> None:
    class UpperStore(DictStore):  # a user's provider answering the same protocol
        async def receive(self, message: Get | Put) -> bytes | None:
            value = await super().receive(message)
            return value.upper() if value is not None else None

    async with actors.open_actor_system() as system:
        system.declare("kv", KV)
        await system.spawn(DictStore, name="kv")
        await system.ask("kv", Put("k", b"v"))
        assert await system.ask("kv", Get("k")) == b"v"
        await system.stop("kv")
        await system.spawn(UpperStore, name="kv")
        await system.ask("kv", Put("k", b"v"))
        assert await system.ask("kv", Get("k")) == b"V"


def test_an_actor_parameter_that_names_no_classes_needs_explicit_accepts() -> None:
    with pytest.raises(TypeError, match="set the 'accepts' class attribute"):

        class Odd(actors.Actor["NotAType"]):  # type: ignore[name-defined]
            pass


async def test_names_with_lists_the_live_names_carrying_a_protocol() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(DictStore, name="kv-a", protocol=KV)
        await system.spawn(DictStore, name="plain")
        await system.spawn(DictStore, name="kv-b", protocol=KV)
        assert system.registry.names_with(KV) == ["kv-a", "kv-b"]
        await system.stop("kv-a")
        assert system.registry.names_with(KV) == ["kv-b"]

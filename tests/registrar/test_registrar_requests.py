"""The registrar's requests on the channel: one in flight, each with its deadline (§10)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import attrs
import pytest
import trio
import trio.testing

import actors
from actors.testing import ProbeLog, settle, spawn_probe
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelDirectory,
    ChannelInbound,
    ChannelsActor,
    ChannelState,
    ConnectionStatus,
    NoChannel,
    SendFrame,
    Subscriptions,
)
from pywatt.registrar import Register, Registrar, RegistrationTimeout, Unregister
from pywatt.wire import (
    Capabilities,
    CapabilitiesResponse,
    ChannelType,
    ModuleInfo,
    RegisteredModule,
    RegistrationResponse,
)

CONN = "conn"
INFO = ModuleInfo(name="m", version="1", description="d")
MODULE = RegisteredModule(
    info=INFO, id=uuid.uuid4(), token="t", orchestrator_host="h", orchestrator_port=1
)
REGISTER = Register(INFO, Capabilities(endpoints=[]))


@attrs.define
class Rig:
    system: actors.ActorSystem
    sent: ProbeLog
    outcomes: list[object] = attrs.field(factory=list)
    """What each ask started by :meth:`ask_soon` returned or raised, in the order they ended."""

    def ask_soon(self, nursery: trio.Nursery, message: Any) -> None:
        nursery.start_soon(self._ask, message)

    async def _ask(self, message: Any) -> None:
        try:
            self.outcomes.append(await self.system.ask("pywatt.registrar", message))
        except Exception as exc:
            self.outcomes.append(exc)

    async def frames(self, count: int) -> None:
        await self.sent.expect(SendFrame, count)

    async def answer(self, message: Any) -> None:
        await self.system.tell("pywatt.registrar", ChannelInbound(CONN, message))


@asynccontextmanager
async def rig(*, connected: bool = True, deadline: float = 30.0) -> AsyncIterator[Rig]:
    directory = ChannelDirectory()
    if connected:
        state = ChannelState(CONN, ChannelType.TCP, "127.0.0.1:1", 0)
        state.set_status(ConnectionStatus.CONNECTED)
        directory.add(state)
    async with actors.open_actor_system() as system:
        _, sent = await spawn_probe(system, CONN)
        await system.spawn(lambda: ChannelsActor(directory, Subscriptions()), name=CHANNELS_ACTOR)
        await system.spawn(lambda: Registrar(deadline=deadline), name="pywatt.registrar")
        yield Rig(system, sent)


async def test_registration_then_capabilities_answer_the_asker_with_the_record(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, REGISTER)
            await r.frames(1)
            await r.answer(RegistrationResponse(success=True, module=MODULE))
            await r.frames(2)  # the capabilities request, on the same asker's behalf
            await r.answer(CapabilitiesResponse(success=True))
        assert r.outcomes == [MODULE]


async def test_an_unanswered_request_times_out_and_the_next_one_goes(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig(deadline=5.0) as r:
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, REGISTER)
            await r.frames(1)
            r.ask_soon(nursery, REGISTER)
            await settle()
            assert len(r.sent.messages) == 1  # one in flight, the other queued
            await r.frames(2)  # sent when the first one's deadline passed
            assert trio.current_time() - start == pytest.approx(5.0)
            assert len(r.outcomes) == 1
            await r.answer(RegistrationResponse(success=True, module=MODULE))
            await r.frames(3)
            await r.answer(CapabilitiesResponse(success=True))
        assert isinstance(r.outcomes[0], RegistrationTimeout)
        assert r.outcomes[0].what == "registration"
        assert r.outcomes[0].seconds == 5.0
        assert r.outcomes[1] == MODULE


async def test_a_reply_nobody_waits_for_is_dropped(autojump_clock: trio.testing.MockClock) -> None:
    async with rig(deadline=5.0) as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, REGISTER)
            await r.frames(1)
        await r.answer(RegistrationResponse(success=True, module=MODULE))  # too late
        await settle()
        assert len(r.sent.messages) == 1  # no capabilities request followed
        assert isinstance(r.outcomes[0], RegistrationTimeout)
        assert await r.system.ask("pywatt.registrar", Unregister()) is False


async def test_without_a_channel_the_request_fails_no_channel() -> None:
    async with rig(connected=False) as r:
        with pytest.raises(NoChannel):
            await r.system.ask("pywatt.registrar", REGISTER)


async def test_a_stop_fails_the_request_in_flight_and_those_queued(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with rig() as r:
        async with trio.open_nursery() as nursery:
            r.ask_soon(nursery, REGISTER)
            r.ask_soon(nursery, REGISTER)
            await r.frames(1)
            await settle()
            await r.system.stop("pywatt.registrar")
        assert [type(e) for e in r.outcomes] == [actors.ActorStopped, actors.ActorStopped]

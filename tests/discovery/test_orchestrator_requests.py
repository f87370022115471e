"""The orchestrator-backed discovery actor's requests: one in flight, each with the 30 s
deadline of §11, the next sent when one is answered or expires."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
from actors.testing import settle, spawn_probe
from pywatt.channels import (
    CHANNELS_ACTOR,
    ChannelDirectory,
    ChannelInbound,
    ChannelsActor,
    ChannelState,
    ConnectionStatus,
    SendFrame,
    Subscriptions,
)
from pywatt.discovery import (
    DISCOVERY,
    DiscoverProviders,
    DiscoveryTimeout,
    OrchestratorDiscovery,
    ServiceTypes,
)
from pywatt.wire import ChannelType, DiscoverServiceProvidersResponse, ServiceProviderInfo

CONN = "conn"


def _provider(name: str, healthy: bool = True) -> ServiceProviderInfo:
    return ServiceProviderInfo(
        provider_id=f"id-{name}",
        module_id="m",
        service_type=ServiceTypes.SEARCH,
        name=name,
        address="a",
        metadata={},
        is_healthy=healthy,
    )


async def _outcome(system: actors.ActorSystem, message: Any, into: list[object]) -> None:
    try:
        into.append(await system.ask(DISCOVERY, message))
    except Exception as exc:
        into.append(exc)


async def test_a_query_times_out_then_the_queued_one_is_sent_and_answered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    directory = ChannelDirectory()
    state = ChannelState(CONN, ChannelType.TCP, "127.0.0.1:1", 0)
    state.set_status(ConnectionStatus.CONNECTED)
    directory.add(state)
    async with actors.open_actor_system() as system:
        _, sent = await spawn_probe(system, CONN)
        await system.spawn(lambda: ChannelsActor(directory, Subscriptions()), name=CHANNELS_ACTOR)
        await system.spawn(lambda: OrchestratorDiscovery(deadline=5.0), name=DISCOVERY)
        outcomes: list[object] = []
        start = trio.current_time()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_outcome, system, DiscoverProviders(ServiceTypes.SEARCH), outcomes)
            await sent.expect(SendFrame, 1)
            only_first = DiscoverProviders(ServiceTypes.SEARCH, all_providers=False)
            nursery.start_soon(_outcome, system, only_first, outcomes)
            await settle()
            assert len(sent.messages) == 1
            await sent.expect(SendFrame, 2)
            assert trio.current_time() - start == pytest.approx(5.0)
            providers = [_provider("sick", healthy=False), _provider("well")]
            response = DiscoverServiceProvidersResponse(success=True, providers=providers)
            await system.tell(DISCOVERY, ChannelInbound(CONN, response))
        assert isinstance(outcomes[0], DiscoveryTimeout)
        assert (outcomes[0].what, outcomes[0].seconds) == ("discovering providers", 5.0)
        assert outcomes[1] == [_provider("well")]

"""Who subscribed to discovery updates keeps hearing them after the discovery actor crashes:
the subscribers belong to the actor's name (handed to each incarnation), as the module
wires it."""

from __future__ import annotations

import trio

import actors
from actors.testing import crash
from pywatt.discovery import (
    DISCOVERY,
    DISCOVERY_PROTOCOL,
    DiscoverProviders,
    ProviderInfo,
    RedisDiscovery,
    RegisterProvider,
    ServiceTypes,
    Subscribers,
    SubscribeUpdates,
)
from pywatt.wire import DiscoveryEvent, DiscoveryUpdate

from .helpers import fresh_prefix, redis_url


async def test_a_subscriber_hears_updates_after_the_discovery_actor_crashed() -> None:
    prefix = fresh_prefix()
    subscribers = Subscribers()
    with trio.fail_after(20):
        async with actors.open_actor_system() as host_a, actors.open_actor_system() as host_b:
            await host_a.spawn(
                lambda: RedisDiscovery(redis_url(), "host-a", prefix=prefix),
                name=DISCOVERY,
                protocol=DISCOVERY_PROTOCOL,
            )
            await host_b.spawn(
                lambda: RedisDiscovery(
                    redis_url(), "host-b", prefix=prefix, subscribers=subscribers
                ),
                name=DISCOVERY,
                protocol=DISCOVERY_PROTOCOL,
            )
            send, updates = trio.open_memory_channel[DiscoveryUpdate](16)
            await host_b.ask(DISCOVERY, SubscribeUpdates(send, ServiceTypes.SEARCH))
            for round_ in range(3):  # traffic, a crash, traffic again
                name = f"provider-{round_}"
                info = ProviderInfo.builder(ServiceTypes.SEARCH, name).build()
                await host_a.ask(DISCOVERY, RegisterProvider(info))
                update = await updates.receive()
                assert (update.event, update.provider.name) == (DiscoveryEvent.APPEARED, name)
                await crash(host_b, DISCOVERY)
                # Answered by the next incarnation, once it has subscribed to Redis again (an
                # update published while no incarnation listens is not replayed).
                await host_b.ask(DISCOVERY, DiscoverProviders(ServiceTypes.SEARCH))

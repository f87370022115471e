"""Provider descriptions and the Redis-backed registry on a real Redis (REDIS_URL)."""

from __future__ import annotations

import uuid

import pytest
import trio

from pywatt.discovery import (
    DISCOVERY,
    DiscoverProviders,
    ProviderInfo,
    RegisterProvider,
    ServiceTypes,
    SubscribeUpdates,
    UnregisterProvider,
    capabilities_of,
    matches,
)
from pywatt.wire import DiscoveryEvent, DiscoveryUpdate, ServiceType

from .helpers import registry


def test_the_seed_types_are_custom_and_the_builder_carries_capabilities() -> None:
    assert ServiceType.custom("user_management") == ServiceTypes.USER_MANAGEMENT
    assert ServiceTypes.DATABASE == ServiceType.DATABASE
    info = (
        ProviderInfo.builder(ServiceTypes.ANALYTICS, "stats")
        .version("2.0")
        .address("127.0.0.1:9000")
        .capability("realtime", "export")
        .endpoint("/stats")
        .metadata("region", "eu")
        .build()
    )
    request = info.to_request()
    assert request.metadata == {
        "capabilities": "export,realtime",
        "endpoints": "/stats",
        "region": "eu",
    }
    record = info.to_wire("p1", "mod")
    assert capabilities_of(record) == {"export", "realtime"}
    assert matches(record, ["realtime"])
    assert not matches(record, ["realtime", "batch"])
    with pytest.raises(ValueError, match="reserved"):
        ProviderInfo.builder(ServiceTypes.ANALYTICS, "x").metadata("capabilities", "a")
    seed = ProviderInfo.from_seed(
        ServiceTypes.USER_MANAGEMENT,
        {"version": "1.0.0", "endpoints": ["/users"], "capabilities": ["crud"]},
        name="users",
        address="a",
    )
    assert (seed.version, seed.capabilities, seed.endpoints) == ("1.0.0", {"crud"}, ("/users",))


async def test_two_hosts_share_providers_and_updates_arrive_through_redis() -> None:
    prefix = f"pywatt-test:{uuid.uuid4()}"
    search = ServiceTypes.SEARCH
    with trio.fail_after(10):
        async with registry("host-a", prefix) as a, registry("host-b", prefix) as b:
            send, updates = trio.open_memory_channel[DiscoveryUpdate](16)
            await b.ask(DISCOVERY, SubscribeUpdates(send, search))
            fast = ProviderInfo.builder(search, "fast").capability("fulltext").build()
            slow = ProviderInfo.builder(search, "slow").build()
            fast_id = await a.ask(DISCOVERY, RegisterProvider(fast))
            await a.ask(DISCOVERY, RegisterProvider(slow))
            other = ProviderInfo.builder(ServiceTypes.CACHE, "c").build()
            await a.ask(DISCOVERY, RegisterProvider(other))
            seen = [await updates.receive(), await updates.receive()]
            assert [(u.event, u.provider.name) for u in seen] == [
                (DiscoveryEvent.APPEARED, "fast"),
                (DiscoveryEvent.APPEARED, "slow"),
            ]  # the cache provider is filtered out
            found = await b.ask(DISCOVERY, DiscoverProviders(search))
            assert sorted(p.name for p in found) == ["fast", "slow"]
            assert all(p.module_id == "host-a" for p in found)
            with_caps = await b.ask(DISCOVERY, DiscoverProviders(search, capabilities={"fulltext"}))
            assert [p.name for p in with_caps] == ["fast"]
            first = await b.ask(DISCOVERY, DiscoverProviders(search, all_providers=False))
            assert len(first) == 1
            assert await a.ask(DISCOVERY, UnregisterProvider(fast_id))
            left = await updates.receive()
            assert (left.event, left.provider.provider_id) == (DiscoveryEvent.LEFT, fast_id)
        # host a stopped: its remaining providers left the registry
        async with registry("host-c", prefix) as c:
            assert await c.ask(DISCOVERY, DiscoverProviders(search)) == []

"""What a module registered survives a restart of its Redis discovery actor: the next
incarnation reconnects and refreshes the providers at once, so a registry that lost them (a
Redis restart without persistence) has them back, announced as ``appeared``, without the
module registering again."""

from __future__ import annotations

import trio

import actors
from pywatt.cache import RedisConnection, open_redis
from pywatt.discovery import (
    DISCOVERY,
    DISCOVERY_PROTOCOL,
    ProviderInfo,
    RedisDiscovery,
    RegisterProvider,
    ServiceTypes,
    SubscribeUpdates,
)
from pywatt.wire import DiscoveryEvent, DiscoveryUpdate, ServiceProviderInfo, encode_json

from .helpers import fresh_prefix, redis_url, registry

TTL = 0.6


async def _kill_clients(admin: RedisConnection, name: str) -> int:
    """Drop every Redis connection named ``name``, as a server restart would."""
    listing = (await admin.command("CLIENT", "LIST")).decode()
    ids = [
        fields["id"]
        for fields in (
            dict(f.split("=", 1) for f in line.split() if "=" in f) for line in listing.splitlines()
        )
        if fields.get("name") == name
    ]
    for client_id in ids:
        await admin.command("CLIENT", "KILL", "ID", client_id)
    return len(ids)


async def _next(
    updates: trio.MemoryReceiveChannel[DiscoveryUpdate], provider_id: str, event: DiscoveryEvent
) -> None:
    async for update in updates:
        if update.provider.provider_id == provider_id and update.event is event:
            return


async def test_a_restarted_discovery_actor_puts_its_providers_back() -> None:
    url, prefix = redis_url(), fresh_prefix()
    registered: dict[str, ServiceProviderInfo] = {}
    async with trio.open_nursery() as tasks:  # the admin connection's reader and writer
        admin = await open_redis(url, tasks.start_soon)
        info = ProviderInfo.builder(ServiceTypes.SEARCH, "survivor").build()
        fence = DiscoveryUpdate(
            event=DiscoveryEvent.CHANGED, provider=info.to_wire("fence", "test")
        )
        try:
            with trio.fail_after(30):
                async with registry("observer", prefix) as observer:
                    send, updates = trio.open_memory_channel[DiscoveryUpdate](64)
                    await observer.ask(DISCOVERY, SubscribeUpdates(send, ServiceTypes.SEARCH))
                    async with actors.open_actor_system() as system:
                        await system.spawn(
                            lambda: RedisDiscovery(
                                url, "host-a", prefix=prefix, ttl=TTL, registered=registered
                            ),
                            name=DISCOVERY,
                            protocol=DISCOVERY_PROTOCOL,
                        )
                        provider_id = await system.ask(DISCOVERY, RegisterProvider(info))
                        await _next(updates, provider_id, DiscoveryEvent.APPEARED)
                        # What a Redis restart without persistence does: the connections drop (the
                        # actor crashes and restarts) and the data is gone. Once its connections
                        # are killed, only a later incarnation can write the provider back; the
                        # fence, published in the same transaction as the deletion, marks where
                        # the updates from after the deletion begin.
                        assert await _kill_clients(admin, "pywatt-discovery:host-a") == 2
                        for command in (
                            ("MULTI",),
                            (
                                "DEL",
                                f"{prefix}:providers:Custom:search",
                                f"{prefix}:lease:{provider_id}",
                            ),
                            ("PUBLISH", f"{prefix}:updates", encode_json(fence)),
                            ("EXEC",),
                        ):
                            await admin.command(*command)
                        await _next(updates, "fence", DiscoveryEvent.CHANGED)
                        await _next(updates, provider_id, DiscoveryEvent.APPEARED)
                        assert list(registered) == [provider_id]
        finally:
            tasks.cancel_scope.cancel()
            await admin.aclose()

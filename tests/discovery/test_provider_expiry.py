"""A crashed host's providers leave the Redis registry by themselves: each provider holds a
lease with a TTL that its module refreshes while it lives. A module killed with SIGKILL
refreshes nothing, and every live registry sweeps its expired providers out and publishes
``left`` for them."""

from __future__ import annotations

import os
import signal

import trio

from pywatt.discovery import DISCOVERY, DiscoverProviders, ServiceTypes, SubscribeUpdates
from pywatt.wire import DiscoveryEvent, DiscoveryUpdate

from .helpers import fresh_prefix, logged, orchestrated, redis_url, registry

TTL = 1.0
SWEEP = TTL / 3
"""How often a live registry refreshes its leases and sweeps (the TTL's third)."""
SLACK = 2.0
"""Process start-up and scheduling on a loaded 2-core machine."""


async def test_a_killed_modules_provider_leaves_redis_discovery_after_the_ttl() -> None:
    prefix = fresh_prefix()
    env = {
        "PROVIDE": "doomed",
        "DISCOVERY_BACKEND": "redis",
        "DISCOVERY_URL": redis_url(),
        "DISCOVERY_PREFIX": prefix,
        "DISCOVERY_TTL": str(TTL),
    }
    with trio.fail_after(60):  # generous: a guard against a hang, not the measure
        async with registry("observer", prefix, ttl=TTL) as observer:
            send, updates = trio.open_memory_channel[DiscoveryUpdate](64)
            await observer.ask(DISCOVERY, SubscribeUpdates(send, ServiceTypes.SEARCH))
            async with orchestrated("doomed", env) as (orch, _):
                module = orch.module("doomed")
                line = await logged(orch, "doomed", "registered doomed as ")
                provider_id = line.rsplit(" ", 1)[1]
                found = await observer.ask(DISCOVERY, DiscoverProviders(ServiceTypes.SEARCH))
                assert provider_id in {p.provider_id for p in found}
                assert module.pid is not None
                os.kill(module.pid, signal.SIGKILL)
                killed = trio.current_time()
                async for update in updates:  # the sweep's 'left', pushed through Redis
                    if update.provider.provider_id != provider_id:
                        continue  # e.g. the restarted module registering again
                    if update.event is DiscoveryEvent.LEFT:
                        break
                assert trio.current_time() - killed <= TTL + SWEEP + SLACK
                found = await observer.ask(DISCOVERY, DiscoverProviders(ServiceTypes.SEARCH))
                assert provider_id not in {p.provider_id for p in found}

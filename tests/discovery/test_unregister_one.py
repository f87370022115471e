"""One provider of a module can be unregistered on either discovery backend (the
orchestrator's, through the ``unregister_service_provider`` extension op, and Redis), and
the module's other provider stays."""

from __future__ import annotations

import pytest
import trio

import actors
from pywatt.discovery import (
    DISCOVERY,
    DISCOVERY_PROTOCOL,
    DiscoverProviders,
    DiscoveryFailed,
    OrchestratorDiscovery,
    ServiceTypes,
    UnregisterProvider,
)

from .helpers import fresh_prefix, logged, orchestrated, redis_url, registry


@pytest.mark.parametrize("backend", ["orchestrator", "redis"])
async def test_unregistering_one_of_two_providers_leaves_the_other(backend: str) -> None:
    prefix = fresh_prefix()
    env = {"PROVIDE": "kept,dropped", "UNREGISTER": "dropped", "DISCOVERY_BACKEND": backend}
    if backend == "redis":
        env |= {"DISCOVERY_URL": redis_url(), "DISCOVERY_PREFIX": prefix, "DISCOVERY_TTL": "30"}
    with trio.fail_after(60):
        async with orchestrated("two", env) as (orch, _):
            assert await logged(orch, "two", "unregistered dropped") == "unregistered dropped: True"
            assert await logged(orch, "two", "found ") == "found ['kept']"
            if backend == "orchestrator":
                assert [p.name for p in await orch.providers()] == ["kept"]
            else:
                async with registry("elsewhere", prefix) as other:
                    found = await other.ask(DISCOVERY, DiscoverProviders(ServiceTypes.SEARCH))
                    assert [p.name for p in found] == ["kept"]


async def test_toward_a_rust_orchestrator_unregistering_fails_clearly() -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(
            lambda: OrchestratorDiscovery(pywatt_orchestrator=False),
            name=DISCOVERY,
            protocol=DISCOVERY_PROTOCOL,
        )
        with pytest.raises(DiscoveryFailed, match="Rust protocol has no op for it"):
            await system.ask(DISCOVERY, UnregisterProvider("prov-1"))

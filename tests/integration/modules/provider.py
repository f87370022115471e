"""A pywatt module that registers with capabilities and uses discovery (integration tests).

``PROVIDE=name`` registers a search provider of that name (capabilities from
``PROVIDE_CAPS``); ``WATCH=1`` logs every discovery update; ``DISCOVER=1`` logs the
providers found with the ``fulltext`` capability after ``DISCOVER_AFTER`` seconds.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import attrs
import trio

import actors
from pywatt import AppState, run_module
from pywatt.discovery import ProviderInfo, ServiceTypes

log = logging.getLogger("provider")


@attrs.frozen
class _Never:
    pass


class Watcher(actors.Actor[_Never]):
    def __init__(self, state: AppState[Any]) -> None:
        self.state = state

    async def on_start(self) -> None:
        self.ctx.start_task(self._run)

    async def receive(self, message: _Never) -> None:
        return None

    async def _run(self) -> None:
        state = self.state
        if os.environ.get("DISCOVER"):
            for _ in range(100):  # until the providers have registered
                everything = await state.discover_service_providers(ServiceTypes.SEARCH)
                if len(everything) >= int(os.environ.get("DISCOVER_AT_LEAST", "1")):
                    break
                await trio.sleep(0.1)
            found = await state.discover_service_providers(
                ServiceTypes.SEARCH, capabilities=("fulltext",)
            )
            log.info("discovered %s", sorted(p.name for p in found))
        if os.environ.get("WATCH"):
            async with state.discovery_updates(ServiceTypes.SEARCH) as updates:
                log.info("watching updates")
                async for update in updates:
                    log.info("update %s %s", update.event.value, update.provider.name)


async def main(state: AppState[Any]) -> None:
    name = os.environ.get("PROVIDE")
    if name:
        await trio.sleep(float(os.environ.get("PROVIDE_AFTER", "0")))
        caps = [c for c in os.environ.get("PROVIDE_CAPS", "").split(",") if c]
        info = (
            ProviderInfo.builder(ServiceTypes.SEARCH, name)
            .version("1.2")
            .address(str(state.init.listen))
            .capability(*caps)
            .build()
        )
        provider_id = await state.register_service_provider(info)
        log.info("registered provider %s as %s", name, provider_id)
    if os.environ.get("WATCH") or os.environ.get("DISCOVER"):
        await state.spawn(lambda: Watcher(state), name="watcher")


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main,
            enable_module_registration=True,
            registration_config={"heartbeat_interval": 0.2, "description": "a search module"},
            service_capabilities=["streaming", "search"],
            endpoints=[],
        )
    )

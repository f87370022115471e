"""A pywatt module for the discovery tests: registers search providers, may unregister one.

``PROVIDE`` is a comma list of provider names to register; ``UNREGISTER`` names one of them
to unregister again; ``DISCOVERY_BACKEND`` is ``orchestrator`` (default) or ``redis`` (with
``DISCOVERY_URL``, ``DISCOVERY_PREFIX`` and ``DISCOVERY_TTL``). It logs ``registered <name>
as <id>``, ``unregistered <name>: <True|False>`` and ``found [<names>]``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from pywatt import AppState, run_module
from pywatt.discovery import ProviderInfo, ServiceTypes

log = logging.getLogger("providers")


async def main(state: AppState[Any]) -> None:
    ids: dict[str, str] = {}
    for name in os.environ.get("PROVIDE", "").split(","):
        info = ProviderInfo.builder(ServiceTypes.SEARCH, name).address("127.0.0.1:1").build()
        ids[name] = await state.register_service_provider(info)
        log.info("registered %s as %s", name, ids[name])
    gone = os.environ.get("UNREGISTER")
    if gone:
        removed = await state.unregister_service_provider(ids[gone])
        log.info("unregistered %s: %s", gone, removed)
        found = await state.discover_service_providers(ServiceTypes.SEARCH)
        log.info("found %s", sorted(p.name for p in found))


def discovery_config() -> dict[str, Any]:
    if os.environ.get("DISCOVERY_BACKEND", "orchestrator") == "orchestrator":
        return {"backend": "orchestrator"}
    return {
        "backend": "redis",
        "url": os.environ["DISCOVERY_URL"],
        "prefix": os.environ["DISCOVERY_PREFIX"],
        "ttl": float(os.environ["DISCOVERY_TTL"]),
    }


if __name__ == "__main__":
    raise SystemExit(run_module(main, service_discovery_config=discovery_config()))

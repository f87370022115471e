"""The Phase 2 example's partner: an analytics module that registers as a
``ServiceType.ANALYTICS`` provider, counts the ``user_event`` notifications it is sent, and
answers ``stats`` requests (asking the user service's ``lookup`` endpoint on the way)."""

from __future__ import annotations

import logging
from typing import Any

from pywatt import AppState, ServiceType, pywatt_module

log = logging.getLogger("analytics")


@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    events: list[dict[str, Any]] = []

    def user_event(event: dict[str, Any]) -> None:
        events.append(event)
        log.info("analytics got %s for user %s", event["event"], event["user_id"])

    async def stats(request: dict[str, Any]) -> dict[str, Any]:
        known = await state.send_request(
            f"{request['from']}:lookup", {"email": "ada@example.com"}, response_type=dict
        )
        return {"events": len(events), "ada_known": known["found"]}

    await state.serve("user_event", user_event)
    await state.serve("stats", stats)
    await state.register_service_provider(ServiceType.ANALYTICS, {"version": "1.0.0"})


if __name__ == "__main__":
    raise SystemExit(create_app.run())

"""A module that cannot start without the secret MISSING_SECRET."""

from __future__ import annotations

from typing import Any

from pywatt import AppState, pywatt_module


@pywatt_module(secrets=["MISSING_SECRET"])
async def create_app(state: AppState[Any]) -> None:
    return None


if __name__ == "__main__":
    raise SystemExit(create_app.run())

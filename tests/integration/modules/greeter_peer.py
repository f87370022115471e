"""A pywatt module serving ``greet`` to pywatt callers and to the Rust-SDK peer (whose
destination-less requests are routed to the handler registered for its module id)."""

from __future__ import annotations

from typing import Any

from pywatt import AppState, run_module


async def main(state: AppState[Any]) -> None:
    def greet(request: dict[str, Any]) -> dict[str, str]:
        return {"greeting": f"hello {request['name']}"}

    await state.serve("greet", greet, for_module="rust_peer")


if __name__ == "__main__":
    raise SystemExit(run_module(main))

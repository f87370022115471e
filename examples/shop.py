"""A module that calls another one: the shop buys through ``examples/bank.py`` and shows what
each kind of failure looks like to a caller.

* ``buy`` asks ``bank:withdraw`` with a typed request and a typed reply, and turns the
  bank's ``InsufficientFunds`` (a ``RemoteCrash`` whose ``error_type`` names it) into an
  answer of its own.
* ``balance`` asks ``bank/balance`` through a remote ref, as if it were a local actor: the
  reply is decoded as the ``int`` of ``Balance(actors.Request[int])``.
* ``probe`` asks any target and reports the exception it raised with its attributes
  (``ModuleUnavailable``, ``NoSuchModule``, ``NoSuchEndpoint``, ``RemoteCrash``).
* ``wait`` waits for a module with ``state.wait_for_module``.

Its manifest entry says ``depends_on = ["bank"]``, so the orchestrator starts it once the
bank has announced. docs/calling-modules.md walks through it; run both::

    pywatt run --manifest examples/shop.toml
"""

from __future__ import annotations

from typing import Any

import attrs

import actors
from pywatt import AppState, ModuleUnavailable, RemoteCrash, RemoteError, pywatt_module


@attrs.frozen
class Withdraw:
    """The bank's ``Withdraw`` as the shop writes it: the same fields, so the same JSON."""

    amount: int


@attrs.frozen
class Balance(actors.Request[int]):
    pass


@attrs.frozen
class Buy:
    item: str
    price: int


def describe(error: RemoteError) -> dict[str, Any]:
    """What a caller can read on any ``RemoteError``."""
    return {
        "raised": type(error).__name__,
        "error_type": error.error_type,
        "module": error.module,
        "endpoint": error.endpoint,
        "message": error.remote_message,
        "crashed": isinstance(error, RemoteCrash) and error.crashed,
    }


@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    async def buy(order: Buy) -> dict[str, Any]:
        try:
            left: int = await state.send_request(
                "bank:withdraw", Withdraw(order.price), response_type=int, timeout=10
            )
        except RemoteCrash as exc:
            if exc.error_type == "InsufficientFunds":  # the bank's answer, not a fault
                return {"bought": False, "why": exc.remote_message}
            raise
        except ModuleUnavailable:
            return {"bought": False, "why": "the bank is closed"}
        return {"bought": True, "item": order.item, "balance": left}

    async def balance(request: dict[str, Any]) -> int:
        bank = state.ref("bank/balance")  # a RemoteRef: told and asked like a local actor
        return await bank.ask(Balance())

    async def probe(request: dict[str, Any]) -> dict[str, Any]:
        try:
            reply: Any = await state.send_request(request["target"], request.get("payload", {}))
        except RemoteError as exc:
            return describe(exc)
        return {"reply": reply}

    async def wait(request: dict[str, Any]) -> dict[str, Any]:
        try:
            await state.wait_for_module(request["module"], timeout=request["timeout"])
        except ModuleUnavailable as exc:
            return {**describe(exc), "waited": exc.waited}
        return {"reachable": True}

    await state.serve("buy", buy, request_type=Buy)
    await state.serve("balance", balance)
    await state.serve("probe", probe)
    await state.serve("wait", wait)


if __name__ == "__main__":
    raise SystemExit(create_app.run())

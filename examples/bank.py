"""A module that runs a supervisor of its own under the module's tree and serves its actors
to other modules.

``create_app`` starts the ``bank`` supervisor (rest_for_one: the auditor depends on the
ledger) under ``pywatt.services``, spawns a ``teller`` actor there too, and serves
endpoints by actor name, so a request from another module is asked of the actor itself:

* ``deposit`` (``Deposit``, a tell: the reply is ``null``) and ``balance`` go to ``ledger``;
* ``withdraw`` goes to ``teller``, whose ``InsufficientFunds`` is a reply error: the caller
  gets it and the teller keeps running;
* ``audit`` goes to ``auditor``;
* ``corrupt`` crashes the ledger on purpose: the caller gets a crash, ``bank`` restarts the
  ledger and, rest_for_one, the auditor after it.

docs/supervision.md walks through it. Run it and call it from another module, or from a test
(``tests/examples/test_bank_example.py``)::

    pywatt run examples/bank.py
"""

from __future__ import annotations

import logging

import attrs

import actors
from actors import ChildSpec, Strategy, SupervisorSpec
from pywatt import AppState, pywatt_module

log = logging.getLogger("bank")


@attrs.frozen
class Deposit:
    amount: int


@attrs.frozen
class Balance(actors.Request[int]):
    pass


@attrs.frozen
class Corrupt(actors.Request[None]):
    """Crashes the ledger: its state can no longer be trusted."""


@attrs.frozen
class Audit(actors.Request[str]):
    pass


@attrs.frozen
class Withdraw(actors.Request[int]):
    amount: int


class InsufficientFunds(Exception):
    """An answer, not a fault: the teller lists it in ``reply_errors``."""


class Ledger(actors.Actor[Deposit | Balance | Corrupt]):
    """Keeps the balance in memory; a crash loses it and the next incarnation starts at 0."""

    def __init__(self) -> None:
        self.balance = 0

    async def on_start(self) -> None:
        log.info("ledger incarnation %d started", self.ctx.incarnation)

    async def receive(self, message: Deposit | Balance | Corrupt) -> int | None:
        match message:
            case Deposit(amount):
                self.balance += amount
            case Balance():
                return self.balance
            case Corrupt():
                raise RuntimeError("ledger corrupted")
        return None


class Auditor(actors.Actor[Audit]):
    """Depends on the ledger: under rest_for_one it restarts whenever the ledger does."""

    async def receive(self, message: Audit) -> str:
        balance = await self.ctx.system.ask("ledger", Balance())
        return f"auditor #{self.ctx.incarnation}: balance {balance}"


class Teller(actors.Actor[Withdraw]):
    reply_errors = (InsufficientFunds,)

    async def receive(self, message: Withdraw) -> int:
        balance = await self.ctx.system.ask("ledger", Balance())
        if message.amount > balance:
            raise InsufficientFunds(f"balance {balance} is less than {message.amount}")
        await self.ctx.system.tell("ledger", Deposit(-message.amount))
        return balance - message.amount


BANK = SupervisorSpec(
    "bank",
    [ChildSpec("ledger", Ledger), ChildSpec("auditor", Auditor)],
    strategy=Strategy.REST_FOR_ONE,  # a ledger restart restarts the auditor too
    max_restarts=3,  # a fourth restart within 30 s: bank gives up and fails to its parent
    within=30.0,
)


@pywatt_module()
async def create_app(state: AppState[None]) -> None:
    await state.system.start_supervisor(BANK, parent="pywatt.services")
    await state.spawn(Teller, name="teller")
    await state.serve("deposit", "ledger", request_type=Deposit)
    await state.serve("balance", "ledger", request_type=Balance)
    await state.serve("corrupt", "ledger", request_type=Corrupt)
    await state.serve("audit", "auditor", request_type=Audit)
    await state.serve("withdraw", "teller", request_type=Withdraw)


if __name__ == "__main__":
    raise SystemExit(create_app.run())

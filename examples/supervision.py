"""A module main that opens a supervisor tree, talks to named actors, crashes one and watches it
come back.

Run it with ``just demo`` (or ``python examples/supervision.py``). It ends by itself.
"""

from __future__ import annotations

import logging
import sys

import attrs
import trio

import actors
from actors import ChildSpec, Restart, Strategy, SupervisorSpec

log = logging.getLogger("supervision-demo")


@attrs.frozen
class Deposit:
    amount: int


@attrs.frozen
class Balance(actors.Request[int]):
    pass


@attrs.frozen
class Corrupt:
    """Makes the ledger crash: its state can no longer be trusted."""


@attrs.frozen
class Audit(actors.Request[str]):
    pass


class Ledger(actors.Actor[Deposit | Balance | Corrupt]):
    """Keeps a balance in memory. A crash loses it; the supervisor starts a fresh one."""

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

    async def on_start(self) -> None:
        log.info("auditor incarnation %d started", self.ctx.incarnation)

    async def receive(self, message: Audit) -> str:
        balance = await self.ctx.system.ask("ledger", Balance())
        return f"audited by auditor #{self.ctx.incarnation}: balance {balance}"


TREE = SupervisorSpec(
    "bank",
    [ChildSpec("ledger", Ledger), ChildSpec("auditor", Auditor, restart=Restart.PERMANENT)],
    strategy=Strategy.REST_FOR_ONE,
    max_restarts=3,
    within=5.0,
)


async def main() -> None:
    async with actors.open_actor_system() as system:
        system.events.subscribe(lambda event: log.info("event: %s", event))
        await system.start_supervisor(TREE)
        ledger = system.ref("ledger")
        for amount in (10, 20, 12):
            await ledger.tell(Deposit(amount))
        log.info("balance: %d", await ledger.ask(Balance()))
        log.info("%s", await system.ask("auditor", Audit()))

        log.info("crashing the ledger on purpose")
        await ledger.tell(Corrupt())
        log.info("balance after restart: %d", await ledger.ask(Balance()))
        log.info("%s", await system.ask("auditor", Audit()))
        log.info("ledger mailbox: %s", ledger.statistics())
        log.info("dead letters: %d (the message in hand at the crash)", system.dead_letters.count())
    log.info("clean shutdown: children stopped in reverse order")


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(name)s: %(message)s")
    trio.run(main)

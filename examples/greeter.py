"""A PyWatt module that fetches a secret at startup and picks up its rotations.

Run it under the embedded orchestrator::

    pywatt run examples/greeter.py --secret GREETING=hello

or directly (``python examples/greeter.py``): with no orchestrator on stdin it starts one.
"""

from __future__ import annotations

import logging
from typing import Any

import attrs

import actors
from pywatt import AnnouncedEndpoint, AppState, pywatt_module
from pywatt.secrets import SecretRotated, Subscribe

log = logging.getLogger("greeter")


@attrs.frozen
class Greet(actors.Request[str]):
    name: str


class Greeter(actors.Actor[Greet | SecretRotated]):
    """Greets with the current GREETING; swaps it when the secret rotates."""

    def __init__(self, greeting: str) -> None:
        self.greeting = greeting

    async def on_start(self) -> None:
        await self.ctx.system.ask(
            "pywatt.secrets", Subscribe(frozenset({"GREETING"}), self.ctx.self_ref)
        )

    async def receive(self, message: Greet | SecretRotated) -> str | None:
        if isinstance(message, SecretRotated):
            self.greeting = message.secret.value
            log.info(
                "picked up rotated secret GREETING: version %d, %d characters",
                message.secret.version,
                len(message.secret.value),
            )
            return None
        return f"{self.greeting}, {message.name}!"


@pywatt_module(secrets=["GREETING"], endpoints=[AnnouncedEndpoint("/greet", ["GET"])])
async def create_app(state: AppState[Any]) -> None:
    secret = await state.secret("GREETING")
    # The value itself would be redacted from the log line anyway; say what is safe to say.
    log.info("fetched secret GREETING: version %d from %s", secret.version, secret.source)
    greeter = await state.spawn(lambda: Greeter(secret.value), name="greeter")
    log.info("greeter says: %s", await greeter.ask(Greet("demo")))


if __name__ == "__main__":
    raise SystemExit(create_app.run())

"""A pywatt module that serves endpoints to its peers and calls them (integration tests).

Endpoints: ``echo`` (returns who answered and what it got), ``fail`` (raises KeyError),
``slow`` (sleeps the given seconds, then answers). With ``PEER_CALLS=b,c`` it calls
``echo`` on each of those modules ``PEER_ROUNDS`` times (``PEER_CONCURRENCY`` at once) and
``fail`` once each, logging every outcome; ``PEER_PREFER`` picks the channel preset
(``tcp_only``, ``ipc_only``). Outcomes are logged as ``outcome <kind> <target> <detail>``
and a final ``summary {json}`` line counts them.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

import attrs
import trio

import actors
from pywatt import AppState, run_module
from pywatt.router import RemoteError

log = logging.getLogger("peer")


@attrs.frozen
class _Never:
    pass


class Caller(actors.Actor[_Never]):
    def __init__(self, state: AppState[Any]) -> None:
        self.state = state

    async def on_start(self) -> None:
        self.ctx.start_task(self._run)

    async def receive(self, message: _Never) -> None:
        return None

    async def _run(self) -> None:
        state = self.state
        targets = [t for t in os.environ.get("PEER_CALLS", "").split(",") if t]
        rounds = int(os.environ.get("PEER_ROUNDS", "5"))
        concurrency = int(os.environ.get("PEER_CONCURRENCY", "1"))
        pause = float(os.environ.get("PEER_PAUSE", "0"))
        timeout = float(os.environ.get("PEER_TIMEOUT", "10"))
        counts: dict[str, int] = {"sent": 0, "ok": 0, "error": 0}
        errors: dict[str, int] = {}

        async def one(target: str, i: int) -> None:
            counts["sent"] += 1
            try:
                reply = await state.send_request(
                    f"{target}:echo", {"i": i, "from": state.module_id}, timeout=timeout
                )
            except Exception as exc:  # every outcome is logged, whatever it is
                counts["error"] += 1
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                log.info("outcome error %s %s %s", target, i, type(exc).__name__)
                return
            counts["ok"] += 1
            assert reply["echo"]["i"] == i, reply
            log.info("outcome ok %s %s answered-by=%s", target, i, reply["from"])

        with trio.fail_after(15):  # the peers start one after another: wait until each answers
            for target in targets:
                while True:
                    try:
                        await state.send_request(f"{target}:echo", {"i": -1}, timeout=2)
                        break
                    except Exception:
                        await trio.sleep(0.1)
        log.info("peers ready: %s", ",".join(targets))
        limiter = trio.CapacityLimiter(concurrency)

        async def limited(target: str, i: int) -> None:
            async with limiter:
                await one(target, i)

        async with trio.open_nursery() as nursery:
            for i in range(rounds):
                for target in targets:
                    nursery.start_soon(limited, target, i)
                if pause:
                    await trio.sleep(pause)
        for target in targets:
            try:
                await state.send_request(f"{target}:fail", {"customer": 7}, timeout=timeout)
            except RemoteError as exc:
                log.info(
                    "remote-error %s type=%s module=%s message=%s request=%s",
                    target, exc.error_type, exc.module, exc.remote_message, exc.request_id,
                )  # fmt: skip
        log.info("summary %s", json.dumps({**counts, "errors": errors}, sort_keys=True))


async def main(state: AppState[Any]) -> None:
    async def echo(request: Any) -> dict[str, Any]:
        return {"from": state.module_id, "echo": request}

    def fail(request: Any) -> None:
        raise KeyError("no such customer")

    async def slow(seconds: float) -> str:
        await trio.sleep(seconds)
        return "slept"

    await state.serve("echo", echo)
    await state.serve("fail", fail)
    await state.serve("slow", slow)
    if os.environ.get("PEER_CALLS"):
        await state.spawn(lambda: Caller(state), name="caller")


if __name__ == "__main__":
    prefer = os.environ.get("PEER_PREFER")
    raise SystemExit(
        run_module(
            main,
            channel_preferences={"preset": prefer} if prefer else None,
            log_level="INFO",
        )
    )

"""The module every runtime fault scenario runs (as ``driver``, ``target`` and bystanders).

Each copy serves the same endpoints:

* ``echo``: an async function answering ``{"from": <module id>, "echo": <request>}``.
* ``work``: served by the ``worker`` actor, under a supervisor of its own that restarts it
  without limit (what a crash storm hits). Answers ``{"from", "i", "incarnation"}``.
* ``start`` / ``progress`` / ``finish``: the traffic this module drives at another module
  (see :class:`Plan`): ``start`` begins it, ``progress`` returns the tally so far, ``finish``
  stops it, waits until every request in flight has an outcome and returns the tally.
* ``sabotage``: crash an actor of this module on request (``{"actor", "times", "pause"}``),
  with ``actors.testing.crash``: how a scenario crashes ``pywatt.router``,
  ``pywatt.registrar`` or ``worker`` inside this process (an ``actor`` ending in ``*``:
  every actor whose name starts so, once each, such as the direct lines). Each crash is
  logged as ``sabotage crashing <actor>``.

Every request of the traffic has two deadlines: the router's (``timeout``: it then fails
with ``RequestTimeout``) and, ``margin`` seconds later, the driver's own: a request without an
outcome by then is counted as hung and abandoned, never waited on for good. The tally lives
in this file, not in an actor, so it survives a restart of the actor that drives the traffic;
a request cut off by such a restart is counted under ``Cancelled``.

The module fetches ``FAULT_SECRET`` and prints it, whole and escaped, on every start:
redaction is all that keeps it out of the output the suite scans. With ``FAULT_TRACE`` set in
its environment, every failed request is logged (to see what a scenario's failures were).
"""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

import attrs
import trio

import actors
import actors.testing
from pywatt import AppState, run_module

log = logging.getLogger("fault_module")

SECRET = "FAULT_SECRET"

TALLY: dict[str, Any] = {"sent": 0, "ok": 0, "hung": 0, "wrong": 0, "errors": {}}
"""What the traffic came to: requests sent, answered right, hung, answered wrong, and the
failures by error name (a remote error by its remote type)."""


@attrs.define
class Plan:
    """The traffic to drive: ``concurrency`` loops, each sending one request at a time to
    ``target``'s ``endpoint`` and pausing ``pause`` seconds after each."""

    target: str = ""
    endpoint: str = "echo"
    concurrency: int = 2
    timeout: float = 1.0
    margin: float = 4.0
    pause: float = 0.002
    active: bool = False
    in_flight: int = 0
    counter: int = 0


PLAN = Plan()
_changed = trio.Event()


def _changed_now() -> None:
    global _changed
    _changed.set()
    _changed = trio.Event()


def _count_error(name: str) -> None:
    errors: dict[str, int] = TALLY["errors"]
    errors[name] = errors.get(name, 0) + 1


@attrs.frozen
class Work(actors.Request[dict[str, Any]]):
    i: int


@attrs.frozen
class Poison:
    """Crashes the worker that handles it (queued among the requests, like a bad input)."""


class Worker(actors.Actor[Work | Poison]):
    """Answers ``work``; each answer takes a moment, so a crash finds an ask in hand."""

    async def receive(self, message: Work | Poison) -> dict[str, Any]:
        if isinstance(message, Poison):
            raise actors.testing.CrashCommand("the worker swallowed poison")
        await trio.sleep(0.001)
        return {"from": MODULE_ID, "i": message.i, "incarnation": self.ctx.incarnation}


@attrs.frozen
class Begin:
    pass


class Driver(actors.Actor[Begin]):
    """Drives :data:`PLAN` while it is active; a restarted driver picks it up again."""

    def __init__(self, state: AppState[Any]) -> None:
        self.state = state
        self.running = False

    async def on_start(self) -> None:
        if PLAN.active:
            self._launch()

    async def receive(self, message: Begin) -> None:
        if not self.running:
            self._launch()

    def _launch(self) -> None:
        self.running = True
        for _ in range(PLAN.concurrency):
            self.ctx.start_task(self._loop)

    async def _loop(self) -> None:
        while PLAN.active:
            PLAN.counter += 1
            await self._one(PLAN.counter)
            await trio.sleep(PLAN.pause)

    async def _one(self, i: int) -> None:
        TALLY["sent"] += 1
        PLAN.in_flight += 1
        target = f"{PLAN.target}:{PLAN.endpoint}"
        payload: Any = {"i": i}
        try:
            with trio.move_on_after(PLAN.timeout + PLAN.margin) as waited:
                reply: Any = await self.state.send_request(target, payload, timeout=PLAN.timeout)
            if waited.cancelled_caught:
                TALLY["hung"] += 1
                log.warning("request %d to %s hung past its deadline", i, target)
            elif _answers(reply, i):
                TALLY["ok"] += 1
            else:
                TALLY["wrong"] += 1
                log.warning("request %d to %s answered wrongly: %.200r", i, target, reply)
        except trio.Cancelled:
            _count_error("Cancelled")  # this incarnation ends with the request unanswered
            raise
        except Exception as exc:  # every outcome is counted, whatever it is
            _count_error(getattr(exc, "error_type", None) or type(exc).__name__)
            if os.environ.get("FAULT_TRACE"):
                log.warning("request %d failed: %s", i, exc)
        finally:
            PLAN.in_flight -= 1
            _changed_now()


def _answers(reply: Any, i: int) -> bool:
    if not isinstance(reply, dict):
        return False
    if "echo" in reply:
        return bool(reply["echo"] == {"i": i})
    return bool(reply.get("i") == i)


@attrs.frozen
class Sabotage:
    actor: str
    times: int
    pause: float
    poison: bool = False


class Saboteur(actors.Actor[Sabotage]):
    """Crashes actors of this process on request (outside the pywatt tree, so no crash it
    causes restarts it)."""

    async def receive(self, message: Sabotage) -> None:
        system = self.ctx.system
        done = 0
        if message.actor.endswith("*"):  # every actor whose name starts so, once
            prefix = message.actor[:-1]
            for name in [n for n in system.registry.names() if n.startswith(prefix)]:
                log.info("sabotage crashing %s", name)
                try:
                    await actors.testing.crash(system, name)
                except actors.NoSuchActor:
                    continue
            return
        if message.poison:  # the actor crashes on a message of its own mailbox
            for _ in range(message.times):
                log.info("sabotage crashing %s", message.actor)
                await system.tell(message.actor, Poison())
            return
        with trio.move_on_after(30):
            while done < message.times:
                try:
                    serving = system.statistics(message.actor).running
                except actors.NoSuchActor:
                    serving = False
                if not serving:  # between incarnations: wait for the next
                    await trio.sleep(0.001)
                    continue
                log.info("sabotage crashing %s", message.actor)
                try:
                    await actors.testing.crash(system, message.actor)
                except actors.NoSuchActor:
                    continue
                done += 1
                if message.pause:
                    await trio.sleep(message.pause)


MODULE_ID = ""


async def main(state: AppState[Any]) -> None:
    global MODULE_ID
    MODULE_ID = state.module_id
    secret = await state.get_secret(SECRET)
    # Careless on purpose: only redaction keeps these out of the output.
    print(secret, flush=True)
    print(repr(secret), json.dumps({"s": secret}), ascii(secret), file=sys.stderr, flush=True)
    log.info("the secret is %r", secret)

    system = state.system
    await system.spawn(Saboteur, name="saboteur")
    await system.supervisor("pywatt.services").start_child(
        actors.SupervisorSpec(
            "workers",
            [actors.ChildSpec("worker", Worker)],
            max_restarts=None,
            backoff=actors.Backoff(first=0.0, base=0.001, cap=0.01),
        )
    )
    await state.spawn(lambda: Driver(state), name="driver")

    async def echo(request: Any) -> dict[str, Any]:
        return {"from": state.module_id, "echo": request}

    async def start(request: dict[str, Any]) -> str:
        for key, value in request.items():
            setattr(PLAN, key, value)
        PLAN.active = True
        await system.tell("driver", Begin())
        return "started"

    def progress(request: Any) -> dict[str, Any]:
        return {**TALLY, "in_flight": PLAN.in_flight}

    async def finish(request: Any) -> dict[str, Any]:
        PLAN.active = False
        with trio.move_on_after(PLAN.timeout + PLAN.margin + 1):
            while PLAN.in_flight:
                await _changed.wait()
        return {**TALLY, "in_flight": PLAN.in_flight}

    async def sabotage(request: dict[str, Any]) -> str:
        order = Sabotage(
            request["actor"],
            int(request.get("times", 1)),
            float(request.get("pause", 0)),
            bool(request.get("poison", False)),
        )
        await system.tell("saboteur", order)
        return "queued"

    await state.serve("echo", echo)
    await state.serve("work", "worker", request_type=Work)
    await state.serve("start", start)
    await state.serve("progress", progress)
    await state.serve("finish", finish)
    await state.serve("sabotage", sabotage)


if __name__ == "__main__":
    raise SystemExit(
        run_module(
            main,
            secrets=[SECRET],
            log_level=os.environ.get("FAULT_LOG_LEVEL", "INFO"),
            enable_module_registration=True,
            registration_config={"heartbeat_interval": 0.5},
        )
    )

"""A pywatt module that calls other modules (and itself) on request, and reports each outcome
with its exception class (integration tests of typed errors between modules).

Endpoints: ``echo`` (returns who answered and what it got), ``fail`` (raises
``ValueError("bad input")``), ``crash`` (served by the actor ``cruncher``, which crashes on
the request with ``ValueError("bad input")``), and ``run``: a list of steps, each
``{"call": "module:endpoint", "payload": ...}``, ``{"notify": "module:endpoint", "payload":
...}`` or ``{"wait": "module", "timeout": seconds}``, answered with one outcome per step:
``{"ok": value}`` or ``{"error": class name, "classes": [names in its MRO], "message":
str(exc), "error_type", "remote_message", "module", "endpoint"}``.

``CALLER_HOLD=1``: ``main`` serves only ``go`` and waits for a request to it before it serves
the rest and returns, so until then the module has an open channel but has not announced.
``CALLER_AT_START`` (``module:endpoint``): call that endpoint once as soon as ``main`` runs,
logging ``at-start ok ...`` or ``at-start error <class> <message>``. Before each ``wait`` step
it logs ``waiting for <module>``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import attrs
import trio

import actors
from pywatt import AppState, run_module

log = logging.getLogger("caller")


@attrs.frozen
class Job(actors.Request[str]):
    value: Any


class Cruncher(actors.Actor[Job]):
    async def receive(self, message: Job) -> str:
        raise ValueError("bad input")


def outcome(exc: BaseException) -> dict[str, Any]:
    return {
        "error": type(exc).__name__,
        "classes": [klass.__name__ for klass in type(exc).__mro__],
        "message": str(exc),
        "error_type": getattr(exc, "error_type", None),
        "remote_message": getattr(exc, "remote_message", None),
        "module": getattr(exc, "module", None),
        "endpoint": getattr(exc, "endpoint", None),
    }


async def main(state: AppState[Any]) -> None:
    notes: list[Any] = []
    noted = trio.Event()

    async def echo(request: Any) -> dict[str, Any]:
        return {"from": state.module_id, "echo": request}

    def fail(request: Any) -> None:
        raise ValueError("bad input")

    def note(request: Any) -> None:
        notes.append(request)
        noted.set()

    async def run(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for step in steps:
            try:
                if "call" in step:
                    value = await state.send_request(step["call"], step.get("payload"), timeout=10)
                elif "notify" in step:  # returns once the notification was handled
                    await state.send_message(step["notify"], step.get("payload"))
                    with trio.fail_after(5):
                        await noted.wait()
                    value = notes[-1]
                else:
                    log.info("waiting for %s", step["wait"])
                    await state.wait_for_module(step["wait"], timeout=step.get("timeout", 30.0))
                    value = "reachable"
            except Exception as exc:  # every outcome is reported, whatever it is
                results.append(outcome(exc))
            else:
                results.append({"ok": value})
        return results

    go = trio.Event()

    def release(request: Any) -> str:
        go.set()
        return "going"

    at_start = os.environ.get("CALLER_AT_START")
    if at_start:
        try:
            value = await state.send_request(at_start, {"at": "start"}, timeout=10)
        except Exception as exc:
            log.info("at-start error %s %s", type(exc).__name__, exc)
        else:
            log.info("at-start ok %s", value)
    if os.environ.get("CALLER_HOLD") == "1":
        await state.serve("go", release)
        log.info("holding until told to go")
        await go.wait()
    await state.spawn(Cruncher, name="cruncher")
    await state.serve("echo", echo)
    await state.serve("fail", fail)
    await state.serve("note", note)
    await state.serve("crash", "cruncher", request_type=Job)
    await state.serve("run", run)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="INFO"))

"""A pywatt module for the direct-line tests (tests/integration/test_direct_lines.py).

Endpoints:

* ``post``: records its value in the order it came (as a request it answers the value).
* ``seen`` ``{"count": n}``: the values recorded so far, once there are at least ``n``.
* ``burst`` ``{"target": id, "count": n, "every": k}``: sends ``target:post`` the numbers
  ``0..n-1`` as fast as it can, as notifications, except every ``k``-th one (``k`` > 0),
  which is a request it waits for; answers ``"sent"``.
* ``flood`` ``{"target": id, "count": n, "size": bytes}``: ``n`` notifications to
  ``target:post`` of a string of ``size`` characters each; answers ``"sent"``.
* ``load`` ``{"target": id, "seconds": s}``: requests ``target:post`` one after the other for
  ``s`` seconds, each with a 2 s timeout; answers ``{"ok": n, "errors": {type: count}}``
  (a remote error's ``error_type``, else the exception's class).
* ``ask`` ``{"target": id, "value": v}``: one request to ``target:post``; its answer.
* ``crash`` ``{"actor": name}``: crashes that actor of this module; ``incarnation``
  ``{"actor": name}``: its incarnation number.
* ``metrics``: the module's metrics page (the Prometheus text format).
"""

from __future__ import annotations

import collections
from typing import Any

import trio

# The crasher of the sibling test module: run as a script, this file's directory is on the
# path.
from crashes_its_own import Crasher, CrashIt

from pywatt import AppState, run_module


async def main(state: AppState[Any]) -> None:
    seen: list[Any] = []
    changed = trio.Event()

    def post(value: Any) -> Any:
        nonlocal changed
        seen.append(value)
        changed.set()
        changed = trio.Event()
        return value

    async def seen_after(request: dict[str, int]) -> list[Any]:
        while len(seen) < int(request["count"]):
            await changed.wait()
        return list(seen)

    async def burst(request: dict[str, Any]) -> str:
        target, every = f"{request['target']}:post", int(request.get("every", 0))
        for n in range(int(request["count"])):
            if every and n % every == every - 1:
                await state.send_request(target, n, timeout=10)
            else:
                await state.send_message(target, n)
        return "sent"

    async def flood(request: dict[str, Any]) -> str:
        text = "x" * int(request["size"])
        for _ in range(int(request["count"])):
            await state.send_message(f"{request['target']}:post", text)
        return "sent"

    async def load(request: dict[str, Any]) -> dict[str, Any]:
        ok, errors = 0, collections.Counter[str]()
        end = trio.current_time() + float(request["seconds"])
        n = 0
        while trio.current_time() < end:
            n += 1
            try:
                assert await state.send_request(f"{request['target']}:post", n, timeout=2) == n
            except Exception as exc:  # every outcome is counted, whatever it is
                errors[getattr(exc, "error_type", None) or type(exc).__name__] += 1
                await trio.sleep(0.01)
            else:
                ok += 1
        return {"ok": ok, "errors": dict(errors)}

    async def ask(request: dict[str, Any]) -> Any:
        return await state.send_request(f"{request['target']}:post", request["value"], timeout=5)

    async def crash(request: dict[str, str]) -> str:
        await state.system.tell("crasher", CrashIt(request["actor"]))
        return "crashing"

    def incarnation(request: dict[str, str]) -> int:
        return state.system.statistics(request["actor"]).incarnation or 0

    async def metrics(request: Any) -> str:
        return (await state.metrics.render()).decode()

    await state.system.spawn(Crasher, name="crasher")
    for name, handler in (
        ("post", post), ("seen", seen_after), ("burst", burst), ("load", load), ("ask", ask),
        ("flood", flood),
        ("crash", crash), ("incarnation", incarnation), ("metrics", metrics),
    ):  # fmt: skip
        await state.serve(name, handler)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="INFO", metrics=True))

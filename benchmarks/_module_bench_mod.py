"""The PyWatt module that ``benchmarks.module`` measures: one module file, two modes.

Without :data:`MODE_ENV` set it is the minimal module of the startup case: no secrets, no
endpoints, a ``create_app`` that returns at once, so the time to its announce is the SDK's
own startup.

With ``PYWATT_BENCH_MODE=secrets`` it is the secret-fetch loop of the round-trip case. Its
``create_app`` fetches :data:`GO_SECRET` once (so the orchestrator knows the module holds it)
and starts a :class:`SecretBench` actor subscribed to that secret. The benchmark rotates
:data:`GO_SECRET` to a time budget in seconds, after the announce; the actor then fetches
:data:`BENCH_SECRET` with ``force_remote=True`` (the module's cache bypassed), one fetch at a
time, for that long, checks every value came from the orchestrator, and writes one stderr
line ``PYWATT_BENCH_RESULT {"fetches": n, "seconds": t}`` (or ``PYWATT_BENCH_ERROR ...``).

``PYWATT_BENCH_PROFILE=<path>`` profiles the fetch loop with cProfile into ``<path>``, timed by
the process's CPU clock (so a ``write`` that lets the orchestrator run first does not count).

Run by the benchmark only (``python benchmarks/_module_bench_mod.py`` under an orchestrator).
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any, Final

import actors
from pywatt import AppState, pywatt_module
from pywatt.secrets import SecretRotated, Subscribe

MODE_ENV: Final = "PYWATT_BENCH_MODE"
PROFILE_ENV: Final = "PYWATT_BENCH_PROFILE"
BENCH_SECRET: Final = "PYWATT_BENCH_ROUNDTRIP_SECRET"
"""Fetched in the loop; must not be in the module's environment (the env provider would win)."""
BENCH_VALUE: Final = "roundtrip-value-of-the-bench-secret"
GO_SECRET: Final = "PYWATT_BENCH_GO"
"""Rotated to :func:`go_value` of a time budget to start one measured loop."""
GO_IDLE: Final = "no-run-yet"
"""The trigger's value before the first run."""
RESULT_MARK: Final = "PYWATT_BENCH_RESULT "
ERROR_MARK: Final = "PYWATT_BENCH_ERROR "
ORCHESTRATOR_SOURCE: Final = "pywatt.secrets.orchestrator"


def go_value(seconds: float) -> str:
    """The trigger value that starts a loop of ``seconds``.

    Not a bare number: every secret value is redacted from the module's stderr as the
    orchestrator shows it, and a bare ``0.25`` would be cut out of the result line.
    """
    return f"run-for-{seconds!r}-seconds"


def parse_go(value: str) -> float:
    """The time budget in a :func:`go_value`; raises ``ValueError`` for anything else."""
    budget = value.removeprefix("run-for-").removesuffix("-seconds")
    if budget == value:
        raise ValueError(f"{GO_SECRET} is {value!r}, not a go_value()")
    seconds = float(budget)
    if not 0 < seconds < 3600:
        raise ValueError(f"{GO_SECRET} asks for a {seconds} s run")
    return seconds


class SecretBench(actors.Actor[SecretRotated]):
    """Runs one measured fetch loop per rotation of :data:`GO_SECRET`."""

    def __init__(self, state: AppState[Any]) -> None:
        self.state = state

    async def on_start(self) -> None:
        await self.ctx.system.ask(
            "pywatt.secrets", Subscribe(frozenset({GO_SECRET}), self.ctx.self_ref)
        )

    async def receive(self, message: SecretRotated) -> None:
        try:
            seconds = parse_go(message.secret.value)
            fetches, elapsed, cpu = await self._measure(seconds)
        except Exception as exc:  # reported to the benchmark, which fails with it
            print(f"{ERROR_MARK}{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return
        result = json.dumps({"fetches": fetches, "seconds": elapsed, "cpu_seconds": cpu})
        print(f"{RESULT_MARK}{result}", file=sys.stderr, flush=True)

    async def _measure(self, seconds: float) -> tuple[int, float, float]:
        profile_path = os.environ.get(PROFILE_ENV)
        if not profile_path:
            return await self._loop(seconds)
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: not time spent preempted
        profiler.enable()
        try:
            return await self._loop(seconds)
        finally:
            profiler.disable()
            profiler.dump_stats(profile_path)

    async def _loop(self, seconds: float) -> tuple[int, float, float]:
        secret = self.state.secret
        clock = time.perf_counter
        fetches = 0
        cpu_start = time.process_time()
        start = clock()
        deadline = start + seconds
        while True:
            got = await secret(BENCH_SECRET, force_remote=True)
            if got.value != BENCH_VALUE or got.source != ORCHESTRATOR_SOURCE:
                raise RuntimeError(f"fetch {fetches + 1} gave {got!r}, not the orchestrator's")
            fetches += 1
            now = clock()
            if now >= deadline:
                return fetches, now - start, time.process_time() - cpu_start


@pywatt_module()
async def create_app(state: AppState[Any]) -> None:
    if os.environ.get(MODE_ENV) != "secrets":
        return  # the minimal module: nothing to set up, announce at once
    await state.get_secret(GO_SECRET)  # so a rotation of it reaches this module
    await state.spawn(lambda: SecretBench(state), name="secret-bench")


if __name__ == "__main__":
    raise SystemExit(create_app.run())

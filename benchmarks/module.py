"""A PyWatt module as a process: its startup and its secret round trips.

``python -m benchmarks.module [--quick] [--out DIR] [--strict]``

* **Startup** (metrics). The minimal module ``benchmarks/_module_bench_mod.py`` (no secrets,
  no endpoints) is spawned here with pipes; its InitBlob line is written at once and stdout
  is read up to the ``announce`` line, where the clock stops (``startup_to_announce_ms``).
  Then it gets ``{"op":"shutdown"}`` and is reaped (its exit status must be 0). The baseline
  is ``python -c "from pywatt import AppState, pywatt_module"`` (what a module file imports)
  from spawn to exit (``import_pywatt_ms``). Both run with
  this interpreter (``sys.executable -P``: ``-P`` keeps the script's directory, which holds
  ``benchmarks/actors.py``, from shadowing the ``actors`` package) and the same environment
  (with ``PYWATT_EMBEDDED=1`` and ``PYWATT_MODULE_ID`` as the orchestrator sets them),
  interleaved with their order rotating, after one untimed round. ``startup_overhead_ms`` =
  median(to announce) - median(import only); target <= 50. The baseline's time includes
  interpreter teardown (tens of ms with pywatt imported), which the announce timing does not,
  so ``startup_overhead_no_teardown_ms`` also subtracts a third run, the same import then
  ``os._exit(0)`` (``import_pywatt_no_teardown_ms``): the stricter figure.
* **The command line** (metrics). ``pywatt --help`` as a process, spawn to exit
  (``cli_help_ms``), interleaved with ``python -c pass`` (``python_startup_ms``);
  ``cli_help_vs_python_ms`` is the difference of the medians, target <= 150.
* **secret_roundtrip** (rates, round trips/s). ``pywatt``: the real embedded orchestrator
  (:func:`pywatt.orchestrator.open_orchestrator`) runs the module in its secrets mode; after
  the announce the benchmark rotates a trigger secret to the time budget, and the module's
  own actor fetches a secret with ``force_remote=True`` (its cache bypassed) one fetch at a
  time for that long: module → ``get_secret`` line → orchestrator → ``secret`` line → module.
  The module checks every value came from the orchestrator and reports its count and elapsed
  time on stderr, which the benchmark reads through the orchestrator's console. ``echo``:
  a child running a trio loop (``benchmarks/_echo_child.py``) echoes stdin lines to stdout
  through ``trio.lowlevel.FdStream``; this process, also trio, writes a ``get_secret``-sized
  line and waits for its echo, one at a time. Starting and stopping the processes is not
  timed in either. ``secret_roundtrip_vs_echo`` target >= 0.25. ``meta`` keeps, per side,
  the CPU seconds spent per second of the loop (median over the repetitions): the module's
  own figure and this process's, which is the orchestrator's (it does nothing else then).

The module loop can be profiled: ``PYWATT_BENCH_PROFILE=/tmp/fetch.prof python -m
benchmarks.module --quick`` (cProfile of the module's fetch loop; the last run wins).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import attrs
import trio

from actors import Restart
from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleKind,
    ModuleSpec,
    RestartPolicy,
    Verbosity,
    open_orchestrator,
)

from . import _module_bench_mod as bench_mod
from ._harness import Bench, BenchmarkError, Settings, main

HERE: Final = Path(__file__).resolve().parent
MODULE_FILE: Final = HERE / "_module_bench_mod.py"
ECHO_FILE: Final = HERE / "_echo_child.py"
PYTHON: Final = (sys.executable, "-P")
MODULE_ID: Final = "bench"
INIT_LINE: Final = (
    json.dumps(
        {
            "orchestrator_api": "http://127.0.0.1:9",
            "module_id": MODULE_ID,
            "env": {},
            "listen": "127.0.0.1:0",
        },
        separators=(",", ":"),
    ).encode()
    + b"\n"
)
SHUTDOWN_LINE: Final = b'{"op":"shutdown"}\n'
ECHO_LINE: Final = (
    json.dumps({"op": "get_secret", "name": bench_mod.BENCH_SECRET}, separators=(",", ":")).encode()
    + b"\n"
)
PROCESS_TIMEOUT: Final = 30.0
STARTUP_TARGET_MS: Final = 50.0
CLI_TARGET_MS: Final = 150.0
PYWATT_SCRIPT: Final = Path(sys.executable).parent / "pywatt"
ROUNDTRIP_TARGET: Final = 0.25


# -- startup -----------------------------------------------------------------------------------


def _child_env() -> dict[str, str]:
    """The environment both startup processes get: ours, plus what the orchestrator adds."""
    env = dict(os.environ)
    env.pop(bench_mod.MODE_ENV, None)
    env.pop(bench_mod.PROFILE_ENV, None)
    env.update(PYWATT_EMBEDDED="1", PYWATT_MODULE_ID=MODULE_ID)
    return env


def time_to_announce(env: dict[str, str]) -> float:
    """Spawn the minimal module, write its InitBlob, read up to its announce: seconds.

    The clock runs from just before the spawn to the announce line. Then the module is shut
    down and reaped. Raises :class:`BenchmarkError` if it does not announce or exits badly.
    """
    spawned: list[subprocess.Popen[bytes]] = []

    def kill_spawned() -> None:
        for child in spawned:
            child.kill()

    watchdog = threading.Timer(PROCESS_TIMEOUT, kill_spawned)
    watchdog.start()  # a module that never announces is killed: readline() then sees EOF
    start = time.perf_counter()
    process = subprocess.Popen(
        [*PYTHON, str(MODULE_FILE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    spawned.append(process)
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(INIT_LINE)
        process.stdin.flush()
        while True:
            line = process.stdout.readline()
            if not line:
                raise BenchmarkError("the module closed stdout before announcing")
            message = json.loads(line)
            if message.get("op") == "announce":
                elapsed = time.perf_counter() - start
                break
        if message.get("endpoints") != []:
            raise BenchmarkError(f"the minimal module announced endpoints: {message}")
        process.stdin.write(SHUTDOWN_LINE)
        process.stdin.flush()
        _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    except Exception as exc:
        process.kill()
        _, stderr = process.communicate()
        raise BenchmarkError(
            f"startup run failed: {exc!r}; module stderr:\n{stderr.decode()}"
        ) from exc
    except BaseException:
        process.kill()
        process.wait()
        raise
    finally:
        watchdog.cancel()
    if process.returncode != 0:
        raise BenchmarkError(
            f"the module exited with {process.returncode} after shutdown:\n{stderr.decode()}"
        )
    return elapsed


# What a module file imports (``import pywatt`` alone is lazy and loads almost nothing).
IMPORT_ONLY: Final = "from pywatt import AppState, pywatt_module"
IMPORT_THEN_EXIT: Final = "from pywatt import AppState, pywatt_module; import os; os._exit(0)"
"""The baseline without interpreter teardown, which the announce timing does not include."""


def time_import_only(env: dict[str, str], code: str = IMPORT_ONLY) -> float:
    """Spawn ``python -c code`` with the same pipes; seconds from spawn to exit."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [*PYTHON, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    _, stderr = process.communicate(timeout=PROCESS_TIMEOUT)
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        raise BenchmarkError(f"{code!r} failed ({process.returncode}):\n{stderr.decode()}")
    return elapsed


def measure_startup(repetitions: int, log: Callable[[str], None]) -> dict[str, list[float]]:
    """Interleave module-to-announce, import-only and import-then-``os._exit`` runs (after
    one untimed round), rotating their order; milliseconds per run, by name."""
    env = _child_env()
    runs: dict[str, Callable[[dict[str, str]], float]] = {
        "announce": time_to_announce,
        "import": time_import_only,
        "import_exit": lambda env: time_import_only(env, IMPORT_THEN_EXIT),
    }
    for run in runs.values():
        run(env)
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for repetition in range(repetitions):
        shift = repetition % len(names)
        for name in names[shift:] + names[:shift]:
            samples[name].append(runs[name](env) * 1000)
    log(
        f"module: startup to announce {statistics.median(samples['announce']):.1f} ms, "
        f"import only {statistics.median(samples['import']):.1f} ms, import then os._exit "
        f"{statistics.median(samples['import_exit']):.1f} ms ({repetitions} each)"
    )
    return samples


def time_command(command: list[str]) -> float:
    """Seconds from spawn to exit of ``command`` (its output read and dropped)."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, timeout=PROCESS_TIMEOUT, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise BenchmarkError(f"{command} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def measure_cli(repetitions: int, log: Callable[[str], None]) -> dict[str, list[float]]:
    """``pywatt --help`` and ``python -c pass`` interleaved (after one untimed round),
    milliseconds per run."""
    commands = {"help": [str(PYWATT_SCRIPT), "--help"], "python": [sys.executable, "-c", "pass"]}
    for command in commands.values():
        time_command(command)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for repetition in range(repetitions):
        order = list(commands) if repetition % 2 == 0 else list(reversed(commands))
        for name in order:
            samples[name].append(time_command(commands[name]) * 1000)
    log(
        f"module: pywatt --help {statistics.median(samples['help']):.1f} ms, python -c pass "
        f"{statistics.median(samples['python']):.1f} ms ({repetitions} each)"
    )
    return samples


# -- secret round trips through the embedded orchestrator ----------------------------------------


@attrs.define
class CpuShares:
    """Per run of the pywatt implementation: CPU seconds per wall second of the fetch loop,
    of the module process and of this process (the orchestrator, which is otherwise idle)."""

    module: list[float] = attrs.field(factory=list)
    orchestrator: list[float] = attrs.field(factory=list)

    def as_json(self) -> dict[str, float]:
        if not self.module:
            return {}
        return {
            "module_median": statistics.median(self.module),
            "orchestrator_median": statistics.median(self.orchestrator),
        }


class _ResultWatch:
    """The console sink of one orchestrator run: keeps every line, spots the module's result."""

    def __init__(self) -> None:
        self.lines: list[ConsoleLine] = []
        self.result: dict[str, Any] | None = None
        self.error: str | None = None
        self.done = trio.Event()

    def __call__(self, line: ConsoleLine) -> None:
        self.lines.append(line)
        if not line.from_module:
            return
        if line.text.startswith(bench_mod.RESULT_MARK):
            self.result = json.loads(line.text.removeprefix(bench_mod.RESULT_MARK))
            self.done.set()
        elif line.text.startswith(bench_mod.ERROR_MARK):
            self.error = line.text.removeprefix(bench_mod.ERROR_MARK)
            self.done.set()

    def text(self) -> str:
        return "\n".join(line.render() for line in self.lines)


async def pywatt_secret_roundtrips(seconds: float, cpu: CpuShares | None = None) -> float:
    """Round trips/s of ``force_remote`` fetches, module → real orchestrator → module.

    With ``cpu``, records the share of the loop's wall time each side spent on a CPU.
    """
    spec = ModuleSpec.from_command(
        MODULE_ID,
        [*PYTHON, str(MODULE_FILE)],
        kind=ModuleKind.PYWATT,
        restart=RestartPolicy(restart=Restart.TEMPORARY),
        env={bench_mod.MODE_ENV: "secrets"},
    )
    manifest = Manifest(
        modules=[spec],
        secrets={
            bench_mod.BENCH_SECRET: bench_mod.BENCH_VALUE,
            bench_mod.GO_SECRET: bench_mod.GO_IDLE,
        },
        environment={},
        grace=5.0,
        term_grace=2.0,
    )
    watch = _ResultWatch()
    try:
        async with open_orchestrator(manifest, on_output=watch, verbosity=Verbosity.NORMAL) as orch:
            handle = orch.module(MODULE_ID)
            with trio.fail_after(PROCESS_TIMEOUT):
                await handle.wait_announced()
            rotation = await orch.rotate(bench_mod.GO_SECRET, bench_mod.go_value(seconds))
            if not rotation.ok:
                raise BenchmarkError(f"the start signal was not acked: {rotation}")
            cpu_start, wall_start = time.process_time(), time.perf_counter()
            with trio.fail_after(seconds + PROCESS_TIMEOUT):
                await watch.done.wait()
            orchestrator_share = (time.process_time() - cpu_start) / (
                time.perf_counter() - wall_start
            )
            if handle.restarts:
                raise BenchmarkError("the module restarted during the run")
    except Exception as exc:  # with every console line, which says what went wrong
        raise BenchmarkError(f"secret round trips failed: {exc!r}\n{watch.text()}") from exc
    if watch.result is None:
        raise BenchmarkError(f"the module's fetch loop failed: {watch.error}\n{watch.text()}")
    elapsed = float(watch.result["seconds"])
    if cpu is not None:
        cpu.module.append(float(watch.result["cpu_seconds"]) / elapsed)
        cpu.orchestrator.append(orchestrator_share)
    return float(watch.result["fetches"]) / elapsed


async def echo_roundtrips(seconds: float) -> float:
    """Round trips/s of one line at a time through a trio child that echoes its stdin."""
    process = await trio.lowlevel.open_process(
        [*PYTHON, str(ECHO_FILE)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert process.stdin is not None
    assert process.stdout is not None
    stdin, stdout = process.stdin, process.stdout
    pending = b""

    async def roundtrip() -> None:
        nonlocal pending
        await stdin.send_all(ECHO_LINE)
        while (end := pending.find(b"\n")) < 0:
            data = await stdout.receive_some(65536)
            if not data:
                raise BenchmarkError("the echo child closed its stdout")
            pending += data
        line, pending = pending[: end + 1], pending[end + 1 :]
        if line != ECHO_LINE:
            raise BenchmarkError(f"the echo child sent back {line!r}")

    try:
        with trio.fail_after(PROCESS_TIMEOUT):
            await roundtrip()  # the child is up and echoing: start the clock
        clock = time.perf_counter
        count = 0
        start = clock()
        deadline = start + seconds
        while True:
            await roundtrip()
            count += 1
            now = clock()
            if now >= deadline:
                break
    finally:
        await stdin.aclose()
        with trio.move_on_after(PROCESS_TIMEOUT):
            await process.wait()
        if process.returncode is None:
            process.kill()
            await process.wait()
    if process.returncode != 0:
        raise BenchmarkError(f"the echo child exited with {process.returncode}")
    return count / (now - start)


# -- the benchmark -----------------------------------------------------------------------------


def define(bench: Bench) -> None:
    """Measure startup now (its metrics); declare the secret round-trip case and targets."""
    bench.meta["loadavg_1m_at_start"] = os.getloadavg()[0]  # other work on the machine skews it
    startup_repetitions = 7 if bench.quick else 21
    samples = measure_startup(startup_repetitions, print_to_stderr)
    announce = statistics.median(samples["announce"])
    import_only = statistics.median(samples["import"])
    import_exit = statistics.median(samples["import_exit"])
    bench.metric("startup_to_announce_ms", announce)
    bench.metric("import_pywatt_ms", import_only)
    bench.metric("import_pywatt_no_teardown_ms", import_exit)
    bench.metric("startup_overhead_ms", announce - import_only)
    bench.metric("startup_overhead_no_teardown_ms", announce - import_exit)
    bench.target("startup_overhead_ms", "<=", STARTUP_TARGET_MS)
    bench.meta["startup"] = {
        "repetitions": startup_repetitions,
        "command": "python -P benchmarks/_module_bench_mod.py (spawn to announce)",
        "baseline": f'python -P -c "{IMPORT_ONLY}" (spawn to exit)',
        "baseline_no_teardown": f'python -P -c "{IMPORT_THEN_EXIT}" (spawn to exit)',
        **{
            f"{name}_ms": {"min": min(values), "max": max(values)}
            for name, values in samples.items()
        },
    }

    cli = measure_cli(7 if bench.quick else 21, print_to_stderr)
    cli_help = statistics.median(cli["help"])
    python_startup = statistics.median(cli["python"])
    bench.metric("cli_help_ms", cli_help)
    bench.metric("python_startup_ms", python_startup)
    bench.metric("cli_help_vs_python_ms", cli_help - python_startup)
    bench.target("cli_help_vs_python_ms", "<=", CLI_TARGET_MS)
    bench.meta["cli"] = {
        "command": "pywatt --help (spawn to exit)",
        "baseline": "python -c pass (spawn to exit)",
        **{f"{name}_ms": {"min": min(v), "max": max(v)} for name, v in cli.items()},
    }

    settings = (
        Settings(repetitions=5, seconds=0.3, warmup_seconds=0.1)
        if bench.quick
        else Settings(repetitions=7, seconds=2.0, warmup_seconds=0.5)
    )
    case = bench.case("secret_roundtrip", unit="roundtrip/s", settings=settings)
    cpu = CpuShares()
    shares: dict[str, float] = {}  # filled in as the repetitions run (not the warm-up)
    warmed_up = False

    async def pywatt(seconds: float) -> float:
        nonlocal warmed_up
        rate = await pywatt_secret_roundtrips(seconds, cpu if warmed_up else None)
        warmed_up = True
        shares.update(cpu.as_json())
        return rate

    case.add("pywatt", pywatt)
    case.add("echo", echo_roundtrips)
    ratio = bench.ratio("secret_roundtrip", "pywatt", "echo")
    bench.target(ratio, ">=", ROUNDTRIP_TARGET)
    bench.meta["secret_roundtrip"] = {
        "repetitions": settings.repetitions,
        "seconds_per_run": settings.seconds,
        "fetch": "state.secret(name, force_remote=True), sequential, through open_orchestrator",
        "echo_line_bytes": len(ECHO_LINE),
        "cpu_seconds_per_second": shares,
    }


def print_to_stderr(line: str) -> None:
    """Progress goes to stderr, beside the harness's own; the table goes to stdout."""
    print(line, file=sys.stderr, flush=True)


if __name__ == "__main__":
    raise SystemExit(main("module", define))

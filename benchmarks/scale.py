"""How cost grows with the number of actors and of modules.

``python -m benchmarks.scale [--quick] [--full] [--out DIR] [--strict]``

* **Idle actors** (metrics, curve in ``meta.curves.actors``). For 1,000, 10,000 and 100,000
  idle actors in one actor system (``benchmarks.actors.Idle``, mailbox 1024, all under the
  root supervisor), each count in a fresh interpreter:

  - ``spawn_<n>_actors_s``: seconds to spawn them one after another (no tracemalloc);
  - ``idle_actor_<n>_rss_bytes``: the growth of the process's resident set
    (``/proc/self/status`` VmRSS) from after 50 warm-up spawns to after the last one (all
    parked, garbage collected), divided by n: what the operating system sees;
  - ``idle_actor_<n>_traced_bytes``: the same growth as ``tracemalloc`` counts it, in
    another fresh interpreter with tracemalloc started first
    (``benchmarks.actors.traced_bytes_in_fresh_process``, the figure ``benchmarks.actors``
    reports for 10,000): what Python allocated, without allocator slack.

  The target is the actors benchmark's own: at most 4,096 traced bytes per idle actor, here
  at 100,000.
* **Idle modules** (metrics, curve in ``meta.curves.modules``). N modules of
  ``benchmarks/_scale_module.py`` (announces, then does nothing) under one embedded
  orchestrator (:func:`pywatt.orchestrator.open_orchestrator`, in this process, default
  heartbeat interval of 5 s), for N = 2, 10 and 50 (and 200 with ``--full`` or
  ``PYWATT_BENCH_FULL=1``, if ``/proc/meminfo`` shows room for it). Once every module has
  announced and opened its two channels, and after a settling pause, an idle window of 10 s
  (5 s quick) is measured:

  - ``idle_module_cpu_n<N>_pct``: CPU time (``/proc/<pid>/stat`` utime + stime, in clock
    ticks of 10 ms) of all N modules over the window, divided by N and by the window: the
    mean per module, in percent of one core. The window holds at least one heartbeat per
    channel (``meta.curves.modules[].heartbeat_acks``);
  - ``orchestrator_cpu_n<N>_pct``: this process's CPU time (``time.process_time``) over the
    same window; it runs the orchestrator and nothing else then;
  - ``idle_module_rss_n<N>_mib`` and ``idle_module_pss_n<N>_mib``: the mean per module of
    VmRSS (``/proc/<pid>/status``) and of Pss (``/proc/<pid>/smaps_rollup``, shared pages
    split between the processes sharing them: the fairer per-module share);
  - ``orchestrator_rss_n<N>_mib``: this process's VmRSS (the orchestrator plus the
    benchmark harness; memory of the earlier, smaller runs is not handed back, so read it
    as a high-water mark);
  - ``module_startup_n<N>_s``: from opening the orchestrator to every module announced with
    its channels open.

  Targets (issue #16): ``idle_module_cpu_pct`` <= 0.2 and ``idle_module_rss_mib`` <= 40,
  both the figure at the largest N measured.
* **Routed requests beside idle modules** (rates). The routed request of
  ``benchmarks.channels`` (module ``ping`` asks ``pong:echo`` with 16 requests in flight,
  :class:`benchmarks.channels.RoutedFixture`) with 0, 8 and 48 idle modules beside them:
  cases ``routed_request_<N>_modules`` for N = 2, 10 and 50 modules in all, one N after the
  other (the fixture of one N is closed before the next starts).
  ``routed_slowdown_<N>_modules_pct`` is how much slower the rate is than with 2 modules
  (negative: faster); on a loaded machine it is mostly noise (docs/performance.md).

``meta`` holds ``/proc/loadavg`` before and after: on a loaded machine (the usual case for
these runs) the CPU percentages and rates are noisy, the memory figures much less so.
``docs/images/scale.png`` is drawn from the results file (matplotlib, a dev dependency).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import trio
import trio.testing

import actors

from ._harness import RESULTS_DIR, Bench, BenchmarkError, Settings, main
from .actors import MAILBOX, Idle, traced_bytes_in_fresh_process
from .channels import RoutedFixture

HERE: Final = Path(__file__).resolve().parent
ROOT: Final = HERE.parent
IDLE_MODULE: Final = str(HERE / "_scale_module.py")
PLOT: Final = ROOT / "docs" / "images" / "scale.png"
ACTOR_COUNTS: Final = (1_000, 10_000, 100_000)
MODULE_COUNTS: Final = (2, 10, 50)
FULL_MODULE_COUNT: Final = 200
FULL_ENV: Final = "PYWATT_BENCH_FULL"
MODULE_ROOM_MIB: Final = 64
"""Memory set aside per module when checking there is room for the --full run."""
SPARE_MIB: Final = 2048
IDLE_ACTOR_TARGET_BYTES: Final = 4096
IDLE_CPU_TARGET_PCT: Final = 0.2
IDLE_RSS_TARGET_MIB: Final = 40.0
CLOCK_TICK: Final = os.sysconf("SC_CLK_TCK")


# -- /proc ----------------------------------------------------------------------------------------


def loadavg() -> str:
    """``/proc/loadavg`` as it reads."""
    return Path("/proc/loadavg").read_text().strip()


def _kib_field(path: str, field: str) -> int:
    for line in Path(path).read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchmarkError(f"no {field} in {path}")


def rss_kib(pid: int | str = "self") -> int:
    """VmRSS of a process, KiB."""
    return _kib_field(f"/proc/{pid}/status", "VmRSS")


def pss_kib(pid: int | str = "self") -> int:
    """Pss of a process (its share of every page it maps), KiB."""
    return _kib_field(f"/proc/{pid}/smaps_rollup", "Pss")


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICK


def available_mib() -> float:
    return _kib_field("/proc/meminfo", "MemAvailable") / 1024


# -- idle actors ----------------------------------------------------------------------------------


async def _spawn_and_rss(count: int) -> dict[str, float]:
    """In a fresh interpreter: seconds to spawn ``count`` idle actors, and VmRSS growth per
    actor (after 50 warm-up spawns, to after the last, all parked and collected)."""

    async def settle() -> int:
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        return rss_kib() * 1024

    async with actors.open_actor_system() as system:
        spawn = system.spawn
        for i in range(-50, 0):
            await spawn(Idle, name=f"idle-{i}", mailbox_size=MAILBOX)
        before = await settle()
        start = time.perf_counter()
        for i in range(count):
            await spawn(Idle, name=f"idle-{i}", mailbox_size=MAILBOX)
        elapsed = time.perf_counter() - start
        after = await settle()
    return {"spawn_s": elapsed, "rss_bytes": (after - before) / count}


def spawn_and_rss_in_fresh_process(count: int) -> dict[str, float]:
    code = (
        "import json, trio; from benchmarks.scale import _spawn_and_rss; "
        f"print(json.dumps(trio.run(_spawn_and_rss, {count})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise BenchmarkError(f"spawn child failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def actor_curve(repetitions: int, log: Callable[[str], None]) -> list[dict[str, float]]:
    """Per count: medians of spawn seconds, RSS and traced bytes per actor."""
    curve = []
    for count in ACTOR_COUNTS:
        runs = [spawn_and_rss_in_fresh_process(count) for _ in range(repetitions)]
        traced = [traced_bytes_in_fresh_process(count, ours=True) for _ in range(repetitions)]
        point = {
            "actors": count,
            "spawn_s": statistics.median(r["spawn_s"] for r in runs),
            "rss_bytes_per_actor": statistics.median(r["rss_bytes"] for r in runs),
            "traced_bytes_per_actor": statistics.median(traced),
        }
        log(
            f"scale: {count:,} actors: spawn {point['spawn_s']:.3f} s, "
            f"{point['rss_bytes_per_actor']:.0f} B RSS, "
            f"{point['traced_bytes_per_actor']:.0f} B traced per actor"
        )
        curve.append(point)
    return curve


# -- idle modules ---------------------------------------------------------------------------------


def idle_specs(count: int, prefix: str = "idle") -> list[Any]:
    """``count`` specs of the idle module."""
    from pywatt.orchestrator import ModuleSpec

    return [ModuleSpec.from_command(f"{prefix}-{i}", IDLE_MODULE) for i in range(count)]


async def idle_modules(count: int, window: float, settle: float) -> dict[str, Any]:
    """Start ``count`` idle modules, wait ``settle`` s, then measure a ``window`` s idle."""
    from pywatt.orchestrator import Manifest, open_orchestrator

    specs = idle_specs(count)
    lines: list[str] = []
    start = time.perf_counter()
    async with open_orchestrator(
        Manifest(modules=specs), on_output=lambda line: lines.append(line.render())
    ) as orch:
        try:
            with trio.fail_after(60 + 2 * count):
                for spec in specs:
                    await orch.module(spec.id).wait_announced()
                    await orch.wait_channels(spec.id, 2)
        except trio.TooSlowError:
            tail = "\n".join(lines[-40:])
            raise BenchmarkError(f"{count} idle modules did not all start:\n{tail}") from None
        startup = time.perf_counter() - start
        await trio.sleep(settle)
        handles = [orch.module(spec.id) for spec in specs]
        pids = [h.pid for h in handles if h.pid is not None]
        if len(pids) != count:
            raise BenchmarkError(f"a module has no process: {handles}")
        acks_before = await _heartbeat_acks(orch, specs)
        cpu_before = [cpu_seconds(pid) for pid in pids]
        own_before, wall_before = time.process_time(), time.perf_counter()
        await trio.sleep(window)
        own = time.process_time() - own_before
        wall = time.perf_counter() - wall_before
        cpu = [cpu_seconds(pid) - b for pid, b in zip(pids, cpu_before, strict=True)]
        acks = await _heartbeat_acks(orch, specs) - acks_before
        rss = [rss_kib(pid) / 1024 for pid in pids]
        pss = [pss_kib(pid) / 1024 for pid in pids]
        if [h.pid for h in handles] != pids or any(h.restarts for h in handles):
            raise BenchmarkError("a module restarted during the idle window")
        orchestrator_rss = rss_kib() / 1024
        orchestrator_pss = pss_kib() / 1024
    return {
        "modules": count,
        "startup_s": startup,
        "window_s": wall,
        "heartbeat_acks": acks,
        "module_cpu_pct_mean": 100 * sum(cpu) / count / wall,
        "module_cpu_pct_max": 100 * max(cpu) / wall,
        "orchestrator_cpu_pct": 100 * own / wall,
        "module_rss_mib_mean": statistics.fmean(rss),
        "module_rss_mib_max": max(rss),
        "module_pss_mib_mean": statistics.fmean(pss),
        "orchestrator_rss_mib": orchestrator_rss,
        "orchestrator_pss_mib": orchestrator_pss,
    }


async def _heartbeat_acks(orch: Any, specs: Sequence[Any]) -> int:
    total = 0
    for spec in specs:
        total += sum(conn.heartbeat_acks for conn in await orch.channels(spec.id))
    return total


def module_counts(full: bool, log: Callable[[str], None]) -> tuple[list[int], str | None]:
    """The module counts to measure, and why the full count was skipped (if it was)."""
    counts = list(MODULE_COUNTS)
    if not full:
        return counts, f"{FULL_MODULE_COUNT} modules: only with --full or {FULL_ENV}=1"
    need = FULL_MODULE_COUNT * MODULE_ROOM_MIB + SPARE_MIB
    have = available_mib()
    if have < need:
        note = f"{FULL_MODULE_COUNT} modules skipped: {have:.0f} MiB available, {need} wanted"
        log(f"scale: {note}")
        return counts, note
    return [*counts, FULL_MODULE_COUNT], None


def module_curve(
    counts: Sequence[int], window: float, settle: float, log: Callable[[str], None]
) -> list[dict[str, Any]]:
    curve = []
    for count in counts:
        gc.collect()
        point = trio.run(idle_modules, count, window, settle)
        log(
            f"scale: {count} idle modules: {point['module_cpu_pct_mean']:.3f} % CPU and "
            f"{point['module_rss_mib_mean']:.1f} MiB RSS ({point['module_pss_mib_mean']:.1f} "
            f"MiB PSS) each; orchestrator {point['orchestrator_cpu_pct']:.3f} % CPU, "
            f"{point['orchestrator_rss_mib']:.1f} MiB RSS; started in {point['startup_s']:.1f} s"
        )
        curve.append(point)
    return curve


# -- routed requests beside idle modules ----------------------------------------------------------


class RoutedBesideIdle:
    """One :class:`RoutedFixture` per module count, started on its first run; starting one
    closes the others (the cases run one after the other)."""

    def __init__(self) -> None:
        self.fixtures: dict[int, RoutedFixture] = {}

    def implementation(self, modules: int) -> Callable[[float], float]:
        def run(seconds: float) -> float:
            fixture = self.fixtures.get(modules)
            if fixture is None:
                self.close()
                fixture = RoutedFixture(idle=idle_specs(modules - 2))
                self.fixtures[modules] = fixture
            return fixture.run(seconds)

        return run

    def close(self) -> None:
        for fixture in self.fixtures.values():
            fixture.close()
        self.fixtures.clear()


# -- the benchmark -------------------------------------------------------------------------------


def define(bench: Bench, *, full: bool = False) -> None:
    """Measure the actor and idle-module curves now; declare the routed cases."""
    log = print_to_stderr
    bench.meta["loadavg_before"] = loadavg()
    bench.meta["mem_available_mib_before"] = round(available_mib())
    bench.meta["loaded"] = (
        "measured on a shared 2-core machine running other test suites: CPU shares and "
        "rates are noisy (see loadavg_before/after); the memory figures much less so"
    )
    curves: dict[str, Any] = {}
    bench.meta["curves"] = curves

    curves["actors"] = actor_curve(1 if bench.quick else 3, log)
    for point in curves["actors"]:
        n = _short(point["actors"])
        bench.metric(f"spawn_{n}_actors_s", point["spawn_s"])
        bench.metric(f"idle_actor_{n}_rss_bytes", point["rss_bytes_per_actor"])
        bench.metric(f"idle_actor_{n}_traced_bytes", point["traced_bytes_per_actor"])
    bench.target(f"idle_actor_{_short(ACTOR_COUNTS[-1])}_traced_bytes", "<=", 4096)
    bench.meta["actor_memory"] = (
        "rss: VmRSS growth per actor in a fresh interpreter; traced: tracemalloc growth per "
        "actor in another (the actors benchmark's idle_actor_bytes)"
    )

    counts, skipped = module_counts(full, log)
    window, settle = (5.0, 2.0) if bench.quick else (10.0, 3.0)
    curves["modules"] = module_curve(counts, window, settle, log)
    for point in curves["modules"]:
        n = point["modules"]
        bench.metric(f"idle_module_cpu_n{n}_pct", point["module_cpu_pct_mean"])
        bench.metric(f"orchestrator_cpu_n{n}_pct", point["orchestrator_cpu_pct"])
        bench.metric(f"idle_module_rss_n{n}_mib", point["module_rss_mib_mean"])
        bench.metric(f"idle_module_pss_n{n}_mib", point["module_pss_mib_mean"])
        bench.metric(f"orchestrator_rss_n{n}_mib", point["orchestrator_rss_mib"])
        bench.metric(f"module_startup_n{n}_s", point["startup_s"])
    largest = curves["modules"][-1]
    bench.metric("idle_module_cpu_pct", largest["module_cpu_pct_mean"])
    bench.metric("idle_module_rss_mib", largest["module_rss_mib_mean"])
    bench.target("idle_module_cpu_pct", "<=", IDLE_CPU_TARGET_PCT)
    bench.target("idle_module_rss_mib", "<=", IDLE_RSS_TARGET_MIB)
    bench.meta["idle_modules"] = {
        "module": "benchmarks/_scale_module.py (announces, then idles)",
        "window_s": window,
        "settle_s": settle,
        "heartbeat_interval_s": 5.0,
        "cpu": "/proc/<pid>/stat utime+stime (10 ms ticks), mean per module over the window",
        "cpu_resolution_pct": {
            str(p["modules"]): 100 / CLOCK_TICK / p["modules"] / p["window_s"]
            for p in curves["modules"]
        },
        "rss": "/proc/<pid>/status VmRSS; pss: /proc/<pid>/smaps_rollup Pss",
        "headline": f"idle_module_cpu_pct and idle_module_rss_mib are the N={largest['modules']}"
        " figures",
        "skipped": skipped,
    }

    settings = (
        Settings(repetitions=3, seconds=0.4, warmup_seconds=0.2)
        if bench.quick
        else Settings(repetitions=5, seconds=2.0, warmup_seconds=0.5)
    )
    routed = RoutedBesideIdle()
    for modules in MODULE_COUNTS:
        case = bench.case(f"routed_request_{modules}_modules", unit="req/s", settings=settings)
        case.add("pywatt", routed.implementation(modules))
    base = f"routed_request_{MODULE_COUNTS[0]}_modules"
    for modules in MODULE_COUNTS[1:]:
        bench.metric(
            f"routed_slowdown_{modules}_modules_pct",
            lambda modules=modules: _slowdown(bench, base, f"routed_request_{modules}_modules"),
        )
    bench.meta["routed"] = (
        "benchmarks.channels routed_request (ping asks pong:echo, 16 in flight) with N-2 idle "
        "modules beside; slowdown = 1 - rate(N) / rate(2), in percent"
    )
    bench.meta["cleanup"] = [routed.close]


def _slowdown(bench: Bench, base: str, case: str) -> float:
    ours = bench.cases[case].summary("pywatt").median
    return 100 * (1 - ours / bench.cases[base].summary("pywatt").median)


def _short(count: int) -> str:
    return f"{count // 1000}k" if count % 1000 == 0 else str(count)


def print_to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# -- the plot ------------------------------------------------------------------------------------


def plot(doc: dict[str, Any], path: Path) -> None:
    """Draw the three curves of a results document into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = doc["meta"]["curves"]
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(15, 4.4), layout="constrained")

    counts = [p["actors"] for p in curves["actors"]]
    left.plot(counts, [p["rss_bytes_per_actor"] for p in curves["actors"]], "o-", label="RSS")
    left.plot(counts, [p["traced_bytes_per_actor"] for p in curves["actors"]], "s-", label="traced")
    left.set(xscale="log", xlabel="idle actors", ylabel="bytes per actor", ylim=(0, None))
    left.set_title("idle actors: memory and spawn time")
    spawn = left.twinx()
    spawn.plot(counts, [p["spawn_s"] for p in curves["actors"]], "^--", color="grey")
    spawn.set(yscale="log", ylabel="spawn time, s (dashed)")
    left.legend(loc="lower right")

    modules = [p["modules"] for p in curves["modules"]]
    middle.plot(modules, [p["module_rss_mib_mean"] for p in curves["modules"]], "o-", label="RSS")
    middle.plot(modules, [p["module_pss_mib_mean"] for p in curves["modules"]], "s-", label="PSS")
    middle.axhline(IDLE_RSS_TARGET_MIB, color="red", linewidth=0.8, linestyle=":")
    middle.set(xscale="log", xlabel="idle modules", ylabel="MiB per module", ylim=(0, None))
    middle.set_title("idle modules: memory and CPU each")
    cpu = middle.twinx()
    cpu.plot(modules, [p["module_cpu_pct_mean"] for p in curves["modules"]], "^--", color="grey")
    cpu.plot(
        modules,
        [p["orchestrator_cpu_pct"] for p in curves["modules"]],
        "v:",
        color="black",
        label="orchestrator CPU %",
    )
    cpu.axhline(IDLE_CPU_TARGET_PCT, color="grey", linewidth=0.8, linestyle=":")
    cpu.set(ylabel="CPU %: per module (dashed), orchestrator (dotted)", ylim=(0, None))
    middle.legend(loc="center left")

    routed = [(int(name.split("_")[2]), rate["pywatt"]) for name, rate in doc["rates"].items()]
    right.errorbar(
        [n for n, _ in routed],
        [r["median"] for _, r in routed],
        yerr=[
            [r["median"] - r["min"] for _, r in routed],
            [r["max"] - r["median"] for _, r in routed],
        ],
        fmt="o-",
        capsize=3,
    )
    right.set(xscale="log", xlabel="modules (2 busy, the rest idle)", ylabel="requests/s")
    right.set_ylim(0, None)
    right.set_title("routed requests beside idle modules")
    for axis, ticks in ((left, counts), (middle, modules), (right, [n for n, _ in routed])):
        axis.grid(alpha=0.3)
        axis.set_xticks(ticks, [f"{n:,}" for n in ticks])
        axis.minorticks_off()
    fig.suptitle(
        f"pywatt scale ({doc['meta']['when']}, {doc['meta']['cpus']} CPUs, loaded: "
        f"loadavg {doc['meta']['loadavg_before'].split()[0]} before, "
        f"{doc['meta']['loadavg_after'].split()[0]} after)",
        fontsize=10,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run(argv: Sequence[str] | None = None) -> int:
    """``--full`` (or PYWATT_BENCH_FULL=1) adds 200 modules; the rest is the harness's."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--full", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    known, rest = parser.parse_known_args(argv)
    full = known.full or os.environ.get(FULL_ENV) == "1"
    cleanups: list[Callable[[], None]] = []

    def _define(bench: Bench) -> None:
        define(bench, full=full)
        cleanups.extend(bench.meta.pop("cleanup"))

    try:
        status = main("scale", _define, [*rest, "--out", str(known.out)], finish=_finish)
    finally:
        for cleanup in cleanups:
            cleanup()
    path = known.out / "scale.json"
    picture = PLOT if known.out.resolve() == RESULTS_DIR.resolve() else known.out / "scale.png"
    plot(json.loads(path.read_text()), picture)
    print(f"scale: drew {picture}")
    return status


def _finish(bench: Bench) -> None:
    bench.meta["loadavg_after"] = loadavg()


if __name__ == "__main__":
    raise SystemExit(run())

"""One shape for every benchmark: cases measured beside their baselines, one JSON file out.

A benchmark module declares what it measures on a :class:`Bench` and hands it to :func:`main`::

    def define(bench: Bench) -> None:
        case = bench.case("frame_decode_64b", unit="MiB/s")
        case.add("pywatt", run_ours)       # ours first: the table lists it first
        case.add("bare", run_bare)
        bench.ratio("frame_decode_64b", "pywatt", "bare")  # -> "frame_decode_64b_vs_bare"
        bench.target("frame_decode_64b_vs_bare", ">=", 0.5)

    if __name__ == "__main__":
        raise SystemExit(main("wire", define))

An *implementation* is a callable that receives a time budget in seconds, runs for about that
long, and returns the rate it achieved in the case's unit per second. It times itself (so its
set-up is not counted); :func:`rate_loop` and :func:`arate_loop` do that bookkeeping. A plain
function may call ``trio.run`` inside; an ``async def`` implementation is run with
``trio.run(impl, seconds)`` by the harness and must likewise return the rate it measured.

Every implementation of a case runs once per repetition, the repetitions interleaved (the
order rotates each round so no implementation always runs first), after one untimed warm-up
each. Medians of at least 3 repetitions are reported. Ratios are ours ÷ baseline of the
medians (higher is better); metrics are absolute, lower is better, with the unit in the name.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import inspect
import json
import math
import operator
import os
import platform
import re
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, Literal, TypeAlias

import attrs
import trio

RESULTS_DIR: Final = Path(__file__).resolve().parent / "results"
"""Where ``python -m benchmarks.<name>`` writes ``<name>.json`` unless told otherwise."""

METRIC_UNITS: Final = frozenset({"s", "ms", "us", "ns", "bytes", "kib", "mib", "pct", "count"})
"""Units a metric name may end with (``restart_latency_ms``, ``idle_actor_bytes``)."""

Op: TypeAlias = Literal[">=", "<="]
SyncImplementation: TypeAlias = Callable[[float], float]
AsyncImplementation: TypeAlias = Callable[[float], Awaitable[float]]
Implementation: TypeAlias = SyncImplementation | AsyncImplementation

_OPS: Final[dict[str, Callable[[float, float], bool]]] = {">=": operator.ge, "<=": operator.le}
_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_RATE_UNIT = re.compile(r"^[A-Za-z0-9.]+/s$")


class BenchmarkError(Exception):
    """A benchmark was declared or run wrongly (bad name, unit, unknown case, bad rate)."""


@attrs.frozen
class Settings:
    """How long and how often each implementation runs."""

    repetitions: int
    seconds: float
    warmup_seconds: float

    @classmethod
    def for_mode(cls, *, quick: bool) -> Settings:
        """The defaults: quick runs keep a whole benchmark module well under 30 s.

        More, shorter repetitions rather than fewer long ones: on a shared 2-core machine a
        burst of load then spoils one sample, not the median.
        """
        if quick:
            return cls(repetitions=5, seconds=0.07, warmup_seconds=0.03)
        return cls(repetitions=7, seconds=0.7, warmup_seconds=0.2)


@attrs.frozen
class Summary:
    """Median, minimum and maximum of one implementation's repetitions."""

    median: float
    min: float
    max: float
    unit: str

    @classmethod
    def of(cls, samples: Sequence[float], unit: str) -> Summary:
        return cls(statistics.median(samples), min(samples), max(samples), unit)

    def as_json(self) -> dict[str, float | str]:
        return {"median": self.median, "min": self.min, "max": self.max, "unit": self.unit}


@attrs.define
class Case:
    """One thing measured, with ours and its baselines as named implementations."""

    name: str
    unit: str
    settings: Settings | None = None
    implementations: dict[str, Implementation] = attrs.field(factory=dict)
    samples: dict[str, list[float]] = attrs.field(factory=dict)

    def add(self, name: str, implementation: Implementation) -> Case:
        """Add an implementation (``implementation(seconds) -> rate``); returns the case."""
        _check_name(name, "implementation")
        if name in self.implementations:
            raise BenchmarkError(f"case {self.name!r} already has an implementation {name!r}")
        self.implementations[name] = implementation
        return self

    def summary(self, implementation: str) -> Summary:
        """The summary of one implementation's samples; raises if it has not run."""
        samples = self.samples.get(implementation)
        if not samples:
            raise BenchmarkError(f"case {self.name!r}: {implementation!r} has no samples")
        return Summary.of(samples, self.unit)


@attrs.frozen
class _Ratio:
    name: str
    case: str
    ours: str
    baseline: str


@attrs.frozen
class _Target:
    name: str
    op: Op
    value: float


class Bench:
    """Collects cases, ratios, metrics and targets; runs them; prints and writes the result."""

    def __init__(
        self,
        name: str,
        *,
        quick: bool = False,
        settings: Settings | None = None,
        out_dir: Path | None = None,
    ) -> None:
        _check_name(name, "benchmark")
        self.name = name
        self.quick = quick
        self.settings = settings or Settings.for_mode(quick=quick)
        if self.settings.repetitions < 3:
            raise BenchmarkError("medians need at least 3 repetitions")
        self.out_dir = out_dir or RESULTS_DIR
        self.cases: dict[str, Case] = {}
        self.metrics: dict[str, float] = {}
        self.meta: dict[str, Any] = {}
        self._metric_fns: dict[str, Callable[[], float]] = {}
        self._ratios: dict[str, _Ratio] = {}
        self._targets: dict[str, _Target] = {}
        self._ran = False

    # -- declaring -------------------------------------------------------------------------------

    def case(self, name: str, *, unit: str, settings: Settings | None = None) -> Case:
        """Declare a case measured in ``unit`` (a rate such as ``"msg/s"``); returns it."""
        _check_name(name, "case")
        if not _RATE_UNIT.match(unit):
            raise BenchmarkError(f"case {name!r}: unit {unit!r} is not a rate like 'msg/s'")
        if name in self.cases:
            raise BenchmarkError(f"case {name!r} declared twice")
        self.cases[name] = case = Case(name, unit, settings)
        return case

    def ratio(self, case: str, ours: str, baseline: str, *, name: str | None = None) -> str:
        """Declare the ratio ``ours ÷ baseline`` of one case's medians; returns its name.

        The name defaults to ``<case>_vs_<baseline>``.
        """
        name = name or f"{case}_vs_{baseline}"
        _check_name(name, "ratio")
        if name in self._ratios or name in self._metric_names():
            raise BenchmarkError(f"{name!r} declared twice")
        self._ratios[name] = _Ratio(name, case, ours, baseline)
        return name

    def metric(self, name: str, measure: Callable[[], float] | float) -> None:
        """Record an absolute, lower-is-better figure; its name ends with its unit.

        ``measure`` is either the value or a callable that is run once per repetition
        (interleaved with nothing; after the cases) and whose median is recorded.
        """
        _check_name(name, "metric")
        unit = name.rsplit("_", 1)[-1]
        if "_" not in name or unit not in METRIC_UNITS:
            raise BenchmarkError(
                f"metric {name!r} must end with a unit: one of {sorted(METRIC_UNITS)}"
            )
        if name in self._ratios or name in self._metric_names():
            raise BenchmarkError(f"{name!r} declared twice")
        if callable(measure):
            self._metric_fns[name] = measure
        else:
            self.metrics[name] = _finite(float(measure), f"metric {name!r}")

    def target(self, name: str, op: Op, value: float) -> None:
        """Declare that ratio or metric ``name`` should satisfy ``op value``."""
        if op not in _OPS:
            raise BenchmarkError(f"target {name!r}: op must be '>=' or '<=', not {op!r}")
        if name not in self._ratios and name not in self._metric_names():
            raise BenchmarkError(f"target {name!r} names no declared ratio or metric")
        self._targets[name] = _Target(name, op, _finite(float(value), f"target {name!r}"))

    # -- running ---------------------------------------------------------------------------------

    def run(self, *, log: Callable[[str], None] | None = None) -> None:
        """Run every case (interleaved repetitions) and every metric callable. Blocks."""
        for ratio in self._ratios.values():
            case = self.cases.get(ratio.case)
            if case is None:
                raise BenchmarkError(f"ratio {ratio.name!r}: no case {ratio.case!r}")
            for impl in (ratio.ours, ratio.baseline):
                if impl not in case.implementations:
                    raise BenchmarkError(f"ratio {ratio.name!r}: case has no {impl!r}")
        # every result says how busy the machine was: other work skews a ratio measured on it
        self.meta.setdefault("loadavg_1m_at_start", os.getloadavg()[0])
        for case in self.cases.values():
            if log:
                log(f"{self.name}: {case.name} ...")
            self._run_case(case)
        for name, measure in self._metric_fns.items():
            samples = [_finite(float(measure()), name) for _ in range(self.settings.repetitions)]
            self.metrics[name] = statistics.median(samples)
        self.meta.setdefault("loadavg_1m_at_end", os.getloadavg()[0])
        self._ran = True

    def _run_case(self, case: Case) -> None:
        settings = case.settings or self.settings
        if not case.implementations:
            raise BenchmarkError(f"case {case.name!r} has no implementations")
        names = list(case.implementations)
        for name in names:
            _call(case.implementations[name], settings.warmup_seconds)
        case.samples = {name: [] for name in names}
        for repetition in range(settings.repetitions):
            shift = repetition % len(names)
            for name in names[shift:] + names[:shift]:
                gc.collect()
                rate = _call(case.implementations[name], settings.seconds)
                if not (math.isfinite(rate) and rate > 0):
                    raise BenchmarkError(f"{case.name}/{name} returned the rate {rate!r}")
                case.samples[name].append(rate)

    # -- results ---------------------------------------------------------------------------------

    def ratios(self) -> dict[str, float]:
        """Each declared ratio, ours ÷ baseline of the medians."""
        self._require_ran()
        out = {}
        for ratio in self._ratios.values():
            case = self.cases[ratio.case]
            out[ratio.name] = case.summary(ratio.ours).median / case.summary(ratio.baseline).median
        return out

    def targets(self) -> dict[str, dict[str, Any]]:
        """Each target with ``met`` computed from the measured ratio or metric."""
        values = {**self.ratios(), **self.metrics}
        return {
            t.name: {"op": t.op, "value": t.value, "met": _OPS[t.op](values[t.name], t.value)}
            for t in self._targets.values()
        }

    def result(self) -> dict[str, Any]:
        """The results document (one shape for all: docs/architecture.md, decision 22)."""
        self._require_ran()
        return {
            "benchmark": self.name,
            "quick": self.quick,
            "meta": {
                "python": platform.python_version(),
                "trio": trio.__version__,
                "cpus": os.cpu_count() or 1,
                "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                "repetitions": self.settings.repetitions,
                "seconds_per_run": self.settings.seconds,
                **self.meta,
            },
            "rates": {
                case.name: {impl: case.summary(impl).as_json() for impl in case.implementations}
                for case in self.cases.values()
            },
            "ratios": self.ratios(),
            "metrics": dict(self.metrics),
            "targets": self.targets(),
        }

    def table(self) -> str:
        """The results as an aligned plain-text table."""
        self._require_ran()
        rows = [("case", "implementation", "median", "min", "max", "unit")]
        for case in self.cases.values():
            for impl in case.implementations:
                s = case.summary(impl)
                rows.append((case.name, impl, _num(s.median), _num(s.min), _num(s.max), s.unit))
        lines = _align(rows, right=(2, 3, 4))
        targets = self.targets()
        figures = [("ratio or metric", "value", "target", "met")]
        for name, value in {**self.ratios(), **self.metrics}.items():
            t = targets.get(name)
            goal = f"{t['op']} {_num(t['value'])}" if t else ""
            met = ("yes" if t["met"] else "NO") if t else ""
            figures.append((name, _num(value), goal, met))
        if len(figures) > 1:
            lines += ["", *_align(figures, right=(1,))]
        return "\n".join(lines)

    def missed(self) -> list[str]:
        """Names of the targets that were not met."""
        return [name for name, t in self.targets().items() if not t["met"]]

    def write(self) -> Path:
        """Write ``<out_dir>/<name>.json`` (creating the directory); returns the path."""
        doc = self.result()
        self.out_dir.mkdir(parents=True, exist_ok=True)
        path = self.out_dir / f"{self.name}.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=2) + "\n")
        tmp.replace(path)
        return path

    def _metric_names(self) -> set[str]:
        return set(self.metrics) | set(self._metric_fns)

    def _require_ran(self) -> None:
        if not self._ran:
            raise BenchmarkError("run() the benchmark before reading its results")


# -- helpers for implementations ---------------------------------------------------------------


def rate_loop(batch: Callable[[], float], seconds: float) -> float:
    """Call ``batch`` (which returns the units it did) until ``seconds`` pass; units/second.

    At least one batch runs. Keep a batch well above a microsecond: the clock is read after
    each one.
    """
    total = 0.0
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    while True:
        total += batch()
        now = clock()
        if now >= deadline:
            return total / (now - start)


async def arate_loop(batch: Callable[[], Awaitable[float]], seconds: float) -> float:
    """The async twin of :func:`rate_loop`, for use inside ``trio.run``."""
    total = 0.0
    clock = time.perf_counter
    start = clock()
    deadline = start + seconds
    while True:
        total += await batch()
        now = clock()
        if now >= deadline:
            return total / (now - start)


# -- command line ------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None, *, name: str = "") -> argparse.Namespace:
    """Parse ``--quick``, ``--out DIR`` (default ``benchmarks/results``) and ``--strict``."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}" if name else None)
    parser.add_argument("--quick", action="store_true", help="short run (< 30 s in total)")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="results directory")
    parser.add_argument(
        "--strict", action="store_true", help="exit with status 1 if a target is missed"
    )
    return parser.parse_args(argv)


def main(
    name: str,
    define: Callable[[Bench], None],
    argv: Sequence[str] | None = None,
    *,
    finish: Callable[[Bench], None] | None = None,
) -> int:
    """Parse the command line, declare, run, print the table and write the JSON file.

    ``finish(bench)``, if given, runs after the cases and metrics and before the table is
    printed and the file written (to add to ``bench.meta`` what is known only then).
    """
    args = parse_args(argv, name=name)
    bench = Bench(name, quick=args.quick, out_dir=args.out)
    define(bench)
    started = time.perf_counter()
    bench.run(log=lambda line: print(line, file=sys.stderr, flush=True))
    elapsed = time.perf_counter() - started
    if finish is not None:
        finish(bench)
    print(bench.table())
    path = bench.write()
    missed = bench.missed()
    print(f"\n{name}: {elapsed:.1f} s, wrote {path}")
    if missed:
        print(f"{name}: targets missed: {', '.join(missed)}")
    return 1 if (missed and args.strict) else 0


# -- internals ---------------------------------------------------------------------------------


def _call(implementation: Implementation, seconds: float) -> float:
    if inspect.iscoroutinefunction(implementation):
        return float(trio.run(implementation, seconds))
    rate = implementation(seconds)
    if not isinstance(rate, int | float):
        raise BenchmarkError(f"{implementation!r} returned {rate!r}, not a rate")
    return float(rate)


def _check_name(name: str, what: str) -> None:
    if not _NAME.match(name):
        raise BenchmarkError(f"{what} name {name!r} must be lowercase letters, digits and '_'")


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise BenchmarkError(f"{what} is not a finite number: {value!r}")
    return value


def _num(value: float) -> str:
    magnitude = abs(value)
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 1:
        return f"{value:.3f}"
    if magnitude >= 1e-3 or value == 0:
        return f"{value:.4f}"
    return f"{value:.3e}"


def _align(rows: Sequence[Sequence[str]], *, right: Sequence[int] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = []
    for row in rows:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ]
        out.append("  ".join(cells).rstrip())
    return out

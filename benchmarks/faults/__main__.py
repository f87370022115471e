"""Run the fault suite: ``python -m benchmarks.faults [--seconds S] [--only NAME ...]``."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
import trio

from .._harness import RESULTS_DIR
from . import _runtime, _servers
from ._counts import MUST_BE_ZERO, Counts, Named

ALL: list[Named] = [*_runtime.SCENARIOS, *_servers.SCENARIOS]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults")
    parser.add_argument("--seconds", type=float, default=8.0, help="budget per scenario")
    parser.add_argument("--only", nargs="*", default=None, metavar="NAME")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    chosen = [s for s in ALL if args.only is None or s.name in args.only]
    if not chosen:
        print(f"no scenario to run (known: {', '.join(s.name for s in ALL)})", file=sys.stderr)
        return 2
    results: dict[str, Counts] = {}
    started = time.monotonic()
    for scenario in chosen:
        counts = Counts()
        print(f"faults: {scenario.name} ...", file=sys.stderr, flush=True)
        try:
            trio.run(scenario.run, args.seconds, counts)
        except Exception as exc:  # the scenario itself broke: count it, go on
            counts.unexpected_exceptions += 1
            counts.notes.append(f"the scenario raised {type(exc).__name__}: {exc}")
        results[scenario.name] = counts
    total = Counts()
    for counts in results.values():
        total.add(counts)
    path = _write(args.out, results, total, args.seconds, time.monotonic() - started)
    print(_table(results, total))
    failures = {name: c.problems() for name, c in results.items() if c.problems()}
    for name, problems in failures.items():
        print(f"FAILED {name}: {'; '.join(problems)}")
        for note in results[name].notes:
            print(f"    {note}")
    print(f"faults: wrote {path}", file=sys.stderr)
    return 1 if failures else 0


def _write(
    out: Path, results: dict[str, Counts], total: Counts, budget: float, elapsed: float
) -> Path:
    """In the one shape of benchmarks/results: the counts are metrics (``*_count``) and the
    four that must be zero are targets."""
    metrics: dict[str, float] = {}
    for field in attrs.fields(Counts):
        if field.name != "notes":
            metrics[f"{field.name}_count"] = getattr(total, field.name)
    doc = {
        "benchmark": "faults",
        "quick": budget < 30,
        "meta": {
            "python": platform.python_version(),
            "trio": trio.__version__,
            "cpus": os.cpu_count() or 1,
            "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "seconds_per_scenario": budget,
            "elapsed_s": round(elapsed, 1),
            "loadavg_1m_at_end": os.getloadavg()[0],
            "scenarios": {name: attrs.asdict(c) for name, c in results.items()},
        },
        "rates": {},
        "ratios": {},
        "metrics": metrics,
        "targets": {
            f"{name}_count": {"op": "<=", "value": 0, "met": getattr(total, name) == 0}
            for name in MUST_BE_ZERO
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "faults.json"
    path.write_text(json.dumps(doc, indent=2) + "\n")
    return path


def _table(results: dict[str, Counts], total: Counts) -> str:
    names = [f.name for f in attrs.fields(Counts) if f.name != "notes"]
    rows = [["scenario", *names]]
    for name, c in [*results.items(), ("TOTAL", total)]:
        rows.append([name, *(str(getattr(c, n)) for n in names)])
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths, strict=True)) for r in rows)


if __name__ == "__main__":
    raise SystemExit(main())

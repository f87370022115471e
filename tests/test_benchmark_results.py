"""Each benchmarks/results/*.json has the shape of docs/architecture.md, decision 22; so does the
output of the harness that writes them."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
from pathlib import Path
from typing import Any

import pytest
import trio

from benchmarks import _harness
from benchmarks._harness import Bench, BenchmarkError, Settings, arate_loop, rate_loop

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"
RESULT_FILES = sorted(RESULTS.glob("*.json"))

TOP_KEYS = {"benchmark", "quick", "meta", "rates", "ratios", "metrics", "targets"}
METRIC_UNITS = {"s", "ms", "us", "ns", "bytes", "kib", "mib", "pct", "count"}
RATE_UNIT = re.compile(r"^[A-Za-z0-9.]+/s$")
NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def shape_errors(doc: Any, *, expected_name: str | None = None) -> list[str]:
    """Everything wrong with one results document (empty when it has the shape)."""
    if not isinstance(doc, dict):
        return ["the document is not a JSON object"]
    errors: list[str] = []
    if missing := TOP_KEYS - doc.keys():
        return [f"missing top-level keys {sorted(missing)}"]
    if extra := doc.keys() - TOP_KEYS:
        errors.append(f"unexpected top-level keys {sorted(extra)}")
    if not isinstance(doc["benchmark"], str) or not NAME.match(doc["benchmark"]):
        errors.append(f"benchmark name {doc['benchmark']!r} is not a lowercase identifier")
    elif expected_name is not None and doc["benchmark"] != expected_name:
        errors.append(f"benchmark {doc['benchmark']!r} written to {expected_name}.json")
    if not isinstance(doc["quick"], bool):
        errors.append("quick is not a boolean")
    errors += _meta_errors(doc["meta"])
    errors += _rates_errors(doc["rates"])
    errors += _figure_errors(doc["ratios"], doc["metrics"])
    if not errors:
        errors += _target_errors(doc["targets"], doc["ratios"], doc["metrics"])
    return errors


def _meta_errors(meta: Any) -> list[str]:
    if not isinstance(meta, dict):
        return ["meta is not an object"]
    errors = []
    for key in ("python", "trio", "when"):
        if not isinstance(meta.get(key), str) or not meta[key]:
            errors.append(f"meta.{key} is not a non-empty string")
    if not re.match(r"^\d+\.\d+\.\d+", str(meta.get("python", ""))):
        errors.append(f"meta.python {meta.get('python')!r} is not a version")
    cpus = meta.get("cpus")
    if not isinstance(cpus, int) or isinstance(cpus, bool) or cpus < 1:
        errors.append(f"meta.cpus {cpus!r} is not a positive integer")
    try:
        when = dt.datetime.fromisoformat(str(meta.get("when")))
    except ValueError:
        errors.append(f"meta.when {meta.get('when')!r} is not an ISO timestamp")
    else:
        if when.tzinfo is None:
            errors.append("meta.when has no time zone")
    return errors


def _rates_errors(rates: Any) -> list[str]:
    if not isinstance(rates, dict):
        return ["rates is not an object"]
    errors = []
    for case, impls in rates.items():
        if not NAME.match(case):
            errors.append(f"case name {case!r} is not a lowercase identifier")
        if not isinstance(impls, dict) or not impls:
            errors.append(f"rates.{case} is not a non-empty object")
            continue
        units = set()
        for impl, rate in impls.items():
            where = f"rates.{case}.{impl}"
            if not isinstance(rate, dict) or set(rate) != {"median", "min", "max", "unit"}:
                errors.append(f"{where} must have exactly median, min, max, unit")
                continue
            numbers = [rate["min"], rate["median"], rate["max"]]
            if not all(_is_number(x) and math.isfinite(x) and x > 0 for x in numbers):
                errors.append(f"{where}: min/median/max must be positive finite numbers")
            elif not rate["min"] <= rate["median"] <= rate["max"]:
                errors.append(f"{where}: not min <= median <= max: {numbers}")
            if not isinstance(rate["unit"], str) or not RATE_UNIT.match(rate["unit"]):
                errors.append(f"{where}: unit {rate['unit']!r} is not a rate like 'msg/s'")
            units.add(rate["unit"])
        if len(units) > 1:
            errors.append(f"rates.{case} mixes units {sorted(map(str, units))}")
    return errors


def _figure_errors(ratios: Any, metrics: Any) -> list[str]:
    if not isinstance(ratios, dict) or not isinstance(metrics, dict):
        return ["ratios and metrics must be objects"]
    errors = []
    for name, value in ratios.items():
        if not NAME.match(name) or "_vs_" not in name:
            errors.append(f"ratio name {name!r} is not '<case>_vs_<baseline>'")
        if not (_is_number(value) and math.isfinite(value) and value > 0):
            errors.append(f"ratio {name} = {value!r} is not positive and finite")
    for name, value in metrics.items():
        if not NAME.match(name) or name.rsplit("_", 1)[-1] not in METRIC_UNITS or "_" not in name:
            errors.append(f"metric name {name!r} does not end with one of {sorted(METRIC_UNITS)}")
        if not (_is_number(value) and math.isfinite(value)):
            errors.append(f"metric {name} = {value!r} is not a finite number")
    if both := ratios.keys() & metrics.keys():
        errors.append(f"names used as both ratio and metric: {sorted(both)}")
    return errors


def _target_errors(targets: Any, ratios: dict[str, float], metrics: dict[str, float]) -> list[str]:
    if not isinstance(targets, dict):
        return ["targets is not an object"]
    errors = []
    for name, target in targets.items():
        where = f"targets.{name}"
        if name in ratios:
            actual = ratios[name]
        elif name in metrics:
            actual = metrics[name]
        else:
            errors.append(f"{where} names no ratio or metric")
            continue
        if not isinstance(target, dict) or set(target) != {"op", "value", "met"}:
            errors.append(f"{where} must have exactly op, value, met")
            continue
        op, value, met = target["op"], target["value"], target["met"]
        if op not in (">=", "<="):
            errors.append(f"{where}.op {op!r} is not '>=' or '<='")
            continue
        if not (_is_number(value) and math.isfinite(value)):
            errors.append(f"{where}.value {value!r} is not a finite number")
            continue
        if not isinstance(met, bool):
            errors.append(f"{where}.met is not a boolean")
            continue
        truth = actual >= value if op == ">=" else actual <= value
        if met != truth:
            errors.append(f"{where}.met is {met} but {actual!r} {op} {value!r} is {truth}")
    return errors


# -- every results file --------------------------------------------------------------------------


@pytest.mark.parametrize("path", RESULT_FILES, ids=[p.stem for p in RESULT_FILES])
def test_results_file_has_the_benchmark_shape(path: Path) -> None:
    doc = json.loads(path.read_text())
    assert shape_errors(doc, expected_name=path.stem) == []


# -- the checker itself rejects what it should ------------------------------------------------


def _good_doc() -> dict[str, Any]:
    return {
        "benchmark": "demo",
        "quick": True,
        "meta": {"python": "3.11.7", "trio": "0.35.0", "cpus": 2,
                 "when": "2026-01-01T00:00:00+00:00"},
        "rates": {"echo": {"ours": {"median": 2.0, "min": 1.0, "max": 3.0, "unit": "msg/s"},
                           "base": {"median": 1.0, "min": 1.0, "max": 1.0, "unit": "msg/s"}}},
        "ratios": {"echo_vs_base": 2.0},
        "metrics": {"spawn_10k_s": 0.5},
        "targets": {"echo_vs_base": {"op": ">=", "value": 1.5, "met": True},
                    "spawn_10k_s": {"op": "<=", "value": 0.1, "met": False}},
    }  # fmt: skip


def test_checker_accepts_a_good_document() -> None:
    assert shape_errors(_good_doc(), expected_name="demo") == []


@pytest.mark.parametrize(
    ("break_it", "complaint"),
    [
        (lambda d: d.pop("metrics"), "missing top-level"),
        (lambda d: d.update(benchmark="other"), "written to demo.json"),
        (lambda d: d["meta"].update(cpus=0), "meta.cpus"),
        (lambda d: d["meta"].update(when="yesterday"), "meta.when"),
        (lambda d: d["rates"]["echo"]["ours"].update(unit="msgs"), "is not a rate"),
        (lambda d: d["rates"]["echo"]["ours"].update(min=5.0), "min <= median <= max"),
        (lambda d: d["rates"]["echo"]["base"].update(unit="B/s"), "mixes units"),
        (lambda d: d["ratios"].update(echo_vs_base=float("inf")), "positive and finite"),
        (lambda d: d["ratios"].update(echo_vs_base=-1.0), "positive and finite"),
        (lambda d: d["metrics"].update(spawn_10k=1.0), "does not end with one of"),
        (lambda d: d["targets"]["echo_vs_base"].update(met=False), "met is False"),
        (lambda d: d["targets"]["spawn_10k_s"].update(op="<"), "is not '>='"),
        (lambda d: d["targets"].update(nothing={"op": ">=", "value": 1, "met": True}), "names no"),
    ],
)
def test_checker_rejects_a_broken_document(break_it: Any, complaint: str) -> None:
    doc = _good_doc()
    break_it(doc)
    errors = shape_errors(doc, expected_name="demo")
    assert any(complaint in e for e in errors), errors


# -- the harness ---------------------------------------------------------------------------------


def _fast(seconds: float) -> float:
    return rate_loop(lambda: sum(range(100)) and 100, seconds)


def _slow(seconds: float) -> float:
    def batch() -> float:
        time.sleep(0.002)
        return 1

    return rate_loop(batch, seconds)


async def _trio_checkpoints(seconds: float) -> float:
    async def batch() -> float:
        for _ in range(100):
            await trio.lowlevel.checkpoint()
        return 100

    return await arate_loop(batch, seconds)


def _tiny_bench(out_dir: Path) -> Bench:
    bench = Bench(
        "tiny",
        quick=True,
        settings=Settings(repetitions=3, seconds=0.02, warmup_seconds=0.005),
        out_dir=out_dir,
    )
    bench.case("spin", unit="op/s").add("fast", _fast).add("slow", _slow)
    bench.case("sched", unit="op/s").add("trio", _trio_checkpoints).add(
        "plain", lambda s: trio.run(_trio_checkpoints, s)
    )
    bench.ratio("spin", "slow", "fast")
    bench.ratio("spin", "fast", "slow", name="spin_fast_vs_slow")
    bench.metric("answer_ms", 42.0)
    bench.metric("measured_count", lambda: 7.0)
    bench.target("spin_vs_fast", ">=", 1.0)  # cannot be met: sleeping is slower
    bench.target("spin_fast_vs_slow", ">=", 1.0)
    bench.target("answer_ms", "<=", 50)
    return bench


def test_harness_writes_a_valid_results_file(tmp_path: Path) -> None:
    bench = _tiny_bench(tmp_path)
    bench.run()
    path = bench.write()

    assert path == tmp_path / "tiny.json"
    doc = json.loads(path.read_text())
    assert shape_errors(doc, expected_name="tiny") == []
    assert set(doc["rates"]) == {"spin", "sched"}
    assert set(doc["rates"]["spin"]) == {"fast", "slow"}
    spin = doc["rates"]["spin"]
    assert doc["ratios"]["spin_vs_fast"] == pytest.approx(
        spin["slow"]["median"] / spin["fast"]["median"]
    )
    assert doc["ratios"]["spin_vs_fast"] < 0.5
    assert doc["ratios"]["spin_fast_vs_slow"] > 2
    assert doc["metrics"] == {"answer_ms": 42.0, "measured_count": 7.0}
    assert doc["targets"]["spin_vs_fast"]["met"] is False
    assert doc["targets"]["spin_fast_vs_slow"]["met"] is True
    assert doc["targets"]["answer_ms"] == {"op": "<=", "value": 50.0, "met": True}
    assert bench.missed() == ["spin_vs_fast"]
    assert all(len(s) == 3 for c in bench.cases.values() for s in c.samples.values())
    # how busy the machine was, at both ends of the run, rides with every result
    for key in ("loadavg_1m_at_start", "loadavg_1m_at_end"):
        assert isinstance(doc["meta"][key], float)
        assert doc["meta"][key] >= 0


def test_harness_table_lists_every_case_and_target(tmp_path: Path) -> None:
    bench = _tiny_bench(tmp_path)
    bench.run()
    table = bench.table()
    for word in ("spin", "sched", "fast", "slow", "trio", "spin_vs_fast", "answer_ms", "NO"):
        assert word in table
    header = table.splitlines()[0].split()
    assert header == ["case", "implementation", "median", "min", "max", "unit"]


def test_harness_interleaves_and_rotates_the_order(tmp_path: Path) -> None:
    calls: list[str] = []

    def impl(name: str) -> _harness.SyncImplementation:
        def run(seconds: float) -> float:
            calls.append(name)
            return 1.0

        return run

    bench = Bench("order", settings=Settings(3, 0.0, 0.0), out_dir=tmp_path)
    bench.case("c", unit="op/s").add("a", impl("a")).add("b", impl("b")).add("c", impl("c"))
    bench.run()
    assert calls == ["a", "b", "c", "a", "b", "c", "b", "c", "a", "c", "a", "b"]


def test_main_parses_quick_and_out_and_writes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    modes: list[bool] = []

    def short(*, quick: bool) -> Settings:
        modes.append(quick)
        return Settings(repetitions=3, seconds=0.01, warmup_seconds=0.0)

    monkeypatch.setattr(Settings, "for_mode", short)

    def define(bench: Bench) -> None:
        assert bench.quick
        bench.case("c", unit="op/s").add("ours", _fast).add("base", _fast)
        bench.ratio("c", "ours", "base")
        bench.target("c_vs_base", ">=", 1e9)

    assert _harness.main("cli", define, ["--quick", "--out", str(tmp_path)]) == 0
    assert _harness.main("cli", define, ["--quick", "--out", str(tmp_path), "--strict"]) == 1
    doc = json.loads((tmp_path / "cli.json").read_text())
    assert shape_errors(doc, expected_name="cli") == []
    assert doc["quick"] is True
    assert "targets missed: c_vs_base" in capsys.readouterr().out
    assert modes == [True, True]


def test_main_runs_finish_after_the_run_and_before_the_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Settings, "for_mode", lambda *, quick: Settings(3, 0.01, 0.0))
    seen: list[bool] = []

    def define(bench: Bench) -> None:
        bench.case("c", unit="op/s").add("ours", _fast)

    def finish(bench: Bench) -> None:
        seen.append(bench.cases["c"].summary("ours").median > 0)
        bench.meta["after"] = "known only now"

    assert _harness.main("fin", define, ["--out", str(tmp_path)], finish=finish) == 0
    assert seen == [True]
    assert json.loads((tmp_path / "fin.json").read_text())["meta"]["after"] == "known only now"


def test_default_out_dir_is_benchmarks_results() -> None:
    assert _harness.parse_args([]).out == RESULTS
    assert _harness.parse_args([]).quick is False


@pytest.mark.parametrize(
    ("declare", "message"),
    [
        (lambda b: b.case("Bad Name", unit="op/s"), "must be lowercase"),
        (lambda b: b.case("c", unit="ops"), "is not a rate"),
        (lambda b: b.metric("latency", 1.0), "must end with a unit"),
        (lambda b: b.metric("latency_ms", float("nan")), "not a finite number"),
        (lambda b: b.target("nothing_ms", "<=", 1), "names no declared"),
        (lambda b: (b.metric("x_ms", 1.0), b.target("x_ms", "<", 1)), "op must be"),
        (lambda b: (b.case("c", unit="op/s"), b.case("c", unit="op/s")), "declared twice"),
    ],
)
def test_harness_refuses_bad_declarations(declare: Any, message: str, tmp_path: Path) -> None:
    bench = Bench("bad", out_dir=tmp_path)
    with pytest.raises(BenchmarkError, match=message):
        declare(bench)


def test_harness_refuses_fewer_than_three_repetitions(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="at least 3"):
        Bench("few", settings=Settings(2, 0.01, 0.0), out_dir=tmp_path)


def test_harness_refuses_a_ratio_over_an_unknown_implementation(tmp_path: Path) -> None:
    bench = Bench("bad", settings=Settings(3, 0.0, 0.0), out_dir=tmp_path)
    bench.case("c", unit="op/s").add("ours", lambda s: 1.0)
    bench.ratio("c", "ours", "missing")
    with pytest.raises(BenchmarkError, match="case has no 'missing'"):
        bench.run()


def test_harness_refuses_a_non_positive_rate(tmp_path: Path) -> None:
    bench = Bench("bad", settings=Settings(3, 0.0, 0.0), out_dir=tmp_path)
    bench.case("c", unit="op/s").add("ours", lambda s: 0.0)
    with pytest.raises(BenchmarkError, match=r"returned the rate 0\.0"):
        bench.run()


def test_results_are_unreadable_before_running(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="run"):
        Bench("early", out_dir=tmp_path).result()

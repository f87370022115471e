"""The dashboard's ring of recent traces on its own: bounds, order, summaries, the waterfall
order, malformed spans refused by field while the rest is kept, redaction."""

from __future__ import annotations

import json
from typing import Any

import trio

from pywatt.logs import Redactor
from pywatt.orchestrator import DashboardSettings, Manifest, open_orchestrator
from pywatt.orchestrator.console import Console, ConsoleLine
from pywatt.orchestrator.dashboard import TraceRing, span_intake
from pywatt.wire import ModuleSpans

from .helpers import raw, running

T1, T2 = "1" * 32, "2" * 32


def span(
    trace_id: str,
    span_id: int,
    parent: int | None,
    start: int,
    end: int,
    name: str = "work",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "trace_id": trace_id,
        "span_id": f"{span_id:016x}",
        "parent_id": None if parent is None else f"{parent:016x}",
        "name": name,
        "kind": extra.pop("kind", "internal"),
        "start_ns": start,
        "end_ns": end,
        "status": extra.pop("status", "unset"),
        "status_message": extra.pop("status_message", None),
        "service": None,
        "attributes": extra.pop("attributes", {}),
    }


def plain(text: str) -> str:
    return text


def test_a_trace_is_put_together_from_spans_of_several_sources_in_waterfall_order() -> None:
    ring = TraceRing(plain)
    # They arrive children first, from two modules and the orchestrator, in any order.
    ring.add("back", [span(T1, 4, 3, 40, 60, "SELECT", attributes={"pywatt.actor.name": "db"})])
    ring.add("front", [span(T1, 2, 1, 10, 90, "GET /x"), span(T1, 3, 2, 30, 70, "back/q")])
    ring.add("front", [span(T1, 5, 2, 20, 25, "cache get", status="error", status_message="no")])
    ring.add("orchestrator", [span(T1, 1, None, 0, 100, "GET front", kind="server")])
    [summary] = ring.summaries()
    assert summary["root"] == "GET front"
    assert summary["root_source"] == "orchestrator"
    assert summary["modules"] == ["back", "front"]
    assert summary["module_count"] == 2
    assert summary["span_count"] == 5
    assert summary["duration_ms"] == 100 / 1e6
    assert summary["error"] is True
    trace = ring.trace(T1)
    assert trace is not None
    order = [(r["name"], r["depth"], r["module"]) for r in trace["spans"]]
    assert order == [
        ("GET front", 0, None),
        ("GET /x", 1, "front"),
        ("cache get", 2, "front"),  # it started before back/q
        ("back/q", 2, "front"),
        ("SELECT", 3, "back"),
    ]
    select = trace["spans"][-1]
    assert (select["offset_ms"], select["duration_ms"], select["actor"]) == (40e-6, 20e-6, "db")
    assert ring.trace("9" * 32) is None


def test_bounded_the_traces_added_to_least_recently_go_first() -> None:
    ring = TraceRing(plain, keep=3, spans_per_trace=2)
    for n in range(1, 5):
        ring.add("m", [span(f"{n:032x}", 1, None, n, n + 1)])
    assert len(ring) == 3
    assert ring.trace(f"{1:032x}") is None  # the oldest went
    ring.add("m", [span(f"{2:032x}", 2, 1, 2, 3)])  # trace 2 moves up
    ring.add("m", [span(f"{5:032x}", 1, None, 5, 6)])
    assert ring.trace(f"{2:032x}") is not None
    assert ring.trace(f"{3:032x}") is None
    # Past its cap a trace keeps its first spans and counts the rest.
    ring.add("m", [span(f"{2:032x}", 3, 1, 2, 3), span(f"{2:032x}", 4, 1, 2, 3)])
    two = ring.trace(f"{2:032x}")
    assert two is not None
    assert (two["span_count"], two["dropped"]) == (2, 2)
    assert ring.dropped == 2
    # The same span twice (two taps in one process) is kept once.
    ring.add("m", [span(f"{5:032x}", 1, None, 5, 6)])
    five = ring.trace(f"{5:032x}")
    assert five is not None
    assert five["span_count"] == 1
    # The list: latest-started first; what modules dropped is counted.
    ring.add("m", [], dropped=7)
    assert [row["start_ns"] for row in ring.summaries()] == [5, 4, 2]
    assert ring.dropped == 9


def test_malformed_spans_are_refused_by_field_and_the_others_kept() -> None:
    ring = TraceRing(plain)
    good = span(T1, 1, None, 0, 10)
    bad: list[object] = [
        "not an object",
        {**good, "trace_id": "XYZ"},
        {**good, "trace_id": "0" * 32},
        {**good, "span_id": 7},
        {**good, "end_ns": -1},
        {**good, "start_ns": 20},
        {**good, "kind": "sideways"},
        {**good, "status": "fine"},
        {**good, "attributes": []},
        {**good, "parent_id": "short"},
    ]
    errors = ring.add("m", [*bad, good])
    assert [e.field for e in errors] == [
        "(span)", "trace_id", "trace_id", "span_id", "end_ns", "end_ns", "kind", "status",
        "attributes", "parent_id",
    ]  # fmt: skip
    assert "span field 'kind'" in str(errors[6])
    assert ring.rejected == len(bad)
    assert [row["trace_id"] for row in ring.summaries()] == [T1]


def test_parents_in_a_loop_or_missing_still_give_a_waterfall() -> None:
    ring = TraceRing(plain)
    ring.add("m", [span(T1, 1, 2, 0, 10, "a"), span(T1, 2, 1, 5, 8, "b")])  # a loop
    ring.add("m", [span(T2, 3, 9, 0, 10, "orphan"), span(T2, 4, 8, 2, 4, "other")])
    looped = ring.trace(T1)
    assert looped is not None
    assert [(r["name"], r["depth"]) for r in looped["spans"]] == [("a", 0), ("b", 1)]
    orphans = ring.trace(T2)
    assert orphans is not None
    assert [(r["name"], r["depth"]) for r in orphans["spans"]] == [("orphan", 0), ("other", 0)]


def test_texts_are_redacted_and_bounded_whatever_the_sender_did() -> None:
    redactor = Redactor()
    redactor.register("hunter2-secret")
    ring = TraceRing(redactor.redact)
    jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl"
    attributes: dict[str, object] = {f"k{i}": i for i in range(40)}
    attributes["k0"] = "url /login?password=hunter2-secret"
    attributes["k1"] = f"Bearer {jwt}"
    attributes["k2"] = ["hunter2-secret", 3]
    attributes["k3"] = "x" * 5000
    ring.add("m", [span(T1, 1, None, 0, 1, "GET hunter2-secret", attributes=attributes,
                        status="error", status_message="failed: hunter2-secret")])  # fmt: skip
    trace = ring.trace(T1)
    assert trace is not None
    [row] = trace["spans"]
    text = repr(row)
    assert "hunter2-secret" not in text
    assert jwt not in text
    assert row["name"] == "GET [REDACTED]"
    assert row["attributes"]["k2"] == ["[REDACTED]", 3]
    assert len(row["attributes"]) == 32
    assert len(row["attributes"]["k3"]) == 512


async def test_a_module_s_malformed_spans_are_refused_named_and_its_secrets_redacted() -> None:
    """A real module process (the raw test peer) writes a ``spans`` line with a good span
    carrying its secret and a malformed one: the good one is kept, redacted by the
    orchestrator; the bad one is refused with a warning naming the field; the module runs on."""
    good = span(T1, 1, None, 0, 10, "GET /login", attributes={"password": "tok-SECRET-9f8e7d"})
    bad = {**span(T1, 2, 1, 0, 10), "kind": "sideways"}
    line = json.dumps({"op": "spans", "spans": [good, bad], "dropped": 3})
    spec = raw("spanner", "--secret", "TOKEN", "--line", line)
    with trio.fail_after(30):
        async with running(spec, secrets={"TOKEN": "tok-SECRET-9f8e7d"}) as run:
            module = run.orch.module("spanner")
            await module.wait_announced()
            board = run.orch.dashboard
            assert board is not None
            while board.traces.trace(T1) is None:  # noqa: ASYNC110 (no event to wait on)
                await trio.sleep(0.02)
            assert module.state.value == "running"
            listing = board.trace_list()
    trace = board.traces.trace(T1)
    assert trace is not None
    [kept] = trace["spans"]
    assert kept["attributes"] == {"password": "[REDACTED]"}
    assert kept["source"] == "spanner"
    assert (listing["rejected"], listing["dropped"]) == (1, 3)
    assert "spanner sent 1 malformed span(s), not kept: span field 'kind'" in run.text()
    assert "tok-SECRET-9f8e7d" not in run.text()


async def test_with_the_dashboard_off_modules_are_not_asked_for_spans() -> None:
    manifest = Manifest(modules=(raw("quiet"),), grace=0.5)
    settings = DashboardSettings(enabled=False)
    with trio.fail_after(30):
        async with open_orchestrator(manifest, on_output=lambda line: None,
                                     dashboard=settings) as orch:  # fmt: skip
            await orch.module("quiet").wait_announced()
            blob = orch.module("quiet").init_blob
    assert blob is not None
    assert "PYWATT_EVENTS" in blob.env
    assert "PYWATT_SPANS" not in blob.env


def test_a_module_that_keeps_sending_malformed_spans_does_not_flood_the_console() -> None:
    lines: list[ConsoleLine] = []
    take = span_intake(TraceRing(plain), Console(lines.append))
    bad = {**span(T1, 1, None, 0, 10), "status": "fine"}
    for n in range(120):
        take("noisy", ModuleSpans(spans=[bad, span(T1, n + 1, None, 0, 10)], dropped=0))
    take("other", ModuleSpans(spans=[bad], dropped=0))
    texts = [line.text for line in lines]
    assert texts == [
        "noisy sent 1 malformed span(s), not kept: span field 'status': 'fine' is none of "
        "error, ok, unset",
        "noisy sent 1 malformed span(s), not kept: span field 'status': 'fine' is none of "
        "error, ok, unset (line 10 with malformed spans)",
        "noisy sent 1 malformed span(s), not kept: span field 'status': 'fine' is none of "
        "error, ok, unset (line 100 with malformed spans)",
        "other sent 1 malformed span(s), not kept: span field 'status': 'fine' is none of "
        "error, ok, unset",
    ]

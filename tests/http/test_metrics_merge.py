"""merge_pages: several /metrics pages as one, read and written by prometheus_client."""

from __future__ import annotations

from prometheus_client.core import GaugeMetricFamily

from pywatt.metrics import merge_pages

from .prom import families, value

A = '# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total{kind="x"} 3\n'
B = '# TYPE jobs_total counter\njobs_total{kind="x"} 4\nup 1\n'


def test_samples_get_their_module_and_families_appear_once() -> None:
    first = GaugeMetricFamily("fleet_size", "Modules.", value=2)
    body, notes = merge_pages({"a": A, "b": B}, first=[first])
    page = body.decode()
    assert notes == []
    assert value(page, "jobs_total", module="a", kind="x") == 3
    assert value(page, "jobs_total", module="b", kind="x") == 4
    assert value(page, "up", module="b") == 1
    assert list(families(page)) == ["fleet_size", "jobs", "up"]


def test_a_sample_that_names_its_module_keeps_it() -> None:
    page = merge_pages({"a": 'relayed{module="c"} 5\n'})[0].decode()
    assert value(page, "relayed", module="c") == 5


def test_an_unreadable_page_or_a_clashing_type_is_a_note_and_the_rest_stays() -> None:
    clash = "# TYPE jobs_total gauge\njobs_total 1\n"
    body, notes = merge_pages({"a": A, "bad": "jobs_total{ 3\n", "c": clash})
    assert value(body.decode(), "jobs_total", module="a", kind="x") == 3
    assert notes[0].startswith("module bad: its page could not be read: ")
    assert notes[1] == (
        "module c: jobs_total (gauge) clashes with jobs (counter); its samples are left out"
    )

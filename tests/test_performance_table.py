"""docs/performance.md shows the results table that ``python -m benchmarks.table`` prints for
the committed benchmarks/results/*.json, so the page cannot drift from the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import table


def test_the_page_holds_the_table_of_the_committed_results() -> None:
    expected = table.block(table.load())
    found = table.page_block(table.PAGE.read_text())
    assert found == expected, (
        "docs/performance.md's table is not the committed results': "
        "run `python -m benchmarks.table --write`"
    )


def test_the_table_lists_every_ratio_and_every_targeted_metric() -> None:
    docs = table.load()
    rendered = table.render(docs)
    for doc in docs:
        for name in [*doc["ratios"], *doc["targets"]]:
            assert f"| {doc['benchmark']} | `{name}` |" in rendered


def test_a_missed_target_and_a_quick_run_are_marked() -> None:
    doc = {
        "benchmark": "demo",
        "quick": True,
        "meta": {"when": "2026-12-04T20:00:00+00:00"},
        "ratios": {"x_vs_y": 0.25},
        "metrics": {"startup_ms": 60.5, "other_count": 3},
        "targets": {
            "x_vs_y": {"op": ">=", "value": 0.5, "met": False},
            "startup_ms": {"op": "<=", "value": 50.0, "met": False},
        },
    }
    rendered = table.render([doc])
    assert "| demo | `x_vs_y` | 0.25 | >= 0.5 | **no** | 2026-12-04 (quick) |" in rendered
    assert "| demo | `startup_ms` | 60.50 | <= 50 | **no** | 2026-12-04 (quick) |" in rendered
    assert "other_count" not in rendered  # no target: not in the table


def test_write_replaces_only_the_marked_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    page = tmp_path / "performance.md"
    page.write_text(f"# before\n\n{table.BEGIN}\nstale\n{table.END}\n\nafter\n")
    monkeypatch.setattr(table, "PAGE", page)
    monkeypatch.setattr(table, "ROOT", tmp_path)
    assert table.main(["--write"]) == 0
    text = page.read_text()
    assert text.startswith("# before\n\n")
    assert text.endswith("\n\nafter\n")
    assert table.page_block(text) == table.block(table.load())

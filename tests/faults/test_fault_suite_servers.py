"""The server half of the fault suite, run as CI runs it: PostgreSQL, MariaDB, Redis and
Memcached restarted (and PostgreSQL and Redis stopped) under load, each scenario on a
private server of its own. The run must exit 0 and its JSON must show the zeros."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.faults import _servers
from benchmarks.faults._counts import MUST_BE_ZERO
from tests.test_benchmark_results import shape_errors

ROOT = Path(__file__).resolve().parents[2]
NAMES = [scenario.name for scenario in _servers.SCENARIOS]


def test_every_server_scenario_is_listed() -> None:
    assert NAMES == [
        "postgres_restart",
        "mariadb_restart",
        "redis_restart",
        "memcached_restart",
        "server_stall",
    ]


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.timeout(300)
def test_the_server_scenarios_pass_and_show_the_zeros(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.faults", "--seconds", "4",
               "--out", str(tmp_path), "--only", *NAMES]  # fmt: skip
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=280)
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    doc = json.loads((tmp_path / "faults.json").read_text())
    assert shape_errors(doc, expected_name="faults") == []
    scenarios = doc["meta"]["scenarios"]
    assert sorted(scenarios) == sorted(NAMES)
    for name, counts in scenarios.items():
        for field in MUST_BE_ZERO:
            assert counts[field] == 0, (name, field, counts["notes"])
        # the faults bit: requests failed (typed) as well as succeeded
        assert counts["faults_injected"] > 0, name
        assert counts["succeeded"] > 0, name
        assert counts["failed_typed"] > 0, name
    for field in MUST_BE_ZERO:
        assert doc["metrics"][f"{field}_count"] == 0
        assert doc["targets"][f"{field}_count"]["met"] is True

"""The fault suite's runtime scenarios in their bounded form (what CI runs): every scenario
injects its faults, and nothing hangs, crashes unexpectedly or leaks the secret."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.faults import _runtime
from benchmarks.faults._counts import MUST_BE_ZERO

ROOT = Path(__file__).parents[2]
RUNTIME = [scenario.name for scenario in _runtime.SCENARIOS]


@pytest.mark.slow
@pytest.mark.faults
@pytest.mark.timeout(600)
def test_the_runtime_scenarios_pass_with_the_zeros_in_their_json(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "benchmarks.faults", "--seconds", "4"]
    done = subprocess.run(
        [*command, "--out", str(tmp_path), "--only", *RUNTIME],
        cwd=ROOT, capture_output=True, text=True, timeout=540, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    doc = json.loads((tmp_path / "faults.json").read_text())
    scenarios = doc["meta"]["scenarios"]
    assert sorted(scenarios) == sorted(RUNTIME)
    for name, counts in scenarios.items():
        for field in MUST_BE_ZERO:
            assert counts[field] == 0, (name, field, counts["notes"])
        assert counts["faults_injected"] > 0, (name, counts["notes"])
        assert counts["requests_sent"] > 0, (name, counts["notes"])
        outcomes = counts["succeeded"] + counts["failed_typed"] + counts["hung"]
        assert outcomes == counts["requests_sent"], (name, counts)
    for field in MUST_BE_ZERO:
        assert doc["targets"][f"{field}_count"]["met"], field

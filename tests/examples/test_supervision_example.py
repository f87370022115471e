"""The supervision example runs as a real subprocess and shows a crash and a restart."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLE = Path(__file__).parents[2] / "examples" / "supervision.py"


def test_supervision_example_crashes_an_actor_and_shows_it_restarted() -> None:
    result = subprocess.run(
        [sys.executable, str(EXAMPLE)], capture_output=True, text=True, timeout=60, check=True
    )
    lines = result.stderr.splitlines()
    assert "supervision-demo: balance: 42" in lines
    assert "supervision-demo: crashing the ledger on purpose" in lines
    crash = lines.index(
        "supervision-demo: event: Crashed(name='ledger', incarnation=1, "
        "error=RuntimeError('ledger corrupted'))"
    )
    restarted = lines.index("supervision-demo: ledger incarnation 2 started")
    assert crash < restarted
    assert "supervision-demo: balance after restart: 0" in lines
    assert "supervision-demo: audited by auditor #2: balance 0" in lines  # rest_for_one
    assert lines[-1] == "supervision-demo: clean shutdown: children stopped in reverse order"

"""The traced routed benchmark (benchmarks/observability.py) times nothing it has not seen
traced: its modules, configured by ``OTEL_*`` variables alone, must show client spans in the
caller and server spans of the same trace in the callee, and none when untraced. Its SDK
floor (pywatt's tracing off, the same spans made by hand with the SDK) must show the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import _drop_exporter
from benchmarks.channels import RoutedFixture
from benchmarks.observability import TracedRouted


def _run_with(mode: str, exporter: str, pythonpath: str) -> float:
    """A run of ``mode``'s benchmark whose modules are configured with ``exporter``."""
    bench = TracedRouted(mode, pythonpath)
    env = {"OTEL_TRACES_EXPORTER": exporter, "PYTHONPATH": pythonpath}
    bench.fixture = RoutedFixture(env=env, dashboard=False)
    try:
        return bench.run(0.2)
    finally:
        bench.close()


@pytest.mark.parametrize("mode", ["untraced", "sdk_batch", "sdk_floor"])
def test_each_mode_runs_once_its_modules_are_seen_as_it_says(tmp_path: Path, mode: str) -> None:
    bench = TracedRouted(mode, _drop_exporter.registration(str(tmp_path)))
    try:
        assert bench.run(0.2) > 0
        assert bench.checked
        cpu = bench.cpu[mode]  # each module process's CPU time per request, measured
        assert set(cpu) == {"ping", "pong"}
        assert all(us > 0 for us in cpu.values())
    finally:
        bench.close()


def test_modules_that_make_no_spans_fail_the_traced_mode(tmp_path: Path) -> None:
    pythonpath = _drop_exporter.registration(str(tmp_path))
    with pytest.raises(RuntimeError, match="not traced across the modules"):
        _run_with("sdk_batch", "none", pythonpath)


def test_modules_without_the_floors_own_spans_fail_the_floor_mode(tmp_path: Path) -> None:
    pythonpath = _drop_exporter.registration(str(tmp_path))
    with pytest.raises(RuntimeError, match="not traced across the modules"):
        _run_with("sdk_floor", "none", pythonpath)  # the floor's variable left out


def test_modules_that_make_spans_fail_the_untraced_mode(tmp_path: Path) -> None:
    pythonpath = _drop_exporter.registration(str(tmp_path))
    with pytest.raises(RuntimeError, match="untraced modules made spans"):
        _run_with("untraced", _drop_exporter.NAME, pythonpath)

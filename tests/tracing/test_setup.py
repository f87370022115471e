"""Setting tracing up from the environment: nothing unless asked, a clear error for what
cannot be done. (The path that installs the global provider runs in the module processes of
test_across_modules.py: a process gets one global provider only.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import pywatt.tracing
from pywatt import ConfigError


@pytest.mark.parametrize("value", [None, "", "none", " none , "])
def test_nothing_is_set_up_unless_an_exporter_is_named(
    monkeypatch: pytest.MonkeyPatch, value: str | None
) -> None:
    if value is None:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    else:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", value)
    assert pywatt.tracing.setup_tracing("m", module_id="m") is False
    assert not pywatt.tracing.enabled()
    pywatt.tracing.set_module_id(None)


def test_an_unknown_exporter_is_a_configuration_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp,zipkin")
    with pytest.raises(pywatt.tracing.TracingUnavailable, match="'zipkin'") as caught:
        pywatt.tracing.setup_tracing("m", module_id="m")
    assert isinstance(caught.value, ConfigError)  # a module meeting it does not start
    assert not pywatt.tracing.enabled()
    pywatt.tracing.set_module_id(None)


EXPORTER = """
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult


class Printed(SpanExporter):
    def export(self, spans):
        for span in spans:
            print("exported", span.name, flush=True)
        return SpanExportResult.SUCCESS


class Broken(SpanExporter):
    def __init__(self):
        raise RuntimeError("no collector configured")
"""


def _register(directory: Path) -> None:
    """A package on ``directory`` registering two exporters, as any installed one would."""
    (directory / "my_exporters.py").write_text(EXPORTER)
    dist = directory / "my_exporters-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-exporters\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[opentelemetry_traces_exporter]\n"
        "printed = my_exporters:Printed\n"
        "broken = my_exporters:Broken\n"
    )


def test_an_exporter_registered_as_an_entry_point_gets_the_spans(tmp_path: Path) -> None:
    # In a process of its own: setting tracing up installs the global provider.
    _register(tmp_path)
    script = (
        "import pywatt.tracing\n"
        "from opentelemetry import trace\n"
        "assert pywatt.tracing.setup_tracing('m', module_id='m')\n"
        "with trace.get_tracer('t').start_as_current_span('hello'):\n"
        "    pass\n"
        "pywatt.tracing.shutdown_tracing()\n"
    )
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "printed", "PYTHONPATH": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["exported hello"]


def test_a_registered_exporter_that_cannot_be_made_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _register(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "broken")
    with pytest.raises(pywatt.tracing.TracingUnavailable, match="no collector configured"):
        pywatt.tracing.setup_tracing("m", module_id="m")
    assert not pywatt.tracing.enabled()
    pywatt.tracing.set_module_id(None)

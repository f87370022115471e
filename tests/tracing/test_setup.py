"""Setting tracing up from the environment: nothing unless asked, a clear error for what
cannot be done. (The path that installs the global provider runs in the module processes of
test_across_modules.py: a process gets one global provider only.)"""

from __future__ import annotations

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

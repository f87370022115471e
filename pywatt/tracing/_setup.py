"""Configuring the OpenTelemetry SDK from the standard ``OTEL_*`` variables, for a module or
the orchestrator whose code does not configure one itself (docs/tracing.md).

``OTEL_TRACES_EXPORTER`` names the exporters (comma-separated): ``otlp`` (OTLP over HTTP,
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_ENDPOINT``), ``console``,
``dashboard`` (the SDK with no exporter: spans only reach the orchestrator's dashboard),
``none``, or the name of an exporter a package registers under the entry point group
``opentelemetry_traces_exporter`` (OpenTelemetry's own convention: the class is made with
no arguments). Unset, or ``none``, configures nothing. The service name is ``OTEL_SERVICE_NAME``,
else the module id. Spans go through a ``BatchSpanProcessor`` (``OTEL_BSP_*``).
"""

from __future__ import annotations

import logging
import os
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Final

from opentelemetry import trace

from ._errors import TracingUnavailable
from ._switch import refresh, set_module_id

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["EXPORTER_GROUP", "setup_tracing"]

EXPORTER_GROUP: Final = "opentelemetry_traces_exporter"
"""The entry point group other exporters are found in (as OpenTelemetry's SDK names it)."""

log = logging.getLogger("pywatt.tracing")


def setup_tracing(service: str, *, module_id: str | None = None) -> bool:
    """Set up tracing for this process as the environment says; returns whether it is on.

    ``module_id``: this process is that module; its spans carry it, and its service name
    is the module id (``OTEL_SERVICE_NAME``, which every module would inherit from the
    orchestrator, names only a process that is no module). A provider set already (by user
    code) is kept. Raises :class:`TracingUnavailable` when
    ``OTEL_TRACES_EXPORTER`` asks for exporters but the SDK is not installed
    (``pip install 'pywatt[tracing]'``) or names an exporter pywatt does not know."""
    set_module_id(module_id)
    if refresh():  # user code configured a provider: keep it
        return True
    names = [
        name.strip().lower()
        for name in os.environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    names = [name for name in names if name != "none"]
    if not names:
        return False
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER={os.environ['OTEL_TRACES_EXPORTER']!r} needs the "
            "OpenTelemetry SDK: pip install 'pywatt[tracing]'"
        ) from None
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "otlp":
            try:
                from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                    OTLPSpanExporter,
                )
            except ImportError:
                raise TracingUnavailable(
                    "OTEL_TRACES_EXPORTER=otlp needs the OTLP/HTTP exporter: "
                    "pip install 'pywatt[tracing]'"
                ) from None
            exporters.append(OTLPSpanExporter())
        elif name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name != "dashboard":  # the dashboard's tap is added where there is a dashboard
            exporters.append(_registered(name))
    name = service if module_id is not None else os.environ.get("OTEL_SERVICE_NAME") or service
    resource = Resource.create({SERVICE_NAME: name})
    provider = TracerProvider(resource=resource)
    for exporter in exporters:
        provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    log.info("tracing on: %s spans of %s", ", ".join(names), service)
    return refresh()


def _registered(name: str) -> SpanExporter:
    """The exporter a package registers as ``name`` in :data:`EXPORTER_GROUP`, made with no
    arguments; :class:`TracingUnavailable` when none is, or it cannot be made."""
    found = entry_points(group=EXPORTER_GROUP, name=name)
    if not found:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER names {name!r}; pywatt knows otlp, console, dashboard "
            f"and none, and no installed package registers {name!r} as an "
            f"{EXPORTER_GROUP} entry point"
        )
    entry = next(iter(found))
    try:
        exporter: SpanExporter = entry.load()()
    except Exception as exc:
        raise TracingUnavailable(
            f"OTEL_TRACES_EXPORTER={name!r}: the exporter registered as {entry.value!r} "
            f"cannot be made: {exc!r}"
        ) from exc
    return exporter


FLUSH_TIMEOUT: Final = 2.0
"""Seconds a stopping process gives its batched spans to leave (a collector that is down
must not hold up a module's shutdown)."""


def shutdown_tracing(timeout: float = FLUSH_TIMEOUT) -> None:
    """Send the spans still batched, waiting at most ``timeout`` seconds (nothing without an
    SDK provider). The SDK's own exit handler stops the provider when the process ends."""
    provider = trace.get_tracer_provider()
    flush = getattr(provider, "force_flush", None)
    if callable(flush):
        flush(int(timeout * 1000))

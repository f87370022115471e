"""Whether tracing is on: a real SDK behind the OpenTelemetry API, checked once.

Without an SDK the API's tracer provider is a proxy (or the no-op provider) and every span
would be a no-op object that still costs a call or two. pywatt checks the provider's kind
once and, while there is no real SDK behind it, skips all of its tracing work: every
instrumented place tests one global. :func:`refresh` checks again (a module calls it after
its setup, where user code may have installed a provider).
"""

from __future__ import annotations

import os
from typing import Final

from opentelemetry import trace

from pywatt._errors import ConfigError

__all__ = ["STATE", "TRACE_ASKS", "enabled", "refresh", "set_module_id"]

TRACE_ASKS: Final = "PYWATT_TRACE_ASKS"
"""The variable that makes every ask inside a trace a span of its own (docs/tracing.md)."""
_YES: Final = frozenset({"1", "true", "yes", "on"})
_NO: Final = frozenset({"", "0", "false", "no", "off"})

SCOPE = "pywatt"
"""The instrumentation scope of pywatt's spans."""


class _State:
    __slots__ = ("checked", "module_id", "provider", "trace_asks", "tracer")

    def __init__(self) -> None:
        self.checked = False
        self.tracer: trace.Tracer | None = None
        self.provider: trace.TracerProvider | None = None
        self.module_id: str | None = None
        self.trace_asks = False


STATE = _State()
"""``STATE.tracer``: pywatt's tracer while a real SDK is configured, else ``None``;
``STATE.provider``: the provider it comes from; ``STATE.trace_asks``: whether an ask inside
a trace is a span (``PYWATT_TRACE_ASKS``)."""


def _real(provider: trace.TracerProvider) -> bool:
    return not isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider)


def _trace_asks() -> bool:
    value = os.environ.get(TRACE_ASKS, "")
    word = value.strip().lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise ConfigError(
        f"{TRACE_ASKS}={value!r}: say 1 (every ask inside a trace is a span) or 0 (asks "
        "carry the trace context without spans of their own, the default)"
    )


def refresh(provider: trace.TracerProvider | None = None) -> bool:
    """Check the global tracer provider again (or use ``provider``, one of your own that is
    not the global one: a test's); returns whether tracing is on. Installs (or removes) the
    hook that carries tracing context across actor mailboxes, and reads ``PYWATT_TRACE_ASKS``
    (a value other than 1/0, true/false, yes/no, on/off is a :class:`ConfigError`)."""
    import actors

    from ._asks import ASK_TRACER

    if provider is None:
        provider = trace.get_tracer_provider()
    if _real(provider):
        STATE.trace_asks = _trace_asks()
        STATE.tracer = provider.get_tracer(SCOPE)
        STATE.provider = provider
        actors.set_ask_tracer(ASK_TRACER)
    else:
        STATE.tracer = None
        STATE.provider = None
        if actors.ask_tracer() is ASK_TRACER:
            actors.set_ask_tracer(None)
    STATE.checked = True
    return STATE.tracer is not None


def enabled() -> bool:
    """Whether pywatt traces (checked once; :func:`refresh` checks again)."""
    if not STATE.checked:
        refresh()
    return STATE.tracer is not None


def set_module_id(module_id: str | None) -> None:
    """The ``pywatt.module.id`` attribute of this process's spans."""
    STATE.module_id = module_id

"""A finished span as JSON, the form the dashboard keeps and a module's ``spans`` lines carry:
written from the SDK's span (:func:`span_to_json`) and read back, checked, from a peer
(:func:`span_from_json`). Both bound every text and redact it. A :class:`SpanEncoder` writes
the same JSON for a stream of spans, redacting the texts of each span shape once."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = [
    "MAX_ATTRIBUTES",
    "MAX_TEXT",
    "SHAPES",
    "BadSpan",
    "SpanEncoder",
    "span_from_json",
    "span_to_json",
]

MAX_ATTRIBUTES: Final = 32
"""Attributes of a span kept (the first ones)."""
MAX_TEXT: Final = 512
"""Characters of a text (name, attribute, status message) kept."""
_MAX_ITEMS: Final = 16
_PLAIN: Final = frozenset({str, bool, int, float, type(None)})
_KINDS: Final = frozenset({"internal", "server", "client", "producer", "consumer"})
_STATUSES: Final = frozenset({"unset", "ok", "error"})
_TRACE_ID: Final = re.compile(r"[0-9a-f]{32}")
_SPAN_ID: Final = re.compile(r"[0-9a-f]{16}")
SHAPES: Final = 512
"""Span shapes a :class:`SpanEncoder` remembers; beyond, it starts again from none."""

Redact = Callable[[str], str]


class BadSpan(ValueError):
    """A span's JSON that is not what :func:`span_to_json` writes: ``field`` says where."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"span field {field!r}: {problem}")
        self.field = field
        self.problem = problem


def span_to_json(span: ReadableSpan, redact: Redact) -> dict[str, Any]:
    """A finished span: ids in lower-case hex, times in nanoseconds since the epoch, ``kind``
    and ``status`` in lower case, the service name, at most :data:`MAX_ATTRIBUTES`
    attributes; every text through ``redact``, then cut to :data:`MAX_TEXT` characters."""
    context = span.context
    parent = span.parent
    status = span.status
    service = span.resource.attributes.get("service.name")
    data = {
        "trace_id": f"{context.trace_id:032x}" if context is not None else "",
        "span_id": f"{context.span_id:016x}" if context is not None else "",
        "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
        "name": span.name,
        "kind": span.kind.name.lower(),
        "start_ns": span.start_time or 0,
        "end_ns": span.end_time or span.start_time or 0,
        "status": status.status_code.name.lower(),
        "status_message": status.description or None,
        "service": service if isinstance(service, str) else None,
        "attributes": _plain(span.attributes),
    }
    return _bounded(data, redact)


def _plain(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    """A span's attributes as a dict of their own: the SDK's read-only view copied by the
    mapping under it (a C-level dict copy), not item by item through the view."""
    if not attributes:
        return {}
    copy = getattr(attributes, "copy", None)
    found = copy() if callable(copy) else None
    return found if type(found) is dict else dict(attributes)


class Redacting(Protocol):
    """A redactor (``pywatt.logs.Redactor``): ``generation`` changes whenever ``redact`` may
    answer differently for a text."""

    generation: int

    def redact(self, text: str) -> str: ...


class SpanEncoder:
    """:func:`span_to_json` for the spans of one process, with ``redactor``: the same JSON,
    but a span whose name, status message, service and attributes were all seen before (the
    spans of one endpoint, say) reuses their redacted and bounded form instead of redacting
    them again. Forgets what it knows when the redactor's ``generation`` changes (a secret
    was registered since) and when it knows :data:`SHAPES` shapes. Not thread-safe: one
    encoder per task that drains a :class:`~pywatt.tracing.SpanBuffer`."""

    def __init__(self, redactor: Redacting, shapes: int = SHAPES) -> None:
        self.redactor = redactor
        self.shapes = shapes
        self._known: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._generation = redactor.generation

    def __call__(self, span: ReadableSpan) -> dict[str, Any]:
        status = span.status
        message = status.description or None
        service = span.resource.attributes.get("service.name")
        service = service if isinstance(service, str) else None
        attributes = _plain(span.attributes)
        try:
            # the types too: 1, 1.0 and True are equal keys, and their JSON differs
            key = (span.name, span.kind, status.status_code, message, service,
                   *attributes.items(), *map(type, attributes.values()))  # fmt: skip
            hash(key)
        except TypeError:  # a value that is no plain one (not from the SDK): not kept
            return span_to_json(span, self.redactor.redact)
        generation = self.redactor.generation
        if generation != self._generation or len(self._known) >= self.shapes:
            self._known.clear()
            self._generation = generation
        known = self._known.get(key)
        if known is None:
            data = span_to_json(span, self.redactor.redact)
            self._known[key] = {name: data[name] for name in _SHAPED}
            data["attributes"] = dict(data["attributes"])
            return data
        context = span.context
        parent = span.parent
        data = {
            "trace_id": f"{context.trace_id:032x}" if context is not None else "",
            "span_id": f"{context.span_id:016x}" if context is not None else "",
            "parent_id": f"{parent.span_id:016x}" if parent is not None else None,
            "start_ns": span.start_time or 0,
            "end_ns": span.end_time or span.start_time or 0,
            **known,
        }
        data["attributes"] = dict(known["attributes"])
        return data


_SHAPED: Final = ("name", "kind", "status", "status_message", "service", "attributes")
"""The fields of a span's JSON that its shape (:class:`SpanEncoder`) decides."""


def span_from_json(data: object, redact: Redact) -> dict[str, Any]:
    """``data`` checked to be what :func:`span_to_json` writes, its texts bounded and redacted
    again (a peer is not trusted to have done it); raises :class:`BadSpan` otherwise."""
    if not isinstance(data, Mapping):
        raise BadSpan("(span)", f"a JSON object is needed, not {type(data).__name__}")
    trace_id = _matching(data, "trace_id", _TRACE_ID)
    span_id = _matching(data, "span_id", _SPAN_ID)
    parent_id = data.get("parent_id")
    if parent_id is not None:
        parent_id = _matching(data, "parent_id", _SPAN_ID)
    start, end = _int(data, "start_ns"), _int(data, "end_ns")
    if end < start:
        raise BadSpan("end_ns", f"{end} is before start_ns {start}")
    kind = _one_of(data, "kind", _KINDS)
    status = _one_of(data, "status", _STATUSES)
    attributes = data.get("attributes", {})
    if not isinstance(attributes, Mapping):
        raise BadSpan("attributes", "a JSON object is needed")
    return _bounded(
        {
            "trace_id": trace_id,
            "span_id": span_id,
            "parent_id": parent_id,
            "name": _str(data, "name"),
            "kind": kind,
            "start_ns": start,
            "end_ns": end,
            "status": status,
            "status_message": _optional(data, "status_message"),
            "service": _optional(data, "service"),
            "attributes": attributes,
        },
        redact,
    )


def _bounded(data: dict[str, Any], redact: Redact) -> dict[str, Any]:
    """``data`` with at most :data:`MAX_ATTRIBUTES` attributes (lists cut to 16 items, values
    of other types as text) and every text redacted and cut, in one pass of ``redact``."""
    items = list(data["attributes"].items())[:MAX_ATTRIBUTES]
    keys = [str(key) for key, _ in items]
    values = [v if type(v) in _PLAIN else _other(v, redact) for _, v in items]
    strings = [n for n, value in enumerate(values) if type(value) is str]
    message, service = data["status_message"], data["service"]
    texts = [data["name"], message or "", service or "", *keys]
    texts += [values[n] for n in strings]
    cleaned = _redact_all(texts, redact)
    data["name"] = cleaned[0]
    if message is not None:
        data["status_message"] = cleaned[1]
    if service is not None:
        data["service"] = cleaned[2]
    for n, text in zip(strings, cleaned[3 + len(keys) :], strict=True):
        values[n] = text
    data["attributes"] = dict(zip(cleaned[3 : 3 + len(keys)], values, strict=True))
    return data


def _other(value: object, redact: Redact) -> Any:
    """A value that is no text, number or boolean: a list item by item, else its text."""
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [v if type(v) in _PLAIN and type(v) is not str else redact(str(v))[:MAX_TEXT]
                for v in list(value)[:_MAX_ITEMS]]  # fmt: skip
    return str(value)


_SEPARATOR: Final = "\x00"


def _redact_all(texts: list[str], redact: Redact) -> list[str]:
    """Each of ``texts`` redacted and cut to :data:`MAX_TEXT`, by one call of ``redact`` over
    them all (a third of the cost of one call each). Joined by a character no secret form
    and no credential shape matches alone: a match that crosses it removes it, and then
    each text is redacted by itself."""
    if not texts:
        return []
    parts = redact(_SEPARATOR.join(texts)).split(_SEPARATOR)
    if len(parts) != len(texts):
        parts = [redact(text) for text in texts]
    return [part[:MAX_TEXT] for part in parts]


def _str(data: Mapping[str, Any], field: str) -> str:
    value = data.get(field)
    if not isinstance(value, str):
        raise BadSpan(field, f"a string is needed, not {type(value).__name__}")
    return value


def _optional(data: Mapping[str, Any], field: str) -> str | None:
    return None if data.get(field) is None else _str(data, field)


def _matching(data: Mapping[str, Any], field: str, pattern: re.Pattern[str]) -> str:
    value = _str(data, field)
    if not pattern.fullmatch(value) or not value.strip("0"):
        raise BadSpan(field, f"{value[:40]!r} is not a valid id in lower-case hex")
    return value


def _int(data: Mapping[str, Any], field: str) -> int:
    value = data.get(field)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise BadSpan(field, f"a non-negative integer is needed, not {value!r}"[:120])
    return value


def _one_of(data: Mapping[str, Any], field: str, allowed: frozenset[str]) -> str:
    value = _str(data, field)
    if value not in allowed:
        raise BadSpan(field, f"{value[:40]!r} is none of {', '.join(sorted(allowed))}")
    return value

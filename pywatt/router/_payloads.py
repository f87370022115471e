"""The payload of a request or notification (decision 7), written and read fast.

A request's payload is the JSON of ``Message{id, content, metadata: {destination: <endpoint>,
properties: {["pywatt_deadline_ms": <budget>, ]"pywatt_reply": "result"|"none"}}}``.
Writing it through ``encode_payload`` and reading it through ``decode_payload_message``
unstructures and structures the envelope with cattrs on every request. Here the envelope is
a template around the content, whose JSON still comes from (and goes to) ``pywatt.wire``;
the tests check the bytes against ``encode_payload`` and the values against
``decode_payload_message``. A payload in any other form than the one written here (another
field order, more metadata, whitespace, escapes) is not read here: :func:`read_request`
returns ``None`` and the router decodes it with ``pywatt.wire``, which accepts and refuses
exactly what Rust does.

Deadline: a request carries its caller's budget in whole milliseconds
(``pywatt_deadline_ms``, first: the keys are sorted). Tracing: a traced request also carries
the W3C trace context in ``metadata.properties`` (``traceparent``, ``tracestate``; keys
sorted, after ``pywatt_reply``). A Rust module ignores properties it does not know
(docs/protocol-extensions.md §5).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from json.encoder import encode_basestring
from typing import Any, Final

from pywatt.channels import uuid4_text
from pywatt.wire import (
    DEADLINE_PROPERTY,
    REPLY_MARKER_PROPERTY,
    DecodeError,
    EncodedMessage,
    EncodeError,
    EncodingFormat,
    decode_json,
    encode_json,
)

__all__ = ["budget_of", "read_request", "request_payload"]

_BUDGET: Final = b'"' + DEADLINE_PROPERTY.encode() + b'":'
_MARKER: Final = b'"' + REPLY_MARKER_PROPERTY.encode() + b'":'
_TRACEPARENT: Final = "traceparent"
_PARENT: Final = b',"traceparent":'

_REQUEST: Final = re.compile(
    rb'\{"id":"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}","content":(.*)'
    rb',"metadata":\{"destination":"([^"\\\x00-\x1f]*)","properties":\{(?:"'
    + DEADLINE_PROPERTY.encode()
    + rb'":(0|[1-9][0-9]{0,15}),)?"'
    + REPLY_MARKER_PROPERTY.encode()
    + rb'":"([^"\\\x00-\x1f]*)"'
    rb'(?:,"traceparent":"([^"\\\x00-\x1f]*)")?(?:,"tracestate":"([^"\\\x00-\x1f]*)")?'
    rb"\}\}\}",
    re.DOTALL,
)


def request_payload(
    value: Any,
    endpoint: str,
    marker: str,
    trace: Mapping[str, str] | None = None,
    budget_ms: int | None = None,
) -> EncodedMessage:
    """The JSON payload of a request (``marker`` "result") or notification ("none") to
    ``endpoint``: the bytes of ``encode_payload(value, metadata=MessageMetadata(
    destination=endpoint, properties={"pywatt_reply": marker, **trace}))``, ``trace`` being
    the W3C trace context fields (or None), with ``"pywatt_deadline_ms": budget_ms`` first
    among the properties when a budget is given. Raises ``EncodeError``."""
    try:
        if trace and len(trace) == 1 and (parent := trace.get(_TRACEPARENT)) is not None:
            # the usual trace context, a lone traceparent: its key sorts after the marker's
            fields = _marker(marker) + _PARENT + encode_basestring(parent).encode() + b"}}}"
        elif trace:  # the keys sorted, as serde_json writes a map
            properties = {REPLY_MARKER_PROPERTY: marker, **trace}
            fields = b",".join(
                encode_basestring(key).encode() + b":" + encode_basestring(text).encode()
                for key, text in sorted(properties.items())
            )
            fields += b"}}}"
        else:
            fields = _marker(marker) + b"}}}"
        head = _destination(endpoint)
    except UnicodeEncodeError:
        raise EncodeError("string contains a lone surrogate; it has no UTF-8 form") from None
    data = b"".join(
        (
            b'{"id":"',
            uuid4_text().encode(),
            b'","content":',
            encode_json(value),
            head,
            b"" if budget_ms is None else _BUDGET + str(budget_ms).encode() + b",",
            fields,
        )
    )
    return EncodedMessage(data=data, format=EncodingFormat.JSON)


# What is the same for every request to an endpoint (and for every reply marker) is written
# once: the metadata up to the properties, and the marker's field.
_destinations: dict[str, bytes] = {}
_markers: dict[str, bytes] = {}
_KEPT: Final = 1024
"""At most this many endpoints' heads are kept; past it the table starts afresh."""


def _destination(endpoint: str) -> bytes:
    """``,"metadata":{"destination":<endpoint>,"properties":{``. Raises
    ``UnicodeEncodeError``."""
    head = _destinations.get(endpoint)
    if head is None:
        head = b',"metadata":{"destination":' + encode_basestring(endpoint).encode()
        head += b',"properties":{'
        if len(_destinations) >= _KEPT:
            _destinations.clear()
        _destinations[endpoint] = head
    return head


def _marker(marker: str) -> bytes:
    """``"pywatt_reply":<marker>``. Raises ``UnicodeEncodeError``."""
    field = _markers.get(marker)
    if field is None:
        field = _MARKER + encode_basestring(marker).encode()
        if len(_markers) >= _KEPT:
            _markers.clear()
        _markers[marker] = field
    return field


def read_request(
    payload: EncodedMessage,
) -> tuple[Any, str, str, dict[str, str] | None, int | None] | None:
    """``(content, destination, marker, trace, budget_ms)`` of a JSON payload in the form
    :func:`request_payload` writes, the content decoded as ``Any``, ``trace`` the trace
    context fields (None without) and ``budget_ms`` the caller's budget (None without);
    ``None`` for any other payload. Does not block or raise."""
    if payload.format is not EncodingFormat.JSON:
        return None
    match = _REQUEST.fullmatch(payload.data)
    if match is None:
        return None
    content, destination, budget, marker, parent, state = match.groups()
    try:
        trace = None
        if parent is not None:
            trace = {"traceparent": parent.decode()}
            if state is not None:
                trace["tracestate"] = state.decode()
        return (
            decode_json(content, Any),
            destination.decode(),
            marker.decode(),
            trace,
            None if budget is None else int(budget),
        )
    except (DecodeError, UnicodeDecodeError):
        return None


def budget_of(properties: object) -> int | None:
    """The ``pywatt_deadline_ms`` of a request's decoded ``metadata.properties``: None when
    absent or not a non-negative whole number (a budget nobody can read is no budget)."""
    if not isinstance(properties, dict):
        return None
    budget = properties.get(DEADLINE_PROPERTY)
    if type(budget) is int and budget >= 0:
        return budget
    return None

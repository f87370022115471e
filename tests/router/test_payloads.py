"""Request payloads written and read fast, against ``encode_payload`` and
``decode_payload_message``."""

from __future__ import annotations

import uuid
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.router._payloads import budget_of, read_request, request_payload
from pywatt.wire import (
    DecodeError,
    EncodedMessage,
    EncodingFormat,
    MessageMetadata,
    decode_json,
    decode_payload_message,
    encode_payload,
)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


@attrs.frozen
class Charge:
    amount: int
    note: str = "x"


def _same_as_wire(
    value: Any,
    endpoint: str,
    marker: str,
    budget: int | None = None,
    trace: dict[str, str] | None = None,
) -> EncodedMessage:
    fast = request_payload(value, endpoint, marker, trace, budget)
    envelope_id = uuid.UUID(decode_json(fast.data, dict[str, Any])["id"])
    properties: dict[str, Any] = {"pywatt_reply": marker, **(trace or {})}
    if budget is not None:
        properties["pywatt_deadline_ms"] = budget
    slow = encode_payload(
        value,
        metadata=MessageMetadata(destination=endpoint, properties=properties),
        id=envelope_id,
    )
    assert fast == slow
    return fast


@given(
    value=json_values,
    endpoint=st.text(max_size=10),
    marker=st.sampled_from(["result", "none"]),
    budget=st.none() | st.integers(min_value=0, max_value=10**12),
    trace=st.none()
    | st.fixed_dictionaries({"traceparent": st.text(max_size=60)})
    | st.fixed_dictionaries(
        {"traceparent": st.text(max_size=60)}, optional={"tracestate": st.text(max_size=20)}
    ),
)
def test_a_request_payload_has_the_bytes_of_encode_payload_and_reads_back(
    value: Any, endpoint: str, marker: str, budget: int | None, trace: dict[str, str] | None
) -> None:
    payload = _same_as_wire(value, endpoint, marker, budget, trace)
    slow = decode_payload_message(payload, Any)
    assert budget_of(slow.metadata.properties) == budget
    fast = read_request(payload)
    if fast is None:  # only texts that need escapes are left to pywatt.wire
        texts = [endpoint, *(trace or {}).values()]
        assert any(c in text for text in texts for c in '"\\' + "".join(map(chr, range(32))))
        return
    assert fast == (slow.content, slow.metadata.destination, marker, trace, budget)


def test_an_attrs_request_is_written_as_pywatt_wire_writes_it() -> None:
    payload = _same_as_wire(Charge(5), "charge", "result")
    assert read_request(payload) == ({"amount": 5, "note": "x"}, "charge", "result", None, None)
    timed = _same_as_wire(Charge(5), "charge", "result", 1500)
    assert read_request(timed) == ({"amount": 5, "note": "x"}, "charge", "result", None, 1500)


@pytest.mark.parametrize(
    ("properties", "budget"),
    [
        ({"pywatt_reply": "result"}, None),
        ({"pywatt_reply": "result", "pywatt_deadline_ms": 250}, 250),
        ({"pywatt_reply": "result", "pywatt_deadline_ms": -1}, None),
        ({"pywatt_reply": "result", "pywatt_deadline_ms": 2.5}, None),
        ({"pywatt_reply": "result", "pywatt_deadline_ms": "250"}, None),
        ({"pywatt_reply": "result", "pywatt_deadline_ms": True}, None),
        (None, None),
    ],
)
def test_a_budget_nobody_can_read_is_no_budget(properties: Any, budget: int | None) -> None:
    assert budget_of(properties) == budget


@pytest.mark.parametrize(
    "data",
    [
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":1,"metadata":{}}',
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":1,"metadata":'
        b'{"source":"a","destination":"e","properties":{"pywatt_reply":"result"}}}',
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":1 ,"metadata":'
        b'{"destination":"e","properties":{"pywatt_reply":"result"}}}',
        b'{"content":1,"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","metadata":'
        b'{"destination":"e","properties":{"pywatt_reply":"result"}}}',
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":NaN,"metadata":'
        b'{"destination":"e","properties":{"pywatt_reply":"result"}}}',
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"a":1,"a":2},"metadata":'
        b'{"destination":"e","properties":{"pywatt_reply":"result"}}}',
    ],
)
def test_a_payload_in_another_form_is_left_to_pywatt_wire_or_read_as_it_reads_it(
    data: bytes,
) -> None:
    payload = EncodedMessage(data=data)
    fast = read_request(payload)
    if fast is None:
        return
    slow = decode_payload_message(payload, Any)  # what is read fast, pywatt.wire reads alike
    assert fast == (slow.content, slow.metadata.destination, "result", None, None)


def test_what_pywatt_wire_refuses_is_not_read_fast() -> None:
    refused = (
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":NaN,"metadata":'
        b'{"destination":"e","properties":{"pywatt_reply":"result"}}}'
    )
    with pytest.raises(DecodeError):
        decode_payload_message(EncodedMessage(data=refused), Any)
    assert read_request(EncodedMessage(data=refused)) is None


def test_a_binary_payload_is_left_to_pywatt_wire() -> None:
    payload = request_payload({"a": 1}, "e", "result")
    assert read_request(EncodedMessage(data=payload.data, format=EncodingFormat.BINARY)) is None


TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    "trace",
    [
        {"traceparent": TRACEPARENT},
        {"traceparent": TRACEPARENT, "tracestate": "congo=t61rcWkgMzE"},
        {"baggage": "k=v", "traceparent": TRACEPARENT},
    ],
)
def test_a_traced_payload_carries_the_trace_context_in_sorted_properties(
    trace: dict[str, str],
) -> None:
    payload = request_payload({"a": 1}, "charge", "result", trace)
    envelope_id = uuid.UUID(decode_json(payload.data, dict[str, Any])["id"])
    properties = {"pywatt_reply": "result", **trace}
    # the bytes pywatt.wire writes for the same Message (properties sorted, as serde_json)
    assert payload == encode_payload(
        {"a": 1},
        metadata=MessageMetadata(destination="charge", properties=properties),
        id=envelope_id,
    )
    slow = decode_payload_message(payload, Any)
    assert slow.metadata.properties == properties
    fast = read_request(payload)
    if "baggage" in trace:  # another form: left to pywatt.wire, which reads it all
        assert fast is None
    else:
        assert fast == ({"a": 1}, "charge", "result", trace, None)
    # With a budget too: it comes first (the keys are sorted) and both read back.
    timed = request_payload({"a": 1}, "charge", "result", trace, 700)
    assert decode_payload_message(timed, Any).metadata.properties == {
        "pywatt_deadline_ms": 700,
        **properties,
    }
    if "baggage" not in trace:
        assert read_request(timed) == ({"a": 1}, "charge", "result", trace, 700)


@pytest.mark.parametrize(
    "value",
    [
        {"metadata": {"destination": "x", "properties": {"pywatt_reply": "result"}}},
        [{"a": 1, "metadata": {"destination": "e"}}, ',"metadata":{"destination":"'],
        {"x": {"metadata": {"destination": "e", "properties": {}}}, "y": "}}}"},
    ],
)
def test_a_content_that_holds_the_metadata_text_reads_back_whole(value: Any) -> None:
    payload = request_payload(value, "charge", "result", None, 250)
    assert read_request(payload) == (value, "charge", "result", None, 250)

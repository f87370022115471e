"""The fast routing frames against ``pywatt.wire``: the same bytes written, the same values
read, and anything not in the canonical form left to ``pywatt.wire`` (``None``)."""

from __future__ import annotations

import pickle
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pywatt.channels import (
    encode_module_frame,
    parse_route,
    parse_routed,
    payload_json,
    random_uuid,
    route_frame,
    routed_message_frame,
    routed_response_frame,
    uuid4_text,
)
from pywatt.channels._frames import decode_inbound
from pywatt.wire import (
    DecodeError,
    EncodedMessage,
    EncodingFormat,
    FrameDecoder,
    FrameFormat,
    Message,
    ModuleToOrchestrator,
    RoutedModuleMessage,
    RoutedModuleResponse,
    RouteToModule,
    decode_json,
    decode_orchestrator_frame,
    encode_frame,
    encode_json,
)

ids = st.text(max_size=20)
payloads = st.builds(
    EncodedMessage, data=st.binary(max_size=200), format=st.sampled_from(list(EncodingFormat))
)


def _payload(frame: bytes) -> bytes:
    decoder = FrameDecoder()
    decoder.feed(frame)
    (one,) = list(decoder.frames())
    assert one.format is FrameFormat.JSON
    return bytes(one.payload)


def _slow_route(payload: bytes) -> RouteToModule | None:
    try:
        message = decode_json(payload, Message[ModuleToOrchestrator])
    except DecodeError:
        return None
    content = message.content
    if not isinstance(content, RouteToModule):
        return None
    return content


def _slow_routed(payload: bytes) -> object:
    try:
        return decode_orchestrator_frame(payload)
    except DecodeError:
        return None


@given(target=ids, endpoint=ids, request_id=st.uuids(), envelope=st.uuids(), payload=payloads)
def test_a_route_frame_has_the_bytes_of_pywatt_wire_and_reads_back(
    target: str, endpoint: str, request_id: uuid.UUID, envelope: uuid.UUID, payload: EncodedMessage
) -> None:
    route = RouteToModule(
        target_module_id=target, target_endpoint=endpoint, request_id=request_id, payload=payload
    )
    slow = encode_json(Message(id=envelope, content=route), as_type=Message[ModuleToOrchestrator])
    fast = route_frame(target, endpoint, request_id, payload, envelope_id=envelope)
    assert fast == encode_frame(FrameFormat.JSON, slow)
    raw = parse_route(_payload(fast))
    if raw is None:  # only strings that need escapes are left to pywatt.wire
        assert any(c in s for s in (target, endpoint) for c in '"\\' + "".join(map(chr, range(32))))
        return
    assert (raw.target_module_id, raw.target_endpoint, raw.request_id) == (
        target,
        endpoint,
        request_id,
    )
    assert raw.payload() == payload
    assert raw.payload_json == encode_json(payload) == payload_json(payload)


@given(source=ids, request_id=st.uuids(), payload=payloads)
def test_routed_frames_have_the_bytes_of_pywatt_wire_and_read_back(
    source: str, request_id: uuid.UUID, payload: EncodedMessage
) -> None:
    message = RoutedModuleMessage(
        source_module_id=source, original_request_id=request_id, payload=payload
    )
    response = RoutedModuleResponse(source_module_id=source, request_id=request_id, payload=payload)
    for fast, value in (
        (routed_message_frame(source, request_id, payload_json(payload)), message),
        (routed_response_frame(source, request_id, payload_json(payload)), response),
    ):
        assert fast == encode_frame(FrameFormat.JSON, encode_json(value))
        read = parse_routed(_payload(fast))
        assert read is None or read == value
        if read is None:
            assert any(c in source for c in '"\\' + "".join(map(chr, range(32))))
        frame = next(iter(_frames(fast)))
        assert decode_inbound(frame) == value


def _frames(data: bytes) -> list[object]:
    decoder = FrameDecoder()
    decoder.feed(data)
    return list(decoder.frames())


_ROUTE = _payload(route_frame("ledger", "post", uuid.uuid4(), EncodedMessage(data=b'{"x":1}')))
_ROUTED = _payload(
    routed_message_frame("billing", uuid.uuid4(), payload_json(EncodedMessage(data=b"\x00\xff")))
)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"data":[', b'"data": ['),  # whitespace
        (b'"format":"Json"', b'"format":"Binary","format":"Json"'),  # a repeated field
        (b'"metadata":{}', b'"metadata":{"source":"x"}'),  # metadata
        (b'"target_module_id":"ledger"', b'"target_module_id":"led\\u0067er"'),  # escape
        (b"[123,", b"[0123,"),  # leading zero
        (b"[123,", b"[256,"),  # out of range
        (b"[123,", b"[,"),  # empty element
        (b'"op":"route_to_module",', b'"op":"route_to_module","extra":1,'),
    ],
)
def test_a_route_in_another_form_is_left_to_pywatt_wire(old: bytes, new: bytes) -> None:
    assert old in _ROUTE
    assert parse_route(_ROUTE.replace(old, new, 1)) is None


def test_a_request_id_in_upper_case_is_left_to_pywatt_wire() -> None:
    head, sep, rest = _ROUTE.partition(b'"request_id":"')
    assert parse_route(head + sep + rest[:36].upper() + rest[36:]) is None
    assert _slow_route(head + sep + rest[:36].upper() + rest[36:]) is not None


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b"[0,255]", b"[0,256]"),
        (b"[0,255]", b"[00,255]"),
        (b"[0,255]", b"[0,,255]"),
        (b'"original_request_id"', b'"request_id"'),  # a message needs its own field name
        (b'"source_module_id":"billing"', b'"source_module_id":"bil\\"ling"'),
    ],
)
def test_a_routed_frame_in_another_form_is_left_to_pywatt_wire(old: bytes, new: bytes) -> None:
    assert old in _ROUTED
    assert parse_routed(_ROUTED.replace(old, new, 1)) is None


@settings(max_examples=300)
@given(which=st.booleans(), at=st.integers(min_value=0), byte=st.integers(0, 255))
def test_a_mutated_frame_is_read_as_pywatt_wire_reads_it_or_left_to_it(
    which: bool, at: int, byte: int
) -> None:
    base = _ROUTE if which else _ROUTED
    data = bytearray(base)
    data[at % len(data)] = byte
    mutated = bytes(data)
    if which:
        raw = parse_route(mutated)
        if raw is not None:
            slow = _slow_route(mutated)
            assert slow is not None
            assert (slow.target_module_id, slow.target_endpoint, slow.request_id) == (
                raw.target_module_id,
                raw.target_endpoint,
                raw.request_id,
            )
            assert slow.payload == raw.payload()
    else:
        read = parse_routed(mutated)
        if read is not None:
            assert _slow_routed(mutated) == read


def test_uuid4_text_is_a_random_version_4_uuid() -> None:
    seen = {uuid4_text() for _ in range(100)}
    assert len(seen) == 100
    for text in seen:
        value = uuid.UUID(text)
        assert str(value) == text
        assert value.version == 4
        assert value.variant == uuid.RFC_4122


def test_random_uuid_is_a_uuid_like_uuid4s() -> None:
    seen = {random_uuid() for _ in range(100)}
    assert len(seen) == 100
    for value in seen:
        same = uuid.UUID(str(value))
        assert same == value
        assert hash(same) == hash(value)  # a dict key read back from the wire finds it
        assert uuid.UUID(bytes=value.bytes) == value
        assert pickle.loads(pickle.dumps(value)) == value
        assert value.version == 4
        assert value.variant == uuid.RFC_4122


def test_the_module_frame_encoder_and_the_fast_one_agree_on_a_plain_route() -> None:
    envelope, request_id = uuid.uuid4(), uuid.uuid4()
    payload = EncodedMessage(data=b'{"n":1}')
    route = RouteToModule(
        target_module_id="pong", target_endpoint="echo", request_id=request_id, payload=payload
    )
    slow = encode_module_frame(route)
    fast = route_frame("pong", "echo", request_id, payload, envelope_id=envelope)
    # Only the envelope ids differ.
    assert len(slow) == len(fast)
    assert slow[:12] == fast[:12]
    assert slow[48:] == fast[48:]


@given(
    content=st.dictionaries(st.text(max_size=8), st.integers(), max_size=3),
    marker=st.sampled_from(["result", "none"]),
    budget=st.none() | st.integers(min_value=0, max_value=10**15),
    traced=st.booleans(),
)
def test_the_hop_reads_a_requests_budget_without_decoding_it(
    content: dict[str, int], marker: str, budget: int | None, traced: bool
) -> None:
    from pywatt.channels import route_budget_ms
    from pywatt.wire import MessageMetadata, encode_payload

    properties: dict[str, object] = {"pywatt_reply": marker}
    if budget is not None:
        properties["pywatt_deadline_ms"] = budget
    if traced:  # trace context fields come after the budget and the marker
        properties["traceparent"] = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    payload = encode_payload(
        content, metadata=MessageMetadata(destination="charge", properties=properties)
    )
    assert route_budget_ms(payload_json(payload)) == budget


def test_a_budget_not_written_as_pywatt_writes_it_is_not_read() -> None:
    from pywatt.channels import route_budget_ms

    def raw(text: bytes) -> bytes:
        return payload_json(EncodedMessage(data=text))

    head = b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"pywatt_deadline_ms":5},'
    good = head + b'"metadata":{"properties":{"pywatt_deadline_ms":15,"pywatt_reply":"result"}}}'
    assert route_budget_ms(raw(good)) == 15
    for bad in (
        good.replace(b":15,", b":015,"),  # a leading zero
        good.replace(b":15,", b":-15,"),
        good.replace(b":15,", b":1.5,"),
        good.replace(b":15,", b':"15",'),
        good.replace(b'"result"}}}', b'"result"} }}'),  # not the canonical form
        head + b'"metadata":{"properties":{"pywatt_reply":"result"}}}',  # none: the content's
    ):
        assert route_budget_ms(raw(bad)) is None, bad

"""The binary form of the routing frames (protocol extensions §5.1): exact bytes, round
trips, the same values as the MessagePack shape of section 2 decodes to, and anything not
in the form refused (``None``), never a crash."""

from __future__ import annotations

import uuid

import msgpack  # type: ignore[import-untyped]
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.channels._frames import decode_inbound
from pywatt.wire import (
    BinaryRoute,
    EncodedMessage,
    EncodeError,
    EncodingFormat,
    Frame,
    FrameDecoder,
    FrameFormat,
    OrchestratorToModule,
    RoutedModuleMessage,
    RoutedModuleResponse,
    binary_budget_ms,
    binary_route_frame,
    binary_routed_frame,
    decode_msgpack,
    encode_frame,
    parse_binary_route,
    parse_binary_routed,
)

ID = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")


def _payload_of(frame: bytes) -> bytes:
    got = _frame_of(frame)
    assert got.format is FrameFormat.MSGPACK
    return bytes(got.payload)


def _frame_of(data: bytes) -> Frame:
    decoder = FrameDecoder()
    decoder.feed(data)
    got = decoder.next_frame()
    assert isinstance(got, Frame)
    return got


def test_the_documented_bytes_of_a_route() -> None:
    frame = binary_route_frame("b", "e", ID, EncodedMessage(data=b"hi"))
    assert frame.hex(" ") == (
        "00 00 00 74 04 85 a2 6f 70 af 72 6f 75 74 65 5f 74 6f 5f 6d 6f 64 75 6c 65 b0 74 61 "
        "72 67 65 74 5f 6d 6f 64 75 6c 65 5f 69 64 a1 62 af 74 61 72 67 65 74 5f 65 6e 64 70 "
        "6f 69 6e 74 a1 65 aa 72 65 71 75 65 73 74 5f 69 64 c4 10 3f 2c 6a 9e 8b 1d 4c 52 9a "
        "47 0e 5d 2b 7f 1c 11 a7 70 61 79 6c 6f 61 64 82 a4 64 61 74 61 c4 02 68 69 a6 66 6f "
        "72 6d 61 74 a4 4a 73 6f 6e"
    )


@given(
    target=st.text(max_size=20),
    endpoint=st.text(max_size=20),
    data=st.binary(max_size=300),
    fmt=st.sampled_from(list(EncodingFormat)),
)
def test_a_route_reads_back_as_written(
    target: str, endpoint: str, data: bytes, fmt: EncodingFormat
) -> None:
    request_id = uuid.uuid4()
    frame = binary_route_frame(target, endpoint, request_id, EncodedMessage(data=data, format=fmt))
    assert parse_binary_route(_payload_of(frame)) == BinaryRoute(
        target, endpoint, request_id, data, fmt
    )


@given(source=st.text(max_size=20), data=st.binary(max_size=300), response=st.booleans())
def test_routed_frames_read_back_as_the_ops_section_2_decodes_them_to(
    source: str, data: bytes, response: bool
) -> None:
    request_id = uuid.uuid4()
    payload = _payload_of(
        binary_routed_frame(response, source, request_id, data, EncodingFormat.JSON)
    )
    encoded = EncodedMessage(data=data)
    expected = (
        RoutedModuleResponse(source_module_id=source, request_id=request_id, payload=encoded)
        if response
        else RoutedModuleMessage(
            source_module_id=source, original_request_id=request_id, payload=encoded
        )
    )
    assert parse_binary_routed(payload) == expected
    # The generic MessagePack decoder (which takes `bin` for byte strings) agrees, and so
    # does a module's channel reading the frame.
    assert decode_msgpack(payload, OrchestratorToModule) == expected
    assert decode_inbound(_frame_of(encode_frame(FrameFormat.MSGPACK, payload))) == expected


def _route(**change: object) -> dict[str, object]:
    value: dict[str, object] = {
        "op": "route_to_module",
        "target_module_id": "b",
        "target_endpoint": "e",
        "request_id": ID.bytes,
        "payload": {"data": b"{}", "format": "Json"},
    }
    value.update(change)
    return value


@pytest.mark.parametrize(
    "value",
    [
        _route(request_id=ID.bytes[:15]),  # not 16 bytes
        _route(request_id=str(ID)),  # text, not bin
        _route(payload={"data": [123, 125], "format": "Json"}),  # an integer array
        _route(payload={"data": b"{}", "format": "Yaml"}),  # no such format
        _route(payload={"format": "Json", "data": b"{}"}),  # keys out of order
        _route(payload={"data": b"{}"}),  # a key missing
        _route(target_module_id=7),
        _route(op="routed_module_message"),
        {**_route(), "extra": 1},
        {k: v for k, v in _route().items() if k != "target_endpoint"},
        [1, 2, 3],
    ],
)
def test_anything_but_the_form_is_not_a_route(value: object) -> None:
    assert parse_binary_route(msgpack.packb(value, use_bin_type=True)) is None


@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert parse_binary_route(data) is None or isinstance(parse_binary_route(data), BinaryRoute)
    parse_binary_routed(data)


def test_trailing_bytes_are_not_a_route() -> None:
    payload = _payload_of(binary_route_frame("b", "e", ID, EncodedMessage(data=b"{}")))
    assert parse_binary_route(payload) is not None
    assert parse_binary_route(payload + b"\x00") is None
    assert parse_binary_route(payload[:-1]) is None


def test_a_routed_frame_is_no_route_and_the_reverse() -> None:
    route = _payload_of(binary_route_frame("b", "e", ID, EncodedMessage(data=b"{}")))
    routed = _payload_of(binary_routed_frame(False, "a", ID, b"{}", EncodingFormat.JSON))
    assert parse_binary_routed(route) is None
    assert parse_binary_route(routed) is None


def test_a_lone_surrogate_is_an_encode_error() -> None:
    with pytest.raises(EncodeError):
        binary_route_frame("b\udc80", "e", ID, EncodedMessage(data=b"{}"))


@pytest.mark.parametrize(
    ("data", "budget"),
    [
        (b'{"content":1,"metadata":{"properties":{"pywatt_deadline_ms":250,'
         b'"pywatt_reply":"result"}}}', 250),
        (b'{"metadata":{"properties":{"pywatt_deadline_ms":0,"pywatt_reply":"result"}}}', 0),
        (b'{"metadata":{"properties":{"pywatt_reply":"result"}}}', None),
        (b'{"metadata":{"properties":{"pywatt_deadline_ms":07,"pywatt_reply":"r"}}}', None),
        (b'{"metadata":{"properties":{"pywatt_deadline_ms":5,"other":"r"}}}', None),
        (b'{"metadata":{"properties":{"pywatt_deadline_ms":5,"pywatt_reply":"r"}}} ', None),
    ],
)  # fmt: skip
def test_the_budget_is_read_only_in_the_form_pywatt_writes(data: bytes, budget: int | None) -> None:
    assert binary_budget_ms(data) == budget


_LONG_TEXT = st.one_of(st.text(max_size=40), st.text(min_size=250, max_size=300))
_SIZED = st.one_of(st.binary(max_size=300), st.integers(65_530, 65_540).map(lambda n: b"x" * n))


@given(target=_LONG_TEXT, endpoint=_LONG_TEXT, data=_SIZED, response=st.booleans())
def test_the_writers_write_what_msgpack_writes(
    target: str, endpoint: str, data: bytes, response: bool
) -> None:
    route = _payload_of(binary_route_frame(target, endpoint, ID, EncodedMessage(data=data)))
    assert route == msgpack.packb(
        _route(target_module_id=target, target_endpoint=endpoint, payload={
            "data": data, "format": "Json"}),
        use_bin_type=True,
    )  # fmt: skip
    routed = _payload_of(binary_routed_frame(response, target, ID, data, EncodingFormat.BINARY))
    assert routed == msgpack.packb(
        {
            "op": "routed_module_response" if response else "routed_module_message",
            "source_module_id": target,
            "request_id" if response else "original_request_id": ID.bytes,
            "payload": {"data": data, "format": "Binary"},
        },
        use_bin_type=True,
    )


@given(
    source=_LONG_TEXT,
    data=st.binary(max_size=300),
    response=st.booleans(),
    route=st.booleans(),
    cuts=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=3),
    trim=st.integers(0, 3),
)
def test_the_fast_readers_agree_with_the_general_one(
    source: str,
    data: bytes,
    response: bool,
    route: bool,
    cuts: list[tuple[int, int]],
    trim: int,
) -> None:
    # The readers take a bytes payload on their fast path and anything else (a bytearray
    # here) through msgpack.unpackb: damaged or not, both say the same.
    if route:
        frame = binary_route_frame(source, "e", ID, EncodedMessage(data=data))
    else:
        frame = binary_routed_frame(response, source, ID, data, EncodingFormat.JSON)
    payload = bytearray(_payload_of(frame))
    for at, value in cuts:
        payload[at % len(payload)] = value
    damaged = bytes(payload[: len(payload) - trim])
    assert parse_binary_route(damaged) == parse_binary_route(bytearray(damaged))
    assert parse_binary_routed(damaged) == parse_binary_routed(bytearray(damaged))


def test_another_valid_encoding_of_the_form_is_read_too() -> None:
    # "b" as a str8 instead of a fixstr: not what pywatt writes, still the form.
    payload = _payload_of(binary_route_frame("b", "e", ID, EncodedMessage(data=b"{}")))
    other = payload.replace(b"\xa1b", b"\xd9\x01b", 1)
    assert parse_binary_route(other) == BinaryRoute("b", "e", ID, b"{}", EncodingFormat.JSON)

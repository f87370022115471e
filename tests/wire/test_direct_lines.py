"""The wire side of direct lines (docs/protocol-extensions.md §12): the ops' exact JSON, the
handshake's proofs, and what a line's reader makes of each frame it may get."""

from __future__ import annotations

import hashlib
import hmac
import uuid

import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pywatt.channels import encode_module_frame, route_frame
from pywatt.wire import (
    LINE_NONCE_SIZE,
    REPLY_ENDPOINT,
    CancelRequest,
    DecodeError,
    EncodedMessage,
    Frame,
    FrameDecoder,
    FrameFormat,
    LineExpect,
    LineGrant,
    LineRefused,
    LineRequest,
    Message,
    ModuleDeclaration,
    ModuleToOrchestrator,
    OrchestratorToModule,
    RequestCancelled,
    RoutedModuleMessage,
    RoutedModuleResponse,
    binary_route_frame,
    decode_json,
    decode_line_frame,
    encode_frame,
    encode_json,
    line_accept_frame,
    line_hello_frame,
    line_proof,
    parse_line_accept,
    parse_line_hello,
    same_proof,
)

ID = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")
PAYLOAD = EncodedMessage(data=b'{"id":"x","content":1,"metadata":{}}')


def _frame(data: bytes) -> Frame:
    decoder = FrameDecoder()
    decoder.feed(data)
    frame = decoder.next_frame()
    assert isinstance(frame, Frame)
    return frame


def test_the_ops_are_written_as_documented() -> None:
    assert encode_json(LineRequest(target_module_id="billing")) == (
        b'{"op":"line_request","target_module_id":"billing"}'
    )
    grant = LineGrant(target_module_id="billing", address="/r/b.line.sock", ticket="t")
    assert encode_json(grant) == (
        b'{"op":"line_grant","target_module_id":"billing","address":"/r/b.line.sock","ticket":"t"}'
    )
    assert encode_json(LineRefused(target_module_id="b", reason="why")) == (
        b'{"op":"line_refused","target_module_id":"b","reason":"why"}'
    )
    assert encode_json(LineExpect(source_module_id="shop", ticket="t")) == (
        b'{"op":"line_expect","source_module_id":"shop","ticket":"t"}'
    )
    for op, base in (
        (LineGrant(target_module_id="b", address="/p", ticket="t"), OrchestratorToModule),
        (LineRefused(target_module_id="b", reason="r"), OrchestratorToModule),
        (LineExpect(source_module_id="a", ticket="t"), OrchestratorToModule),
    ):
        assert decode_json(encode_json(op), base) == op
    wrapped = encode_module_frame(LineRequest(target_module_id="billing"))
    message = decode_json(_frame(wrapped).payload, Message[ModuleToOrchestrator])
    assert message.content == LineRequest(target_module_id="billing")


def test_the_declaration_names_the_line_socket_only_when_there_is_one() -> None:
    plain = ModuleDeclaration(version="0.1.0", auth_token="tok")
    lined = ModuleDeclaration(version="0.1.0", auth_token="tok", line="/r/m.line.sock")
    assert "line" not in plain.to_properties()["pywatt"]
    assert lined.to_properties()["pywatt"]["line"] == "/r/m.line.sock"
    assert ModuleDeclaration.from_properties(lined.to_properties()) == lined
    with pytest.raises(DecodeError, match="line"):
        ModuleDeclaration.from_properties({"pywatt": {"version": "1", "line": 5}})


def test_the_proofs_are_hmac_sha256_of_the_nonce_under_two_labels() -> None:
    nonce = bytes(range(16))
    hello = hmac.new(b"ticket", b"pywatt line hello\x00" + nonce, hashlib.sha256).digest()
    accept = hmac.new(b"ticket", b"pywatt line accept\x00" + nonce, hashlib.sha256).digest()
    assert line_proof("ticket", nonce, accept=False) == hello
    assert line_proof("ticket", nonce, accept=True) == accept
    assert hello != accept
    assert same_proof(hello, hello)
    assert not same_proof(hello, accept)


@given(st.text(min_size=1, max_size=64), st.binary(min_size=16, max_size=16),
       st.text(min_size=1))  # fmt: skip
def test_the_handshake_frames_read_back(source: str, nonce: bytes, ticket: str) -> None:
    proof = line_proof(ticket, nonce, accept=False)
    assert parse_line_hello(_frame(line_hello_frame(source, nonce, proof)).payload) == (
        source, nonce, proof,
    )  # fmt: skip
    answer = line_proof(ticket, nonce, accept=True)
    assert parse_line_accept(_frame(line_accept_frame(answer)).payload) == answer


@given(st.binary(max_size=64))
def test_any_bytes_are_read_without_raising(junk: bytes) -> None:
    hello, accept = parse_line_hello(junk), parse_line_accept(junk)
    assert hello is None or isinstance(hello, tuple)
    assert accept is None or len(accept) == 32


_VALUES = st.one_of(st.text(max_size=4), st.binary(max_size=40), st.integers(-9, 9))


@given(st.dictionaries(st.sampled_from(["line", "from", "nonce", "proof", "x"]), _VALUES))
def test_only_the_exact_shape_is_a_hello(body: dict[str, object]) -> None:
    hello = parse_line_hello(msgpack.packb(body))
    if hello is not None:
        assert set(body) == {"line", "from", "nonce", "proof"}
        assert body["line"] == "hello"
        assert (len(hello[1]), len(hello[2])) == (LINE_NONCE_SIZE, 32)


def test_a_hello_with_a_short_nonce_or_proof_is_refused() -> None:
    good = {"line": "hello", "from": "a", "nonce": b"n" * LINE_NONCE_SIZE, "proof": b"p" * 32}
    assert parse_line_hello(msgpack.packb(good)) is not None
    for key, value in (("nonce", b"n" * 15), ("proof", b"p" * 31), ("from", ""), ("from", 5),
                       ("line", "accept")):  # fmt: skip
        assert parse_line_hello(msgpack.packb({**good, key: value})) is None


@pytest.mark.parametrize("binary", [True, False])
def test_a_line_delivers_requests_and_replies_from_its_peer(binary: bool) -> None:
    write = binary_route_frame if binary else route_frame
    request = _frame(write("b", "post", ID, PAYLOAD))
    assert decode_line_frame(request, "a", "b") == RoutedModuleMessage(
        source_module_id="a", original_request_id=ID, payload=PAYLOAD
    )
    reply = _frame(write("a", REPLY_ENDPOINT, ID, PAYLOAD))
    assert decode_line_frame(reply, "b", "a") == RoutedModuleResponse(
        source_module_id="b", request_id=ID, payload=PAYLOAD
    )


def test_a_line_delivers_a_cancel_as_its_peers() -> None:
    cancel = _frame(encode_module_frame(CancelRequest(target_module_id="b", request_id=ID)))
    assert decode_line_frame(cancel, "a", "b") == RequestCancelled(
        source_module_id="a", request_id=ID
    )


def test_a_frame_for_another_module_or_of_another_kind_is_refused() -> None:
    with pytest.raises(DecodeError, match="for module 'c'"):
        decode_line_frame(_frame(binary_route_frame("c", "post", ID, PAYLOAD)), "a", "b")
    with pytest.raises(DecodeError, match="for module 'c'"):
        cancel = encode_module_frame(CancelRequest(target_module_id="c", request_id=ID))
        decode_line_frame(_frame(cancel), "a", "b")
    with pytest.raises(DecodeError):
        decode_line_frame(_frame(encode_module_frame(LineRequest(target_module_id="b"))),
                          "a", "b")  # fmt: skip
    with pytest.raises(DecodeError):
        decode_line_frame(_frame(encode_frame(FrameFormat.MSGPACK, b"\x81\xa1x\x01")), "a", "b")
    with pytest.raises(DecodeError):
        decode_line_frame(_frame(encode_frame(FrameFormat.BINARY, b"\x00")), "a", "b")

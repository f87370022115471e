"""Fuzz targets for every decoder of pywatt.wire: whatever arrives, a decoder returns a value
or raises its typed protocol error (``RemoteProtocolError``), never anything else. The
stream state machines, fed any frames, raise only ``StreamViolation``.

Inputs are raw bytes, and valid encodings of every wire type mutated structurally (a field
dropped, a value replaced by any JSON value, a key added, an integer pushed out of range),
so the decoders' deeper paths are reached, not only the parser's first byte.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from typing import Any

import hypothesis.strategies as st
import msgpack
import pytest
from hypothesis import given

from pywatt import wire as w
from tests.wire.test_roundtrip import BINCODE_TYPES, JSON_VALUES, ROUND_TRIP_TYPES, strategy

from .conftest import FUZZ

FRAME_TYPES = [w.ModuleToOrchestrator, w.OrchestratorToModule, w.InitBlob]
EDGE_INTS = st.sampled_from([-(2**63) - 1, -1, 2**32, 2**64, 10**30, 2**1000])
# A value nested this deep cannot be built as a Python tree (the encoders recurse): a
# placeholder string stands in for it and is replaced in the encoded bytes.
DEEP_MARK = "\x00deep\x00"
ANY_VALUE = JSON_VALUES | EDGE_INTS | st.just(DEEP_MARK)
DEPTH = st.integers(50, 5000)


def _name(t: Any) -> str:
    return str(t).replace("pywatt.wire._", "").replace("typing.", "")


@st.composite
def mutated_tree(draw: st.DrawFn, type_: Any) -> Any:
    """A valid value of ``type_`` as a JSON tree, with a few structural mutations."""
    tree = json.loads(w.encode_json(draw(strategy(type_)), type_))
    for _ in range(draw(st.integers(0, 3))):
        tree = _mutate(draw, tree)
    return tree


def _mutate(draw: st.DrawFn, node: Any) -> Any:
    if isinstance(node, dict) and node and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(node)))
        action = draw(st.sampled_from(["drop", "replace", "descend", "add", "int"]))
        changed = dict(node)
        if action == "drop":
            del changed[key]
        elif action == "replace":
            changed[key] = draw(ANY_VALUE)
        elif action == "descend":
            changed[key] = _mutate(draw, node[key])
        elif action == "add":
            changed[draw(st.text(max_size=8))] = draw(ANY_VALUE)
        else:
            changed[key] = draw(EDGE_INTS)
        return changed
    if isinstance(node, list) and node:
        i = draw(st.integers(0, len(node) - 1))
        changed_list = list(node)
        changed_list[i] = _mutate(draw, node[i]) if draw(st.booleans()) else draw(ANY_VALUE)
        return changed_list
    return draw(ANY_VALUE)


def _decodes_or_refuses(decode: Any, data: Any, type_: Any) -> None:
    with contextlib.suppress(w.RemoteProtocolError):  # the typed refusal
        decode(data, type_)


def _json_bytes(tree: Any, depth: int) -> bytes:
    deep = "[" * depth + "]" * depth
    return json.dumps(tree).replace(json.dumps(DEEP_MARK), deep).encode()


def _msgpack_bytes(tree: Any, depth: int) -> bytes:
    data: bytes = msgpack.packb(tree)
    return data.replace(msgpack.packb(DEEP_MARK), b"\x91" * depth + b"\xc0")


@pytest.mark.parametrize("type_", ROUND_TRIP_TYPES, ids=_name)
def test_json_decoding_of_mutated_values(type_: Any) -> None:
    @FUZZ
    @given(tree=mutated_tree(type_), depth=DEPTH)
    def check(tree: Any, depth: int) -> None:
        _decodes_or_refuses(w.decode_json, _json_bytes(tree, depth), type_)

    check()


@pytest.mark.parametrize("type_", ROUND_TRIP_TYPES, ids=_name)
def test_msgpack_decoding_of_mutated_values(type_: Any) -> None:
    @FUZZ
    @given(tree=mutated_tree(type_), depth=DEPTH)
    def check(tree: Any, depth: int) -> None:
        try:
            data = _msgpack_bytes(tree, depth)
        except (OverflowError, ValueError):
            return  # not representable in MessagePack: nothing to send
        _decodes_or_refuses(w.decode_msgpack, data, type_)

    check()


@pytest.mark.parametrize("type_", FRAME_TYPES, ids=_name)
@FUZZ
@given(data=st.binary(max_size=300))
def test_json_and_msgpack_decoding_of_any_bytes(type_: Any, data: bytes) -> None:
    _decodes_or_refuses(w.decode_json, data, type_)
    _decodes_or_refuses(w.decode_msgpack, data, type_)


@pytest.mark.parametrize("type_", BINCODE_TYPES, ids=_name)
def test_bincode_decoding_of_any_and_of_damaged_bytes(type_: Any) -> None:
    @FUZZ
    @given(value=strategy(type_), cut=st.integers(0, 64), noise=st.binary(max_size=64))
    def check(value: Any, cut: int, noise: bytes) -> None:
        valid = w.encode_bincode(value, type_)
        _decodes_or_refuses(w.decode_bincode, valid[:cut] + noise, type_)
        _decodes_or_refuses(w.decode_bincode, noise, type_)

    check()


@FUZZ
@given(data=st.binary(max_size=300) | st.text(max_size=100).map(str.encode))
def test_orchestrator_frames_replies_and_json_values(data: bytes) -> None:
    for decode in (w.decode_orchestrator_frame, w.decode_json_value):
        with contextlib.suppress(w.RemoteProtocolError):
            decode(data)
    with contextlib.suppress(w.RemoteProtocolError):
        w.decode_reply(data, str)


@FUZZ
@given(
    format_=st.sampled_from(list(w.EncodingFormat)),
    data=st.binary(max_size=200),
    type_=st.sampled_from([str, w.StreamChunk, w.JsonValue, w.UInt32]),
)
def test_payloads_of_any_format(format_: w.EncodingFormat, data: bytes, type_: Any) -> None:
    encoded = w.EncodedMessage(data=data, format=format_)
    for decode in (w.decode_payload, w.decode_payload_message):
        _decodes_or_refuses(decode, encoded, type_)


@FUZZ
@given(chunks=st.lists(st.binary(max_size=64), max_size=12), limit=st.integers(0, 256))
def test_the_frame_decoder_on_any_byte_stream(chunks: list[bytes], limit: int) -> None:
    decoder = w.FrameDecoder(max_frame_size=limit)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while not isinstance(decoder.next_frame(), w.NeedData):
                pass
        decoder.at_eof()
    except w.RemoteProtocolError:
        pass


@FUZZ
@given(chunks=st.lists(st.binary(max_size=64), max_size=12), limit=st.integers(1, 256))
def test_the_line_decoder_on_any_byte_stream(chunks: list[bytes], limit: int) -> None:
    decoder = w.LineDecoder(max_line=limit, first_line_max=None)
    try:
        for chunk in chunks:
            decoder.feed(chunk)
            while not isinstance(decoder.next_line(), w.NeedData):
                pass
        decoder.at_eof()
    except w.RemoteProtocolError:
        pass


_SID = st.sampled_from([bytes(16), bytes(range(16))])
_STREAM_FIELD = st.sampled_from(
    [
        "stream",
        "id",
        "endpoint",
        "metadata",
        "window",
        "chunk_size",
        "seq",
        "payload",
        "credit",
        "granted",
        "chunks",
        "length",
        "crc32",
        "code",
        "reason",
    ]
)
_STREAM_VALUE = (
    st.integers(-1, 2**64)
    | st.binary(max_size=20)
    | st.text(max_size=10)
    | st.sampled_from(["open", "data", "credit", "end", "abort", "cancelled", None, True])
    | st.dictionaries(st.text(max_size=3) | st.binary(max_size=3), st.integers() | st.text())
)


@FUZZ
@given(
    base=st.sampled_from(["open", "data", "credit", "end", "abort"]),
    sid=_SID,
    changes=st.dictionaries(_STREAM_FIELD, _STREAM_VALUE, max_size=4),
    drop=st.lists(_STREAM_FIELD, max_size=2),
    noise=st.binary(max_size=40),
)
def test_stream_frames_of_mutated_and_any_bytes(
    base: str, sid: bytes, changes: dict[str, Any], drop: list[str], noise: bytes
) -> None:
    body: dict[str, Any] = {
        "open": {"endpoint": "e", "metadata": {}, "window": 1, "chunk_size": 1},
        "data": {"seq": 0, "payload": b""},
        "credit": {"credit": 1, "granted": 1},
        "end": {"chunks": 0, "length": 0, "crc32": 0},
        "abort": {"code": "cancelled", "reason": ""},
    }[base]
    tree = {"stream": base, "id": sid, **body, **changes}
    for key in drop:
        tree.pop(key, None)
    try:
        data = msgpack.packb(tree, use_bin_type=True)
    except (OverflowError, ValueError):
        return
    for raw in (data, data + noise, noise):
        with contextlib.suppress(w.StreamFrameError):
            w.decode_stream_frame(raw)


@FUZZ
@given(data=st.data())
def test_stream_machines_fed_any_frames_raise_only_violations(data: st.DataObject) -> None:
    sid = uuid.UUID(int=0)
    frame = st.one_of(
        st.builds(
            w.StreamOpen,
            stream_id=st.just(sid),
            endpoint=st.just("e"),
            window=st.integers(1, 12),
            chunk_size=st.integers(1, 8),
        ),
        st.builds(
            w.StreamData,
            stream_id=st.just(sid),
            seq=st.integers(0, 5),
            payload=st.binary(max_size=10),
        ),
        st.builds(
            w.StreamCredit,
            stream_id=st.just(sid),
            credit=st.integers(1, 3),
            granted=st.integers(1, 6),
        ),
        st.builds(
            w.StreamEnd,
            stream_id=st.just(sid),
            chunks=st.integers(0, 5),
            length=st.integers(0, 20),
            crc32=st.integers(0, 2**32 - 1),
        ),
        st.builds(w.StreamAbort, stream_id=st.just(sid), code=st.sampled_from(list(w.AbortCode))),
    )
    receiver = w.StreamReceiver()
    sender = w.StreamSender("e", stream_id=sid, window=3, chunk_size=8)
    sender.open()
    for f in data.draw(st.lists(frame, max_size=12)):
        with contextlib.suppress(w.StreamViolation):
            receiver.receive(f)
        with contextlib.suppress(w.StreamViolation):
            sender.receive(f)
        if data.draw(st.booleans()):
            receiver.next_chunk()
        if sender.credit and data.draw(st.booleans()):
            sender.send(b"x")
    assert receiver.max_buffered <= max(receiver.window, 1)

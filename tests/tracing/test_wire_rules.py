"""The trace context in a request's ``metadata.properties`` keeps to the rules the Rust
vectors fix for that field (tests/wire/data/vectors.jsonl, the conformance set): a
``serde_json::Map`` of any keys, written with sorted keys, read back the same. So a Rust peer
decodes a traced request as it decodes any other and ignores keys it does not know."""

from __future__ import annotations

import json
from typing import Any

from pywatt.router._payloads import request_payload
from pywatt.wire import Message, MessageMetadata, decode_json, encode_json

from ..wire._vectors import load_vectors

TRACE = {
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "tracestate": "congo=t61rcWkgMzE",
}


def _vector(name: str) -> dict[str, Any]:
    (vector,) = [v for v in load_vectors() if v["name"] == name]
    return vector


def test_properties_of_any_keys_are_what_rust_writes_sorted() -> None:
    vector = _vector("MessageMetadata.full")  # Rust's own bytes for a map of mixed keys
    text = bytes.fromhex(vector["hex"])
    metadata = decode_json(text, MessageMetadata)
    assert encode_json(metadata) == text  # the rule our encoder follows, checked on Rust's


def test_a_traced_request_is_a_message_as_rust_writes_one() -> None:
    payload = request_payload({"n": 1}, "lookup", "result", TRACE)
    message = decode_json(payload.data, Message[Any])
    properties = message.metadata.properties
    assert properties == {"pywatt_reply": "result", **TRACE}
    # Rust re-encodes what it decoded: the same bytes, the keys in byte order
    assert encode_json(message) == payload.data
    keys = list(json.loads(payload.data)["metadata"]["properties"])
    assert keys == sorted(keys, key=lambda k: k.encode())


def test_rusts_unsorted_properties_vector_still_decodes_beside_trace_keys() -> None:
    vector = _vector("decode.Message.properties_unsorted")
    data = json.loads(bytes.fromhex(vector["hex"]))
    data["metadata"]["properties"].update(TRACE)
    message = decode_json(json.dumps(data).encode(), Message[str])
    assert message.content == "hi"
    assert message.metadata.properties is not None
    assert message.metadata.properties["traceparent"] == TRACE["traceparent"]

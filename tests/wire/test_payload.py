"""Typed payload helpers, the reply envelope and the extension declarations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pywatt import wire as w

from ._vectors import TestData

U = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")


@pytest.mark.parametrize(
    "fmt", [w.EncodingFormat.JSON, w.EncodingFormat.BINARY, w.EncodingFormat.BASE64]
)
def test_user_message_round_trips_through_an_encoded_payload(fmt: w.EncodingFormat) -> None:
    meta = w.MessageMetadata(destination="charge", properties={"pywatt_reply": "result"})
    payload = w.encode_payload(TestData(name="ada", value=-7), fmt, metadata=meta, id=U)
    assert payload.format is fmt
    assert w.decode_payload(payload, TestData) == TestData(name="ada", value=-7)
    message = w.decode_payload_message(payload, TestData)
    assert message.metadata == meta
    if fmt is w.EncodingFormat.JSON:
        assert message.id == U


def test_json_payload_matches_the_rust_sdk_bytes() -> None:
    # EncodedMessage.json vector: Message{id, content: {"action":"lookup","user_id":42}}
    payload = w.encode_payload(
        {"action": "lookup", "user_id": 42}, id=uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
    )
    assert payload.data == (
        b'{"id":"a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d","content":'
        b'{"action":"lookup","user_id":42},"metadata":{}}'
    )


def test_bare_json_and_relabelled_json_payloads_decode_like_rust() -> None:
    bare = w.EncodedMessage(data=b'{"name":"x","value":1}', format=w.EncodingFormat.JSON)
    assert w.decode_payload(bare, TestData) == TestData(name="x", value=1)
    relabelled = w.EncodedMessage(data=b'"hi"', format=w.EncodingFormat.AUTO)
    assert w.decode_payload(relabelled, str) == "hi"
    no_layout = w.EncodedMessage(data=b'{"op":"heartbeat"}', format=w.EncodingFormat.BINARY)
    assert w.decode_payload(no_layout, w.OrchestratorToModule) == w.Heartbeat()


def test_binary_payload_of_a_type_without_layout_is_a_local_error() -> None:
    with pytest.raises(w.NoBincodeLayout):
        w.encode_payload(w.Heartbeat(), w.EncodingFormat.BINARY)
    with pytest.raises(w.EncodeError):
        w.encode_payload("x", w.EncodingFormat.AUTO)


def test_reply_envelope_round_trips_both_outcomes() -> None:
    assert w.encode_reply_ok(TestData(name="a", value=1)) == b'{"Ok":{"name":"a","value":1}}'
    assert w.decode_reply(b'{"Ok":{"name":"a","value":1}}', TestData) == TestData(name="a", value=1)
    err = w.ReplyError(error_type="KeyError", message="m", module="billing", request_id=U)
    data = w.encode_reply_error(err)
    assert data.startswith(b'{"Err":{"type":"KeyError","message":"m","module":"billing"')
    assert w.decode_reply(data, TestData) == err
    with pytest.raises(w.DecodeError, match="unknown reply variant"):
        w.decode_reply(b'{"Maybe":1}', TestData)
    with pytest.raises(w.DecodeError) as info:
        w.decode_reply(b'{"Err":{"type":"T","message":"m","module":"x"}}', TestData)
    assert info.value.path == "$.Err"


def test_orchestrator_declaration_round_trips_through_init_env() -> None:
    decl = w.OrchestratorDeclaration(
        version="0.1.0",
        formats=frozenset({"json", "msgpack"}),
        heartbeat_interval=2.5,
        tls_ca="/ca.pem",
    )
    env = {"DATABASE_URL": "x", **decl.to_env()}
    assert w.OrchestratorDeclaration.from_env(env) == decl
    assert w.OrchestratorDeclaration.from_env({"DATABASE_URL": "x"}) is None
    with pytest.raises(w.DecodeError, match="PYWATT_HEARTBEAT_INTERVAL"):
        w.OrchestratorDeclaration.from_env(
            {w.ENV_ORCHESTRATOR: "1", w.ENV_HEARTBEAT_INTERVAL: "-1"}
        )
    with pytest.raises(w.DecodeError, match="unknown frame format"):
        w.OrchestratorDeclaration.from_env({w.ENV_ORCHESTRATOR: "1", w.ENV_FORMATS: "json,xml"})


def test_module_declaration_travels_in_first_frame_metadata() -> None:
    decl = w.ModuleDeclaration(version="0.1.0", formats=frozenset({"msgpack"}), auth_token="tok")
    frame = w.Message(
        id=U, content=w.HeartbeatAck(), metadata=w.MessageMetadata(properties=decl.to_properties())
    )
    data = w.encode_json(frame)
    assert data == (
        b'{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"op":"heartbeat_ack"},'
        b'"metadata":{"properties":{"pywatt":{"auth_token":"tok","formats":["json","msgpack"],'
        b'"version":"0.1.0"}}}}'
    )
    back = w.decode_json(data, w.Message[w.ModuleToOrchestrator])
    assert w.ModuleDeclaration.from_properties(back.metadata.properties) == w.ModuleDeclaration(
        version="0.1.0", formats=frozenset({"json", "msgpack"}), auth_token="tok"
    )
    assert w.ModuleDeclaration.from_properties(None) is None
    with pytest.raises(w.DecodeError, match="formats"):
        w.ModuleDeclaration.from_properties({"pywatt": {"version": "1", "formats": "json"}})


def test_extension_ops_decode_by_op() -> None:
    update = w.decode_json(
        '{"op":"discovery_update","event":"left","provider":{"provider_id":"p","module_id":"m",'
        '"service_type":{"Custom":"s"},"name":"n","version":null,"address":"a","metadata":{},'
        '"is_healthy":false}}',
        w.OrchestratorToModule,
    )
    assert isinstance(update, w.DiscoveryUpdate)
    assert update.event is w.DiscoveryEvent.LEFT
    err = w.decode_json(
        '{"op":"secret_error","name":"K","message":"no such secret"}', w.OrchestratorToModule
    )
    assert err == w.SecretError(name="K", message="no such secret")


@pytest.mark.parametrize(
    ("text", "value", "union"),
    [
        (
            '{"op":"unregister_service_provider","provider_id":"prov-1"}',
            w.UnregisterServiceProviderRequest(provider_id="prov-1"),
            w.ModuleToOrchestrator,
        ),
        (
            '{"op":"unregister_service_provider_response","success":true,"error":null}',
            w.UnregisterServiceProviderResponse(success=True),
            w.OrchestratorToModule,
        ),
    ],
)
def test_the_unregister_provider_extension_has_the_documented_bytes(
    text: str, value: Any, union: Any
) -> None:
    assert w.encode_json(value) == text.encode()
    assert w.decode_json(text, union) == value


def test_message_wrapped_orchestrator_frame_is_accepted_only_by_the_lenient_reader() -> None:
    wrapped = (
        '{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"op":"shutdown"},"metadata":{}}'
    )
    with pytest.raises(w.DecodeError, match="missing field `op`"):
        w.decode_json(wrapped, w.OrchestratorToModule)
    assert w.decode_orchestrator_frame(wrapped) == w.Shutdown()
    with pytest.raises(w.DecodeError, match="missing field `op`"):
        w.decode_orchestrator_frame('{"name":"x"}')

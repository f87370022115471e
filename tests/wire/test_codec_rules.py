"""serde's strictness and serde_json's output rules, beyond what the vectors show."""

from __future__ import annotations

import math
import uuid

import pytest

from pywatt import wire as w


@pytest.mark.parametrize(
    ("line", "path", "reason"),
    [
        ('{"op":"port_request","request_id":5}', "$.request_id", "expected a string"),
        ('{"op":"port_request","request_id":"r","specific_port":"80"}', "$.specific_port", "u16"),
        ('{"op":"port_request","request_id":"r","specific_port":true}', "$.specific_port", "u16"),
        (
            '{"op":"http_response","request_id":"r","status_code":200,"headers":{},"body":[true]}',
            "$.body",
            "expected u8",
        ),
        (
            '{"op":"http_response","request_id":"r","status_code":200,"headers":{"a":1}}',
            "$.headers.a",
            "expected a string",
        ),
        (
            '{"op":"announce","listen":"x","endpoints":[{"path":"/","methods":"GET"}]}',
            "$.endpoints[0].methods",
            "expected a sequence",
        ),
        (
            '{"op":"announce","listen":"x","endpoints":[{"path":"/","methods":["GET",1]}]}',
            "$.endpoints[0].methods[1]",
            "expected a string",
        ),
        (
            '{"op":"discover_service_providers","service_type":{"Custom":1}}',
            "$.service_type",
            "expected a string",
        ),
    ],
)
def test_wrong_types_are_refused_with_the_field_path(line: str, path: str, reason: str) -> None:
    with pytest.raises(w.DecodeError) as info:
        w.decode_json(line, w.ModuleToOrchestrator)
    assert info.value.path == path
    assert reason in info.value.reason


def test_nested_error_path_goes_through_the_message_envelope() -> None:
    line = (
        '{"id":"3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11","content":{"op":"route_to_module",'
        '"target_module_id":"m","target_endpoint":"e","request_id":"3f2c6a9e-8b1d-4c52-9a47-'
        '0e5d2b7f1c11","payload":{"data":[1,300],"format":"Json"}},"metadata":{}}'
    )
    with pytest.raises(w.DecodeError) as info:
        w.decode_json(line, w.Message[w.ModuleToOrchestrator])
    assert info.value.path == "$.content.payload.data"
    assert "integer `300`" in info.value.reason


def test_repeated_struct_field_is_rejected_but_a_repeated_map_key_keeps_the_last() -> None:
    with pytest.raises(w.DecodeError, match="duplicate field `op`"):
        w.decode_json('{"op":"heartbeat","op":"shutdown"}', w.OrchestratorToModule)
    req = w.decode_json(
        '{"op":"http_request","request_id":"r","method":"GET","uri":"/",'
        '"headers":{"a":"1","a":"2"},"body":null}',
        w.OrchestratorToModule,
    )
    assert isinstance(req, w.IpcHttpRequest)
    assert req.headers == {"a": "2"}


@pytest.mark.parametrize(
    "text", ['{"v":NaN}', '{"v":Infinity}', '{"v":1e400}', '{"v":"\\ud800"}', "\xef\xbb\xbf{}"]
)
def test_inputs_serde_json_refuses_are_refused(text: str) -> None:
    with pytest.raises(w.DecodeError):
        w.decode_json_value(text.encode("utf-8", "surrogatepass"))


def test_valid_surrogate_pair_escape_is_read_as_one_character() -> None:
    assert w.decode_json_value('"\\ud83d\\ude80"') == "🚀"


def test_minus_zero_is_a_float_as_in_serde_json() -> None:
    value = w.decode_json_value("[-0,0]")
    assert type(value[0]) is float
    assert math.copysign(1.0, value[0]) == -1.0
    assert type(value[1]) is int
    assert w.encode_json_value(value) == b"[-0.0,0]"


def test_integers_beyond_u64_become_floats_in_json_values() -> None:
    assert w.decode_json_value("18446744073709551616") == 1.8446744073709552e19
    with pytest.raises(w.EncodeError):
        w.encode_json_value(2**64)


def test_json_values_are_written_sorted_with_ryu_floats_and_nan_as_null() -> None:
    value = {"b": [1e16, 0.00001, float("nan")], "a": {"z": 1, "é": "x", "B": None}}
    assert (
        w.encode_json_value(value)
        == '{"a":{"B":null,"z":1,"é":"x"},"b":[1e16,0.00001,null]}'.encode()
    )


def test_strings_use_serde_escapes_and_raw_utf8() -> None:
    secret = w.SecretValueResponse(name="K", value='päss\n\t"q"\x1b\x7f/')
    assert (
        w.encode_json(secret)
        == '{"op":"secret","name":"K","value":"päss\\n\\t\\"q\\"\\u001b\x7f/"}'.encode()
    )


def test_lone_surrogate_in_a_value_cannot_be_encoded() -> None:
    with pytest.raises(w.EncodeError):
        w.encode_json(w.GetSecretRequest(name="\ud800"))


def test_uuid_forms_accepted_like_the_uuid_crate() -> None:
    u = uuid.UUID("3f2c6a9e-8b1d-4c52-9a47-0e5d2b7f1c11")
    for text in [str(u).upper(), u.hex, "{" + str(u) + "}", "urn:uuid:" + str(u)]:
        assert w.parse_uuid(text) == u
    for bad in ["3f2c6a9e8b1d-4c52-9a47-0e5d2b7f1c11", "{" + u.hex + "}", str(u) + " "]:
        with pytest.raises(ValueError, match="invalid UUID"):
            w.parse_uuid(bad)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("127.0.0.1:80", w.SocketAddress),
        ("[::1]:80", w.SocketAddress),
        ("[fe80::1%3]:9000", w.SocketAddress),
        ("localhost:8080", str),
        ("::1:8080", str),
        ("01.2.3.4:80", str),
        ("1.2.3.4:70000", str),
        ("", str),
    ],
)
def test_listen_address_is_a_socket_address_only_for_ip_literals(text: str, kind: type) -> None:
    blob = w.decode_json(
        f'{{"orchestrator_api":"a","module_id":"m","env":{{}},"listen":"{text}"}}', w.InitBlob
    )
    assert type(blob.listen) is kind
    assert w.encode_json(blob, w.InitBlob).decode().count(f'"listen":"{text}"') == 1


def test_bincode_for_a_type_without_a_layout_is_a_local_error() -> None:
    with pytest.raises(w.NoBincodeLayout, match="no bincode layout") as info:
        w.encode_bincode(w.Heartbeat())
    assert isinstance(info.value, w.LocalProtocolError)
    with pytest.raises(w.NoBincodeLayout, match="width"):
        w.encode_bincode(5)
    with pytest.raises(w.NoBincodeLayout):
        w.decode_bincode(b"\x00", w.InitBlob)


def test_bincode_truncated_input_names_the_field() -> None:
    chunk = w.encode_bincode(
        w.StreamChunk(
            stream_id=uuid.UUID(int=1),
            sequence=1,
            total_chunks=2,
            data=b"abc",
            compressed=False,
            checksum=7,
            is_final=False,
        )
    )
    with pytest.raises(w.DecodeError) as info:
        w.decode_bincode(chunk[:20], w.StreamChunk)
    assert info.value.path == "$.data"


def test_get_secret_response_always_redacts_its_value() -> None:
    record = w.GetSecretResponse(name="K", value="real-secret")
    assert w.encode_json(record) == b'{"name":"K","value":"[REDACTED]","rotation_id":null}'
    assert b"real-secret" not in w.encode_msgpack(record)


def test_variant_encodes_tagged_by_default_and_bare_on_request() -> None:
    req = w.GetSecretRequest(name="X")
    assert w.encode_json(req) == b'{"op":"get_secret","name":"X"}'
    assert w.encode_json(req, w.GetSecretRequest) == b'{"name":"X"}'
    assert w.decode_json(b'{"name":"X"}', w.GetSecretRequest) == req
    assert w.decode_json(b'{"op":"get_secret","name":"X"}', w.ModuleToOrchestrator) == req

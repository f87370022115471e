"""Where serde's own rules decide: ``Duration`` carries nanos into secs and refuses an overflow,
required fields stay required, an enum map has one key, ``JwtProxyConfig`` has a default, and
integers out of their Rust range are refused on the way out, naming the field."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import msgpack  # type: ignore[import-untyped]
import pytest

from pywatt import wire as w

U64_MAX = 2**64 - 1

DECODERS: dict[str, Callable[[bytes, Any], Any]] = {
    "json": w.decode_json,
    "msgpack": w.decode_msgpack,
}


def _input(fmt: str, text: str) -> bytes:
    """``text`` (a JSON literal) in format ``fmt``: duplicate keys survive into msgpack too."""
    if fmt == "json":
        return text.encode()
    return msgpack.packb(json.loads(text, object_pairs_hook=_Pairs))  # type: ignore[no-any-return]


class _Pairs(dict[str, Any]):
    """A dict that msgpack writes with every pair, repeated keys included."""

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        super().__init__(pairs)
        self.pairs = pairs

    def items(self) -> Any:
        return iter(self.pairs)

    def __len__(self) -> int:
        return len(self.pairs)


@pytest.mark.parametrize("fmt", DECODERS)
@pytest.mark.parametrize(
    ("text", "secs", "nanos"),
    [
        ('{"secs":0,"nanos":1000000000}', 1, 0),
        ('{"secs":7,"nanos":4294967295}', 11, 294967295),
        ('{"secs":18446744073709551610,"nanos":999999999}', U64_MAX - 5, 999_999_999),
    ],
)
def test_a_duration_with_a_billion_nanos_or_more_carries_them_into_secs(
    fmt: str, text: str, secs: int, nanos: int
) -> None:
    duration = DECODERS[fmt](_input(fmt, text), w.Duration)
    assert (duration.secs, duration.nanos) == (secs, nanos)
    assert w.encode_json(duration) == f'{{"secs":{secs},"nanos":{nanos}}}'.encode()


@pytest.mark.parametrize("fmt", DECODERS)
def test_a_duration_whose_carry_overflows_secs_is_refused(fmt: str) -> None:
    text = f'{{"max_chunk_size":1,"window_size":1,"ack_timeout":{{"secs":{U64_MAX},'
    text += '"nanos":1000000000},"max_retries":1,"preserve_order":true,'
    text += '"enable_compression":false,"compression_threshold":1}'
    with pytest.raises(w.DecodeError) as info:
        DECODERS[fmt](_input(fmt, text), w.StreamConfig)
    assert "overflow" in info.value.reason
    assert info.value.path == "$.ack_timeout"


def test_a_duration_built_in_python_is_normalised_as_rust_duration_new_does() -> None:
    assert w.Duration(secs=1, nanos=2_500_000_000) == w.Duration(secs=3, nanos=500_000_000)
    with pytest.raises(OverflowError):
        w.Duration(secs=U64_MAX, nanos=1_000_000_000)


@pytest.mark.parametrize("fmt", DECODERS)
@pytest.mark.parametrize(
    ("type_", "text", "path", "reason"),
    [
        (w.Duration, '{"secs":1}', "$", "missing field `nanos`"),
        (w.EncodedMessage, '{"data":[1,2]}', "$", "missing field `format`"),
        (w.ServiceType, '{"Custom":"a","Custom":"b"}', "$", "ServiceType"),
    ],
)
def test_what_rust_requires_or_refuses_is_refused(
    fmt: str, type_: Any, text: str, path: str, reason: str
) -> None:
    with pytest.raises(w.DecodeError) as info:
        DECODERS[fmt](_input(fmt, text), type_)
    assert info.value.path == path
    assert reason in info.value.reason


def test_a_duplicate_custom_key_is_refused_inside_a_message_too() -> None:
    line = '{"op":"discover_service_providers","service_type":{"Custom":"a","Custom":"b"}}'
    with pytest.raises(w.DecodeError) as info:
        w.decode_json(line, w.ModuleToOrchestrator)
    assert info.value.path == "$.service_type"


@pytest.mark.parametrize("fmt", DECODERS)
def test_an_empty_jwt_proxy_config_reads_as_an_empty_map_as_serde_default_does(fmt: str) -> None:
    config = DECODERS[fmt](_input(fmt, "{}"), w.JwtProxyConfig)
    assert config == w.JwtProxyConfig(config={})
    assert w.encode_json(config) == b'{"config":{}}'


ENCODERS: dict[str, Callable[[Any], bytes]] = {
    "json": w.encode_json,
    "msgpack": w.encode_msgpack,
}


@pytest.mark.parametrize("fmt", ENCODERS)
@pytest.mark.parametrize(
    ("value", "field", "bad"),
    [
        (w.PoolConfig(max_connections=-1), "PoolConfig.max_connections", -1),
        (w.PoolConfig(min_connections=2**32), "PoolConfig.min_connections", 2**32),
        (w.PoolConfig(max_connections=True), "PoolConfig.max_connections", True),
        (w.Duration(secs=-1), "Duration.secs", -1),
        (
            w.DatabaseConfig(db_type=w.DatabaseType.SQLITE, database="x", port=70000),
            "DatabaseConfig.port",
            70000,
        ),
        (
            w.IpcPortNegotiation(request_id="r", specific_port=-5),
            "IpcPortNegotiation.specific_port",
            -5,
        ),
    ],
)
def test_an_integer_out_of_its_rust_range_is_refused_on_encode_naming_the_field(
    fmt: str, value: Any, field: str, bad: object
) -> None:
    with pytest.raises(w.IntegerOutOfRange) as info:
        ENCODERS[fmt](value)
    assert isinstance(info.value, w.EncodeError)
    assert info.value.field == field
    assert info.value.value is bad
    assert field in str(info.value)


def test_the_metadata_timestamp_is_checked_in_every_format_bincode_included() -> None:
    message = w.Message(
        id=uuid.UUID(int=1),
        content="x",
        metadata=w.MessageMetadata(timestamp=2**63),
    )
    for encode in (w.encode_json, w.encode_msgpack, w.encode_bincode):
        with pytest.raises(w.IntegerOutOfRange) as info:
            encode(message)
        assert info.value.field == "MessageMetadata.timestamp"


def test_integers_in_range_are_written_unchanged() -> None:
    pool = w.PoolConfig(max_connections=2**32 - 1, min_connections=0)
    assert b'"max_connections":4294967295,"min_connections":0' in w.encode_json(pool)

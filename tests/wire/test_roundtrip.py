"""Property tests: every wire type survives encode → decode in JSON and MessagePack, and
every bincode-capable type in bincode."""

from __future__ import annotations

import enum
import ipaddress
import uuid
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import attrs
import hypothesis.strategies as st
import pytest
from hypothesis import given, settings

from pywatt import wire as w
from pywatt.wire._values import JSON_VALUE_MARKER

from ._vectors import TestData

TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=20)
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | TEXT
)
JSON_VALUES = st.recursive(
    JSON_LEAF,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def _socket() -> st.SearchStrategy[w.SocketAddress]:
    v4 = st.builds(w.SocketAddress, st.ip_addresses(v=4), st.integers(0, 65535), st.just(0))
    v6 = st.builds(
        w.SocketAddress, st.ip_addresses(v=6), st.integers(0, 65535), st.integers(0, 2**32 - 1)
    )
    return v4 | v6


def _unix_path() -> st.SearchStrategy[str]:
    return TEXT.filter(lambda s: w.to_listen_address(s) == s)


def strategy(t: Any) -> st.SearchStrategy[Any]:
    """A hypothesis strategy for any wire type."""
    if t is str:
        return TEXT
    if t is bool:
        return st.booleans()
    if t is bytes:
        return st.binary(max_size=40)
    if t is uuid.UUID:
        return st.uuids()
    if t is w.SocketAddress:
        return _socket()
    if t == w.ListenAddress:
        return _socket() | _unix_path()
    if t is w.Duration:  # as Rust holds one: nanos below a second (a carry could overflow)
        return st.builds(
            w.Duration, secs=st.integers(0, 2**64 - 1), nanos=st.integers(0, 10**9 - 1)
        )
    if t is w.ServiceType:
        return st.sampled_from(
            [w.ServiceType.DATABASE, w.ServiceType.CACHE, w.ServiceType.JWT]
        ) | st.builds(w.ServiceType.custom, TEXT)
    if isinstance(t, type) and issubclass(t, enum.Enum):
        return st.sampled_from(list(t))
    if t in (w.ModuleToOrchestrator, w.OrchestratorToModule):
        return st.one_of([strategy(v) for k, v in t.VARIANTS.items() if k != "identify"])
    origin, args = get_origin(t), get_args(t)
    if origin is Annotated:
        for meta in args[1:]:
            if isinstance(meta, w.IntKind):
                return st.integers(meta.lo, meta.hi)
            if meta is JSON_VALUE_MARKER:
                if get_origin(args[0]) is dict:
                    return st.dictionaries(TEXT, JSON_VALUES, max_size=4)
                return JSON_VALUES
    if origin in (Union, UnionType):
        return st.one_of([strategy(a) for a in args if a is not type(None)]) | (
            st.none() if type(None) in args else st.nothing()
        )
    if origin is list:
        return st.lists(strategy(args[0]), max_size=4)
    if origin is dict:
        return st.dictionaries(strategy(args[0]), strategy(args[1]), max_size=4)
    cls = origin or t
    if attrs.has(cls):
        attrs.resolve_types(cls)
        typevars = dict(zip(getattr(cls, "__parameters__", ()), args, strict=False))
        fields = {}
        for a in attrs.fields(cls):
            ft = typevars.get(a.type, a.type)
            fields[a.name] = strategy(ft)
        return st.builds(cls, **fields)
    raise NotImplementedError(t)


ROUND_TRIP_TYPES: list[Any] = [
    w.InitBlob,
    w.ModuleToOrchestrator,
    w.OrchestratorToModule,
    w.Message[w.ModuleToOrchestrator],
    w.Message[w.OrchestratorToModule],
    w.Message[str],
    w.Message[w.JsonValue],
    w.Message[TestData],
    w.MessageMetadata,
    w.EncodedMessage,
    w.TcpChannelConfig,
    w.IpcChannelConfig,
    w.ServiceProviderInfo,
    w.EndpointAnnounce,
    w.ModuleInfo,
    w.Endpoint,
    w.Capabilities,
    w.RegisteredModule,
    w.RegistrationRequest,
    w.RegistrationResponse,
    w.HeartbeatRequest,
    w.HeartbeatResponse,
    w.CapabilitiesRequest,
    w.CapabilitiesResponse,
    w.UnregistrationRequest,
    w.UnregistrationResponse,
    w.DatabaseConfig,
    w.CacheConfig,
    w.CacheStats,
    w.JwtProxyConfig,
    w.HttpTcpRequest,
    w.HttpTcpResponse,
    w.HttpTcpApiResponse,
    w.HttpIpcApiResponse,
    w.ChannelPreferences,
    w.ChannelCapabilities,
    w.StreamChunk,
    w.StreamMetadata,
    w.StreamAck,
    w.StreamConfig,
    w.PubSubMessage,
    w.ReplyError,
    w.Duration,
]


def _name(t: Any) -> str:
    return str(t).replace("pywatt.wire._", "").replace("typing.", "")


@pytest.mark.parametrize("type_", ROUND_TRIP_TYPES, ids=_name)
@pytest.mark.parametrize("codec", ["json", "msgpack"])
def test_every_type_round_trips(type_: Any, codec: str) -> None:
    enc = {"json": w.encode_json, "msgpack": w.encode_msgpack}[codec]
    dec = {"json": w.decode_json, "msgpack": w.decode_msgpack}[codec]

    @settings(max_examples=40, deadline=None)
    @given(strategy(type_))
    def check(value: Any) -> None:
        assert dec(enc(value), type_) == value

    check()


@pytest.mark.parametrize("codec", ["json", "msgpack"])
@given(value=strategy(w.OrchestratorToModule) | strategy(w.ModuleToOrchestrator))
@settings(max_examples=60, deadline=None)
def test_op_variant_round_trips_as_its_bare_struct(codec: str, value: Any) -> None:
    enc = {"json": w.encode_json, "msgpack": w.encode_msgpack}[codec]
    dec = {"json": w.decode_json, "msgpack": w.decode_msgpack}[codec]
    data = enc(value, type(value))
    assert dec(data, type(value)) == value


BINCODE_TYPES: list[Any] = [
    w.StreamChunk,
    w.StreamMetadata,
    w.StreamPriority,
    w.MessageMetadata,
    TestData,
    str,
    w.UInt32,
    w.Int64,
]


@pytest.mark.parametrize("type_", BINCODE_TYPES, ids=_name)
def test_every_bincode_type_round_trips(type_: Any) -> None:
    @settings(max_examples=60, deadline=None)
    @given(strategy(type_))
    def check(value: Any) -> None:
        assert w.decode_bincode(w.encode_bincode(value, type_), type_) == value

    check()


@pytest.mark.parametrize("content", [str, TestData, w.StreamChunk, w.UInt32], ids=_name)
def test_bincode_message_round_trips_except_its_uuid(content: Any) -> None:
    type_ = w.Message[content]

    @settings(max_examples=40, deadline=None)
    @given(strategy(type_))
    def check(value: Any) -> None:
        back = w.decode_bincode(w.encode_bincode(value, type_), type_)
        assert attrs.evolve(back, id=value.id) == value

    check()


def test_ipv6_scoped_socket_address_is_written_like_rust() -> None:
    addr = w.SocketAddress(ipaddress.IPv6Address("fe80::1"), 9000, 3)
    assert str(addr) == "[fe80::1%3]:9000"
    assert w.SocketAddress.parse(str(addr)) == addr

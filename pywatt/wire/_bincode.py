"""bincode 2 (``config::standard()``) for the types the Rust SDK gives a layout (§5.6).

Little-endian varints (``< 251`` one byte, then ``0xFB``/``0xFC``/``0xFD`` + u16/u32/u64),
zigzag for signed integers, ``u8``/``i8``/``bool`` as one byte, strings and byte strings as
varint length + bytes, ``Option`` as a 0/1 tag, maps as count + pairs, UUIDs as 16 raw
bytes, enums as their variant index. ``Message<T>`` and ``MessageMetadata`` follow the SDK's
hand-written layout: content, four ``Option`` metadata fields, then the properties as a JSON
*string* (empty when None); the message UUID is not written.

Only ``str``, ``bytes``, ``bool``, width-annotated ints and attrs classes that set
``BINCODE_LAYOUT = True`` (``StreamChunk``, ``StreamMetadata``, ``MessageMetadata``,
``Message``, or a user's own payload class) have a layout; anything else raises
``NoBincodeLayout``.
"""

from __future__ import annotations

import enum
import struct
import uuid
from collections.abc import Callable
from types import UnionType
from typing import Annotated, Any, Final, TypeVar, Union, get_args, get_origin, overload

import attrs

from ._errors import DecodeError, IntegerOutOfRange, NoBincodeLayout
from ._types_message import Message, MessageMetadata
from ._values import I64_KIND, JSON_VALUE_MARKER, IntKind, int_like

__all__ = ["decode_bincode", "encode_bincode"]

T = TypeVar("T")

Encoder = Callable[[Any, bytearray], None]
Decoder = Callable[["_Reader"], Any]

_U16: Final = struct.Struct("<H")
_U32: Final = struct.Struct("<I")
_U64: Final = struct.Struct("<Q")


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        end = self.pos + n
        if end > len(self.data):
            raise DecodeError(f"unexpected end of input (needed {end - len(self.data)} more)")
        chunk = self.data[self.pos : end]
        self.pos = end
        return chunk

    def byte(self) -> int:
        if self.pos >= len(self.data):
            raise DecodeError("unexpected end of input")
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self) -> int:
        first = self.byte()
        if first < 251:
            return first
        if first == 251:
            return int(_U16.unpack(self.take(2))[0])
        if first == 252:
            return int(_U32.unpack(self.take(4))[0])
        if first == 253:
            return int(_U64.unpack(self.take(8))[0])
        if first == 254:
            return int.from_bytes(self.take(16), "little")
        raise DecodeError(f"invalid varint marker {first:#x}")


def _write_varint(n: int, out: bytearray) -> None:
    if n < 251:
        out.append(n)
    elif n <= 0xFFFF:
        out.append(251)
        out += _U16.pack(n)
    elif n <= 0xFFFF_FFFF:
        out.append(252)
        out += _U32.pack(n)
    else:
        out.append(253)
        out += _U64.pack(n)


def _enc_str(v: str, out: bytearray) -> None:
    b = v.encode("utf-8")
    _write_varint(len(b), out)
    out += b


def _dec_str(r: _Reader) -> str:
    raw = r.take(r.varint())
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("invalid UTF-8 in string") from None


def _enc_bytes(v: bytes, out: bytearray) -> None:
    _write_varint(len(v), out)
    out += v


def _dec_bytes(r: _Reader) -> bytes:
    return r.take(r.varint())


def _enc_bool(v: bool, out: bytearray) -> None:
    out.append(1 if v else 0)


def _dec_bool(r: _Reader) -> bool:
    b = r.byte()
    if b > 1:
        raise DecodeError(f"invalid bool byte {b}")
    return b == 1


def _int_codec(kind: IntKind) -> tuple[Encoder, Decoder]:
    lo, hi, name = kind.lo, kind.hi, kind.name

    def check(v: int) -> int:
        if (type(v) is not int and not int_like(v)) or not lo <= v <= hi:
            raise IntegerOutOfRange(v, name)
        return v

    if kind.raw_byte:

        def enc_raw(v: int, out: bytearray) -> None:
            out.append(check(v) & 0xFF)

        def dec_raw(r: _Reader) -> int:
            b = r.byte()
            return b - 256 if kind.signed and b > 127 else b

        return enc_raw, dec_raw

    def dec_checked(n: int) -> int:
        if not lo <= n <= hi:
            raise DecodeError(f"integer {n} out of range for {name}")
        return n

    if kind.signed:

        def enc_zz(v: int, out: bytearray) -> None:
            v = check(v)
            _write_varint(v * 2 if v >= 0 else -2 * v - 1, out)

        def dec_zz(r: _Reader) -> int:
            n = r.varint()
            return dec_checked(n >> 1 if n % 2 == 0 else -(n >> 1) - 1)

        return enc_zz, dec_zz

    def enc_u(v: int, out: bytearray) -> None:
        _write_varint(check(v), out)

    def dec_u(r: _Reader) -> int:
        return dec_checked(r.varint())

    return enc_u, dec_u


def _enc_uuid(v: uuid.UUID, out: bytearray) -> None:
    out += v.bytes


def _dec_uuid(r: _Reader) -> uuid.UUID:
    return uuid.UUID(bytes=r.take(16))


def _at(step: str, exc: DecodeError) -> DecodeError:
    return DecodeError(exc.reason, "$" + step + exc.path[1:])


def _properties_codec() -> tuple[Encoder, Decoder]:
    """``MessageMetadata.properties`` travels as the JSON text of the map, or ``""``."""
    from ._json import decode_json_value, encode_json_value

    def enc(v: dict[str, Any] | None, out: bytearray) -> None:
        _enc_str("" if v is None else encode_json_value(v).decode("utf-8"), out)

    def dec(r: _Reader) -> dict[str, Any] | None:
        text = _dec_str(r)
        if not text:
            return None
        value = decode_json_value(text)
        if not isinstance(value, dict):
            raise DecodeError("properties must be a JSON object")
        return value

    return enc, dec


_MISSING: Final = object()


class _Codecs:
    """Builds and caches the encoder/decoder pair of each type."""

    def __init__(self) -> None:
        self._cache: dict[Any, tuple[Encoder, Decoder]] = {}

    def get(self, t: Any) -> tuple[Encoder, Decoder]:
        codec = self._cache.get(t)
        if codec is None:
            codec = self._cache[t] = self._build(t)
        return codec

    def _build(self, t: Any) -> tuple[Encoder, Decoder]:
        if t is str:
            return _enc_str, _dec_str
        if t is bytes:
            return _enc_bytes, _dec_bytes
        if t is bool:
            return _enc_bool, _dec_bool
        if t is uuid.UUID:
            return _enc_uuid, _dec_uuid
        origin = get_origin(t)
        args = get_args(t)
        if origin is Annotated:
            for meta in args[1:]:
                if isinstance(meta, IntKind):
                    return _int_codec(meta)
                if meta is JSON_VALUE_MARKER:
                    break
            raise NoBincodeLayout(f"{t!r} has no bincode layout")
        if origin in (Union, UnionType):
            rest = [a for a in args if a is not type(None)]
            if len(rest) == 1 and len(args) == 2:
                return self._option(rest[0])
        if origin is list:
            return self._list(args[0])
        if origin is dict:
            return self._dict(args[0], args[1])
        if isinstance(t, type) and issubclass(t, enum.Enum):
            return self._enum(t)
        cls = origin or t
        if isinstance(cls, type) and attrs.has(cls) and getattr(cls, "BINCODE_LAYOUT", False):
            if cls is Message:
                return self._message(args[0] if args else _MISSING)
            if cls is MessageMetadata:
                return self._metadata()
            return self._struct(cls)
        if t is int:
            raise NoBincodeLayout(
                "a plain int has no bincode layout: give its width, e.g. as_type=UInt32"
            )
        name = getattr(t, "__name__", repr(t))
        raise NoBincodeLayout(
            f"{name} has no bincode layout (the Rust SDK gives bincode only to String, "
            "integers, StreamChunk, StreamMetadata, StreamPriority, MessageMetadata and "
            "Message<T> of those; a user class opts in with BINCODE_LAYOUT = True)"
        )

    def _option(self, inner: Any) -> tuple[Encoder, Decoder]:
        enc_i, dec_i = self.get(inner)

        def enc(v: Any, out: bytearray) -> None:
            if v is None:
                out.append(0)
            else:
                out.append(1)
                enc_i(v, out)

        def dec(r: _Reader) -> Any:
            tag = r.byte()
            if tag == 0:
                return None
            if tag == 1:
                return dec_i(r)
            raise DecodeError(f"invalid Option tag {tag}")

        return enc, dec

    def _list(self, item: Any) -> tuple[Encoder, Decoder]:
        enc_i, dec_i = self.get(item)

        def enc(v: list[Any], out: bytearray) -> None:
            _write_varint(len(v), out)
            for x in v:
                enc_i(x, out)

        def dec(r: _Reader) -> list[Any]:
            out = []
            for i in range(r.varint()):
                try:
                    out.append(dec_i(r))
                except DecodeError as exc:
                    raise _at(f"[{i}]", exc) from None
            return out

        return enc, dec

    def _dict(self, key: Any, value: Any) -> tuple[Encoder, Decoder]:
        enc_k, dec_k = self.get(key)
        enc_v, dec_v = self.get(value)

        def enc(v: dict[Any, Any], out: bytearray) -> None:
            _write_varint(len(v), out)
            for k, x in v.items():
                enc_k(k, out)
                enc_v(x, out)

        def dec(r: _Reader) -> dict[Any, Any]:
            out = {}
            for _ in range(r.varint()):
                k = dec_k(r)
                try:
                    out[k] = dec_v(r)
                except DecodeError as exc:
                    raise _at(f".{k}", exc) from None
            return out

        return enc, dec

    def _enum(self, cls: type[enum.Enum]) -> tuple[Encoder, Decoder]:
        members = list(cls)
        index = {m: i for i, m in enumerate(members)}

        def enc(v: enum.Enum, out: bytearray) -> None:
            _write_varint(index[v], out)

        def dec(r: _Reader) -> enum.Enum:
            i = r.varint()
            if i >= len(members):
                raise DecodeError(f"unexpected variant index {i} for {cls.__name__}")
            return members[i]

        return enc, dec

    def _struct(self, cls: type[Any]) -> tuple[Encoder, Decoder]:
        attrs.resolve_types(cls)
        fields = [(a.name, *self.get(a.type)) for a in attrs.fields(cls)]

        def enc(v: Any, out: bytearray) -> None:
            for name, enc_f, _ in fields:
                try:
                    enc_f(getattr(v, name), out)
                except IntegerOutOfRange as exc:
                    raise exc.at(f"{cls.__name__}.{name}") from None

        def dec(r: _Reader) -> Any:
            values = {}
            for name, _, dec_f in fields:
                try:
                    values[name] = dec_f(r)
                except DecodeError as exc:
                    raise _at(f".{name}", exc) from None
            return cls(**values)

        return enc, dec

    def _metadata(self) -> tuple[Encoder, Decoder]:
        enc_s, dec_s = self._option(str)
        enc_t, dec_t = self._option(Annotated[int, I64_KIND])
        enc_p, dec_p = _properties_codec()

        def enc(v: MessageMetadata, out: bytearray) -> None:
            enc_s(v.id, out)
            try:
                enc_t(v.timestamp, out)
            except IntegerOutOfRange as exc:
                raise exc.at("MessageMetadata.timestamp") from None
            enc_s(v.source, out)
            enc_s(v.destination, out)
            enc_p(v.properties, out)

        def dec(r: _Reader) -> MessageMetadata:
            step = "id"
            try:
                id_ = dec_s(r)
                step = "timestamp"
                ts = dec_t(r)
                step = "source"
                source = dec_s(r)
                step = "destination"
                dest = dec_s(r)
                step = "properties"
                props = dec_p(r)
            except DecodeError as exc:
                raise _at(f".{step}", exc) from None
            return MessageMetadata(
                id=id_, timestamp=ts, source=source, destination=dest, properties=props
            )

        return enc, dec

    def _message(self, content_type: Any) -> tuple[Encoder, Decoder]:
        enc_m, dec_m = self._metadata()
        if content_type is _MISSING:

            def enc_dynamic(v: Message[Any], out: bytearray) -> None:
                enc_c, _ = self.get(type(v.content))
                enc_c(v.content, out)
                enc_m(v.metadata, out)

            def dec_unknown(r: _Reader) -> Any:
                raise NoBincodeLayout("decode a Message with its content type: Message[T]")

            return enc_dynamic, dec_unknown
        enc_c, dec_c = self.get(content_type)

        def enc(v: Message[Any], out: bytearray) -> None:
            enc_c(v.content, out)
            enc_m(v.metadata, out)

        def dec(r: _Reader) -> Message[Any]:
            try:
                content = dec_c(r)
            except DecodeError as exc:
                raise _at(".content", exc) from None
            try:
                metadata = dec_m(r)
            except DecodeError as exc:
                raise _at(".metadata", exc) from None
            # The UUID is not on the wire; like the Rust decoder, make a fresh one.
            return Message(id=uuid.uuid4(), content=content, metadata=metadata)

        return enc, dec


_CODECS: Final = _Codecs()


def encode_bincode(value: Any, as_type: Any = None) -> bytes:
    """Encode ``value`` as bincode 2 (standard config). Does not block.

    ``as_type`` gives the Rust type where the Python value cannot (``UInt32`` for an int,
    ``Message[UInt32]``). Raises ``NoBincodeLayout`` (a ``LocalProtocolError``) for a type
    the Rust SDK gives no bincode layout, ``EncodeError`` for an out-of-range value.
    """
    t = type(value) if as_type is None else as_type
    enc, _ = _CODECS.get(t)
    out = bytearray()
    enc(value, out)
    return bytes(out)


@overload
def decode_bincode(data: bytes | bytearray | memoryview, type_: type[T]) -> T: ...
@overload
def decode_bincode(data: bytes | bytearray | memoryview, type_: Any) -> Any: ...
def decode_bincode(data: bytes | bytearray | memoryview, type_: Any) -> Any:
    """Decode bincode 2 bytes as ``type_``; trailing bytes are ignored, as bincode does.

    A decoded ``Message`` gets a fresh UUID (bincode does not carry it). Does not block.
    Raises ``NoBincodeLayout`` for a type without a layout and ``DecodeError`` (with the
    failing field's path) for bytes that do not decode.
    """
    _, dec = _CODECS.get(type_)
    return dec(_Reader(bytes(data)))

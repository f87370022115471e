"""Leaf hooks of the converters: strict scalar rules as serde applies them.

Each ``_s_*`` function structures one decoded builtin (raising ``WireValueError`` with a
serde-style message); ``_u_value`` prepares a ``serde_json::Value`` for writing.
"""

from __future__ import annotations

import enum
import ipaddress
import uuid
from collections.abc import Callable
from typing import Annotated, Any, Final, NoReturn, get_args, get_origin

from ._errors import EncodeError
from ._types_common import ServiceType, to_listen_address
from ._values import JSON_VALUE_MARKER, IntKind, SocketAddress, parse_uuid

_I64_MIN: Final = -(2**63)
_U64_MAX: Final = 2**64 - 1


class Flavor(enum.Enum):
    """Which wire format a converter shapes values for."""

    JSON = "json"
    MSGPACK = "msgpack"


class RyuFloat:
    """A float inside a JSON value, to be printed ryu-style by the JSON writer."""

    __slots__ = ("value",)

    def __init__(self, value: float) -> None:
        self.value = value


class DupKeyDict(dict[str, Any]):
    """A decoded JSON/msgpack object that had repeated keys (the last value wins).

    serde rejects a repeated *struct field*, but lets a map or ``Value`` keep the last
    value; the struct hooks below check ``dups`` against their own field names.
    """

    __slots__ = ("dups",)
    dups: frozenset[str]


def object_pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """``object_pairs_hook`` for json/msgpack that remembers duplicate keys."""
    d = dict(pairs)
    if len(d) == len(pairs):
        return d
    seen: set[str] = set()
    dups = {k for k, _ in pairs if k in seen or seen.add(k)}  # type: ignore[func-returns-value]
    out = DupKeyDict(d)
    out.dups = frozenset(dups)
    return out


class WireValueError(ValueError):
    """A leaf decode failure; the converter adds the path."""


def _describe(value: object) -> str:
    if value is None:
        return "null"
    if value is True or value is False:
        return f"boolean `{str(value).lower()}`"
    if isinstance(value, int):
        return f"integer `{value}`"
    if isinstance(value, float):
        return f"floating point `{value}`"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, list):
        return "a sequence"
    if isinstance(value, dict):
        return "a map"
    if isinstance(value, bytes | bytearray):
        return "a byte string"
    return type(value).__name__


def _invalid_type(value: object, expected: str) -> NoReturn:
    raise WireValueError(f"invalid type: {_describe(value)}, expected {expected}")


# --- leaf hooks shared by both flavors -----------------------------------------------------


def _s_str(value: Any, _: Any) -> str:
    if type(value) is str:
        return value
    _invalid_type(value, "a string")


def _s_bool(value: Any, _: Any) -> bool:
    if value is True or value is False:
        return value
    _invalid_type(value, "a boolean")


def _int_hook(kind: IntKind) -> Callable[[Any, Any], int]:
    lo, hi, name = kind.lo, kind.hi, kind.name

    def hook(value: Any, _: Any) -> int:
        if type(value) is int:
            if lo <= value <= hi:
                return value
            raise WireValueError(f"invalid value: integer `{value}`, expected {name}")
        _invalid_type(value, name)

    return hook


_s_plain_int = _int_hook(IntKind("i64 or u64", _I64_MIN, _U64_MAX))


def _int_kind(t: Any) -> IntKind | None:
    if get_origin(t) is Annotated:
        args = get_args(t)
        if args[0] is int:
            for meta in args[1:]:
                if isinstance(meta, IntKind):
                    return meta
    return None


def _is_json_value(t: Any) -> bool:
    return get_origin(t) is Annotated and any(m is JSON_VALUE_MARKER for m in get_args(t)[1:])


def _s_bytes_list(value: list[Any]) -> bytes:
    try:
        data = bytes(value)
    except (TypeError, ValueError):
        for i, item in enumerate(value):
            if type(item) is not int:
                raise WireValueError(
                    f"invalid type: {_describe(item)}, expected u8 at index {i}"
                ) from None
            if not 0 <= item <= 255:
                raise WireValueError(
                    f"invalid value: integer `{item}`, expected u8 at index {i}"
                ) from None
        raise
    if value and frozenset(map(type, value)) != {int}:
        i = next(i for i, item in enumerate(value) if type(item) is not int)
        raise WireValueError(f"invalid type: {_describe(value[i])}, expected u8 at index {i}")
    return data


def _s_bytes_json(value: Any, _: Any) -> bytes:
    if type(value) is list:
        return _s_bytes_list(value)
    _invalid_type(value, "a sequence")


def _s_bytes_msgpack(value: Any, _: Any) -> bytes:
    if type(value) is list:
        return _s_bytes_list(value)
    if type(value) is bytes:
        return value
    _invalid_type(value, "a sequence")


def _s_uuid_json(value: Any, _: Any) -> uuid.UUID:
    if type(value) is str:
        try:
            return parse_uuid(value)
        except ValueError:
            raise WireValueError(f"UUID parsing failed: {value!r}") from None
    _invalid_type(value, "a UUID string")


def _s_uuid_msgpack(value: Any, _: Any) -> uuid.UUID:
    if type(value) is bytes:
        if len(value) == 16:
            return uuid.UUID(bytes=value)
        raise WireValueError(f"invalid length {len(value)}, expected 16 bytes")
    return _s_uuid_json(value, _)


def _socket_from_rmp(value: dict[str, Any]) -> SocketAddress:
    """rmp-serde's non-human-readable ``SocketAddr``: ``{"V4":[[a,b,c,d],port]}``."""
    if len(value) == 1:
        ((tag, body),) = value.items()
        width = {"V4": 4, "V6": 16}.get(tag)
        if width and type(body) is list and len(body) == 2 and type(body[0]) is list:
            octets, port = body
            if len(octets) == width and type(port) is int and 0 <= port <= 0xFFFF:
                ip = ipaddress.ip_address(_s_bytes_list(octets))
                return SocketAddress(ip, port)
    raise WireValueError("invalid socket address map")


def _s_socket(flavor: Flavor) -> Callable[[Any, Any], SocketAddress]:
    def hook(value: Any, _: Any) -> SocketAddress:
        if type(value) is str:
            try:
                return SocketAddress.parse(value)
            except ValueError:
                raise WireValueError("invalid socket address syntax") from None
        if flavor is Flavor.MSGPACK and isinstance(value, dict):
            return _socket_from_rmp(value)
        _invalid_type(value, "socket address")

    return hook


def _s_listen(flavor: Flavor) -> Callable[[Any, Any], SocketAddress | str]:
    def hook(value: Any, _: Any) -> SocketAddress | str:
        if type(value) is str:
            return to_listen_address(value)
        if flavor is Flavor.MSGPACK and isinstance(value, dict):
            return _socket_from_rmp(value)
        raise WireValueError("data did not match any variant of untagged enum ListenAddress")

    return hook


def _s_service_type(value: Any, _: Any) -> ServiceType:
    if type(value) is str:
        if value in ("Database", "Cache", "Jwt"):
            return ServiceType(value)
        raise WireValueError(
            f"unknown variant `{value}`, expected one of `Database`, `Cache`, `Jwt`, `Custom`"
        )
    if type(value) is DupKeyDict:
        # serde_json reads an enum map's one key, then wants the map to end.
        key = sorted(value.dups)[0]
        raise WireValueError(f"duplicate key `{key}`: enum ServiceType is a map of one key")
    if isinstance(value, dict) and len(value) == 1 and "Custom" in value:
        return ServiceType.custom(_s_str(value["Custom"], str))
    _invalid_type(value, "enum ServiceType")


def _u_service_type(value: ServiceType) -> Any:
    return {"Custom": value.name} if value.variant == "Custom" else value.variant


def _enum_structure(cls: type[enum.Enum]) -> Callable[[Any, Any], enum.Enum]:
    table = {m.value: m for m in cls}
    expected = ", ".join(f"`{v}`" for v in table)

    def hook(value: Any, _: Any) -> enum.Enum:
        if type(value) is str:
            member = table.get(value)
            if member is not None:
                return member
            raise WireValueError(f"unknown variant `{value}`, expected one of {expected}")
        _invalid_type(value, f"enum {cls.__name__}")

    return hook


# --- JSON values (serde_json::Value) -------------------------------------------------------


def _s_value(value: Any) -> Any:
    t = type(value)
    if t is str or t is bool or t is float or value is None:
        return value
    if t is int:
        # serde_json keeps integers as i64/u64; anything wider becomes an f64.
        return value if _I64_MIN <= value <= _U64_MAX else float(value)
    if t is list:
        return [_s_value(x) for x in value]
    if t is dict or t is DupKeyDict:
        out = {}
        for k, x in value.items():
            if type(k) is not str:
                _invalid_type(k, "a string key")
            out[k] = _s_value(x)
        return out
    if t is bytes:  # msgpack bin: serde_json::Value has no bytes; it reads them as a sequence
        return list(value)
    _invalid_type(value, "any valid JSON value")


def _u_value(value: Any, marker: bool) -> Any:
    t = type(value)
    if t is str or t is bool or value is None:
        return value
    if t is int:
        if _I64_MIN <= value <= _U64_MAX:
            return value
        raise EncodeError(f"integer {value} does not fit a JSON value (i64/u64)")
    if t is float:
        return RyuFloat(value) if marker else value
    if t is list or t is tuple:
        return [_u_value(x, marker) for x in value]
    if isinstance(value, dict):
        for k in value:
            if type(k) is not str:
                raise EncodeError(f"JSON object keys must be strings, got {k!r}")
        return {k: _u_value(value[k], marker) for k in sorted(value)}
    raise EncodeError(f"{type(value).__name__} is not a JSON value")

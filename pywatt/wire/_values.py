"""Scalar wire values: integer widths, UUIDs, socket addresses, JSON values and floats.

These are the leaf rules every codec shares: what Rust's ``u16`` accepts, how ``uuid``
parses, how ``SocketAddr`` is written, and how serde_json (through ryu) prints an ``f64``.
"""

from __future__ import annotations

import ipaddress
import math
import re
import uuid
from typing import Annotated, Any, Final, TypeAlias

import attrs

__all__ = [
    "Int8",
    "Int16",
    "Int32",
    "Int64",
    "IntKind",
    "JsonObject",
    "JsonValue",
    "SocketAddress",
    "UInt8",
    "UInt16",
    "UInt32",
    "UInt64",
    "format_f64",
    "int_like",
    "parse_uuid",
]


@attrs.frozen
class IntKind:
    """The Rust integer type behind a Python ``int`` field (range and bincode layout)."""

    name: str
    lo: int
    hi: int
    #: bincode writes u8/i8 as one raw byte; wider integers as varints.
    raw_byte: bool = False

    @property
    def signed(self) -> bool:
        return self.lo < 0


U8_KIND: Final = IntKind("u8", 0, 0xFF, raw_byte=True)
U16_KIND: Final = IntKind("u16", 0, 0xFFFF)
U32_KIND: Final = IntKind("u32", 0, 0xFFFF_FFFF)
U64_KIND: Final = IntKind("u64", 0, 0xFFFF_FFFF_FFFF_FFFF)
I8_KIND: Final = IntKind("i8", -0x80, 0x7F, raw_byte=True)
I16_KIND: Final = IntKind("i16", -0x8000, 0x7FFF)
I32_KIND: Final = IntKind("i32", -0x8000_0000, 0x7FFF_FFFF)
I64_KIND: Final = IntKind("i64", -0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_FFFF)

UInt8: TypeAlias = Annotated[int, U8_KIND]
UInt16: TypeAlias = Annotated[int, U16_KIND]
UInt32: TypeAlias = Annotated[int, U32_KIND]
UInt64: TypeAlias = Annotated[int, U64_KIND]
Int8: TypeAlias = Annotated[int, I8_KIND]
Int16: TypeAlias = Annotated[int, I16_KIND]
Int32: TypeAlias = Annotated[int, I32_KIND]
Int64: TypeAlias = Annotated[int, I64_KIND]


class _JsonValueMarker:
    """Marks a field as ``serde_json::Value``: any JSON, objects written with sorted keys."""

    def __repr__(self) -> str:
        return "JsonValue"


JSON_VALUE_MARKER: Final = _JsonValueMarker()

#: Any JSON value (``serde_json::Value``): None, bool, int, float, str, list, dict[str, ...].
#: On the wire its objects are written with keys sorted by byte value (serde_json's BTreeMap).
JsonValue: TypeAlias = Annotated[Any, JSON_VALUE_MARKER]


def int_like(value: object) -> bool:
    """Whether ``value`` is written as an integer: an ``int`` or a subclass (``IntEnum``), never
    a ``bool`` (which is written ``true``/``false``, and which serde refuses for an integer)."""
    return isinstance(value, int) and not isinstance(value, bool)


# --- UUID ---------------------------------------------------------------------------------

_HYPHENATED = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_UUID_RE: Final = re.compile(
    rf"(?:{_HYPHENATED}|[0-9a-fA-F]{{32}}|\{{{_HYPHENATED}\}}|urn:uuid:{_HYPHENATED})"
)


def parse_uuid(text: str) -> uuid.UUID:
    """Parse a UUID the way the Rust ``uuid`` crate does.

    Accepts hyphenated (any case), 32-digit simple, braced and ``urn:uuid:`` forms; raises
    ``ValueError`` for anything else (Python's own parser is laxer about hyphens).
    """
    if _UUID_RE.fullmatch(text) is None:
        raise ValueError(f"invalid UUID {text!r}")
    return uuid.UUID(text)


# --- SocketAddr ---------------------------------------------------------------------------

_V4_RE: Final = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3}):(\d{1,5})")
_V6_RE: Final = re.compile(r"\[([0-9a-fA-F:.]+)(?:%(\d{1,10}))?\]:(\d{1,5})")


def _octet(text: str) -> int:
    # Rust refuses octal-looking octets ("01"), unlike some C parsers.
    if len(text) > 1 and text[0] == "0":
        raise ValueError("leading zero in IPv4 octet")
    value = int(text)
    if value > 255:
        raise ValueError("IPv4 octet out of range")
    return value


def _port(text: str) -> int:
    value = int(text)
    if value > 0xFFFF:
        raise ValueError("port out of range")
    return value


@attrs.frozen
class SocketAddress:
    """A Rust ``SocketAddr``: an IP literal and a port (IPv6 with an optional scope id).

    Written as ``ip:port`` or ``[ip]:port`` / ``[ip%scope]:port``. Host names are not socket
    addresses (``localhost:80`` does not parse), exactly as in Rust.
    """

    ip: ipaddress.IPv4Address | ipaddress.IPv6Address
    port: int
    scope_id: int = 0

    @classmethod
    def parse(cls, text: str) -> SocketAddress:
        """Parse Rust's textual socket address form; raises ``ValueError`` if it is not one."""
        m = _V4_RE.fullmatch(text)
        if m is not None:
            octets = [_octet(m.group(i)) for i in range(1, 5)]
            ip4 = ipaddress.IPv4Address(bytes(octets))
            return cls(ip4, _port(m.group(5)))
        m = _V6_RE.fullmatch(text)
        if m is not None:
            try:
                ip6 = ipaddress.IPv6Address(m.group(1))
            except ipaddress.AddressValueError as exc:
                raise ValueError(f"invalid socket address syntax {text!r}") from exc
            scope = int(m.group(2)) if m.group(2) is not None else 0
            if scope > 0xFFFF_FFFF:
                raise ValueError("scope id out of range")
            return cls(ip6, _port(m.group(3)), scope)
        raise ValueError(f"invalid socket address syntax {text!r}")

    def __str__(self) -> str:
        if isinstance(self.ip, ipaddress.IPv4Address):
            return f"{self.ip}:{self.port}"
        mapped = self.ip.ipv4_mapped
        host = f"::ffff:{mapped}" if mapped is not None else self.ip.compressed
        if self.scope_id:
            return f"[{host}%{self.scope_id}]:{self.port}"
        return f"[{host}]:{self.port}"


# --- f64 as serde_json (ryu) prints it ----------------------------------------------------


def format_f64(value: float) -> str:
    """Format a float exactly as serde_json does (ryu's shortest digits, ryu's layout).

    NaN and the infinities become ``null``, as serde_json writes them.
    """
    if not math.isfinite(value):
        return "null"
    if value == 0.0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    text = repr(value)
    sign = ""
    if text[0] == "-":
        sign, text = "-", text[1:]
    mantissa, _, exp_text = text.partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    exponent = (int(exp_text) if exp_text else 0) - len(frac)
    stripped = digits.rstrip("0")
    exponent += len(digits) - len(stripped)
    digits = stripped
    length = len(digits)
    kk = length + exponent  # the value is 0.<digits> * 10**kk
    if exponent >= 0 and kk <= 16:
        out = digits + "0" * exponent + ".0"
    elif 0 < kk <= 16:
        out = digits[:kk] + "." + digits[kk:]
    elif -5 < kk <= 0:
        out = "0." + "0" * -kk + digits
    elif length == 1:
        out = f"{digits}e{kk - 1}"
    else:
        out = f"{digits[0]}.{digits[1:]}e{kk - 1}"
    return sign + out


#: A JSON object (``serde_json::Map``), written with sorted keys.
JsonObject: TypeAlias = Annotated[dict[str, Any], JSON_VALUE_MARKER]

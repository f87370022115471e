"""MessagePack codec (frame code 4), shaped like rmp-serde's named-struct mode.

Only used toward a peer that declared it (docs/architecture.md, decision 5); the Rust SDK never
speaks MessagePack. Where our form differs from rmp-serde's (socket addresses) it is listed
in docs/protocol-extensions.md.
"""

from __future__ import annotations

from typing import Any, TypeVar, overload

import msgpack  # type: ignore[import-untyped]

from ._converters import MSGPACK, object_pairs_hook
from ._errors import DecodeError, EncodeError

__all__ = ["decode_msgpack", "encode_msgpack"]

T = TypeVar("T")


def encode_msgpack(value: Any, as_type: Any = None) -> bytes:
    """Encode a wire value as MessagePack. Does not block.

    Structs are maps with field names in declaration order, UUIDs are 16-byte ``bin``,
    byte strings are integer arrays (as rmp-serde writes ``Vec<u8>``), socket addresses
    are strings. ``as_type`` works as in ``encode_json``. Raises ``EncodeError``.
    """
    tree = MSGPACK.unstructure(value, as_type)
    try:
        return msgpack.packb(tree, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"cannot encode as MessagePack: {exc}") from exc


def parse_msgpack(data: bytes | bytearray | memoryview) -> Any:
    """Unpack one MessagePack value into builtins; raises ``DecodeError``."""
    try:
        return msgpack.unpackb(
            data, raw=False, object_pairs_hook=object_pairs_hook, strict_map_key=True
        )
    except msgpack.ExtraData:
        raise DecodeError("trailing bytes after the MessagePack value") from None
    except (ValueError, TypeError, msgpack.UnpackException) as exc:
        raise DecodeError(f"invalid MessagePack: {exc}") from None


@overload
def decode_msgpack(data: bytes | bytearray | memoryview, type_: type[T]) -> T: ...
@overload
def decode_msgpack(data: bytes | bytearray | memoryview, type_: Any) -> Any: ...
def decode_msgpack(data: bytes | bytearray | memoryview, type_: Any) -> Any:
    """Decode MessagePack as ``type_`` with the same strict rules as JSON. Does not block.

    Also accepts rmp-serde's map form of socket addresses and ``bin`` for byte strings.
    Raises ``DecodeError`` naming the failing field.
    """
    return MSGPACK.structure(parse_msgpack(data), type_)

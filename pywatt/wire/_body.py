"""The body of a value sent in a stream: MessagePack whose byte strings are ``bin``.

A request or reply too big for one frame goes between pywatt modules as a stream whose body is
this encoding of the value (docs/protocol-extensions.md §9.4). It is the MessagePack form of
``encode_msgpack`` except that ``bytes`` are ``bin`` instead of integer arrays: a 16 MiB
payload of bytes is 16 MiB on the wire, not a JSON or MessagePack array four times its size.
Decoding is ``decode_msgpack``'s, which takes ``bin`` for ``bytes``.
"""

from __future__ import annotations

from typing import Any, Final

import msgpack  # type: ignore[import-untyped]

from ._converters import Flavor, WireConverter
from ._errors import EncodeError
from ._msgpack import decode_msgpack

__all__ = ["decode_body", "encode_body", "encode_body_parts"]

_BODY: Final = WireConverter(Flavor.MSGPACK)
_BODY.cattrs.register_unstructure_hook(bytes, lambda b: b)
_BODY.cattrs.register_unstructure_hook(bytearray, bytes)
_BODY.cattrs.register_unstructure_hook(memoryview, bytes)


def encode_body(value: Any, as_type: Any = None) -> bytes:
    """The MessagePack body of ``value`` (bytes as ``bin``). Raises ``EncodeError``."""
    tree = _BODY.unstructure(value, as_type)
    try:
        return msgpack.packb(tree, use_bin_type=True)  # type: ignore[no-any-return]
    except (TypeError, ValueError, OverflowError) as exc:
        raise EncodeError(f"cannot encode as MessagePack: {exc}") from exc


def encode_body_parts(value: Any) -> tuple[bytes, memoryview]:
    """The body of ``value`` as a head and a rest whose concatenation is
    :func:`encode_body`'s: for a bytes-like value, the MessagePack ``bin`` header and a view of
    the value itself, so a big value is sent without being copied whole first; for any other
    value, ``encode_body(value)`` and an empty view. Raises ``EncodeError``."""
    if isinstance(value, bytes | bytearray | memoryview):
        view = memoryview(value).cast("B")
        size = len(view)
        if size < 1 << 8:
            head = b"\xc4" + size.to_bytes(1, "big")
        elif size < 1 << 16:
            head = b"\xc5" + size.to_bytes(2, "big")
        elif size < 1 << 32:
            head = b"\xc6" + size.to_bytes(4, "big")
        else:
            raise EncodeError(f"cannot encode as MessagePack: {size} bytes is over the bin limit")
        return head, view
    return encode_body(value), memoryview(b"")


def decode_body(data: bytes | bytearray | memoryview, type_: Any) -> Any:
    """Decode a body as ``type_`` (``bin`` is ``bytes``). Raises ``DecodeError``."""
    return decode_msgpack(data, type_)

"""How the cache facade turns values into the bytes backends store: JSON by default,
MessagePack on request, or raw bytes. Never pickle: whoever can write to a shared cache
could otherwise run code in every module that reads it (docs/architecture.md, decision 21)."""

from __future__ import annotations

import enum
import json
from typing import Any

import msgpack  # type: ignore[import-untyped]

from ._errors import CodecError


class Codec(enum.Enum):
    """The encoding of cache values."""

    JSON = "json"
    """UTF-8 JSON (compact). Counters written by ``increment`` read back as ints."""
    MSGPACK = "msgpack"
    """MessagePack: bytes values allowed, smaller and faster for large structures."""
    RAW = "raw"
    """No encoding: values must be bytes and come back as bytes."""

    @classmethod
    def parse(cls, value: Codec | str) -> Codec:
        """From the enum or its name (``"json"``, ``"msgpack"``, ``"raw"``); ValueError else."""
        if isinstance(value, Codec):
            return value
        try:
            return cls(str(value).lower())
        except ValueError:
            names = ", ".join(c.value for c in cls)
            raise ValueError(f"unknown cache codec {value!r}: use one of {names}") from None

    def encode(self, key: str, value: Any) -> bytes:
        """The bytes to store for ``value``. Raises :class:`CodecError` naming the key."""
        try:
            match self:
                case Codec.JSON:
                    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
                    return text.encode("utf-8")
                case Codec.MSGPACK:
                    packed: bytes = msgpack.packb(value, use_bin_type=True)
                    return packed
                case Codec.RAW:
                    if not isinstance(value, bytes | bytearray | memoryview):
                        raise TypeError(f"the raw codec stores bytes, not {type(value).__name__}")
                    return bytes(value)
        except (TypeError, ValueError, OverflowError) as exc:
            raise CodecError(f"cannot encode the value for {key!r} as {self.value}: {exc}") from exc
        raise AssertionError(self)

    def decode(self, key: str, data: bytes) -> Any:
        """The value stored as ``data``. Raises :class:`CodecError` naming the key."""
        try:
            match self:
                case Codec.JSON:
                    return json.loads(data)
                case Codec.MSGPACK:
                    return msgpack.unpackb(data, raw=False, strict_map_key=False)
                case Codec.RAW:
                    return data
        except (ValueError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as exc:
            raise CodecError(
                f"the value stored under {key!r} is not valid {self.value} ({len(data)} bytes)"
            ) from exc
        raise AssertionError(self)

"""Typed payload helpers: a user's attrs message ⇄ ``Message[T]`` / ``EncodedMessage``.

These follow the Rust SDK's ``EncodedMessage`` rules (docs/protocol.md §5.5): a JSON payload is
the JSON of ``Message<T>``; ``Binary`` is its bincode; ``Base64`` is the base64 of that
bincode. Decoding is as lenient as Rust's generic decoder: a JSON payload may hold a
``Message<T>`` or a bare ``T``, a Binary payload may hold bincode or (relabelled) JSON text.
The pywatt reply envelope (``{"Ok":...}`` / ``{"Err":{...}}``) lives here too.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any, TypeVar

from ._bincode import decode_bincode, encode_bincode
from ._converters import JSON
from ._errors import DecodeError, EncodeError, NoBincodeLayout
from ._json import decode_json, parse_json, unstructure_any, write_json
from ._types_ext import ReplyError
from ._types_message import EncodedMessage, EncodingFormat, Message, MessageMetadata
from ._unions import OrchestratorToModule

__all__ = [
    "decode_orchestrator_frame",
    "decode_payload",
    "decode_payload_message",
    "decode_reply",
    "encode_payload",
    "encode_reply_error",
    "encode_reply_ok",
    "to_message",
]

T = TypeVar("T")


def to_message(
    content: T, *, metadata: MessageMetadata | None = None, id: uuid.UUID | None = None
) -> Message[T]:
    """Wrap ``content`` in a ``Message`` (a fresh UUID v4 unless ``id`` is given)."""
    return Message(
        id=uuid.uuid4() if id is None else id,
        content=content,
        metadata=MessageMetadata() if metadata is None else metadata,
    )


def encode_payload(
    value: Any,
    format: EncodingFormat = EncodingFormat.JSON,
    *,
    metadata: MessageMetadata | None = None,
    id: uuid.UUID | None = None,
    as_type: Any = None,
) -> EncodedMessage:
    """Encode ``value`` as the ``EncodedMessage`` of a ``Message`` holding it. Does not block.

    ``value`` may already be a ``Message`` (then ``metadata``/``id`` must be None).
    ``as_type`` names the Message type where bincode needs it (``Message[UInt32]``).
    Raises ``EncodeError`` for ``AUTO`` (not a concrete format) and ``NoBincodeLayout`` when
    ``BINARY``/``BASE64`` is asked for a type without a bincode layout.
    """
    if isinstance(value, Message):
        if metadata is not None or id is not None:
            raise EncodeError("value is already a Message; do not pass metadata or id")
        message: Message[Any] = value
    else:
        message = to_message(value, metadata=metadata, id=id)
    if format is EncodingFormat.JSON:
        return EncodedMessage(data=write_json(JSON.unstructure(message, as_type)), format=format)
    if format is EncodingFormat.BINARY:
        return EncodedMessage(data=encode_bincode(message, as_type), format=format)
    if format is EncodingFormat.BASE64:
        data = base64.b64encode(encode_bincode(message, as_type))
        return EncodedMessage(data=data, format=format)
    raise EncodeError(f"cannot encode a payload as {format}: choose JSON, BINARY or BASE64")


def _binary_bytes(encoded: EncodedMessage) -> bytes:
    if encoded.format is EncodingFormat.BASE64:
        try:
            return base64.b64decode(encoded.data, validate=True)
        except binascii.Error as exc:
            raise DecodeError(f"invalid base64 payload: {exc}", "$.data") from None
    return encoded.data


def decode_payload_message(encoded: EncodedMessage, type_: type[T]) -> Message[T]:
    """Decode a payload that holds a ``Message[type_]``, keeping its id and metadata.

    A bincode payload carries no UUID, so its Message gets a fresh one. Raises
    ``DecodeError``.
    """
    if encoded.format in (EncodingFormat.JSON, EncodingFormat.AUTO):
        return decode_json(encoded.data, Message[type_])  # type: ignore[valid-type]
    data = _binary_bytes(encoded)
    try:
        return decode_bincode(data, Message[type_])  # type: ignore[valid-type]
    except NoBincodeLayout:
        # Rust "converts to Binary" by relabelling JSON text (§5.5).
        return decode_json(data, Message[type_])  # type: ignore[valid-type]


def decode_payload(encoded: EncodedMessage, type_: type[T]) -> T:
    """Decode the ``type_`` value a payload carries, as Rust's generic decoder does.

    JSON: a ``Message[type_]`` (its content is returned) or a bare ``type_``. Binary and
    Base64: bincode ``Message[type_]``, else bincode ``type_``; for a type without a bincode
    layout, the payload is read as JSON text. Auto: JSON ``type_``. Raises ``DecodeError``.
    """
    if encoded.format is EncodingFormat.AUTO:
        return decode_json(encoded.data, type_)
    if encoded.format is EncodingFormat.JSON:
        tree = parse_json(encoded.data)
        try:
            message: Message[T] = JSON.structure(tree, Message[type_])  # type: ignore[valid-type]
        except DecodeError:
            return JSON.structure(tree, type_)  # type: ignore[no-any-return]
        return message.content
    data = _binary_bytes(encoded)
    try:
        try:
            return decode_bincode(data, Message[type_]).content  # type: ignore[valid-type]
        except DecodeError:
            return decode_bincode(data, type_)
    except NoBincodeLayout:
        return decode_payload(EncodedMessage(data=data, format=EncodingFormat.JSON), type_)


def encode_reply_ok(value: Any) -> bytes:
    """The JSON of a successful pywatt reply: ``{"Ok":<value>}``. Raises ``EncodeError``."""
    return write_json({"Ok": unstructure_any(value)})


def encode_reply_error(error: ReplyError) -> bytes:
    """The JSON of a failed pywatt reply: ``{"Err":{"type","message","module","request_id"}}``."""
    return write_json({"Err": JSON.unstructure(error)})


def decode_reply(data: bytes | str, type_: type[T]) -> T | ReplyError:
    """Decode a pywatt reply payload: the ``Ok`` value as ``type_``, or the ``ReplyError``.

    Raises ``DecodeError`` when the payload is neither ``{"Ok":...}`` nor ``{"Err":{...}}``.
    """
    tree = parse_json(data)
    if not isinstance(tree, dict) or len(tree) != 1:
        raise DecodeError('a reply must be {"Ok": value} or {"Err": {...}}')
    if "Ok" in tree:
        return JSON.structure(tree["Ok"], type_)  # type: ignore[no-any-return]
    if "Err" in tree:
        try:
            return JSON.structure(tree["Err"], ReplyError)  # type: ignore[no-any-return]
        except DecodeError as exc:
            raise DecodeError(exc.reason, "$.Err" + exc.path[1:]) from None
    raise DecodeError(f"unknown reply variant `{next(iter(tree))}`, expected `Ok` or `Err`")


def decode_orchestrator_frame(data: bytes | str) -> OrchestratorToModule:
    """Decode an orchestrator→module frame payload, bare or ``Message``-wrapped.

    Rust modules accept only the bare op (a wrapped one fails with "missing field `op`");
    a pywatt module also accepts ``{"id":...,"content":{"op":...},"metadata":{...}}``
    (docs/protocol-extensions.md). Raises ``DecodeError`` for the bare form's error when
    neither form decodes.
    """
    tree = parse_json(data)
    try:
        return JSON.structure(tree, OrchestratorToModule)  # type: ignore[no-any-return]
    except DecodeError:
        if isinstance(tree, dict) and "op" not in tree and "content" in tree:
            message = JSON.structure(tree, Message[OrchestratorToModule])
            return message.content  # type: ignore[no-any-return]
        raise

"""The channel envelope: ``Message<T>``, ``MessageMetadata``, ``EncodedMessage`` (§5.4)."""

from __future__ import annotations

import enum
import uuid
from typing import ClassVar, Generic, TypeVar

import attrs

from ._model import REQUIRED, SKIP
from ._values import Int64, JsonObject

__all__ = ["EncodedMessage", "EncodingFormat", "Message", "MessageMetadata"]

T = TypeVar("T")


class EncodingFormat(enum.Enum):
    """``EncodedMessage.format``: ``"Json"``, ``"Binary"`` (bincode), ``"Base64"``, ``"Auto"``."""

    JSON = "Json"
    BINARY = "Binary"
    BASE64 = "Base64"
    AUTO = "Auto"


@attrs.frozen(kw_only=True)
class MessageMetadata:
    """Envelope metadata; every field is left out when None.

    ``properties`` is a JSON object written with sorted keys. A pywatt module puts its
    extension declaration here in its first frame (docs/protocol-extensions.md).
    """

    BINCODE_LAYOUT: ClassVar[bool] = True

    id: str | None = attrs.field(default=None, metadata=SKIP)
    timestamp: Int64 | None = attrs.field(default=None, metadata=SKIP)
    source: str | None = attrs.field(default=None, metadata=SKIP)
    destination: str | None = attrs.field(default=None, metadata=SKIP)
    properties: JsonObject | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class Message(Generic[T]):
    """``Message<T>``: ``{"id":uuid,"content":T,"metadata":{...}}``.

    Module→orchestrator channel frames carry a ``Message[ModuleToOrchestrator]``. A missing
    ``metadata`` decodes as empty; ``"metadata":null`` is rejected, as in Rust.
    """

    BINCODE_LAYOUT: ClassVar[bool] = True

    id: uuid.UUID
    content: T
    metadata: MessageMetadata = attrs.Factory(MessageMetadata)


@attrs.frozen(kw_only=True)
class EncodedMessage:
    """An encoded inner message: ``{"data":[bytes as integers],"format":"Json"}``.

    ``format`` defaults to JSON in Python; on input it is required, as in Rust.
    """

    data: bytes
    format: EncodingFormat = attrs.field(default=EncodingFormat.JSON, metadata=REQUIRED)

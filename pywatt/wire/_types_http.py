"""HTTP-over-TCP messages, the two ``ApiResponse`` bodies and channel settings (§6, §9.4)."""

from __future__ import annotations

import enum

import attrs

from ._model import REQUIRED, SKIP
from ._values import JsonValue, UInt16, UInt64

__all__ = [
    "ChannelCapabilities",
    "ChannelPreferences",
    "ChannelType",
    "HttpIpcApiResponse",
    "HttpTcpApiResponse",
    "HttpTcpRequest",
    "HttpTcpResponse",
]


@attrs.frozen(kw_only=True)
class HttpTcpRequest:
    """``http_tcp`` request (Message content); ``body`` omitted when None."""

    request_id: str
    method: str
    uri: str
    headers: dict[str, str]
    body: bytes | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class HttpTcpResponse:
    """``http_tcp`` response (Message content); ``body`` omitted when None."""

    request_id: str
    status_code: UInt16
    headers: dict[str, str]
    body: bytes | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class HttpTcpApiResponse:
    """``http_tcp::ApiResponse``: ``{"status":..., "data"?:..., "message"?:...}``."""

    status: str
    data: JsonValue = attrs.field(default=None, metadata=SKIP)
    message: str | None = attrs.field(default=None, metadata=SKIP)


@attrs.frozen(kw_only=True)
class HttpIpcApiResponse:
    """``http_ipc::ApiResponse``: ``{"status":...,"data":...,"message":...}`` with nulls."""

    status: str
    data: JsonValue = None
    message: str | None = None


class ChannelType(enum.Enum):
    """``"Tcp"`` | ``"Ipc"``."""

    TCP = "Tcp"
    IPC = "Ipc"


@attrs.frozen(kw_only=True)
class ChannelPreferences:
    """Module-local channel selection policy (§6.3); never sent by the SDK."""

    use_tcp: bool = attrs.field(default=True, metadata=REQUIRED)
    use_ipc: bool = attrs.field(default=True, metadata=REQUIRED)
    prefer_ipc_for_local: bool = attrs.field(default=True, metadata=REQUIRED)
    prefer_tcp_for_remote: bool = attrs.field(default=True, metadata=REQUIRED)
    enable_fallback: bool = attrs.field(default=True, metadata=REQUIRED)

    # The presets of §6.3 (the Rust SDK's and the reference Python SDK's constructors).
    @classmethod
    def tcp_only(cls) -> ChannelPreferences:
        return cls(use_tcp=True, use_ipc=False, prefer_ipc_for_local=False,
                   prefer_tcp_for_remote=True, enable_fallback=False)  # fmt: skip

    @classmethod
    def ipc_only(cls) -> ChannelPreferences:
        return cls(use_tcp=False, use_ipc=True, prefer_ipc_for_local=True,
                   prefer_tcp_for_remote=False, enable_fallback=False)  # fmt: skip

    @classmethod
    def prefer_ipc(cls) -> ChannelPreferences:
        return cls(use_tcp=True, use_ipc=True, prefer_ipc_for_local=True,
                   prefer_tcp_for_remote=False, enable_fallback=True)  # fmt: skip

    @classmethod
    def prefer_tcp(cls) -> ChannelPreferences:
        return cls(use_tcp=True, use_ipc=True, prefer_ipc_for_local=False,
                   prefer_tcp_for_remote=True, enable_fallback=True)  # fmt: skip


@attrs.frozen(kw_only=True)
class ChannelCapabilities:
    """Advisory channel capabilities (§6.5)."""

    module_messaging: bool
    http_proxy: bool
    service_calls: bool
    file_transfer: bool
    streaming: bool
    batching: bool
    compression: bool
    max_message_size: UInt64 | None = None

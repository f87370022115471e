"""The startup handshake: ``InitBlob`` and its channel configs (docs/protocol.md §3.2)."""

from __future__ import annotations

from typing import ClassVar

import attrs

from ._model import SKIP
from ._types_common import ListenAddress, SecurityLevel, to_listen_address
from ._unions import OrchestratorToModule
from ._values import SocketAddress

__all__ = ["InitBlob", "IpcChannelConfig", "TcpChannelConfig"]


@attrs.frozen(kw_only=True)
class TcpChannelConfig:
    """``{"address":"ip:port","tls_enabled":bool,"required":bool}``; all keys required."""

    address: SocketAddress
    tls_enabled: bool
    required: bool


@attrs.frozen(kw_only=True)
class IpcChannelConfig:
    """``{"socket_path":str,"required":bool}``; both keys required."""

    socket_path: str
    required: bool


@attrs.frozen(kw_only=True)
class InitBlob(OrchestratorToModule):
    """The first stdin line (bare), also the ``init`` op of ``OrchestratorToModule``.

    ``listen`` is a ``SocketAddress`` or a Unix socket path; a string that parses as a
    socket address is turned into one, as Rust reads it. ``env`` may carry ``PYWATT_``
    extension declarations (docs/protocol-extensions.md).
    """

    OP: ClassVar[str] = "init"

    orchestrator_api: str
    module_id: str
    env: dict[str, str]
    listen: ListenAddress = attrs.field(converter=to_listen_address)
    tcp_channel: TcpChannelConfig | None = attrs.field(default=None, metadata=SKIP)
    ipc_channel: IpcChannelConfig | None = attrs.field(default=None, metadata=SKIP)
    auth_token: str | None = attrs.field(default=None, metadata=SKIP)
    security_level: SecurityLevel = SecurityLevel.NONE

"""What a channel connects to and how: address, TLS, reconnect policy, pool size, limits.

The InitBlob wins where it speaks (address, ``tls_enabled``, ``required``, the auth token and
the ``PYWATT_`` declarations); a module's ``tcp_config`` / ``ipc_config`` dict configures
what it does not (policy, pool size, timeouts) and, for a standalone run, the address too.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Mapping
from typing import Any, Final

import attrs

from pywatt._config import aliases, structure_config
from pywatt._suggest import did_you_mean
from pywatt.wire import (
    DEFAULT_MAX_FRAME_SIZE,
    ChannelPreferences,
    ChannelType,
    InitBlob,
    ModuleDeclaration,
    OrchestratorDeclaration,
    SecurityLevel,
)

from ._errors import ChannelConfigError
from ._policy import ReconnectPolicy, default_policy, is_local_address, policy_from_dict

__all__ = [
    "ChannelConfig",
    "ChannelOptions",
    "TlsSettings",
    "channel_configs",
    "channel_options",
    "preferences_from_dict",
]

log = logging.getLogger("pywatt.channels")

DEFAULT_CONNECT_TIMEOUT: Final = 30.0


@attrs.frozen(kw_only=True)
class ChannelOptions:
    """A ``tcp_config`` / ``ipc_config`` dict read as data (the seed's ``timeout`` and
    ``enable_tls`` are other names of ``connect_timeout`` and ``tls_enabled``)."""

    host: str | None = None
    port: int | None = None
    address: str | None = None
    socket_path: str | None = None
    tls_enabled: bool = attrs.field(default=False, metadata=aliases("enable_tls"))
    required: bool = False
    reconnect: dict[str, Any] | None = None
    pool_size: int | None = None
    connect_timeout: float | None = attrs.field(default=None, metadata=aliases("timeout"))
    max_frame_size: int | None = None
    heartbeat_interval: float | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    server_hostname: str | None = None


def channel_options(data: Mapping[str, Any] | None, where: str) -> ChannelOptions:
    """``data`` (``where``: ``tcp_config`` or ``ipc_config``) as :class:`ChannelOptions`.
    Raises :class:`ChannelConfigError` naming the key."""
    options: ChannelOptions = structure_config(
        data or {}, ChannelOptions, root=where, error=ChannelConfigError
    )
    return options


@attrs.frozen(kw_only=True)
class TlsSettings:
    """Client-side TLS of a TCP channel. Verification is on unless ``verify=False``.

    ``ca_file`` is the CA that signed the orchestrator's certificate (None: the system's
    trust store); ``cert_file`` / ``key_file`` the client certificate for Mtls.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    verify: bool = True
    server_hostname: str | None = None

    def client_context(self) -> ssl.SSLContext:
        """A fresh client ``SSLContext``. Blocks briefly on file reads; raises ``OSError``
        or ``ssl.SSLError`` for unreadable or invalid files."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        if self.cert_file is not None:
            context.load_cert_chain(self.cert_file, self.key_file)
        return context


@attrs.frozen(kw_only=True)
class ChannelConfig:
    """One channel to the orchestrator (``pool_size`` connections to one address)."""

    kind: ChannelType
    address: str
    """``host:port`` for TCP, a path for the Unix socket."""
    required: bool = False
    tls: TlsSettings | None = None
    policy: ReconnectPolicy = attrs.field(
        default=attrs.Factory(
            lambda self: default_policy(local=self.local),
            takes_self=True,
        )
    )
    """Default: :func:`~pywatt.channels.default_policy` for this address's locality."""
    pool_size: int = 1
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    heartbeat_interval: float | None = None
    """The orchestrator's heartbeat interval; three silent intervals mark it dead. None (a
    Rust orchestrator, which declares none): no liveness check."""
    max_frame_size: int = DEFAULT_MAX_FRAME_SIZE
    declaration: ModuleDeclaration | None = None
    """Sent as the first frame of every connection (only to a pywatt orchestrator)."""

    def __attrs_post_init__(self) -> None:
        if self.pool_size < 1:
            raise ChannelConfigError(f"pool_size must be at least 1, not {self.pool_size}")
        if self.connect_timeout <= 0:
            raise ChannelConfigError("connect_timeout must be positive")
        if self.kind is ChannelType.TCP:
            host, sep, port = self.address.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ChannelConfigError(f"TCP address must be host:port, not {self.address!r}")

    @property
    def local(self) -> bool:
        """Whether the orchestrator is on this host (a Unix socket or a loopback address)."""
        return is_local_address(self.address, unix_socket=self.kind is ChannelType.IPC)

    @property
    def label(self) -> str:
        """``tcp`` or ``ipc``: the middle part of the connection actors' names."""
        return "tcp" if self.kind is ChannelType.TCP else "ipc"

    def host_port(self) -> tuple[str, int]:
        """The TCP host (brackets of an IPv6 literal removed) and port."""
        host, _, port = self.address.rpartition(":")
        return host.strip("[]"), int(port)


def _common(options: ChannelOptions, kind: ChannelType, address: str) -> dict[str, Any]:
    local = is_local_address(address, unix_socket=kind is ChannelType.IPC)
    where = f"{'tcp' if kind is ChannelType.TCP else 'ipc'}_config['reconnect']"
    policy = policy_from_dict(options.reconnect, local=local, where=where)
    common: dict[str, Any] = {"policy": policy}
    for key in ("pool_size", "connect_timeout", "max_frame_size"):
        value = getattr(options, key)
        if value is not None:
            common[key] = value
    return common


def channel_configs(
    init: InitBlob,
    *,
    enable_tcp: bool | None,
    enable_ipc: bool | None,
    tcp_config: Mapping[str, Any] | None,
    ipc_config: Mapping[str, Any] | None,
    version: str,
) -> list[ChannelConfig]:
    """The channels a module opens. ``enable_*`` None means "if the InitBlob offers it";
    True without an InitBlob channel needs an address in the config dict; False never.

    Raises :class:`ChannelConfigError` for a bad dict or a channel asked for without an
    address.
    """
    tcp = channel_options(tcp_config, "tcp_config")
    ipc = channel_options(ipc_config, "ipc_config")
    declared = OrchestratorDeclaration.from_env(init.env)
    interval = declared.heartbeat_interval if declared is not None else None
    token = init.auth_token if init.security_level is not SecurityLevel.NONE else None
    declaration = (
        ModuleDeclaration(version=version, auth_token=token, formats=declared.formats)
        if declared is not None
        else None
    )
    configs: list[ChannelConfig] = []
    if enable_tcp is not False:
        offered = init.tcp_channel
        address: str | None = None
        tls_enabled, required = tcp.tls_enabled, tcp.required
        if offered is not None:
            address = str(offered.address)
            if tls_enabled and not offered.tls_enabled:
                log.warning(
                    "tcp_config asks for TLS but the orchestrator offers plain TCP at %s; "
                    "its offer wins (the orchestrator decides TLS)",
                    address,
                )
            tls_enabled, required = offered.tls_enabled, offered.required
        elif enable_tcp:
            address = tcp.address
            if address is None and tcp.port is not None:
                address = f"{tcp.host or '127.0.0.1'}:{tcp.port}"
            if address is None:
                raise ChannelConfigError(
                    "enable_tcp=True but the InitBlob offers no tcp_channel and tcp_config "
                    "names no address (give 'host' and 'port')"
                )
        if address is not None:
            tls = None
            if tls_enabled:
                files = declared or OrchestratorDeclaration(version="")
                tls = TlsSettings(
                    ca_file=files.tls_ca or tcp.ca_file,
                    cert_file=files.tls_cert or tcp.cert_file,
                    key_file=files.tls_key or tcp.key_file,
                    verify=tcp.verify,
                    server_hostname=tcp.server_hostname,
                )
            configs.append(
                ChannelConfig(
                    kind=ChannelType.TCP,
                    address=address,
                    required=required,
                    tls=tls,
                    heartbeat_interval=tcp.heartbeat_interval or interval,
                    declaration=declaration,
                    **_common(tcp, ChannelType.TCP, address),
                )
            )
    if enable_ipc is not False:
        path: str | None = None
        required = ipc.required
        if init.ipc_channel is not None:
            path, required = init.ipc_channel.socket_path, init.ipc_channel.required
        elif enable_ipc:
            path = ipc.socket_path
            if path is None:
                raise ChannelConfigError(
                    "enable_ipc=True but the InitBlob offers no ipc_channel and ipc_config "
                    "names no socket_path"
                )
        if path is not None:
            configs.append(
                ChannelConfig(
                    kind=ChannelType.IPC,
                    address=path,
                    required=required,
                    heartbeat_interval=ipc.heartbeat_interval or interval,
                    declaration=declaration,
                    **_common(ipc, ChannelType.IPC, path),
                )
            )
    return configs


_PRESETS: Final = ("tcp_only", "ipc_only", "prefer_ipc", "prefer_tcp")


def preferences_from_dict(data: Mapping[str, Any] | None) -> ChannelPreferences:
    """Channel preferences (§6.3) from a dict: a preset name under ``"preset"``
    (``tcp_only``, ``ipc_only``, ``prefer_ipc``, ``prefer_tcp``) or the five booleans, read
    by the one config converter. Raises :class:`ChannelConfigError` naming the key."""
    if not data:
        return ChannelPreferences()
    if "preset" in data:
        preset = data["preset"]
        if preset not in _PRESETS or len(data) > 1:
            raise ChannelConfigError(
                f"channel_preferences: preset must be one of {', '.join(_PRESETS)} and alone, "
                f"not {preset!r}{did_you_mean(str(preset), _PRESETS)}"
            )
        made: ChannelPreferences = getattr(ChannelPreferences, preset)()
        return made
    preferences: ChannelPreferences = structure_config(
        data, ChannelPreferences, root="channel_preferences", error=ChannelConfigError
    )
    return preferences

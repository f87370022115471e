"""The port registry actor: free loopback ports for listen addresses and ``port_request``.

A port is "free" when a socket can bind it on 127.0.0.1 (with ``SO_REUSEADDR``, as the
module's server will) and no other module holds it. The registry remembers what it handed
out, so two modules never get the same port even before either has bound it. The
orchestrator's own API port is reserved for real: a bound (not listening) socket holds it
for the orchestrator's lifetime, so nothing else can take it while nothing serves there yet.
"""

from __future__ import annotations

import errno
import socket
from typing import Final

import attrs

from actors import Actor, Request

from .._errors import GatewayUnavailable, PortUnavailable

__all__ = [
    "PortRegistry",
    "ReleasePorts",
    "ReservePort",
    "api_url",
    "format_address",
    "reserve_api_socket",
]

PORTS_NAME: Final = "pywatt.ports"
_HOST: Final = "127.0.0.1"
_ATTEMPTS: Final = 50


@attrs.frozen
class ReservePort(Request[int]):
    """Hand ``owner`` a port: ``specific`` if it is free (else :class:`PortUnavailable`),
    otherwise ``prefer`` if it is free, otherwise any free port."""

    owner: str
    specific: int | None = None
    prefer: int | None = None


@attrs.frozen
class ReleasePorts:
    """Forget every port ``owner`` holds, except ``keep``."""

    owner: str
    keep: int | None = None


PortMessage = ReservePort | ReleasePorts


class PortRegistry(Actor[PortMessage]):
    """Hands out loopback ports (see the module docstring)."""

    reply_errors = (PortUnavailable,)

    def __init__(self, reserved: dict[int, str] | None = None) -> None:
        self._owners: dict[int, str] = dict(reserved or {})

    async def receive(self, message: PortMessage) -> int | None:
        if isinstance(message, ReleasePorts):
            for port, owner in list(self._owners.items()):
                if owner == message.owner and port != message.keep:
                    del self._owners[port]
            return None
        return self._reserve(message)

    def _reserve(self, message: ReservePort) -> int:
        if message.specific is not None:
            port = message.specific
            if not 0 < port < 65536:
                raise PortUnavailable(port, "not a valid TCP port")
            holder = self._owners.get(port)
            if holder is not None and holder != message.owner:
                raise PortUnavailable(port, f"held by {holder}")
            problem = _bind_problem(port)
            if problem is not None:
                raise PortUnavailable(port, problem)
            self._owners[port] = message.owner
            return port
        prefer = message.prefer
        if (
            prefer is not None
            and self._owners.get(prefer) in (None, message.owner)
            and _bind_problem(prefer) is None
        ):
            self._owners[prefer] = message.owner
            return prefer
        for _ in range(_ATTEMPTS):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((_HOST, 0))
                port = int(sock.getsockname()[1])
            if port not in self._owners:
                self._owners[port] = message.owner
                return port
        raise PortUnavailable(None, f"no unused port after {_ATTEMPTS} attempts")


def _bind_problem(port: int) -> str | None:
    """Why ``port`` cannot be bound on 127.0.0.1 now, or None if it can."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((_HOST, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "in use"
            return exc.strerror or str(exc)
    return None


def reserve_api_socket(host: str = _HOST, port: int = 0) -> socket.socket:
    """Bind (without listening) a socket on ``host:port`` (port 0: a free one) and return it.

    While it is open nobody else can bind the port; connections to it are refused. The
    orchestrator holds one for its API address until an HTTP gateway serves there. Raises
    :class:`GatewayUnavailable` (one line: the address and why) if it cannot be bound.
    """
    address = format_address(host, port)
    try:
        infos = socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except socket.gaierror as exc:
        raise GatewayUnavailable(address, f"unknown host ({exc.strerror})") from None
    family, kind, proto, _, sockaddr = infos[0]
    sock = socket.socket(family, kind, proto)
    try:
        if port:  # a fixed port: a restart must not wait for the last run's TIME_WAIT
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(sockaddr)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            reason = (
                "the port is in use; choose another with --port (or the manifest's "
                "gateway key), or stop what holds it"
            )
        elif exc.errno == errno.EACCES:
            reason = "permission denied (ports below 1024 need privileges)"
        elif exc.errno == errno.EADDRNOTAVAIL:
            reason = "that address is not one of this machine's"
        else:
            reason = (exc.strerror or str(exc)).lower()
        raise GatewayUnavailable(address, reason) from None
    except BaseException:
        sock.close()
        raise
    return sock


def format_address(host: str, port: int) -> str:
    """``host:port``, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def api_url(sock: socket.socket) -> str:
    """The URL modules reach the bound API socket at: a wildcard address (every interface)
    is reached on loopback."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    return f"http://{format_address(host, port)}"

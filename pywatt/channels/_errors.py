"""Errors of the channel actors: closed (we closed it) vs broken (the peer or the network did)."""

from __future__ import annotations

from pywatt._errors import ConfigError, PywattError


class ChannelError(PywattError):
    """Base of every channel error."""


class ChannelBroken(ChannelError, ConnectionError):
    """The peer or the network ended the connection, or it could not be made.

    ``channel`` names the connection (``pywatt.channels.tcp.0``) and ``address`` its peer.
    """

    def __init__(self, channel: str, address: str, reason: str) -> None:
        super().__init__(f"channel {channel} ({address}): {reason}")
        self.channel = channel
        self.address = address
        self.reason = reason


class PeerSilent(ChannelBroken):
    """Nothing arrived for three heartbeat intervals: the peer is taken for dead."""


class ChannelProtocolError(ChannelBroken):
    """The byte stream can no longer be trusted (a broken length prefix or an oversized
    frame); the connection is closed and reconnects by its policy."""


class NoChannel(ChannelError, LookupError):
    """No connection to the orchestrator is up to carry a frame (``what`` says which)."""

    def __init__(self, what: str) -> None:
        super().__init__(f"no channel is connected to carry {what}")
        self.what = what


class ChannelGaveUp(ChannelError):
    """A required channel ran out of reconnection attempts; the module goes down."""

    def __init__(self, channel: str, address: str, attempts: int, last_error: str) -> None:
        super().__init__(
            f"required channel {channel} ({address}) gave up after {attempts} failed "
            f"attempt(s): {last_error}"
        )
        self.channel = channel
        self.address = address
        self.attempts = attempts
        self.last_error = last_error


class ChannelConfigError(ChannelError, ConfigError):
    """A channel configuration (a ``tcp_config`` / ``ipc_config`` dict, a policy) is invalid."""

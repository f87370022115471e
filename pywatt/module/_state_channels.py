"""AppState's channel methods (the seed's "channel health monitoring and capabilities
reporting") and ``close()``.

They read the module's channel directory, the live record the connection actors keep of
their own state, so the synchronous ones need no message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pywatt.channels import ChannelStatistics, ConnectionStatus
from pywatt.wire import ChannelCapabilities, ChannelType

if TYPE_CHECKING:
    from ._messaging import ModuleRuntime

__all__ = ["ChannelsMixin"]


class ChannelsMixin:
    """Channels as the module sees them (mixed into :class:`AppState`)."""

    _runtime: ModuleRuntime | None

    def _states(self) -> list[ChannelStatistics]:
        runtime = self._runtime
        return runtime.directory.statistics() if runtime is not None else []

    def available_channels(self) -> list[ChannelType]:
        """The kinds of channel (``ChannelType.TCP``, ``ChannelType.IPC``) with a connection
        up now, the module's preferred kind first. Does not block."""
        runtime = self._runtime
        if runtime is None:
            return []
        kinds: list[ChannelType] = []
        for state in runtime.directory.candidates():
            if state.kind not in kinds:
                kinds.append(state.kind)
        return kinds

    def has_channel(self, kind: ChannelType) -> bool:
        """Whether a connection of ``kind`` is up now. Does not block."""
        return kind in self.available_channels()

    def channel_capabilities(self, kind: ChannelType) -> ChannelCapabilities | None:
        """What a channel of ``kind`` carries (docs/protocol.md §6.5), or None when no such
        channel is configured. Messaging between modules, HTTP over the channel and
        orchestrator services (registration, discovery) are carried; files, streams,
        batches and compression are not. ``max_message_size`` is the frame limit."""
        runtime = self._runtime
        states = [s for s in runtime.directory.states.values() if s.kind is kind] if runtime else []
        if not states:
            return None
        return ChannelCapabilities(
            module_messaging=True,
            http_proxy=True,
            service_calls=True,
            file_transfer=False,
            streaming=False,
            batching=False,
            compression=False,
            max_message_size=min(s.max_frame_size for s in states),
        )

    async def channel_health(self) -> dict[ChannelType, bool]:
        """Each configured kind of channel and whether a connection of it is up."""
        health: dict[ChannelType, bool] = {}
        for state in self._states():
            up = state.status is ConnectionStatus.CONNECTED
            health[state.kind] = health.get(state.kind, False) or up
        return health

    async def channel_statistics(self) -> list[ChannelStatistics]:
        """A snapshot of every connection: status, counts, last error."""
        return self._states()

    async def close(self) -> None:
        """Stop the module cleanly, as the orchestrator's ``shutdown`` does: the tree stops
        in reverse order, closing channels, database pools and caches, and the process
        exits 0. Returns at once; the stop follows. (pywatt closes everything itself when
        the module stops, so a module never has to call this.)"""
        if self._runtime is not None:
            self._runtime.on_shutdown("the module called state.close()")

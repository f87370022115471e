"""AppState's channel methods (the seed's "channel health monitoring and capabilities
reporting") and ``close()``.

The synchronous ones read the module's :class:`~pywatt.channels.ChannelView` (read-only,
the live state the connection actors keep) and the channel configurations; the others ask
the channels actor (``ChannelHealth``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import actors
from pywatt.channels import CHANNELS_ACTOR, ChannelHealth, ChannelStatistics, ConnectionStatus
from pywatt.wire import ChannelCapabilities, ChannelType

if TYPE_CHECKING:
    from ._messaging import ModuleRuntime

__all__ = ["ChannelsMixin"]


class ChannelsMixin:
    """Channels as the module sees them (mixed into :class:`AppState`)."""

    _runtime: ModuleRuntime | None
    system: actors.ActorSystem

    async def _states(self) -> list[ChannelStatistics]:
        if self._runtime is None:
            return []
        try:
            return await self.system.ask(CHANNELS_ACTOR, ChannelHealth())
        except actors.ActorError:  # the module is stopping: no channel is up
            return []

    def available_channels(self) -> list[ChannelType]:
        """The kinds of channel (``ChannelType.TCP``, ``ChannelType.IPC``) with a connection
        up now, the module's preferred kind first. Does not block."""
        runtime = self._runtime
        return [] if runtime is None else runtime.channels.available_kinds()

    def has_channel(self, kind: ChannelType) -> bool:
        """Whether a connection of ``kind`` is up now. Does not block."""
        return kind in self.available_channels()

    def channel_capabilities(self, kind: ChannelType) -> ChannelCapabilities | None:
        """What a channel of ``kind`` carries (docs/protocol.md §6.5), or None when no such
        channel is configured. Messaging between modules, HTTP over the channel and
        orchestrator services (registration, discovery) are carried; files, streams,
        batches and compression are not. ``max_message_size`` is the frame limit."""
        runtime = self._runtime
        configs = [c for c in runtime.configs if c.kind is kind] if runtime else []
        if not configs:
            return None
        return ChannelCapabilities(
            module_messaging=True,
            http_proxy=True,
            service_calls=True,
            file_transfer=False,
            streaming=False,
            batching=False,
            compression=False,
            max_message_size=min(c.max_frame_size for c in configs),
        )

    async def channel_health(self) -> dict[ChannelType, bool]:
        """Each configured kind of channel and whether a connection of it is up."""
        health: dict[ChannelType, bool] = {}
        for state in await self._states():
            up = state.status is ConnectionStatus.CONNECTED
            health[state.kind] = health.get(state.kind, False) or up
        return health

    async def channel_statistics(self) -> list[ChannelStatistics]:
        """A snapshot of every connection: status, counts, last error."""
        return await self._states()

    async def close(self) -> None:
        """Stop the module cleanly, as the orchestrator's ``shutdown`` does: the tree stops
        in reverse order, closing channels, database pools and caches, and the process
        exits 0. Returns at once; the stop follows. (pywatt closes everything itself when
        the module stops, so a module never has to call this.)"""
        if self._runtime is not None:
            from ._lifecycle import LIFECYCLE, ShutdownModule

            self.system.tell_nowait(LIFECYCLE, ShutdownModule("the module called state.close()"))

"""A read-only view of the channels, for the synchronous questions a module's state answers
(``state.available_channels()``, ``has_channel``) and for metrics scrapes.

It can only read: sending goes through the channels actor (``Send``, or its ``Writer``), and
only the connection actors change a connection's state.
"""

from __future__ import annotations

import trio

from pywatt.wire import ChannelPreferences, ChannelType

from ._directory import ChannelDirectory, ChannelStatistics, ConnectionStatus

__all__ = ["ChannelView"]


class ChannelView:
    """What the module's channels look like right now (see the module docstring)."""

    __slots__ = ("_directory",)

    def __init__(self, directory: ChannelDirectory) -> None:
        self._directory = directory

    @property
    def preferences(self) -> ChannelPreferences:
        """The channel preferences frames follow."""
        return self._directory.preferences

    def statistics(self) -> list[ChannelStatistics]:
        """A snapshot of every connection. Does not block."""
        return self._directory.statistics()

    def all_statistics(self) -> list[ChannelStatistics]:
        """:meth:`statistics` and then every direct line's (for the metrics). Does not
        block."""
        directory = self._directory
        return directory.statistics() + directory.line_statistics()

    def available_kinds(self) -> list[ChannelType]:
        """The kinds with a connection up, in the order frames would try them."""
        kinds: list[ChannelType] = []
        for state in self._directory.candidates():
            if state.kind not in kinds:
                kinds.append(state.kind)
        return kinds

    async def wait_settled(self, seconds: float) -> None:
        """Wait up to ``seconds`` for every connection's first attempt to settle (connected
        or failed)."""
        directory = self._directory
        with trio.move_on_after(seconds):
            while any(s.status is ConnectionStatus.CONNECTING for s in directory.states.values()):
                await directory.wait_changed()

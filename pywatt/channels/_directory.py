"""The module's channel directory: each connection's live state, and which one carries a frame.

Every connection actor owns one :class:`ChannelState` and updates it as it connects, reads,
writes and fails; nobody else writes to it. The directory reads them to choose a connection
by the channel preferences of docs/protocol.md §6.3 (the Unix socket first for a local
orchestrator when ``prefer_ipc_for_local``, TCP otherwise, the other one as a fallback when
``enable_fallback``) and round-robin inside a pool. ``statistics()`` snapshots are frozen.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable, Iterator

import attrs
import trio

from pywatt.wire import DEFAULT_MAX_FRAME_SIZE, ChannelPreferences, ChannelType

from ._outbox import Outbox

__all__ = ["ChannelDirectory", "ChannelState", "ChannelStatistics", "ConnectionStatus"]

_changes = [0]
"""Bumped whenever a connection changes status or joins a directory: a directory's pools
of connected connections (``ChannelDirectory.pick``, on every request's path) are built
again only after that."""


class ConnectionStatus(enum.Enum):
    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    """Lost or failed; its supervisor reconnects after the policy's delay."""
    FAILED = "failed"
    """Its reconnect policy gave up."""
    CLOSED = "closed"
    """Closed by us (module shutdown)."""


@attrs.frozen
class ChannelStatistics:
    """A snapshot of one connection."""

    name: str
    kind: ChannelType
    address: str
    status: ConnectionStatus
    connects: int
    failures: int
    consecutive_failures: int
    frames_in: int
    frames_out: int
    malformed: int
    heartbeats: int
    last_received_age: float | None
    """Seconds since the last frame arrived (None: nothing yet)."""
    heartbeat_gap: float | None
    """Seconds between the last two heartbeats from the orchestrator."""
    last_error: str | None
    bytes_in: int = 0
    """Bytes received (frame headers included)."""
    bytes_out: int = 0
    """Bytes sent (frame headers included)."""


class ChannelState:
    """The live, mutable state of one connection (written only by its actor)."""

    def __init__(
        self,
        name: str,
        kind: ChannelType,
        address: str,
        pool_index: int,
        max_frame_size: int = DEFAULT_MAX_FRAME_SIZE,
    ) -> None:
        self.name = name
        self.kind = kind
        self.address = address
        self.pool_index = pool_index
        self.max_frame_size = max_frame_size
        self.status = ConnectionStatus.CONNECTING
        self.connects = 0
        self.failures = 0
        self.consecutive_failures = 0
        self.frames_in = 0
        self.frames_out = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.malformed = 0
        self.heartbeats = 0
        self.last_received: float | None = None
        self.last_heartbeat: float | None = None
        self.heartbeat_gap: float | None = None
        self.last_error: str | None = None
        self.outbox: Outbox | None = None
        """The connection's outbox while it is connected: senders may append to it directly."""
        self.streams = False
        """Both ends declared MessagePack on this connection: it carries streams
        (docs/protocol-extensions.md §9.4). Set by the connection actor."""
        self.changed = trio.Event()

    @property
    def connected(self) -> bool:
        return self.status is ConnectionStatus.CONNECTED

    def set_status(self, status: ConnectionStatus, error: str | None = None) -> None:
        self.status = status
        if status is ConnectionStatus.CONNECTED:
            self.connects += 1
            self.consecutive_failures = 0
        elif status is ConnectionStatus.DISCONNECTED:
            self.failures += 1
            self.consecutive_failures += 1
        if error is not None:
            self.last_error = error
        _changes[0] += 1
        self.changed.set()
        self.changed = trio.Event()

    def statistics(self) -> ChannelStatistics:
        now = trio.current_time()
        return ChannelStatistics(
            name=self.name,
            kind=self.kind,
            address=self.address,
            status=self.status,
            connects=self.connects,
            failures=self.failures,
            consecutive_failures=self.consecutive_failures,
            frames_in=self.frames_in,
            frames_out=self.frames_out,
            malformed=self.malformed,
            heartbeats=self.heartbeats,
            last_received_age=None if self.last_received is None else now - self.last_received,
            heartbeat_gap=self.heartbeat_gap,
            last_error=self.last_error,
            bytes_in=self.bytes_in,
            bytes_out=self.bytes_out,
        )


class ChannelDirectory:
    """All connections of one module and the policy that picks one (see the module doc).

    Owned by the channels actor (``pywatt.channels.directory``) and kept with its name; the
    connection actors write their own state here. Nothing outside ``pywatt.channels`` gets
    it: other actors send the channels actor ``Send`` / ``ChannelHealth`` / ``GetWriter``.
    """

    def __init__(self, preferences: ChannelPreferences | None = None) -> None:
        self.preferences = preferences or ChannelPreferences()
        self.states: dict[str, ChannelState] = {}
        self._turn = itertools.count()
        self._changed = trio.Event()
        self._order_cache: tuple[ChannelPreferences, list[ChannelType]] | None = None
        self._pools: tuple[int, ChannelPreferences, list[list[ChannelState]]] | None = None
        self.lines: dict[str, ChannelState] = {}
        """Direct lines to other modules that carry what this module sends them, by target
        (``_lines``): up, fenced, and never picked for anything else."""
        self.line_states: dict[str, ChannelState] = {}
        """Every direct line, both ways, by connection name (replies go back on the line a
        request came on)."""
        self.want_line: Callable[[str], None] | None = None
        """Set by the lines actor while one runs: told each target that has no line yet."""
        self.fenced: Callable[[str, str], None] | None = None
        """Set with the lines actor's book: a peer's fence came (peer, line nonce)."""

    def add(self, state: ChannelState) -> None:
        self.states[state.name] = state
        _changes[0] += 1

    def find(self, name: str | None) -> ChannelState | None:
        """The connection called ``name``: a channel to the orchestrator or a line."""
        if name is None:
            return None
        state = self.states.get(name)
        return state if state is not None else self.line_states.get(name)

    def notify(self) -> None:
        """A connection changed state (wakes :meth:`wait_connected`)."""
        self._changed.set()
        self._changed = trio.Event()

    def statistics(self) -> list[ChannelStatistics]:
        """A snapshot of every connection. Does not block."""
        return [state.statistics() for state in self.states.values()]

    def line_statistics(self) -> list[ChannelStatistics]:
        """A snapshot of every direct line, each named by its direction and peer
        (``pywatt.channels.line.to.billing``: the same name for the next line to the same
        peer, whose counts start again). Does not block."""
        return [
            attrs.evolve(state.statistics(), name=state.name.rpartition(".")[0])
            for state in list(self.line_states.values())
        ]

    def _order(self) -> list[ChannelType]:
        prefs = self.preferences
        cached = self._order_cache
        if cached is not None and cached[0] is prefs:
            return cached[1]
        kinds: list[ChannelType] = []
        # The orchestrator a module talks to over a Unix socket is local by definition.
        first, second = (
            (ChannelType.IPC, ChannelType.TCP)
            if prefs.prefer_ipc_for_local or not prefs.prefer_tcp_for_remote
            else (ChannelType.TCP, ChannelType.IPC)
        )
        for kind in (first, second):
            allowed = prefs.use_ipc if kind is ChannelType.IPC else prefs.use_tcp
            if allowed and (not kinds or prefs.enable_fallback):
                kinds.append(kind)
        self._order_cache = (prefs, kinds)
        return kinds

    def candidates(self) -> Iterator[ChannelState]:
        """Connected connections in the order to try them: preferred kind first (its pool
        members round-robin), then the fallback kind. Does not block."""
        turn = next(self._turn)
        for kind in self._order():
            pool = [s for s in self.states.values() if s.kind is kind and s.connected]
            if pool:
                start = turn % len(pool)
                yield from pool[start:] + pool[:start]

    def pick(self) -> ChannelState | None:
        """The connection that should carry the next frame, or None if none is up: the first
        of :meth:`candidates`, without building the rest (it is on every request's path)."""
        turn = next(self._turn)
        pools = self._pools
        if pools is None or pools[0] != _changes[0] or pools[1] is not self.preferences:
            pools = self._pools = (_changes[0], self.preferences, self._connected_pools())
        for pool in pools[2]:
            return pool[turn % len(pool)]
        return None

    def _connected_pools(self) -> list[list[ChannelState]]:
        """The connected connections of each allowed kind, in the order to try the kinds;
        the kinds with none left out."""
        states = self.states.values()
        pools = (
            [s for s in states if s.kind is kind and s.status is ConnectionStatus.CONNECTED]
            for kind in self._order()
        )
        return [pool for pool in pools if pool]

    async def wait_changed(self) -> None:
        """Block until some connection changes state."""
        await self._changed.wait()

    async def wait_connected(self) -> ChannelState:
        """Block until some allowed connection is up; return it."""
        while True:
            state = self.pick()
            if state is not None:
                return state
            await self._changed.wait()

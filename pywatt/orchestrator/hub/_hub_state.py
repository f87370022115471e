"""What other actors and modules told the hub: kept with its name, not with an incarnation.

The hub learns its facts from others, once each. A listener says ``Opened`` when it accepts a
connection and never again; a module registers a provider or itself once; a caller's route
waits for a reply the callee sends once. None of them can tell that the hub restarted, so an
incarnation that kept these facts to itself would take them down with it: after a crash the
hub would know no connection, and every request would get ``ModuleUnavailable`` although both
modules are connected (issue 12, finding 1).

So the facts live in one :class:`HubState`, made by ``open_orchestrator`` before the hub is
spawned and handed by the hub's factory to every incarnation, the way the mailbox belongs to
the name (docs/architecture.md, decision 11). A restart then changes nothing that anyone
told the hub; it costs only the message in hand when it crashed. This holds by construction
rather than by a re-announcement protocol, which would have to reach every listener and
module, and race with their own traffic, after each restart.

Two facts can be stale after a crash, and :meth:`HubState.stale` finds them for the new
incarnation to settle: a connection that closed while its ``Closed`` died with the crashing
message (the connection object itself knows it is closed), and a route whose asker was an
``ask`` of the crashed incarnation (the runtime already failed that ask). The hub's own scratch
state (whose turn it is among a module's connections) is not kept.
"""

from __future__ import annotations

import collections
import uuid
from typing import Any

import attrs

from actors import DeferredReply
from pywatt.wire import Capabilities, HealthStatus, RegisteredModule, ServiceProviderInfo

from ._connection import ServerConnection
from ._direct import DirectRoutes
from ._own_streams import OwnStreams
from ._stream_relay import StreamRelay

__all__ = ["HubState", "ReadyWaiter", "RegistrationRecord", "Route"]


@attrs.define
class RegistrationRecord:
    """What the orchestrator knows of a registered module (§10)."""

    module: RegisteredModule
    capabilities: Capabilities | None = None
    health: HealthStatus | None = None
    details: dict[str, str] | None = None
    heartbeats: int = 0
    last_heartbeat: float | None = None


@attrs.define(eq=False)
class Route:
    """A request forwarded to ``callee_conn`` and not answered yet."""

    caller: str
    caller_conn: ServerConnection | None
    callee_conn: ServerConnection
    expires: float
    reply: DeferredReply | None = None
    """The orchestrator's own ask (``CallModule``), answered when the reply comes."""


@attrs.define(eq=False)
class ReadyWaiter:
    """A readiness probe (``pywatt.ready``) held until its target is reachable."""

    caller: str
    caller_conn: ServerConnection
    request_id: uuid.UUID
    expires: float


def _connection_lists() -> collections.defaultdict[str, list[ServerConnection]]:
    return collections.defaultdict(list)


@attrs.define(eq=False)
class HubState:
    """Everything the hub was told, for every incarnation of it (see the module docstring)."""

    conns: collections.defaultdict[str, list[ServerConnection]] = attrs.Factory(_connection_lists)
    """Per module, its open connections, in the order the listeners accepted them."""
    last_used: dict[str, ServerConnection] = attrs.Factory(dict)
    """Per module, the connection it last sent a frame on: the one its own channel
    preferences picked, so frames to it go there too (one connection's reads and writes
    instead of the same traffic spread over two)."""
    routes: dict[tuple[str, uuid.UUID], Route] = attrs.Factory(dict)
    """Unanswered requests by (callee, request id)."""
    response_types: dict[uuid.UUID, Any] = attrs.Factory(dict)
    """The reply type each of the orchestrator's own requests wants."""
    providers: dict[str, ServiceProviderInfo] = attrs.Factory(dict)
    registrations: dict[str, RegistrationRecord] = attrs.Factory(dict)
    announced: set[str] = attrs.Factory(set)
    """The modules whose current process has announced (told by their process actors)."""
    ready_waiters: dict[str, list[ReadyWaiter]] = attrs.Factory(dict)
    """Per target module, the readiness probes held until it is reachable."""
    counts: collections.Counter[str] = attrs.Factory(collections.Counter)
    """Routing statistics; they count across restarts of the hub."""
    streams: StreamRelay = attrs.Factory(StreamRelay)
    """The streams relayed between modules (``_stream_relay``)."""
    own: OwnStreams = attrs.Factory(OwnStreams)
    """The orchestrator's own streams: replies to ``orch.request`` that modules send it, and
    the values of its big requests that it sends them."""
    direct: DirectRoutes = attrs.Factory(DirectRoutes)
    """The hub's routing lent to the listeners (``_direct``)."""
    line_grants: dict[tuple[str, str], float] = attrs.Factory(dict)
    """When each (asker, target) was last granted a direct line (``_lines``)."""

    def stale(self) -> tuple[list[ServerConnection], list[tuple[str, uuid.UUID]]]:
        """What a crash may have left behind: connections that are closed but still listed,
        and routes whose asker (an ask of a crashed incarnation) no longer waits. Does not
        change anything; the hub settles each as it would have at the time."""
        closed = [conn for conns in self.conns.values() for conn in conns if conn.closed]
        orphaned = [
            key
            for key, route in self.routes.items()
            if route.reply is not None and not route.reply.pending
        ]
        return closed, orphaned

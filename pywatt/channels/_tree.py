"""The channels' part of the module's supervision tree (docs/architecture.md, "The shape").

``pywatt.channels`` (one_for_one) holds one supervisor per connection, then the channels
actor (``pywatt.channels.directory``, see ``_actor``). Each connection supervisor holds its
connection actor; its restart delay and limit are the channel's reconnect policy. It is
``temporary`` under ``pywatt.channels``: when a policy gives up, that connection stops alone
and its siblings and the services never restart. The channels actor monitors each connection
supervisor, so a policy that gave up arrives as a ``Down`` in its mailbox: it marks the
connection failed and tells the subscriber of :class:`ChannelFailed` (the module, which goes
down when the channel was required).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actors import ChildSpec, Restart, Strategy, SupervisorSpec
from pywatt.wire import ChannelPreferences, LineExpect, LineGrant, LineRefused

from ._actor import CHANNELS_ACTOR, ChannelsActor, Connection
from ._config import ChannelConfig
from ._connection import ChannelConnection, Opener, ReplySink, StreamSink
from ._directory import ChannelDirectory, ChannelState
from ._lines import LINES_ACTOR, LineBook, LinesActor, LineSettings
from ._serve_http import HTTP_SUBSCRIPTION
from ._subscriptions import DISCOVERY, REGISTRAR, ROUTER, Subscriptions, service_subscriptions

__all__ = ["CHANNELS", "channels_supervisor_spec", "connection_name"]

CHANNELS = "pywatt.channels"


def connection_name(config: ChannelConfig, index: int) -> str:
    """The registry name of a connection actor: ``pywatt.channels.tcp.0``."""
    return f"{CHANNELS}.{config.label}.{index}"


def channels_supervisor_spec(
    configs: list[ChannelConfig],
    directory: ChannelDirectory | None = None,
    *,
    preferences: ChannelPreferences | None = None,
    opener: Opener | None = None,
    shutdown: float = 5.0,
    services: frozenset[str] | None = None,
    subscriptions: Mapping[type[Any], str] | None = None,
    stream_sink: StreamSink | None = None,
    reply_sink: ReplySink | None = None,
    lines: LineSettings | None = None,
) -> SupervisorSpec:
    """``pywatt.channels``: one supervisor per connection (``pool_size`` per channel), then
    the channels actor that owns the directory.

    ``services``: names of this module's services that take inbound messages (default:
    router, discovery, registrar; see ``service_subscriptions``); ``subscriptions`` adds more
    (inbound type -> actor name, e.g. ``Shutdown`` and ``ChannelFailed`` to the module's
    lifecycle actor); ``http_request`` goes to ``pywatt.http`` unless they say otherwise.
    ``stream_sink`` takes stream frames as they are read, instead of their subscriber
    (the router's stream table, kept with its name); ``reply_sink`` likewise takes replies to
    this module's requests (the router's ``DirectReplies``). ``preferences`` picks the connection
    for a frame. ``opener`` replaces
    the socket opener (tests). ``directory``: the channels actor's record, made here when
    None; pass one only to look at it from a test or a benchmark.
    """
    directory = directory if directory is not None else ChannelDirectory()
    if preferences is not None:
        directory.preferences = preferences
    wanted = services if services is not None else frozenset({ROUTER, DISCOVERY, REGISTRAR})
    table = Subscriptions(
        {**HTTP_SUBSCRIPTION, **service_subscriptions(wanted), **(subscriptions or {})}
    )
    children: list[ChildSpec | SupervisorSpec] = []
    if lines is not None:
        table.add((LineGrant, LineRefused, LineExpect), LINES_ACTOR)
        book = LineBook()  # kept with the name, across restarts
        directory.fenced = book.open_gate  # the router's fences, whatever the incarnation

        def lines_actor(settings: LineSettings = lines) -> LinesActor:
            return LinesActor(settings, directory, book, table, reply_sink)

        children.append(ChildSpec(LINES_ACTOR, lines_actor, shutdown=shutdown))
    watched: list[Connection] = []
    for config in configs:
        supervision = config.policy.supervision(config.connect_timeout)
        for index in range(config.pool_size):
            name = connection_name(config, index)
            state = ChannelState(name, config.kind, config.address, index, config.max_frame_size)
            directory.add(state)

            def connection(
                config: ChannelConfig = config, state: ChannelState = state
            ) -> ChannelConnection:
                return ChannelConnection(
                    config,
                    state,
                    directory,
                    subscriptions=table,
                    opener=opener,
                    stream_sink=stream_sink,
                    reply_sink=reply_sink,
                )

            supervisor = f"{name}.supervisor"
            watched.append(Connection(config, state, supervisor))
            children.append(
                SupervisorSpec(
                    supervisor,
                    [ChildSpec(name, connection, shutdown=shutdown)],
                    strategy=Strategy.ONE_FOR_ONE,
                    max_restarts=supervision.max_restarts,
                    within=supervision.within,
                    backoff=supervision.backoff,
                    restart=Restart.TEMPORARY,
                    shutdown=shutdown + 2.0,
                )
            )
    # Last: it monitors the connection supervisors, which are running by then.
    children.append(
        ChildSpec(
            CHANNELS_ACTOR,
            lambda: ChannelsActor(directory, table, watched),
            shutdown=shutdown,
        )
    )
    return SupervisorSpec(
        CHANNELS,
        children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=None,
        shutdown=shutdown * 2 + 2.0,
    )

"""The channels' part of the module's supervision tree (docs/architecture.md, "The shape").

``pywatt.channels`` (one_for_one) holds one supervisor per connection; each holds a *watch*
and the connection actor. The connection supervisor's restart delay and limit are the
channel's reconnect policy. It is ``temporary`` under ``pywatt.channels``: when a policy gives
up, that connection stops alone and its siblings and the services never restart. The watch
outlives every restart of its connection and ends only with its supervisor; when that
happens while the module is not shutting down, the policy gave up: the watch marks the
connection failed, logs why, and for a ``required`` channel takes the module down with
:class:`ChannelGaveUp`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import attrs

from actors import Actor, ChildSpec, Restart, Strategy, SupervisorSpec

from ._config import ChannelConfig
from ._connection import DISCOVERY, REGISTRAR, ROUTER, ChannelConnection, Opener
from ._directory import ChannelDirectory, ChannelState, ConnectionStatus
from ._errors import ChannelGaveUp

__all__ = ["CHANNELS", "channels_supervisor_spec", "connection_name"]

log = logging.getLogger("pywatt.channels")

CHANNELS = "pywatt.channels"


def connection_name(config: ChannelConfig, index: int) -> str:
    """The registry name of a connection actor: ``pywatt.channels.tcp.0``."""
    return f"{CHANNELS}.{config.label}.{index}"


@attrs.frozen
class _Never:
    """The watch accepts no messages; this type is never sent."""


class ConnectionWatch(Actor[_Never]):
    """Reports a connection's reconnect policy giving up (see the module docstring)."""

    def __init__(
        self,
        config: ChannelConfig,
        state: ChannelState,
        directory: ChannelDirectory,
        on_fatal: Callable[[BaseException], None] | None,
    ) -> None:
        self.config = config
        self.state = state
        self.directory = directory
        self.on_fatal = on_fatal

    async def receive(self, message: _Never) -> None:
        return None

    async def on_stop(self) -> None:
        if self.directory.closing or self.state.status is ConnectionStatus.CLOSED:
            return
        state = self.state
        last = state.last_error or "unknown error"
        state.set_status(ConnectionStatus.FAILED)
        self.directory.notify()
        error = ChannelGaveUp(state.name, state.address, state.consecutive_failures, last)
        if self.config.required:
            log.error("%s; the module goes down", error)
            if self.on_fatal is not None:
                self.on_fatal(error)
        else:
            log.error(
                "channel %s (%s) gave up after %d failed attempt(s): %s; it is not required, "
                "the module goes on without it",
                state.name,
                state.address,
                state.consecutive_failures,
                last,
            )


def channels_supervisor_spec(
    configs: list[ChannelConfig],
    directory: ChannelDirectory,
    *,
    on_shutdown: Callable[[str], None] | None = None,
    on_fatal: Callable[[BaseException], None] | None = None,
    opener: Opener | None = None,
    shutdown: float = 5.0,
    services: frozenset[str] | None = None,
) -> SupervisorSpec:
    """``pywatt.channels`` with one supervisor per connection (``pool_size`` per channel).

    ``on_shutdown(reason)``: the orchestrator sent ``shutdown`` on a channel.
    ``on_fatal(error)``: a required channel gave up. ``opener`` replaces the socket opener
    (tests). ``services``: names of the actors inbound messages go to that this module runs
    (default: router, discovery, registrar). Registers a :class:`ChannelState` per
    connection in ``directory``.
    """
    wanted = services if services is not None else frozenset({ROUTER, DISCOVERY, REGISTRAR})
    children: list[ChildSpec | SupervisorSpec] = []
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
                    on_shutdown=on_shutdown,
                    opener=opener,
                    services=wanted,
                )

            def watch(
                config: ChannelConfig = config, state: ChannelState = state
            ) -> ConnectionWatch:
                return ConnectionWatch(config, state, directory, on_fatal)

            children.append(
                SupervisorSpec(
                    f"{name}.supervisor",
                    [
                        ChildSpec(f"{name}.watch", watch, shutdown=1.0),
                        ChildSpec(name, connection, shutdown=shutdown),
                    ],
                    strategy=Strategy.ONE_FOR_ONE,
                    max_restarts=supervision.max_restarts,
                    within=supervision.within,
                    backoff=supervision.backoff,
                    restart=Restart.TEMPORARY,
                    shutdown=shutdown + 2.0,
                )
            )
    return SupervisorSpec(
        CHANNELS,
        children,
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=None,
        shutdown=shutdown * 2 + 2.0,
    )

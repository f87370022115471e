"""The module's channels, router, discovery and registrar, built from its configuration.

``build_tree`` calls :func:`communication_specs` for its ``pywatt.channels`` supervisor,
its ``pywatt.registrar`` child and the router and discovery children of
``pywatt.services``. The channels actor owns the channel directory; the module's
:class:`ModuleRuntime` only has a read-only :class:`~pywatt.channels.ChannelView` of it (for
``state.available_channels()`` and the metrics) and the channel configurations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import attrs

from actors import ChildSpec, SupervisorSpec
from pywatt._extras import require
from pywatt._version import __version__
from pywatt.channels import (
    ChannelConfig,
    ChannelDirectory,
    ChannelFailed,
    ChannelView,
    channel_configs,
    channels_supervisor_spec,
    declare_lines,
    line_settings,
    preferences_from_dict,
)
from pywatt.discovery import DISCOVERY, DISCOVERY_PROTOCOL, OrchestratorDiscovery, Subscribers
from pywatt.registrar import build_capabilities, registrar_spec
from pywatt.router import ROUTER, DirectReplies, DirectRequests, StreamTable, router_spec
from pywatt.wire import (
    ENV_CANCELS,
    ENV_LINES,
    InitBlob,
    ModuleInfo,
    OrchestratorDeclaration,
    Shutdown,
)

from ._config import ModuleConfig
from ._settings import (
    RedisDiscoverySettings,
    discovery_settings,
    messaging_settings,
    registration_settings,
)
from ._switches import env_switch

__all__ = ["ModuleRuntime", "communication_specs", "module_info", "wait_channels"]

log = logging.getLogger("pywatt.module")


@attrs.frozen
class ModuleRuntime:
    """What the module's state reads about its channels (never writes), and the router's
    hook through which its requests go out in the asker's own task."""

    channels: ChannelView
    configs: tuple[ChannelConfig, ...] = ()
    requests: DirectRequests | None = None


def communication_specs(
    config: ModuleConfig, init: InitBlob, *, lifecycle: str | None = None
) -> tuple[SupervisorSpec, ChildSpec, list[ChildSpec], ModuleRuntime]:
    """The channels supervisor, the registrar child, the services' router/discovery, and
    the module's read-only view of its channels. ``lifecycle``: the actor that hears the
    orchestrator's ``shutdown`` on a channel and a channel that gave up.

    Raises :class:`~pywatt.channels.ChannelConfigError` for a bad channel configuration and
    ``ConfigError`` for a bad ``messaging_config``.
    """
    grace = config.shutdown_grace
    directory = ChannelDirectory(preferences_from_dict(config.channel_preferences))
    configs = channel_configs(
        init,
        enable_tcp=config.enable_tcp,
        enable_ipc=config.enable_ipc,
        tcp_config=config.tcp_config,
        ipc_config=config.ipc_config,
        version=__version__,
    )
    # Direct lines to other pywatt modules, when the orchestrator offers them and the module
    # does not say no (PYWATT_DIRECT_LINES=0): its declaration names its line socket.
    lines = (
        line_settings(
            configs,
            # (lines are Unix sockets: a module told not to use them opens none)
            offered=init.env.get(ENV_LINES) == "1"
            and directory.preferences.use_ipc
            and wants_lines(),
            module_id=init.module_id,
        )
        if config.enable_internal_messaging
        else None
    )
    if lines is not None:
        configs = declare_lines(configs, lines)
    services_run = {"pywatt.registrar"}
    messaging = messaging_settings(config.messaging_config)
    # The router's stream table, kept with its name: the connections hand it stream frames
    # as they read them (no message to the router per chunk).
    streams = (
        StreamTable(idle_timeout=messaging.stream_idle_timeout)
        if config.enable_internal_messaging
        else None
    )
    # Likewise the router's reply handler: the connections answer askers as they read.
    replies = DirectReplies() if config.enable_internal_messaging else None
    # And its request sending: askers send in their own task.
    requests = DirectRequests() if config.enable_internal_messaging else None
    if config.enable_internal_messaging:
        services_run.add(ROUTER)
    if config.enable_service_discovery:
        services_run.add(DISCOVERY)
    channels = channels_supervisor_spec(
        configs,
        directory,  # the channels actor's own: nothing else here keeps it
        shutdown=grace,
        services=frozenset(services_run),
        subscriptions={Shutdown: lifecycle, ChannelFailed: lifecycle} if lifecycle else None,
        stream_sink=streams.on_frame if streams is not None else None,
        reply_sink=replies.on_reply if replies is not None else None,
        lines=lines,
    )
    runtime = ModuleRuntime(ChannelView(directory), tuple(configs), requests)
    registration = registration_settings(config.registration_config)
    discovery = discovery_settings(config.service_discovery_config)
    # One memory for the name: a restarted registrar goes on with the same registration.
    registrar = registrar_spec(heartbeat_interval=registration.heartbeat_interval, shutdown=grace)
    services: list[ChildSpec] = []
    if config.enable_internal_messaging:
        # One endpoint table for the name: a restarted router serves what state.serve() set.
        router = router_spec(
            init.module_id,
            default_timeout=messaging.default_timeout,
            max_in_flight=messaging.max_in_flight,
            stream_idle_timeout=messaging.stream_idle_timeout,
            shutdown=grace,
            # A restarted module's channel is up before main has served anything: hold
            # requests for its endpoints until main is done (_run.py says when).
            hold_until_ready=True,
            # The orchestrator forwards a caller's cancel to the callee (extensions §11).
            cancels=init.env.get(ENV_CANCELS) == "1",
            streams=streams,
            direct_replies=replies,
            direct_requests=requests,
        )
        services.append(router)
    if config.enable_service_discovery:
        factory: Callable[[], Any]
        subscribers = Subscribers()  # kept with the name, across restarts
        if isinstance(discovery, RedisDiscoverySettings):
            require("redis", "service_discovery_config backend 'redis'")
            from pywatt.discovery import RedisDiscovery

            redis = discovery
            options: dict[str, Any] = {"registered": {}}  # kept with the name, across restarts
            if redis.ttl is not None:
                options["ttl"] = redis.ttl
            factory = lambda: RedisDiscovery(  # noqa: E731
                redis.url, init.module_id, prefix=redis.prefix, subscribers=subscribers, **options
            )
        else:
            declared = OrchestratorDeclaration.from_env(init.env) is not None
            factory = lambda: OrchestratorDiscovery(  # noqa: E731
                pywatt_orchestrator=declared, subscribers=subscribers
            )
        services.append(ChildSpec(DISCOVERY, factory, protocol=DISCOVERY_PROTOCOL, shutdown=grace))
    return channels, registrar, services, runtime


DIRECT_LINES = "PYWATT_DIRECT_LINES"


def wants_lines() -> bool:
    """Whether ``PYWATT_DIRECT_LINES`` lets the module talk to other modules over direct
    lines (yes unless it says no). Raises ``ConfigError`` for a value that is neither."""
    return env_switch(
        DIRECT_LINES,
        off="to send every request through the orchestrator",
        on="to talk to other pywatt modules over direct lines",
    )


def module_info(config: ModuleConfig, init: InitBlob) -> ModuleInfo:
    """The ``ModuleInfo`` a module registers with (``registration_config`` may name it)."""
    registration = registration_settings(config.registration_config)
    metadata = registration.metadata
    return ModuleInfo(
        name=registration.name or init.module_id,
        version=registration.version or config.version or "0.0.0",
        description=registration.description or f"pywatt module {init.module_id}",
        metadata={str(k): str(v) for k, v in metadata.items()} if metadata else None,
    )


def capabilities(config: ModuleConfig, message_types: list[str]) -> Any:
    """The module's registration capabilities (endpoints, message types, capability flags)."""
    return build_capabilities(config.announced(), config.service_capabilities, message_types)


async def wait_channels(runtime: ModuleRuntime, seconds: float) -> None:
    """Wait up to ``seconds`` for every connection's first attempt to settle (connected or
    failed), so that ``main`` starts with the channels it can have."""
    await runtime.channels.wait_settled(seconds)

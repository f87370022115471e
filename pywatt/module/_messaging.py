"""The module's channels, router, discovery and registrar, built from its configuration.

``build_tree`` calls :func:`communication_specs` for its ``pywatt.channels`` supervisor,
its ``pywatt.registrar`` child and the router and discovery children of
``pywatt.services``. A :class:`ModuleRuntime` carries what they share with ``serve_module``:
the channel directory and the way a required channel that gave up takes the module down.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any

import attrs
import trio

from actors import ChildSpec, SupervisorSpec
from pywatt._errors import ConfigError
from pywatt._extras import require
from pywatt._version import __version__
from pywatt.channels import (
    ChannelConfigError,
    ChannelDirectory,
    ConnectionStatus,
    channel_configs,
    channels_supervisor_spec,
    preferences_from_dict,
)
from pywatt.discovery import DISCOVERY, DISCOVERY_PROTOCOL, OrchestratorDiscovery, Subscribers
from pywatt.registrar import build_capabilities, registrar_spec
from pywatt.router import ROUTER, router_spec
from pywatt.wire import InitBlob, ModuleInfo, OrchestratorDeclaration

from ._config import ModuleConfig

__all__ = ["ModuleRuntime", "communication_specs", "module_info", "wait_channels"]

log = logging.getLogger("pywatt.module")


@attrs.define
class ModuleRuntime:
    """What the tree and ``serve_module`` share about channels."""

    on_shutdown: Callable[[str], None]
    failures: list[BaseException] = attrs.Factory(list)
    directory: ChannelDirectory = attrs.Factory(ChannelDirectory)

    def fatal(self, error: BaseException) -> None:
        """A required channel gave up: the module goes down with ``error``."""
        self.failures.append(error)
        self.on_shutdown(str(error))


def communication_specs(
    config: ModuleConfig, init: InitBlob, runtime: ModuleRuntime
) -> tuple[SupervisorSpec, ChildSpec, list[ChildSpec]]:
    """The channels supervisor, the registrar child and the services' router/discovery.

    Raises :class:`~pywatt.channels.ChannelConfigError` for a bad channel configuration and
    ``ConfigError`` for a bad ``messaging_config``.
    """
    grace = config.shutdown_grace
    runtime.directory.preferences = preferences_from_dict(config.channel_preferences)
    configs = channel_configs(
        init,
        enable_tcp=config.enable_tcp,
        enable_ipc=config.enable_ipc,
        tcp_config=config.tcp_config,
        ipc_config=config.ipc_config,
        version=__version__,
    )
    services_run = {"pywatt.registrar"}
    if config.enable_internal_messaging:
        services_run.add(ROUTER)
    if config.enable_service_discovery:
        services_run.add(DISCOVERY)
    channels = channels_supervisor_spec(
        configs,
        runtime.directory,
        on_shutdown=runtime.on_shutdown,
        on_fatal=runtime.fatal,
        shutdown=grace,
        services=frozenset(services_run),
    )
    registration = dict(config.registration_config or {})
    interval = float(registration.get("heartbeat_interval", 30.0))
    directory = runtime.directory
    # One memory for the name: a restarted registrar goes on with the same registration.
    registrar = registrar_spec(directory, heartbeat_interval=interval, shutdown=grace)
    services: list[ChildSpec] = []
    if config.enable_internal_messaging:
        messaging = dict(config.messaging_config or {})
        try:
            timeout = float(messaging.get("default_timeout", 30.0))
            in_flight = int(messaging.get("max_in_flight", 1024))
            # One endpoint table for the name: a restarted router serves what state.serve() set.
            router = router_spec(
                init.module_id,
                directory,
                default_timeout=timeout,
                max_in_flight=in_flight,
                shutdown=grace,
                # A restarted module's channel is up before main has served anything: hold
                # requests for its endpoints until main is done (_run.py says when).
                hold_until_ready=True,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"messaging_config: {exc}") from None
        services.append(router)
    if config.enable_service_discovery:
        discovery = dict(config.service_discovery_config or {})
        backend = discovery.get("backend", "orchestrator")
        factory: Callable[[], Any]
        subscribers = Subscribers()  # kept with the name, across restarts
        if backend == "orchestrator":
            declared = OrchestratorDeclaration.from_env(init.env) is not None
            factory = lambda: OrchestratorDiscovery(  # noqa: E731
                directory, pywatt_orchestrator=declared, subscribers=subscribers
            )
        elif backend == "redis":
            url = discovery.get("url")
            if not isinstance(url, str):
                raise ChannelConfigError("service_discovery_config: the redis backend needs 'url'")
            prefix = str(discovery.get("prefix", "pywatt:discovery"))
            require("redis", "service_discovery_config backend 'redis'")
            from pywatt.discovery import RedisDiscovery

            options: dict[str, Any] = {"registered": {}}  # kept with the name, across restarts
            if "ttl" in discovery:
                ttl = float(discovery["ttl"])
                if not (math.isfinite(ttl) and ttl > 0):
                    raise ChannelConfigError(
                        f"service_discovery_config: ttl must be a positive number, not {ttl}"
                    )
                options["ttl"] = ttl
            factory = lambda: RedisDiscovery(  # noqa: E731
                url, init.module_id, prefix=prefix, subscribers=subscribers, **options
            )
        else:
            raise ChannelConfigError(
                f"service_discovery_config: backend must be 'orchestrator' or 'redis', "
                f"not {backend!r}"
            )
        services.append(ChildSpec(DISCOVERY, factory, protocol=DISCOVERY_PROTOCOL, shutdown=grace))
    return channels, registrar, services


def module_info(config: ModuleConfig, init: InitBlob) -> ModuleInfo:
    """The ``ModuleInfo`` a module registers with (``registration_config`` may name it)."""
    registration = dict(config.registration_config or {})
    metadata = registration.get("metadata")
    return ModuleInfo(
        name=str(registration.get("name", init.module_id)),
        version=str(registration.get("version", config.version or "0.0.0")),
        description=str(registration.get("description", f"pywatt module {init.module_id}")),
        metadata={str(k): str(v) for k, v in metadata.items()} if metadata else None,
    )


def capabilities(config: ModuleConfig, message_types: list[str]) -> Any:
    """The module's registration capabilities (endpoints, message types, capability flags)."""
    return build_capabilities(config.announced(), config.service_capabilities, message_types)


async def wait_channels(directory: ChannelDirectory, seconds: float) -> None:
    """Wait up to ``seconds`` for every connection's first attempt to settle (connected or
    failed), so that ``main`` starts with the channels it can have."""
    with trio.move_on_after(seconds):
        while any(s.status is ConnectionStatus.CONNECTING for s in directory.states.values()):
            await directory.wait_changed()

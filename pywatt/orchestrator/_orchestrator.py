"""The embedded orchestrator: the public Python API (:func:`open_orchestrator`).

It is itself an actor system: a secret store actor, a port registry actor, and per module a
supervisor (its restart policy) over a module-process actor (see ``processes._supervision``). This
module wires them together and offers the facade users, tests and the CLI hold::

    async with open_orchestrator(manifest) as orch:
        greeter = orch.module("greeter")
        announce = await greeter.wait_announced()
        result = await orch.rotate("API_KEY", "new-value")   # returns once holders acked
        await orch.stop_module("greeter")

Leaving the block stops every module (shutdown line, grace, SIGTERM, grace, SIGKILL) in
reverse start order, then the store and the registry. A module whose manifest entry
``depends_on`` others is started by the ``pywatt.starter`` actor once they have announced.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Final

import trio

from actors import (
    Actor,
    ActorError,
    ActorSystem,
    Crashed,
    Event,
    EventSubscription,
    NoSuchActor,
    Restarted,
    StartFailed,
    TreeNode,
    open_actor_system,
)
from pywatt._extras import have
from pywatt._version import __version__
from pywatt.observe import SecretsRotated
from pywatt.tracing import SpanBuffer
from pywatt.wire import (
    ENV_CANCELS,
    ENV_EVENTS,
    ENV_LINES,
    ENV_SPANS,
    OrchestratorDeclaration,
    ServiceProviderInfo,
)

from ._errors import ModuleExited, ModuleNotRunning, NoSuchModule
from ._socket_dir import make_socket_dir
from .config import GATEWAY_NAME, Manifest, process_name, supervisor_name
from .console import Console, ConsoleLine, Verbosity
from .dashboard import (
    COLLECTOR,
    TOKEN_ENV,
    Dashboard,
    DashboardSettings,
    EndpointLatency,
    TraceCollector,
    TraceRing,
    span_intake,
    start_dashboard,
)
from .gateway import Gateway, Transport
from .hub import (
    HUB_NAME,
    CallModule,
    ChannelSettings,
    ConnectionInfo,
    GetConnections,
    GetHubStatistics,
    GetProviders,
    GetRegistration,
    HubState,
    HubStatistics,
    KillHub,
    KillListener,
    ModuleEndpoints,
    RegistrationRecord,
    exposure_lines,
    hub_spec,
    listener_name,
    listeners_spec,
    module_endpoints,
    server_context,
)
from .processes import (
    PORTS_NAME,
    WATCHER_NAME,
    GetModuleTree,
    ModuleHandle,
    ModuleState,
    ModuleStatus,
    NotifyRotated,
    PortRegistry,
    ProcessSettings,
    ReleasePorts,
    SupervisionWatcher,
    TreeUnavailable,
    WatchModule,
    api_url,
    format_address,
    module_supervisor_spec,
    reserve_api_socket,
    state_reporter,
)
from .secrets import (
    STORE_NAME,
    ReloadSecretsFile,
    RotateSecrets,
    Rotation,
    RotationResult,
    SecretStore,
    load_env_file,
)

__all__ = ["Orchestrator", "open_orchestrator"]

STARTER_NAME = "pywatt.starter"


class _Starter(Actor[None]):
    """Starts each module that ``depends_on`` others once every one of them has announced
    (one task per such module); a module whose dependency ends without announcing is marked
    failed, saying which. Stopped first on shutdown, so it never starts a module then."""

    def __init__(
        self,
        handles: Mapping[str, ModuleHandle],
        start: Callable[[ModuleHandle], Awaitable[None]],
        console: Console,
    ) -> None:
        self.handles = handles
        self.start = start
        self.console = console

    async def on_start(self) -> None:
        for handle in self.handles.values():
            if handle.spec.depends_on:
                self.ctx.start_task(self._start_after, handle)

    async def receive(self, message: None) -> None:
        return None

    async def _start_after(self, handle: ModuleHandle) -> None:
        names = handle.spec.depends_on
        self.console.info(f"{handle.id} waits for {', '.join(names)} to announce", handle.id)
        for name in names:
            dependency = self.handles[name]
            try:
                await dependency.wait_announced()
            except ModuleNotRunning:
                if not handle.stop_requested:
                    self.console.error(
                        f"{handle.id} not started: module {name!r}, which it depends on, is "
                        f"{dependency.state.value}",
                        handle.id,
                    )
                    handle._set(state=ModuleState.FAILED, pid=None)
                return
        if not handle.stop_requested:
            await self.start(handle)


class Orchestrator:
    """A running embedded orchestrator. Obtain it from :func:`open_orchestrator`."""

    def __init__(
        self,
        system: ActorSystem,
        manifest: Manifest,
        handles: dict[str, ModuleHandle],
        console: Console,
        orchestrator_api: str,
        endpoints: dict[str, ModuleEndpoints] | None = None,
    ) -> None:
        self.manifest = manifest
        self._endpoints = endpoints or {}
        self.console = console
        self.orchestrator_api = orchestrator_api
        """The ``orchestrator_api`` URL given to modules; the HTTP gateway serves there."""
        self._system = system
        self._handles = handles
        self._by_process = {process_name(h.id): h for h in handles.values()}
        self._changed = trio.Event()
        self._shutdown = trio.Event()
        self.shutdown_reason: str | None = None
        """Why :meth:`request_shutdown` was called, if it was."""
        self.dashboard: Dashboard | None = None
        """The gateway's dashboard (``/_pywatt/``), None when it is off."""
        report_state = state_reporter(system.events)
        for handle in handles.values():
            handle._on_change = self._on_change
            handle._on_state = report_state
        system.events.subscribe(self._on_event)

    # -- looking at modules ----------------------------------------------------------------

    @property
    def modules(self) -> list[ModuleHandle]:
        """Every module's handle, in start order."""
        return list(self._handles.values())

    def module(self, module_id: str) -> ModuleHandle:
        """The handle of module ``module_id``. Raises :class:`NoSuchModule`."""
        try:
            return self._handles[module_id]
        except KeyError:
            raise NoSuchModule(module_id, list(self._handles)) from None

    def stderr_lines(self, module_id: str) -> list[str]:
        """The module's captured stderr lines (redacted), across restarts. Does not block."""
        return list(self.module(module_id).stderr)

    def status(self) -> list[ModuleStatus]:
        """A snapshot of every module, in start order. Does not block."""
        return [handle.status() for handle in self._handles.values()]

    async def wait_all_ended(self) -> None:
        """Block until every module is in a final state (stopped, exited, gave up, failed)."""
        while not all(h.state.final for h in self._handles.values()):
            await self._changed.wait()

    # -- trees and events (docs/observability.md) ------------------------------------------

    async def tree(self, module_id: str) -> TreeNode:
        """Module ``module_id``'s live supervision tree, asked of the module over its stdio.

        Blocks until it answers (at most 5 s). Raises :class:`NoSuchModule`, and
        :class:`TreeUnavailable` for a foreign module (``not supported by this module``), one
        that is not running, or one that did not answer in time.
        """
        handle = self.module(module_id)
        try:
            tree: TreeNode = await self._system.ask(process_name(module_id), GetModuleTree())
        except (NoSuchActor, ActorError) as exc:
            if isinstance(exc, TreeUnavailable):
                raise
            raise TreeUnavailable(module_id, f"not running ({handle.state.value})") from None
        return tree

    def own_tree(self) -> TreeNode:
        """The orchestrator's own supervision tree (hub, listeners, store, modules' process
        actors, ...). Does not block."""
        return self._system.tree()

    def events(self, *, buffer: int = 256) -> EventSubscription:
        """A bounded stream of the orchestrator's events, to enter with ``async with``: its
        actors' lifecycle, module state changes, rotations, channel changes, and every event
        the modules forward (as ``ModuleEvent``). A reader that falls ``buffer`` events
        behind loses the oldest (counted in ``dropped``); it never slows anything down."""
        return self._system.events.subscribe(buffer=buffer)

    # -- channels, routing, discovery -----------------------------------------------------

    def endpoints(self, module_id: str) -> ModuleEndpoints:
        """Module ``module_id``'s own TCP port, socket path and auth token. Raises
        :class:`NoSuchModule`."""
        self.module(module_id)
        return self._endpoints[module_id]

    async def channels(self, module_id: str) -> list[ConnectionInfo]:
        """The module's open channel connections (frames, heartbeat latency)."""
        self.module(module_id)
        return await self._system.ask(HUB_NAME, GetConnections(module_id))

    async def wait_channels(self, module_id: str, count: int = 1) -> list[ConnectionInfo]:
        """Block until the module has at least ``count`` open connections; return them.
        Deadlines are the caller's."""
        while True:
            found = await self.channels(module_id)
            if len(found) >= count:
                return found
            await trio.sleep(0.02)

    async def providers(self) -> list[ServiceProviderInfo]:
        """Every registered service provider."""
        return await self._system.ask(HUB_NAME, GetProviders())

    async def registration(self, module_id: str) -> RegistrationRecord | None:
        """The module's registration (§10): record, capabilities, last reported health."""
        return await self._system.ask(HUB_NAME, GetRegistration(module_id))

    async def routing_statistics(self) -> HubStatistics:
        """Counters of routed requests, replies, late replies and interrupted routes."""
        return await self._system.ask(HUB_NAME, GetHubStatistics())

    async def request(
        self, module_id: str, endpoint: str, payload: Any, *, response_type: Any = Any
    ) -> Any:
        """Ask ``endpoint`` of a module, as the orchestrator itself (source module id
        ``pywatt.orchestrator``); returns the reply. Blocks until it arrives; the deadline is
        the caller's. A payload over 1 MiB of JSON goes to a pywatt module in a stream (its
        value as MessagePack, paced by the module; one frame to any other module, and
        ``PayloadTooLarge`` over the frame limit). A reply over 1 MiB comes in a stream and
        is read whole; a handler that answers with a stream (``state.stream_reply``, an
        async generator) returns its :class:`~pywatt.router.RemoteInbound` to iterate
        (docs/streams.md). Raises
        :class:`ModuleCallFailed` with the remote error's type and message, or when the
        module has no open channel."""
        self.module(module_id)
        return await self._system.ask(
            HUB_NAME, CallModule(module_id, endpoint, payload, response_type)
        )

    async def kill_listener(self, module_id: str) -> None:
        """Crash the module's listener on purpose: every connection accepted there closes
        and the listener is started again on the same port and path (fault drills)."""
        self.module(module_id)
        await self._system.tell(listener_name(module_id), KillListener())

    async def kill_hub(self) -> None:
        """Crash the hub (routing, discovery, registration) on purpose; it is started again
        at once, however often (after 0.2 s at most when it crashes again and again), with what
        it was told (fault drills). Returns once the crash is queued, not once it happened."""
        await self._system.tell(HUB_NAME, KillHub())

    # -- secrets ---------------------------------------------------------------------------

    async def rotate(self, name: str, value: str) -> RotationResult:
        """Rotate one secret; see :meth:`rotate_secrets`."""
        return await self.rotate_secrets({name: value})

    async def rotate_secrets(self, values: Mapping[str, str]) -> RotationResult:
        """Rotate secrets in the order of docs/architecture.md, decision 10.

        The store takes the new values first; then every module that fetched one of the
        names gets ``rotated``; each refetches (served the new value) and acks, and the
        orchestrator writes a heartbeat line right after each ack. Returns once every
        notified module has acked or exited (``RotationResult.outcomes``); blocks until
        then, so set a deadline if a module might never ack.
        """
        if not values:
            raise ValueError("nothing to rotate")
        rotation: Rotation = await self._system.ask(STORE_NAME, RotateSecrets(dict(values)))
        return await self._carry_out(rotation)

    async def reload_secrets(self) -> RotationResult | None:
        """Re-read the secrets file and rotate every name whose value changed (what SIGHUP
        does). Returns None when nothing changed. Raises :class:`SecretsFileError`."""
        rotation: Rotation | None = await self._system.ask(STORE_NAME, ReloadSecretsFile())
        if rotation is None:
            self.console.info("secrets file re-read: nothing changed")
            return None
        return await self._carry_out(rotation)

    async def _carry_out(self, rotation: Rotation) -> RotationResult:
        keys = ", ".join(rotation.keys)
        holders = ", ".join(rotation.notify) or "no running module holds them"
        self.console.info(f"rotating {keys} ({rotation.rotation_id}); notifying: {holders}")
        for module_id, module_keys in rotation.notify.items():
            # If its process is gone, the store hears of it and marks it "exited".
            with contextlib.suppress(ActorError):
                await self._system.ask(
                    process_name(module_id), NotifyRotated(rotation.rotation_id, module_keys)
                )
        result = await rotation.wait()
        self._system.events.emit(
            SecretsRotated(
                tuple(rotation.keys),
                result.rotation_id,
                {m: o.status for m, o in result.outcomes.items()},
            )
        )
        if result.outcomes:
            summary = ", ".join(f"{m}: {o.status}" for m, o in result.outcomes.items())
            self.console.info(f"rotation {result.rotation_id} complete ({summary})")
        return result

    # -- stopping --------------------------------------------------------------------------

    async def stop_module(self, module_id: str) -> None:
        """Stop one module for good (shutdown line, grace, SIGTERM, grace, SIGKILL).

        Blocks until its process has ended. Raises :class:`NoSuchModule`.
        """
        handle = self.module(module_id)
        if handle.state.final:
            return
        handle.stop_requested = True
        self.console.info(f"stopping {module_id}")
        with contextlib.suppress(NoSuchActor):  # its supervisor may have given up already
            await self._system.stop(supervisor_name(module_id))
        if not handle.state.final:
            handle._set(state=ModuleState.STOPPED, pid=None)

    def request_shutdown(self, reason: str = "shutdown requested") -> None:
        """Ask whoever runs the orchestrator (the CLI) to shut it down, saying why (the first
        reason given is kept). Does not block."""
        if not self._shutdown.is_set():
            self.shutdown_reason = reason
        self._shutdown.set()

    @property
    def shutdown_requested(self) -> bool:
        return self._shutdown.is_set()

    async def wait_shutdown_requested(self) -> None:
        """Block until :meth:`request_shutdown` is called (``pywatt stop``)."""
        await self._shutdown.wait()

    async def _stop_all(self) -> None:
        with contextlib.suppress(NoSuchActor):  # start no module that waits for others
            await self._system.stop(STARTER_NAME)
        running = [h for h in self._handles.values() if not h.state.final]
        if running:
            self.console.info("shutting down: " + ", ".join(h.id for h in reversed(running)))
        for handle in self._handles.values():
            handle.stop_requested = True
        for handle in reversed(list(self._handles.values())):
            await self.stop_module(handle.id)

    # -- events from the runtime -----------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        handle = self._by_process.get(event.name) if isinstance(event, Restarted) else None
        if isinstance(event, Restarted) and handle is not None:
            handle.restarts += 1
            handle._set(state=ModuleState.RESTARTING)
            self.console.info(
                f"restarting {handle.id} in {event.delay:.2f} s (restart {handle.restarts})",
                handle.id,
            )
        elif isinstance(event, Crashed) and not isinstance(event.error, ModuleExited):
            self.console.error(f"internal error in actor {event.name}: {event.error!r}")

    def _on_change(self) -> None:
        self._changed.set()
        self._changed = trio.Event()


_TRANSPORT_TEXT: Final = {
    "auto": "HTTP/1.1 to pywatt modules, IPC to foreign ones",
    "ipc": "IPC to the modules",
    "http": "HTTP to the modules",
}


@asynccontextmanager
async def open_orchestrator(
    manifest: Manifest,
    *,
    on_output: Callable[[ConsoleLine], None] | None = None,
    verbosity: Verbosity = Verbosity.NORMAL,
    gateway_transport: Transport = "auto",
    gateway_socket: socket.socket | None = None,
    dashboard: DashboardSettings | None = None,
) -> AsyncIterator[Orchestrator]:
    """Start every module of ``manifest`` (in order) and yield the running orchestrator.

    ``on_output`` receives every console line that passes ``verbosity`` (default: printed
    to stdout). Returns once each module's process has been spawned (not announced: use
    ``orch.module(id).wait_announced()``), except a module that ``depends_on`` others: it is
    ``waiting`` until they have announced, then started. A module that cannot be started is
    reported and marked ``failed``; the others run. On exit, stops every module in reverse
    start order. The HTTP gateway on ``orchestrator_api`` routes requests for the modules'
    announced endpoints to them: ``gateway_transport="auto"`` (pywatt modules over pooled
    HTTP/1.1 connections to their listen address, foreign ones over IPC), ``"ipc"`` (every
    module over its stdio, the §9.2 wrapper) or ``"http"`` (streamed to the listen address),
    and serves the ``dashboard`` at ``/_pywatt/`` (default: on, its token from
    ``$PYWATT_DASHBOARD_TOKEN`` of the manifest's environment).

    Raises :class:`SecretsFileError` if the secrets file cannot be read.
    """
    console = Console(on_output, verbosity)
    environment = dict(manifest.environment if manifest.environment is not None else os.environ)
    file_values: dict[str, str] = {}
    try:
        if manifest.secrets_file is not None:
            file_values = await trio.to_thread.run_sync(
                load_env_file, manifest.secrets_file, environment
            )
        api_socket = gateway_socket or reserve_api_socket(
            manifest.gateway_host, manifest.gateway_port
        )
    except BaseException:
        if gateway_socket is not None:
            gateway_socket.close()
        raise
    socket_dir = make_socket_dir(spec.id for spec in manifest.modules)  # 0700: ours alone
    own_spans = SpanBuffer()  # the orchestrator's own spans, while tracing is on here
    try:
        api = api_url(api_socket)
        endpoints = {spec.id: module_endpoints(spec) for spec in manifest.modules}
        console.redact.register(*(ep.token for ep in endpoints.values()))
        declaration = OrchestratorDeclaration(
            version=__version__,
            heartbeat_interval=manifest.heartbeat_interval,
            formats=frozenset({"json", "msgpack"}),  # msgpack: streams (extensions §9.4)
        )
        board_settings = dashboard or DashboardSettings(token=environment.get(TOKEN_ENV) or None)
        traces = TraceRing(console.redact.redact)  # outlives every actor that adds to it
        asked = {
            ENV_EVENTS: "1",
            ENV_CANCELS: "1",
            ENV_LINES: "1",
            **({ENV_SPANS: "1"} if board_settings.enabled else {}),
        }
        settings = ProcessSettings(
            orchestrator_api=api,
            declaration_env={**declaration.to_env(), **asked},
            grace=manifest.grace,
            term_grace=manifest.term_grace,
            console=console,
            base_env=dict(os.environ),
            endpoints=endpoints,
            tls=manifest.tls,
            on_spans=span_intake(traces, console) if board_settings.enabled else None,
        )
        hub_state = HubState()
        channel_settings = ChannelSettings(
            heartbeat_interval=manifest.heartbeat_interval,
            socket_dir=socket_dir,
            console=console,
            server_ssl=server_context(manifest.tls) if manifest.tls is not None else None,
            relay=hub_state.streams,
            direct=hub_state.direct,
        )
        handles = {spec.id: ModuleHandle(spec) for spec in manifest.start_order()}
        for handle in handles.values():
            if handle.spec.depends_on:
                handle.state = ModuleState.WAITING
        async with open_actor_system() as system:
            orch = Orchestrator(system, manifest, handles, console, api, endpoints)
            ports: dict[str, int] = {}
            # Every incarnation of the hub gets the same state: what listeners and modules
            # told it survives a crash of it (see _hub_state).
            await system.start_supervisor(hub_spec(console, hub_state, ports, handles))
            await system.start_supervisor(listeners_spec(endpoints, channel_settings))
            for module_id, text, loud in exposure_lines(manifest.modules, endpoints):
                (console.warning if loud else console.info)(text, module_id)
            ports.update({m: e.tcp_port for m, e in endpoints.items() if e.tcp_port is not None})
            store = SecretStore(
                allowed={spec.id: spec.secrets for spec in manifest.modules},
                explicit=manifest.secrets,
                file_values=file_values,
                secrets_file=manifest.secrets_file,
                environment=environment,
            )
            # The factory hands back the same store, so its values survive a restart of it.
            await system.spawn(lambda: store, name=STORE_NAME)
            bound_host, bound_port = api_socket.getsockname()[:2]
            latency = EndpointLatency(lambda: orch.modules)  # outlives the gateway actor
            board = start_dashboard(
                orch, board_settings, latency, traces, bound_host, system.events.subscribe
            )
            orch.dashboard = board
            if board is not None and own_spans.attach():
                redact = console.redact.redact
                await system.spawn(
                    lambda: TraceCollector(own_spans, traces, redact), name=COLLECTOR
                )
            api_port = int(bound_port)
            reserved = {api_port: "the orchestrator API"}
            await system.spawn(lambda: PortRegistry(reserved), name=PORTS_NAME)
            watched: dict[str, str] = {}  # kept with the watcher's name
            await system.spawn(
                lambda: SupervisionWatcher(handles, console, watched), name=WATCHER_NAME
            )
            await system.spawn(
                lambda: Gateway(api_socket, lambda: orch.modules, process_name,
                                transport=gateway_transport, console=console,
                                dashboard=board, latency=latency),
                name=GATEWAY_NAME,
            )  # fmt: skip
            if have("http"):
                where = f"http://{format_address(bound_host, bound_port)}"
                if where != api:
                    where += f", reached by modules at {api}"
                how = _TRANSPORT_TEXT[gateway_transport]
                console.info(f"HTTP gateway on {where} ({how})")
                if board is not None:
                    console.info(
                        f"dashboard on {where.split(',')[0]}/_pywatt/"
                        + (" (token required)" if board.access.needs_token else "")
                    )
            else:
                console.info("HTTP gateway off: install 'pywatt[http]' to serve it")

            async def start(handle: ModuleHandle) -> None:
                try:
                    await system.start_supervisor(module_supervisor_spec(handle, settings))
                except StartFailed:
                    await system.tell(PORTS_NAME, ReleasePorts(handle.id))
                    handle._set(state=ModuleState.FAILED, pid=None)
                    return
                await system.tell(WATCHER_NAME, WatchModule(handle.id))

            try:
                for handle in handles.values():
                    if not handle.spec.depends_on:
                        await start(handle)
                if any(handle.spec.depends_on for handle in handles.values()):
                    await system.spawn(lambda: _Starter(handles, start, console), name=STARTER_NAME)
                yield orch
            finally:
                await orch._stop_all()
        console.info("all modules stopped")
    finally:
        api_socket.close()
        shutil.rmtree(socket_dir, ignore_errors=True)
        if own_spans.detach is not None:
            own_spans.detach()

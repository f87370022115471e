"""Running a module: read the InitBlob, build the supervision tree, serve until shutdown."""

from __future__ import annotations

import contextlib
import inspect
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import trio

import actors
from actors import AutoShutdown, ChildSpec, Restart, Strategy, SupervisorSpec
from pywatt._errors import ConfigError, PywattError
from pywatt._extras import have, require
from pywatt.backends import BackendUnreachable, check_backends
from pywatt.link import InitBlobError, StdioLink, link_subscriptions
from pywatt.logs import configure_logging, redactor
from pywatt.registrar import Announce, Register
from pywatt.router import ROUTER, EndpointsReady, GetRouterStatistics
from pywatt.secrets import (
    PROVIDER,
    SECRETS,
    EnvProvider,
    GetSecret,
    MemoryProvider,
    OrchestratorProvider,
    SecretError,
    SecretNotFound,
    SecretsActor,
    SecretsKept,
)
from pywatt.tracing import refresh as refresh_tracing
from pywatt.tracing import setup_tracing, shutdown_tracing
from pywatt.wire import EXIT_CANNOT_START, InitBlob, LineDecoder, SocketAddress

from ._config import ModuleConfig, secrets_from_env
from ._data import data_specs
from ._forward import forwarder_specs
from ._gc import freeze_startup_heap, wants_freeze
from ._http import builtin_endpoints, not_found_app
from ._init_wait import init_deadline, wait_init_blob
from ._lifecycle import LIFECYCLE, ModuleOutcome, ShutdownModule, lifecycle_spec
from ._messaging import (
    ModuleRuntime,
    capabilities,
    communication_specs,
    module_info,
    wait_channels,
)
from ._spans import SPANS, TapSpans, span_specs
from ._state import AppState

log = logging.getLogger("pywatt.module")

Main = Callable[[AppState[Any]], Awaitable[object]]

CHANNEL_WAIT = 5.0
"""Seconds to wait for the channels' first connection attempts before ``main`` runs."""

MAIN_SLOW = 10.0
"""A ``main`` that has not returned after this long gets a warning: the module cannot
announce until it returns."""


class _Standalone:
    """Returned by the process runner when no orchestrator is there."""


STANDALONE = _Standalone()


def build_tree(
    config: ModuleConfig,
    init: InitBlob,
    *,
    stdin: trio.abc.ReceiveStream,
    stdout: trio.abc.SendStream,
    decoder: LineDecoder,
    outcome: ModuleOutcome | None = None,
) -> tuple[SupervisorSpec, ModuleRuntime]:
    """The module's supervision tree (docs/architecture.md, "The shape"), rest_for_one:
    link, secret providers, secrets, channels, registrar, services (router, discovery and
    the module's own actors), and last the lifecycle actor, ``pywatt``'s significant child:
    when it stops, the module does (see ``_lifecycle``). ``outcome`` is where it records
    why. Returns the tree and the module's read-only view of its channels."""
    grace = config.shutdown_grace
    outcome = outcome if outcome is not None else ModuleOutcome()
    channels, registrar, communication, runtime = communication_specs(
        config, init, lifecycle=LIFECYCLE
    )
    secrets_kept = SecretsKept()  # what the secrets actor was told, kept with its name
    # Who gets what the orchestrator says on stdin, kept with the link's name (the channels
    # read a table of the same kind: communication_specs).
    stdin_table = actors.Subscriptions(link_subscriptions(lifecycle=LIFECYCLE))
    providers = [
        ChildSpec("pywatt.secrets.memory", MemoryProvider, protocol=PROVIDER, shutdown=grace),
        ChildSpec("pywatt.secrets.env", EnvProvider, protocol=PROVIDER, shutdown=grace),
        ChildSpec(
            "pywatt.secrets.orchestrator", OrchestratorProvider, protocol=PROVIDER, shutdown=grace
        ),
    ]
    providers += [
        ChildSpec(name, factory, protocol=PROVIDER, shutdown=grace)
        for name, factory in config.custom_providers()
    ]
    chain = config.provider_chain()
    return SupervisorSpec(
        "pywatt",
        [
            ChildSpec(
                "pywatt.link",
                lambda: StdioLink(
                    stdin=stdin,
                    stdout=stdout,
                    decoder=decoder,
                    module_id=init.module_id,
                    subscriptions=stdin_table,
                ),
                shutdown=grace,
            ),
            SupervisorSpec("pywatt.secrets.providers", providers, shutdown=grace),
            ChildSpec(
                "pywatt.secrets",
                lambda: SecretsActor(
                    chain,
                    ttl=config.secret_cache_ttl,
                    max_entries=config.secret_cache_size,
                    refetch_on_rotation=config.rotate,
                    kept=secrets_kept,
                ),
                protocol=SECRETS,
                shutdown=grace,
            ),
            channels,
            registrar,
            SupervisorSpec(
                "pywatt.services",
                [*communication, *data_specs(config, init)],
                strategy=Strategy.ONE_FOR_ONE,
                max_restarts=10,
                shutdown=grace,
            ),
            lifecycle_spec(
                outcome,
                init.module_id,
                unregister=config.enable_module_registration,
                shutdown=grace,
            ),
            *forwarder_specs(init, grace),  # last: their restarts restart nothing else
            *span_specs(init, grace),
        ],
        strategy=Strategy.REST_FOR_ONE,
        max_restarts=5,
        within=10.0,
        restart=Restart.TRANSIENT,
        significant=True,
        auto_shutdown=AutoShutdown.ANY_SIGNIFICANT,
        shutdown=grace * 6,
    ), runtime


async def serve_module(
    config: ModuleConfig,
    main: Main | None,
    *,
    init: InitBlob,
    stdin: trio.abc.ReceiveStream,
    stdout: trio.abc.SendStream,
    decoder: LineDecoder | None = None,
    handle_signals: bool = False,
) -> int:
    """Run one module until the orchestrator shuts it down; returns the exit status.

    Startup follows docs/protocol.md §3.3: fetch the configured secrets, build the user state, run
    ``main`` (setup), then announce. The module stops on a ``shutdown`` line, EOF on stdin, or
    (with ``handle_signals``) SIGTERM/SIGINT: the tree stops in reverse order, each actor
    within ``config.shutdown_grace``. Returns 0 after a clean shutdown and 1 after a failure,
    which is logged with its cause (never with a secret value).
    """
    redactor.register(*secrets_from_env(init.env).values())
    outcome = ModuleOutcome()
    try:
        setup_tracing(init.module_id, module_id=init.module_id)  # as OTEL_* say, if at all
        tree, runtime = build_tree(
            config,
            init,
            stdin=stdin,
            stdout=stdout,
            decoder=decoder or LineDecoder(first_line_max=None),
            outcome=outcome,
        )
    except PywattError as exc:
        log.error("module %s cannot start: %s", init.module_id, exc)
        return _failure_status(exc)
    # The module stops when its lifecycle actor does (a significant child all the way up):
    # the root then ends and the body below is cancelled.
    root = SupervisorSpec(
        "system", [tree], max_restarts=0, auto_shutdown=AutoShutdown.ANY_SIGNIFICANT
    )
    # The start-up task's own result: its failure counts even when something else (EOF on
    # stdin, say) stopped the module first and its ShutdownModule was not heard.
    startup_failure: BaseException | None = None

    async def start(system: actors.ActorSystem) -> None:
        nonlocal startup_failure
        startup_failure = await _start(system, config, init, main, runtime)

    try:
        async with actors.open_actor_system(root) as system, trio.open_nursery() as nursery:
            system.events.subscribe(_log_lifecycle)
            if handle_signals:
                nursery.start_soon(_watch_signals, system)
            nursery.start_soon(start, system)
            await trio.sleep_forever()
    except actors.RestartIntensityExceeded as exc:
        log.error("module %s failed: %s (cause: %s)", init.module_id, exc, exc.__cause__)
        return 1
    finally:
        shutdown_tracing()  # the spans still batched go out before the process ends
    failure = outcome.failure or startup_failure
    if failure is not None:
        return _failure_status(failure)
    log.info("module %s stopped cleanly", init.module_id)
    return 0


def _cannot_heal(error: BaseException) -> bool:
    """A start-up failure that restarting will not fix: bad configuration (a missing extra
    or a malformed database URL included), a secret the orchestrator does not have, or a
    required backend whose server refused it (credentials, an unknown database). A required
    server that is down is not one: it may come back, and the module with it."""
    if isinstance(error, BackendUnreachable):
        return not error.heals
    return isinstance(error, ConfigError | SecretNotFound)


def _failure_status(failure: BaseException) -> int:
    """``EXIT_CANNOT_START`` when the failure is one that restarting will not fix, so the
    orchestrator does not restart the module; 1 otherwise."""
    return EXIT_CANNOT_START if _cannot_heal(failure) else 1


async def _start(
    system: actors.ActorSystem,
    config: ModuleConfig,
    init: InitBlob,
    main: Main | None,
    runtime: ModuleRuntime,
) -> BaseException | None:
    """Start-up, in order (see :func:`serve_module`). A failure is logged, told to the
    lifecycle actor (the module stops) and returned."""
    try:
        freeze = wants_freeze()
        values: dict[str, str] = {}
        for name in config.secrets:  # in order, before announcing (docs/protocol.md §3.3 step 3)
            values[name] = (await system.ask("pywatt.secrets", GetSecret(name))).value
        # Each backend logs its first attempt; a required one that failed stops the start.
        await check_backends(system)
        user_state: Any = None
        if config.state_builder is not None:
            user_state = config.state_builder(init, values)
            if inspect.isawaitable(user_state):
                user_state = await user_state
        await wait_channels(runtime, CHANNEL_WAIT)
        state: AppState[Any] = AppState(system, init, user_state, config, runtime)
        app: object = None
        if main is not None:
            with trio.move_on_after(MAIN_SLOW) as slow:
                app = await main(state)
            if slow.cancelled_caught:
                log.warning(
                    "main did not return within %g s; it was cancelled. Put long-running "
                    "work in an actor (state.spawn) so the module can announce",
                    MAIN_SLOW,
                )
                raise TimeoutError(f"main did not return within {MAIN_SLOW:g} s")
            refresh_tracing()  # main may have set a tracer provider of its own
        if system.lookup(SPANS) is not None:  # the orchestrator's dashboard shows traces
            await system.tell(SPANS, TapSpans())
        if config.enable_internal_messaging:  # every endpoint main serves is registered
            await system.ask(ROUTER, EndpointsReady())
        endpoints = config.announced()
        if app is not None or isinstance(config.health, str) or config.metrics:
            # Serve before announcing: the orchestrator may route requests at once.
            require("http", "serving an app, /health or /metrics")
            from pywatt.http import HttpConfig, http_children  # hypercorn: only when serving

            http_config = HttpConfig.from_module_config(config)
            children = http_children(app or not_found_app, http_config, init, bind=config.bind_http)
            for child in children:
                await system.supervisor("pywatt.services").start_child(child)
            endpoints += builtin_endpoints(http_config, endpoints)
        if have("http") and system.lookup("pywatt.http") is not None:
            # It serves HTTP (here, or by serve_app in main): its /metrics shows these too.
            # Only then: prometheus_client costs ~70 ms of start-up to import.
            from ._metrics import watch_module

            watch_module(system, runtime.channels)
        await system.ask("pywatt.registrar", Announce(_listen_text(init), endpoints))
        log.info("module %s announced %d endpoint(s)", init.module_id, len(endpoints))
        if freeze:
            freeze_startup_heap()
        if config.enable_module_registration:
            await _register(system, config, init)
    except (SecretError, PywattError, TimeoutError, actors.ActorError) as exc:
        verb = "cannot start" if _cannot_heal(exc) else "failed to start"
        log.error("module %s %s: %s", init.module_id, verb, exc)
        system.tell_nowait(LIFECYCLE, ShutdownModule(f"startup failed: {exc}", exc))
        return exc
    except Exception as exc:
        log.exception("module %s: main raised", init.module_id)
        system.tell_nowait(LIFECYCLE, ShutdownModule(f"main raised {type(exc).__name__}", exc))
        return exc
    return None


async def _register(system: actors.ActorSystem, config: ModuleConfig, init: InitBlob) -> None:
    """Register with capabilities; a refusal is logged and the module runs on (registration
    is an optional component, docs/protocol.md §10)."""
    served: list[str] = []
    if config.enable_internal_messaging:
        with contextlib.suppress(actors.ActorError):
            served = list((await system.ask(ROUTER, GetRouterStatistics())).endpoints)
    try:
        registered = await system.ask(
            "pywatt.registrar", Register(module_info(config, init), capabilities(config, served))
        )
    except (PywattError, actors.ActorError) as exc:
        log.error("module %s could not register with the orchestrator: %s", init.module_id, exc)
        return
    log.info("module %s registered as %s", init.module_id, registered.id)


def _log_lifecycle(event: actors.Event) -> None:
    """Actor crashes and restarts go to the module's log (redacted like every line)."""
    match event:
        case actors.Crashed(name, incarnation, error):
            log.error(
                "actor %s (incarnation %d) crashed: %s: %s",
                name,
                incarnation,
                type(error).__name__,
                error,
                exc_info=error,
            )
        case actors.Restarted(name, incarnation, delay):
            log.info("restarting actor %s as incarnation %d in %.2f s", name, incarnation, delay)
        case _:
            log.debug("%s", event)


def _listen_text(init: InitBlob) -> str:
    """The announce's ``listen``: the InitBlob's value echoed, as the Rust SDK does (§16 A14)."""
    listen = init.listen
    return str(listen) if isinstance(listen, SocketAddress) else listen


async def _watch_signals(system: actors.ActorSystem) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for signum in signals:
            reason = f"received {signal.Signals(signum).name}"
            system.tell_nowait(LIFECYCLE, ShutdownModule(reason))


# -- the process entry ---------------------------------------------------------------------


def run_module(main: Main | None = None, **options: Any) -> int:
    """Run this process as a PyWatt module; returns the exit status (0 after a clean stop).

    Under an orchestrator, the InitBlob arrives on stdin. Run directly (stdin is a terminal,
    or nothing at all arrives on it within a few seconds), it starts the embedded orchestrator
    for this one module file instead, so ``python my_module.py`` just works. A partial,
    invalid or late InitBlob (see :mod:`._init_wait`) is one line on stderr and exit status 1.
    ``options`` are the seed's ``@pywatt_module`` keywords (see :class:`ModuleConfig`); an
    unknown or invalid one is one line on stderr (with a did-you-mean) and ``EXIT_CANNOT_START``:
    restarting cannot fix it.
    """
    try:
        config = ModuleConfig.from_kwargs(**options)
    except ConfigError as exc:
        print(f"pywatt: module {_file_stem()} cannot start: {exc}", file=sys.stderr)
        return EXIT_CANNOT_START
    result = trio.run(_serve_process, config, main)
    if isinstance(result, _Standalone):
        path = os.path.abspath(getattr(sys.modules["__main__"], "__file__", "") or sys.argv[0])
        print(
            f"pywatt: no orchestrator on stdin; starting the embedded orchestrator for {path}",
            file=sys.stderr,
        )
        _become_the_orchestrator(path)
    return result


def _become_the_orchestrator(path: str) -> NoReturn:
    """Replace this process with ``python -m pywatt run PATH ARGS...``: the embedded
    orchestrator, which then runs this file as its one module (id: the file stem).

    The module runtime sits below the orchestrator (docs/architecture.md, "Layers"): it
    hands the process over to the ``pywatt`` command instead of importing the orchestrator.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "pywatt", "run", path, *sys.argv[1:]])


def _file_stem() -> str:
    """The running file's name without ``.py`` (the module id ``pywatt run`` gives it)."""
    path = getattr(sys.modules["__main__"], "__file__", None) or sys.argv[0] or "module"
    return os.path.splitext(os.path.basename(path))[0]


async def _serve_process(config: ModuleConfig, main: Main | None) -> int | _Standalone:
    embedded = os.environ.get("PYWATT_EMBEDDED") == "1"
    if not embedded and (sys.stdin is None or sys.stdin.isatty()):
        return STANDALONE
    stdin = trio.lowlevel.FdStream(os.dup(0))
    try:
        deadline = init_deadline(os.environ)
        init, decoder = await wait_init_blob(stdin, embedded=embedded, deadline=deadline)
    except InitBlobError as exc:
        await stdin.aclose()
        print(f"pywatt: {exc}", file=sys.stderr)
        return 1
    if init is None:
        await stdin.aclose()
        return STANDALONE
    return await _serve_stdio(config, main, init, stdin, decoder)


async def _serve_stdio(
    config: ModuleConfig,
    main: Main | None,
    init: InitBlob,
    stdin: trio.lowlevel.FdStream,
    decoder: LineDecoder,
) -> int:
    # stdout belongs to the protocol: keep a private handle to it and point fd 1 at stderr,
    # so a stray print() cannot corrupt the protocol stream.
    stdout = trio.lowlevel.FdStream(os.dup(1))
    os.dup2(2, 1)
    configure_logging(config.log_level, module_id=init.module_id)
    async with stdin, stdout:
        return await serve_module(
            config, main, init=init, stdin=stdin, stdout=stdout, decoder=decoder,
            handle_signals=True,
        )  # fmt: skip

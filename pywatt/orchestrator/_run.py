"""``pywatt run``: the embedded orchestrator under trio, driven by the command line's
options (signals, control socket, ``--for``). Imported only when something is run."""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import attrs
import trio

from pywatt.tracing import TracingUnavailable, setup_tracing, shutdown_tracing

from ._console import Console, LogFormat, Verbosity, default_log_format, stream_sink
from ._control import DEFAULT_ROTATE_TIMEOUT, default_run_dir, prepare_control, serve_control
from ._errors import ControlError, ManifestError, OrchestratorError, SecretsFileError
from ._handle import ModuleHandle, ModuleState
from ._manifest import Manifest, load_manifest, module_from_file, parse_secret_assignment
from ._names import DEFAULT_MANIFEST
from ._orchestrator import Orchestrator, open_orchestrator
from ._ports import reserve_api_socket

__all__ = ["manifest_from_args", "run"]


def manifest_from_args(args: argparse.Namespace, files: Sequence[str] | None = None) -> Manifest:
    files = list(getattr(args, "files", []) if files is None else files)
    manifest_path = getattr(args, "manifest", None)
    if manifest_path is None and not files and os.path.exists(DEFAULT_MANIFEST):
        manifest_path = DEFAULT_MANIFEST
    if manifest_path is not None:
        manifest = load_manifest(manifest_path)
    elif files:
        manifest = Manifest(modules=())
    else:
        raise ManifestError(
            "pywatt run", f"nothing to run: give module files or a manifest ({DEFAULT_MANIFEST})"
        )
    manifest = manifest.with_modules([module_from_file(f) for f in files])
    if not manifest.modules:
        raise ManifestError("pywatt run", "no modules to run")
    secrets = dict(manifest.secrets)
    for text in args.secret:
        if "=" in text:
            name, value = parse_secret_assignment(text)
        else:
            name = text
            if name not in os.environ:
                raise ManifestError(
                    "--secret", f"{name} has no '=VALUE' and is not set in the environment"
                )
            name, value = parse_secret_assignment(f"{name}={os.environ[name]}")
        secrets[name] = value
    changes: dict[str, Any] = {"secrets": secrets}
    if args.secrets_file is not None:
        changes["secrets_file"] = os.path.abspath(args.secrets_file)
    if args.grace is not None:
        changes["grace"] = args.grace
    if getattr(args, "host", None) is not None:
        changes["gateway_host"] = args.host
    if getattr(args, "port", None) is not None:
        changes["gateway_port"] = args.port
    return attrs.evolve(manifest, **changes)


# --- pywatt run ----------------------------------------------------------------------------


def run(args: argparse.Namespace, manifest: Manifest) -> int:
    verbosity = (
        Verbosity.VERBOSE if args.verbose else Verbosity.QUIET if args.quiet else Verbosity.NORMAL
    )
    log_format: LogFormat = getattr(args, "log_format", None) or default_log_format()
    try:
        setup_tracing("pywatt-orchestrator")  # the gateway's spans, as OTEL_* say
    except TracingUnavailable as exc:
        print(f"pywatt: {exc}", file=sys.stderr)
        return 2
    try:
        code: int = trio.run(_run_async, args, manifest, verbosity, log_format)
    finally:
        shutdown_tracing()
    return code


class _RunState:
    def __init__(self) -> None:
        self.orch: Orchestrator | None = None
        self.signals = 0
        self.forced = False
        self.interrupted = False  # SIGINT: the exit status is 130, as for any program
        self.crashing: list[str] = []
        self.pending: str | None = None  # a shutdown asked for before the orchestrator was up
        self.console: Console | None = None


async def _run_async(
    args: argparse.Namespace, manifest: Manifest, verbosity: Verbosity, log_format: LogFormat
) -> int:
    sink = stream_sink(log_format=log_format)
    state = _RunState()
    state.console = Console(sink, verbosity)
    # Checked before any module starts, so that a refused --run-dir or a gateway address
    # that is taken ends the run at once, in one line.
    control_dir = None if args.no_control else _control_dir(args.run_dir, Console(sink, verbosity))
    gateway = reserve_api_socket(manifest.gateway_host, manifest.gateway_port)
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as outer:
            outer.start_soon(_watch_signals, signals, state, outer)
            async with open_orchestrator(
                manifest, on_output=sink, verbosity=verbosity, gateway_socket=gateway
            ) as orch:
                state.orch = orch
                if state.pending is not None:  # Ctrl-C while the modules were being started
                    orch.request_shutdown(state.pending)
                async with trio.open_nursery() as inner:
                    if control_dir is not None:
                        await _start_control(inner, orch, control_dir, args.run_dir)
                    reason = await _wait_for_end(orch, args.duration)
                    state.crashing = [h.id for h in orch.modules if _crashing(h)]
                    orch.console.info(reason)
                    inner.cancel_scope.cancel()
            outer.cancel_scope.cancel()
    modules = state.orch.modules if state.orch else []
    failed = [h.id for h in modules if _failed(h) or h.id in state.crashing]
    if failed:
        Console(sink).error(f"these modules failed: {', '.join(failed)}")
    if state.forced or state.interrupted:
        return 130
    return 1 if failed else 0


def _failed(handle: ModuleHandle) -> bool:
    """Gave up, could not start, or ended with an error and was not restarted."""
    if handle.state in (ModuleState.GAVE_UP, ModuleState.FAILED):
        return True
    return handle.state is ModuleState.EXITED and handle.last_exit != 0


def _crashing(handle: ModuleHandle) -> bool:
    """Crashed and not up again when the run ended (``--for`` elapsed, or a stop)."""
    if handle.state in (ModuleState.CRASHED, ModuleState.RESTARTING):
        return True
    return handle.state is ModuleState.STARTING and handle.restarts > 0


def _control_dir(run_dir: str | None, console: Console) -> str | None:
    """The run directory for the control socket, created or checked (see ``_run_dir``) and
    free of a live orchestrator.

    A refused ``--run-dir`` raises :class:`ControlError` (one line, exit status 1); a refused
    default is a warning and the run goes on without a control socket.
    """
    chosen = run_dir or default_run_dir()
    try:
        prepare_control(chosen)
    except ControlError as exc:
        if run_dir is not None:
            raise
        console.warning(f"no control socket: {exc}")
        return None
    return chosen


async def _start_control(
    nursery: trio.Nursery, orch: Orchestrator, chosen: str, run_dir: str | None
) -> None:
    try:
        path = await nursery.start(serve_control, orch, chosen)
    except ControlError as exc:
        if run_dir is not None:
            raise
        orch.console.warning(f"no control socket: {exc}")
        return
    hint = (
        "" if run_dir is None and not os.environ.get("PYWATT_RUN_DIR") else f" --run-dir {chosen}"
    )
    orch.console.info(f"control socket: {path} (pywatt status|rotate|stop{hint})")


async def _wait_for_end(orch: Orchestrator, duration: float | None) -> str:
    reason = f"--for {duration:g} s elapsed; shutting down" if duration is not None else ""
    with trio.move_on_after(math.inf if duration is None else duration):
        async with trio.open_nursery() as nursery:

            async def on_request() -> None:
                nonlocal reason
                await orch.wait_shutdown_requested()
                reason = orch.shutdown_reason or "shutdown requested"
                nursery.cancel_scope.cancel()

            async def on_all_ended() -> None:
                nonlocal reason
                await orch.wait_all_ended()
                reason = "no module is running any more; shutting down"
                nursery.cancel_scope.cancel()

            nursery.start_soon(on_request)
            nursery.start_soon(on_all_ended)
    return reason


async def _watch_signals(signals: Any, state: _RunState, outer: trio.Nursery) -> None:
    async for signum in signals:
        orch = state.orch
        if signum == signal.SIGHUP:
            if orch is not None:
                outer.start_soon(_reload, orch)
            continue
        state.signals += 1
        state.interrupted |= signum == signal.SIGINT
        name = signal.Signals(signum).name
        console = orch.console if orch is not None else state.console
        if state.signals > 1:  # a second time: no grace
            if console is not None:
                console.warning(f"{name} again: forcing shutdown (killing modules)")
            state.forced = True
            outer.cancel_scope.cancel()
            return
        reason = f"{name} received: shutting down (send it again to force)"
        if orch is None:  # still starting the modules: stop them as soon as they are started
            state.pending = reason
        else:
            orch.request_shutdown(reason)


async def _reload(orch: Orchestrator) -> None:
    orch.console.info("SIGHUP: re-reading the secrets file")
    try:
        with trio.move_on_after(DEFAULT_ROTATE_TIMEOUT) as scope:
            await orch.reload_secrets()
        if scope.cancelled_caught:
            orch.console.warning("not every module acked the reloaded secrets in time")
    except (SecretsFileError, OrchestratorError) as exc:
        orch.console.error(f"cannot reload secrets: {exc}")

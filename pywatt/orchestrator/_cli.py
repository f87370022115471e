"""The ``pywatt`` command: ``run`` the embedded orchestrator, and ``rotate`` / ``reload`` /
``status`` / ``stop`` a running one over its control socket.

``pywatt run a.py b.py`` needs no manifest (ids are the file stems); ``--manifest
pywatt.toml`` (or a ``pywatt.toml`` in the current directory) describes more. While it runs:
Ctrl-C or SIGTERM shuts every module down in reverse start order (a second one forces it),
SIGHUP re-reads the secrets file and rotates the changed values, and the control socket
(its path is printed at startup) serves the client commands.

Exit status of ``run``: 0 after a normal shutdown, 1 if a module gave up, could not be
started, or ended with an error and was not restarted; 2 for a bad command line, manifest or
secrets file; 130 after a forced shutdown (a second Ctrl-C).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

import attrs
import trio

from ._console import Console, Verbosity, stream_sink
from ._control import DEFAULT_ROTATE_TIMEOUT, default_run_dir, send_command, serve_control
from ._errors import ControlError, ManifestError, OrchestratorError, SecretsFileError
from ._handle import ModuleHandle, ModuleState
from ._manifest import Manifest, load_manifest, module_from_file, parse_secret_assignment
from ._orchestrator import Orchestrator, open_orchestrator

__all__ = ["main", "run_standalone"]

_DEFAULT_MANIFEST = "pywatt.toml"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``pywatt`` command (and ``python -m pywatt``); returns the exit code.

    Runs trio itself: call it outside ``trio.run``.
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        if args.command == "run":
            return _run(args, _manifest_from_args(args))
        return trio.run(_client, args)
    except (ManifestError, SecretsFileError) as exc:
        print(f"pywatt: error: {exc}", file=sys.stderr)
        return 2
    except ControlError as exc:
        print(f"pywatt: error: {exc}", file=sys.stderr)
        return 1


def run_standalone(module_path: str, *, argv: Sequence[str] | None = None) -> int:
    """Run the embedded orchestrator for one module file; returns the exit code.

    What a module file does when it is run directly with no orchestrator: it is spawned as
    the only module (id = the file stem), with ``PYWATT_EMBEDDED=1`` in its process
    environment so that it does not start another orchestrator itself. ``argv`` takes the
    options of ``pywatt run`` (``--secret``, ``--secrets-file``, ``--for``, ``-v``, ...;
    default ``sys.argv[1:]``). Runs trio itself: call it outside ``trio.run``. Blocks until
    the orchestrator shuts down (Ctrl-C, ``--for``, ``pywatt stop``, or the module ending).
    """
    if os.environ.get("PYWATT_EMBEDDED"):
        print(
            "pywatt: error: run_standalone called inside an embedded orchestrator's module; "
            "refusing to start another orchestrator",
            file=sys.stderr,
        )
        return 2
    parser = argparse.ArgumentParser(prog=os.path.basename(module_path))
    _run_options(parser)
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        manifest = _manifest_from_args(args, files=[module_path])
        return _run(args, manifest)
    except (ManifestError, SecretsFileError) as exc:
        print(f"pywatt: error: {exc}", file=sys.stderr)
        return 2


# --- argument parsing ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pywatt", description="The embedded PyWatt orchestrator.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run modules (files and/or a manifest)")
    run.add_argument("files", nargs="*", metavar="FILE", help="module files (id = file stem)")
    run.add_argument("--manifest", help=f"a {_DEFAULT_MANIFEST} manifest")
    _run_options(run)
    rotate = commands.add_parser("rotate", help="rotate a secret in a running orchestrator")
    rotate.add_argument("name")
    rotate.add_argument("value", nargs="?", help="the new value (default: read from stdin)")
    rotate.add_argument(
        "--timeout", type=float, default=DEFAULT_ROTATE_TIMEOUT, help="seconds to wait for acks"
    )
    reload = commands.add_parser("reload", help="re-read the secrets file (like SIGHUP)")
    reload.add_argument("--timeout", type=float, default=DEFAULT_ROTATE_TIMEOUT)
    status = commands.add_parser("status", help="show the running modules")
    status.add_argument("--json", action="store_true", help="print the raw JSON reply")
    commands.add_parser("stop", help="shut a running orchestrator down")
    for sub in (rotate, reload, status, commands.choices["stop"]):
        sub.add_argument("--run-dir", help="where the control socket is (default: see run)")
    return parser


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--secrets-file", help="a .env-style file of KEY=VALUE secrets")
    parser.add_argument(
        "--secret",
        action="append",
        default=[],
        metavar="NAME[=VALUE]",
        help="a secret value (NAME alone takes it from the environment); repeatable",
    )
    parser.add_argument(
        "--for",
        dest="duration",
        type=float,
        metavar="SECONDS",
        help="shut down after this many seconds",
    )
    parser.add_argument("--grace", type=float, help="seconds between shutdown line and SIGTERM")
    parser.add_argument(
        "--run-dir",
        help="directory of the control socket (default: $PYWATT_RUN_DIR, "
        "$XDG_RUNTIME_DIR/pywatt or /tmp/pywatt-<uid>)",
    )
    parser.add_argument("--no-control", action="store_true", help="no control socket")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="show debug output")
    loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")


def _manifest_from_args(args: argparse.Namespace, files: Sequence[str] | None = None) -> Manifest:
    files = list(getattr(args, "files", []) if files is None else files)
    manifest_path = getattr(args, "manifest", None)
    if manifest_path is None and not files and os.path.exists(_DEFAULT_MANIFEST):
        manifest_path = _DEFAULT_MANIFEST
    if manifest_path is not None:
        manifest = load_manifest(manifest_path)
    elif files:
        manifest = Manifest(modules=())
    else:
        raise ManifestError(
            "pywatt run", f"nothing to run: give module files or a manifest ({_DEFAULT_MANIFEST})"
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
    return attrs.evolve(manifest, **changes)


# --- pywatt run ----------------------------------------------------------------------------


def _run(args: argparse.Namespace, manifest: Manifest) -> int:
    verbosity = (
        Verbosity.VERBOSE if args.verbose else Verbosity.QUIET if args.quiet else Verbosity.NORMAL
    )
    code: int = trio.run(_run_async, args, manifest, verbosity)
    return code


class _RunState:
    def __init__(self) -> None:
        self.orch: Orchestrator | None = None
        self.signals = 0
        self.forced = False


async def _run_async(args: argparse.Namespace, manifest: Manifest, verbosity: Verbosity) -> int:
    sink = stream_sink()
    state = _RunState()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM, signal.SIGHUP) as signals:
        async with trio.open_nursery() as outer:
            outer.start_soon(_watch_signals, signals, state, outer)
            async with open_orchestrator(manifest, on_output=sink, verbosity=verbosity) as orch:
                state.orch = orch
                async with trio.open_nursery() as inner:
                    if not args.no_control:
                        await _start_control(inner, orch, args.run_dir)
                    reason = await _wait_for_end(orch, args.duration)
                    orch.console.info(reason)
                    inner.cancel_scope.cancel()
            outer.cancel_scope.cancel()
    failed = [h.id for h in state.orch.modules if _failed(h)] if state.orch else []
    if state.forced:
        return 130
    if failed:
        Console(sink).error(f"these modules failed: {', '.join(failed)}")
        return 1
    return 0


def _failed(handle: ModuleHandle) -> bool:
    """Gave up, could not start, or ended with an error and was not restarted."""
    if handle.state in (ModuleState.GAVE_UP, ModuleState.FAILED):
        return True
    return handle.state is ModuleState.EXITED and handle.last_exit != 0


async def _start_control(nursery: trio.Nursery, orch: Orchestrator, run_dir: str | None) -> None:
    chosen = run_dir or default_run_dir()
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
        name = signal.Signals(signum).name
        if orch is None or state.signals > 1:  # during startup, or a second time: no grace
            if orch is not None:
                orch.console.warning(f"{name} again: forcing shutdown (killing modules)")
            state.forced = True
            outer.cancel_scope.cancel()
            return
        orch.request_shutdown(f"{name} received: shutting down (send it again to force)")


async def _reload(orch: Orchestrator) -> None:
    orch.console.info("SIGHUP: re-reading the secrets file")
    try:
        with trio.move_on_after(DEFAULT_ROTATE_TIMEOUT) as scope:
            await orch.reload_secrets()
        if scope.cancelled_caught:
            orch.console.warning("not every module acked the reloaded secrets in time")
    except (SecretsFileError, OrchestratorError) as exc:
        orch.console.error(f"cannot reload secrets: {exc}")


# --- client commands -----------------------------------------------------------------------


async def _client(args: argparse.Namespace) -> int:
    run_dir = args.run_dir or default_run_dir()
    if args.command == "stop":
        await send_command(run_dir, {"command": "stop"})
        print("pywatt: shutdown requested")
        return 0
    if args.command == "status":
        reply = await send_command(run_dir, {"command": "status"})
        print(json.dumps(reply, indent=2) if args.json else _format_status(reply))
        return 0
    if args.command == "reload":
        reply = await send_command(run_dir, {"command": "reload", "timeout": args.timeout})
        print(_format_rotation(reply, "secrets file re-read"))
        return 0
    value = args.value
    if value is None:
        value = (await trio.to_thread.run_sync(sys.stdin.readline)).rstrip("\n")
    reply = await send_command(
        run_dir, {"command": "rotate", "name": args.name, "value": value, "timeout": args.timeout}
    )
    print(_format_rotation(reply, f"rotated {args.name}"))
    return 0


def _format_rotation(reply: dict[str, Any], what: str) -> str:
    if reply.get("rotation_id") is None:
        return f"pywatt: {what}: nothing changed"
    outcomes = reply.get("outcomes") or {}
    if not outcomes:
        return f"pywatt: {what} ({reply['rotation_id']}): no running module holds it"
    listing = ", ".join(f"{m} {o['status']}" for m, o in outcomes.items())
    return f"pywatt: {what} ({reply['rotation_id']}): {listing}"


def _format_status(reply: dict[str, Any]) -> str:
    rows = [("MODULE", "KIND", "STATE", "PID", "RESTARTS", "LISTEN", "ENDPOINTS")]
    for m in reply["modules"]:
        rows.append(
            (
                m["id"],
                m["kind"],
                m["state"],
                str(m["pid"] or "-"),
                str(m["restarts"]),
                m["listen"] or "-",
                ", ".join(m["endpoints"]) or "-",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = [
        f"orchestrator pid {reply['pid']}, API {reply['orchestrator_api']} (reserved)",
    ]
    for row in rows:
        lines.append(
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  " + row[-1]
        )
    return "\n".join(line.rstrip() for line in lines)

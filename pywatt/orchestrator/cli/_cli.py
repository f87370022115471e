"""The ``pywatt`` command: ``run`` the embedded orchestrator, and ``rotate`` / ``reload`` /
``status`` / ``stop`` a running one over its control socket.

``pywatt run a.py b.py`` needs no manifest (ids are the file stems); ``--manifest
pywatt.toml`` (or a ``pywatt.toml`` in the current directory) describes more. While it runs:
Ctrl-C or SIGTERM shuts every module down in reverse start order (a second one forces it),
SIGHUP re-reads the secrets file and rotates the changed values, and the control socket
(its path is printed at startup) serves the client commands.

Exit status of ``run``: 0 after a normal shutdown (``pywatt stop``, SIGTERM, ``--for``,
every module ending well); 1 if a module gave up, could not be started, ended with an error
and was not restarted, or was crashing when the run ended, or if the gateway's address cannot
be bound; 2 for a bad command line, manifest or secrets file; 130 after Ctrl-C (SIGINT), at
any stage. Errors are one line; ``-v`` adds the traceback where there is one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

from pywatt._version import __version__

from .._errors import ControlError, GatewayUnavailable, ManifestError, SecretsFileError
from ..config import DEFAULT_MANIFEST
from ..control import DEFAULT_ROTATE_TIMEOUT, call_control, default_run_dir

# The command line imports only argparse, json and the control client: `pywatt --help`,
# `status` and `stop` never load trio. `run` imports the orchestrator (in ._run).

__all__ = ["main", "run_standalone"]


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
            from ._run import manifest_from_args, run

            return run(args, manifest_from_args(args))
        return _client(args)
    except KeyboardInterrupt:
        return 130
    except BaseException as exc:
        found = _user_error(exc)
        if found is None:
            raise
        if getattr(args, "verbose", False):
            traceback.print_exception(exc)
        print(f"pywatt: error: {found}", file=sys.stderr)
        return 2 if isinstance(found, ManifestError | SecretsFileError) else 1


_USER_ERRORS: tuple[type[Exception], ...] = (
    ManifestError,
    SecretsFileError,
    ControlError,
    GatewayUnavailable,
)


def _user_error(exc: BaseException) -> Exception | None:
    """The error a user can fix that ``exc`` is, or wraps alone in exception groups (trio's
    nurseries wrap what their tasks raise); None for anything else."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc if isinstance(exc, _USER_ERRORS) else None


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
    from ._run import manifest_from_args, run

    try:
        manifest = manifest_from_args(args, files=[module_path])
        return run(args, manifest)
    except (ManifestError, SecretsFileError) as exc:
        print(f"pywatt: error: {exc}", file=sys.stderr)
        return 2
    except GatewayUnavailable as exc:
        print(f"pywatt: error: {exc}", file=sys.stderr)
        return 1


# --- argument parsing ----------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pywatt", description="The embedded PyWatt orchestrator.")
    parser.add_argument("--version", action="version", version=f"pywatt {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    run = commands.add_parser("run", help="run modules (files and/or a manifest)")
    run.add_argument("files", nargs="*", metavar="FILE", help="module files (id = file stem)")
    run.add_argument("--manifest", help=f"a {DEFAULT_MANIFEST} manifest")
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
    parser.add_argument(
        "--host",
        help="address of the HTTP gateway (default: the manifest's gateway, else 127.0.0.1; "
        "0.0.0.0 for every interface)",
    )
    parser.add_argument(
        "--port",
        type=_port,
        help="port of the HTTP gateway (default: the manifest's gateway, else a free one)",
    )
    parser.add_argument(
        "--log-format",
        choices=("pretty", "json"),
        help="how the console is written: pretty (timestamps, colours unless NO_COLOR is "
        "set) or JSON lines (default: $PYWATT_LOG_FORMAT, else pretty on a terminal and "
        "json otherwise)",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument(
        "-v", "--verbose", action="store_true", help="show debug output and whole tracebacks"
    )
    loudness.add_argument("-q", "--quiet", action="store_true", help="warnings and errors only")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 65535, not {text!r}")
    return int(text)


# --- client commands -----------------------------------------------------------------------


def _client(args: argparse.Namespace) -> int:
    run_dir = args.run_dir or default_run_dir()
    if args.command == "stop":
        call_control(run_dir, {"command": "stop"})
        print("pywatt: shutdown requested")
        return 0
    if args.command == "status":
        reply = call_control(run_dir, {"command": "status"})
        print(json.dumps(reply, indent=2) if args.json else _format_status(reply))
        return 0
    if args.command == "reload":
        reply = call_control(run_dir, {"command": "reload", "timeout": args.timeout})
        print(_format_rotation(reply, "secrets file re-read"))
        return 0
    value = args.value
    if value is None:
        value = sys.stdin.readline().rstrip("\n")
    reply = call_control(
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

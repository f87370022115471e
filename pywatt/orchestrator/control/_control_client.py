"""The client side of the control socket, with no trio: ``pywatt status`` / ``stop`` /
``rotate`` / ``reload`` start in the time of a plain Python process.

One request per connection: a JSON object on one line, one JSON line back (``{"ok":true,
...}`` or ``{"ok":false,"error":"..."}``). See ``_control`` for the
server.
"""

from __future__ import annotations

import json
import os
import socket
import tempfile
from collections.abc import Mapping
from typing import Any, Final

from .._errors import ControlError

SOCKET_NAME: Final = "control.sock"
MAX_LINE: Final = 1024 * 1024
DEFAULT_ROTATE_TIMEOUT: Final = 30.0
# Beyond a command's own timeout (a rotation waits for acks), how long a reply may take.
_REPLY_MARGIN: Final = 10.0


def default_run_dir(environ: Mapping[str, str] | None = None) -> str:
    """Where the control socket lives unless ``--run-dir`` says otherwise. Does not block."""
    env = os.environ if environ is None else environ
    if env.get("PYWATT_RUN_DIR"):
        return env["PYWATT_RUN_DIR"]
    if env.get("XDG_RUNTIME_DIR"):
        return os.path.join(env["XDG_RUNTIME_DIR"], "pywatt")
    return os.path.join(tempfile.gettempdir(), f"pywatt-{os.getuid()}")


def control_path(run_dir: str) -> str:
    """The control socket's path in ``run_dir``."""
    return os.path.join(run_dir, SOCKET_NAME)


def call_control(run_dir: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """Send one control request and block for its reply (at most the request's ``timeout``
    plus 10 s). Raises :class:`ControlError` if nobody listens, the reply is not valid, or
    the orchestrator refused the command (with its reason)."""
    path = control_path(run_dir)
    timeout = request.get("timeout")
    wait = (timeout if isinstance(timeout, int | float) else 0.0) + _REPLY_MARGIN
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(wait)
        try:
            sock.connect(path)
        except OSError as exc:
            raise ControlError(
                f"no orchestrator is listening on {path} ({exc.strerror or exc}); start one "
                "with `pywatt run`, or point at it with --run-dir or PYWATT_RUN_DIR"
            ) from exc
        try:
            sock.sendall(json.dumps(dict(request)).encode() + b"\n")
            with sock.makefile("rb") as reader:
                raw = reader.readline(MAX_LINE + 1)
        except TimeoutError as exc:
            raise ControlError(
                f"the orchestrator on {path} did not reply within {wait:g} s"
            ) from exc
        except OSError as exc:
            raise ControlError(f"the orchestrator on {path} sent no valid reply: {exc}") from exc
    if not raw.endswith(b"\n"):
        what = "an over-long line" if len(raw) > MAX_LINE else "no complete line"
        raise ControlError(f"the orchestrator on {path} sent no valid reply: {what}")
    try:
        reply = json.loads(raw)
    except ValueError as exc:
        raise ControlError(f"the orchestrator on {path} sent no valid reply: {exc}") from exc
    if not isinstance(reply, dict):
        raise ControlError(f"the orchestrator on {path} sent a non-object reply")
    if not reply.get("ok"):
        raise ControlError(str(reply.get("error", "the orchestrator refused the command")))
    return reply

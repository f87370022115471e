"""The control socket: ``pywatt rotate`` / ``status`` / ``stop`` talk to a running orchestrator.

A Unix stream socket ``control.sock`` in the run directory (``--run-dir``, else
``$PYWATT_RUN_DIR``, else ``$XDG_RUNTIME_DIR/pywatt``, else ``/tmp/pywatt-<uid>``), which must
be private (mode 0700) because rotation values travel through it; ``config._run_dir`` creates it
without following links. One request per connection: a JSON object on one line
(``{"command":"rotate","name":...,"value":...}``), one JSON line back (``{"ok":true,...}`` or
``{"ok":false,"error":"..."}``). This is pywatt's own local control protocol, not the module
wire protocol.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import socket
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import attrs
import trio

from pywatt.wire import LineDecoder, NeedData, RemoteProtocolError, encode_line

from .._errors import ControlError, OrchestratorError
from ..config import ensure_run_dir
from ..processes import tree_reply
from ._control_client import (
    DEFAULT_ROTATE_TIMEOUT,
    MAX_LINE,
    call_control,
    control_path,
    default_run_dir,
)
from ._observe import stream_events

if TYPE_CHECKING:
    from .._orchestrator import Orchestrator

__all__ = [
    "DEFAULT_ROTATE_TIMEOUT",
    "control_path",
    "default_run_dir",
    "prepare_control",
    "send_command",
    "serve_control",
]

_READ_TIMEOUT: Final = 10.0


# --- server --------------------------------------------------------------------------------


async def serve_control(
    orch: Orchestrator,
    run_dir: str,
    *,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve the control socket for ``orch`` until cancelled; ``task_status`` gets its path.

    Raises :class:`ControlError` if another live orchestrator already serves this run dir
    or the socket cannot be created. Removes the socket when it ends.
    """
    path = prepare_control(run_dir)
    sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        await sock.bind(path)
        sock.listen(16)
    except OSError as exc:
        sock.close()
        raise ControlError(f"cannot create the control socket {path}: {exc}") from exc
    identity = os.stat(path).st_ino
    listener = trio.SocketListener(sock)

    async def handler(stream: trio.SocketStream) -> None:
        try:
            await _serve_one(orch, stream)
        except* (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the client went away mid-answer: it costs that client only

    task_status.started(path)
    try:
        await trio.serve_listeners(handler, [listener])
    finally:
        with contextlib.suppress(OSError):
            if os.stat(path).st_ino == identity:
                os.unlink(path)


def prepare_control(run_dir: str) -> str:
    """Make ``run_dir`` ready for a control socket and return the socket's path: create or
    check the directory (see ``config._run_dir``) and remove a stale socket. Does not block beyond a
    few file-system calls and one local connect. Raises :class:`ControlError` (one line) if
    the directory is unsafe or a live orchestrator already answers there."""
    ensure_run_dir(run_dir)
    path = control_path(run_dir)
    _claim(path)
    return path


def _claim(path: str) -> None:
    """Remove a stale socket at ``path``; refuse if a live orchestrator answers there."""
    if not os.path.exists(path):
        return
    if _is_live(path):
        raise ControlError(
            f"another orchestrator is running with control socket {path}; "
            "stop it (pywatt stop) or pass --run-dir"
        )
    os.unlink(path)


def _is_live(path: str) -> bool:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        try:
            probe.connect(path)
        except OSError as exc:
            if exc.errno in (errno.ECONNREFUSED, errno.ENOENT):
                return False
            raise ControlError(f"cannot check the control socket {path}: {exc}") from exc
    return True


async def _serve_one(orch: Orchestrator, stream: trio.SocketStream) -> None:
    async with stream:
        try:
            with trio.fail_after(_READ_TIMEOUT):
                raw = await _read_line(stream)
            request = json.loads(raw)
            if not isinstance(request, dict):
                raise ControlError("a request must be a JSON object")
            if request.get("command") == "events":  # a stream of lines, not one reply
                await stream_events(orch, stream)
                return
            reply = await _execute(orch, request)
        except (ControlError, OrchestratorError, ValueError, RemoteProtocolError) as exc:
            reply = {"ok": False, "error": str(exc)}
        except trio.TooSlowError:
            reply = {"ok": False, "error": "no complete request line within 10 s"}
        # If the client went away there is nobody to tell.
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError):
            await stream.send_all(encode_line(json.dumps(reply).encode()))


async def _execute(orch: Orchestrator, request: dict[str, Any]) -> dict[str, Any]:
    command = request.get("command")
    if command == "status":
        return {
            "ok": True,
            "pid": os.getpid(),
            "orchestrator_api": orch.orchestrator_api,
            "modules": [attrs.asdict(s) for s in orch.status()],
        }
    if command == "tree":
        return await tree_reply(orch)
    if command == "stop":
        orch.request_shutdown("stop requested over the control socket; shutting down")
        return {"ok": True}
    if command in ("rotate", "reload"):
        timeout = request.get("timeout", DEFAULT_ROTATE_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ControlError(f"timeout must be a positive number, not {timeout!r}")
        with trio.move_on_after(timeout) as scope:
            if command == "reload":
                result = await orch.reload_secrets()
            else:
                name, value = request.get("name"), request.get("value")
                if not isinstance(name, str) or not isinstance(value, str):
                    raise ControlError("rotate needs a string 'name' and 'value'")
                result = await orch.rotate(name, value)
        if scope.cancelled_caught:
            raise ControlError(f"not every module acked the rotation within {timeout:g} s")
        if result is None:
            return {"ok": True, "rotation_id": None, "keys": [], "outcomes": {}}
        return {
            "ok": True,
            "rotation_id": result.rotation_id,
            "keys": list(result.keys),
            "outcomes": {m: attrs.asdict(o) for m, o in result.outcomes.items()},
        }
    raise ControlError(
        f"unknown command {command!r} (expected status, tree, events, rotate, reload or stop)"
    )


async def _read_line(stream: trio.abc.ReceiveStream) -> bytes:
    decoder = LineDecoder(max_line=MAX_LINE, first_line_max=None)
    while True:
        line = decoder.next_line()
        if not isinstance(line, NeedData):
            return line
        chunk = await stream.receive_some(65536)
        if not chunk:
            last = decoder.at_eof()
            if last is None:
                raise ControlError("the connection closed before a complete line")
            return last
        decoder.feed(chunk)


# --- client --------------------------------------------------------------------------------


async def send_command(run_dir: str, request: Mapping[str, Any]) -> dict[str, Any]:
    """Send one control request to the orchestrator serving ``run_dir``; return its reply.

    Waits until the reply (a rotation waits for the acks; at most its ``timeout`` plus
    10 s). Raises :class:`ControlError` if no orchestrator listens there or it refused the
    command (with its reason). The blocking client runs in a worker thread.
    """
    return await trio.to_thread.run_sync(
        functools.partial(call_control, run_dir, request), abandon_on_cancel=True
    )

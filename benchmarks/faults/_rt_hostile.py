"""Hostile local peers: another user's process at every listener of the orchestrator (each
module's TCP port and Unix socket, the control socket), sending garbage, a declaration with a
token that is not ASCII, a wrong token, ``route_to_module`` and a registration request as if
it were the module. Every attempt must be refused (nothing at all comes back) and leave no
trace, while the real modules' traffic goes on untouched.

The peer is a small stdlib-only Python program (:data:`PEER`) run under uid ``nobody`` with
``setpriv`` (the suite runs as root); it is handed its attempts on stdin and reports, per
attempt, whether the connect was refused, how many bytes came back and how it ended. Run as
another user, it cannot even reach the Unix sockets (their directory is private); run as the
same user (not root: ``setpriv`` unavailable), it reaches them and must be refused by the
token check.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import stat
import sys
import uuid
from typing import Any, Final

import trio

from pywatt.channels import declaration_frame, encode_module_frame, route_frame
from pywatt.orchestrator import send_command
from pywatt.orchestrator.control import control_path
from pywatt.wire import (
    EncodedMessage,
    EncodingFormat,
    Message,
    ModuleDeclaration,
    ModuleInfo,
    RegistrationRequest,
)

from ._counts import Counts
from ._rt_run import DRIVER, TARGET, Run, open_run, serving_control

PEER: Final = r"""
import json, socket, sys, threading
plan = json.load(sys.stdin)
results = {}

def attempt(a):
    r = {"id": a["id"], "connect": None, "received": 0, "end": None}
    family = socket.AF_INET if a["family"] == "tcp" else socket.AF_UNIX
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(plan["wait"])
    try:
        s.connect(tuple(a["address"]) if a["family"] == "tcp" else a["address"])
    except OSError as exc:
        r["connect"] = type(exc).__name__
        results[a["id"]] = r
        return
    try:
        s.sendall(bytes.fromhex(a["payload"]))
        while True:
            data = s.recv(65536)
            if not data:
                r["end"] = "closed"
                break
            r["received"] += len(data)
    except socket.timeout:
        r["end"] = "silent"
    except OSError as exc:
        r["end"] = type(exc).__name__
    finally:
        s.close()
    results[a["id"]] = r

threads = [threading.Thread(target=attempt, args=(a,)) for a in plan["attempts"]]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps({"uid": __import__("os").getuid(), "results": list(results.values())}))
"""

WAIT: Final = 1.5
"""Seconds the peer listens after sending: an accepted connection gets a heartbeat every
half second, an answered request its reply."""


def _peer_command() -> tuple[list[str], str | None]:
    """How to run the peer as another user, or (not root, or no Python that other users may
    run) as ourselves, saying so."""
    setpriv = shutil.which("setpriv")
    python = next((p for p in _PYTHONS if _others_may_run(p)), None)
    if os.geteuid() == 0 and setpriv is not None and python is not None:
        user = ["--reuid=nobody", "--regid=nogroup", "--clear-groups"]
        return [setpriv, *user, python, "-c", PEER], None
    return [sys.executable, "-c", PEER], "the hostile peer runs as the same user (not root)"


_PYTHONS: Final = ("/usr/bin/python3", "/usr/local/bin/python3", sys.executable)


def _others_may_run(path: str) -> bool:
    """Whether a user other than the owner can run ``path`` (every directory on the way
    searchable and the file executable by others)."""
    real = os.path.realpath(path)
    if not os.path.isfile(real):
        return False
    parts = real.split(os.sep)
    for i in range(2, len(parts)):
        if not os.stat(os.sep.join(parts[:i])).st_mode & stat.S_IXOTH:
            return False
    return bool(os.stat(real).st_mode & stat.S_IXOTH)


def _payloads(module_id: str, rng: random.Random) -> dict[str, bytes]:
    """What a hostile peer sends, each on a fresh connection, as if it were ``module_id``."""
    route = route_frame(
        TARGET,
        "intrusion",  # served by nobody: if it got through, the target logs the endpoint
        uuid.uuid4(),
        EncodedMessage(data=b'{"i":0}', format=EncodingFormat.JSON),
    )
    info = ModuleInfo(name=f"intruder-as-{module_id}", version="6.6.6", description="")
    register = encode_module_frame(
        RegistrationRequest(module_info=info), as_type=Message[RegistrationRequest]
    )
    return {
        "garbage": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + rng.randbytes(64),
        "non-ascii token": declaration_frame(
            ModuleDeclaration(version="0.1.0", auth_token="tök-ñ-🔑" * rng.randint(1, 9))
        ),
        "wrong token": declaration_frame(
            ModuleDeclaration(version="0.1.0", auth_token=f"{uuid.uuid4().hex}")
        ),
        "route_to_module": route,
        "no token, then a route": declaration_frame(ModuleDeclaration(version="0.1.0")) + route,
        "registration": register,
    }


_CONTROL: Final = (
    b'{"command":"status"}\n',
    b'{"command":"rotate","name":"FAULT_SECRET","value":"pwned","timeout":1}\n',
    b'{"command":"stop"}\n',
)


def _attempts(run: Run, control_path: str, rng: random.Random) -> list[dict[str, Any]]:
    attempts = []
    for module_id in (TARGET, DRIVER):
        ep = run.orch.endpoints(module_id)
        for what, payload in _payloads(module_id, rng).items():
            for family, address in (
                ("tcp", ["127.0.0.1", ep.tcp_port]),
                ("unix", ep.socket_path),
            ):
                attempts.append(
                    {"id": f"{what} at {module_id}'s {family} listener", "family": family,
                     "address": address, "payload": payload.hex()}
                )  # fmt: skip
    if _peer_command()[1] is not None:
        return attempts  # the same user may use the control socket: nothing to refuse there
    for i, line in enumerate(_CONTROL):
        attempts.append(
            {"id": f"control request {i}", "family": "unix", "address": control_path,
             "payload": line.hex()}
        )  # fmt: skip
    return attempts


async def _one_round(run: Run, control_path: str, rng: random.Random) -> None:
    attempts = _attempts(run, control_path, rng)
    command, note = _peer_command()
    if note is not None and note not in run.counts.notes:
        run.counts.notes.append(note)
    plan = json.dumps({"attempts": attempts, "wait": WAIT}).encode()
    with trio.fail_after(WAIT + 20):
        done = await trio.run_process(
            command, stdin=plan, capture_stdout=True, capture_stderr=True, check=False
        )
    out, err = done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    run.extra_output.extend([out, err])
    if done.returncode != 0:
        raise RuntimeError(f"the hostile peer failed ({done.returncode}): {err[-300:]}")
    report = json.loads(out)
    ran_as = f"the hostile peer ran as uid {report['uid']}"
    if ran_as not in run.counts.notes:
        run.counts.notes.append(ran_as)
    for result in report["results"]:
        run.counts.faults_injected += 1
        if result["connect"] is None and result["received"]:
            run.failure(f"not refused: {result['id']} ({result['received']} bytes came back)")


async def hostile_peer(budget: float, counts: Counts) -> None:
    """Rounds of hostile attempts at every listener while the driver and the orchestrator
    send traffic to the target; nothing may fail, and no attempt may leave a trace."""
    rng = random.Random(7)
    async with (
        open_run(counts) as run,
        serving_control(run) as run_dir,
        trio.open_nursery() as nursery,
    ):
        await run.start_traffic(TARGET)
        stop = trio.Event()
        nursery.start_soon(run.direct_traffic, TARGET, (), stop)
        deadline = trio.current_time() + budget
        while trio.current_time() < deadline:
            await _one_round(run, control_path(run_dir), rng)
            await trio.sleep(0.1)
        await run.wait_resumed(what="traffic after the hostile peers")
        stop.set()
        await run.finish_traffic(())
        await _no_trace(run, run_dir)


async def _no_trace(run: Run, run_dir: str) -> None:
    """Nothing the hostile peer sent had any effect."""
    orch = run.orch
    if orch.shutdown_requested:
        run.failure("a hostile stop request was obeyed")
    reply = await send_command(run_dir, {"command": "status"})
    if not reply.get("ok"):
        run.failure(f"the control socket stopped answering its owner: {reply}")
    if any("intrusion" in line for line in orch.stderr_lines(TARGET)):
        run.failure("a hostile route_to_module reached the target")
    for module_id in (TARGET, DRIVER):
        record = await orch.registration(module_id)
        if record is not None and record.module.info.name.startswith("intruder"):
            run.failure(f"a hostile registration replaced {module_id}'s")
    if any(p.name.startswith("intruder") for p in await orch.providers()):
        run.failure("a hostile peer registered a provider")

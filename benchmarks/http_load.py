"""HTTP under load: one FastAPI app served four ways, driven by ``wrk`` in one run.

The app is ``examples/web.py``'s (FastAPI, ``GET /api/hello``), the load ``wrk -t1 -c16``
(one thread, 16 keep-alive connections) for each run's budget, ``--latency`` for its p99:

* ``uvicorn``: what a FastAPI user runs, in its best one-worker configuration
  (``--http httptools --loop uvloop``, no access log): the yardstick.
* ``hypercorn_trio``: hypercorn's trio worker serving the bare app (what modules were
  served with before; ``HttpConfig(server="hypercorn")``), no pywatt in the path.
* ``pywatt_server``: the bare app on pywatt's own HTTP/1.1 server
  (:func:`pywatt.http.serve_http1`), no module around it: the server alone.
* ``module_direct``: the module under the embedded orchestrator, wrk at the module's own
  listen address (the app wrapped as a module serves it: metrics by route template, the JWT
  middleware, ``/health``).
* ``gateway``: the same module through the orchestrator's gateway, as it reaches a pywatt
  module by default (client → gateway → a pooled keep-alive HTTP/1.1 connection to the
  module's listen address → gateway → client). ``benchmarks/http.py``'s ``over_ipc``
  measures the stdio path (the §9.2 wrapper) that foreign modules take.

Every server runs in a process of its own, started once and kept for the whole run; the
ways are measured in interleaved repetitions. Ratios to uvicorn, higher is better; targets
``module_direct_vs_uvicorn`` >= 0.7 and ``gateway_vs_uvicorn`` >= 0.5. ``p99_<way>_ms``
is the median over the repetitions of wrk's p99 latency. ``cpu_<way>_us`` is the CPU time
(user + system, from ``/proc``) the serving processes spent per request answered: for the
gateway the orchestrator's and the module's together, for hypercorn its worker's too. On a
machine others load too, requests per second swing with their load; CPU per request does
not, much.

``wrk`` is the Debian package of that name (``just bench`` installs it when missing).

    python -m benchmarks.http_load [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Final

import httpx

from benchmarks._harness import Bench, BenchmarkError, Settings, main

ROOT: Final = Path(__file__).resolve().parent.parent
WEB_MODULE: Final = ROOT / "examples" / "web.py"
APP: Final = "examples.web:app"
PATH: Final = "/api/hello"
CONNECTIONS: Final = 16
MODULE_TARGET: Final = 0.7
GATEWAY_TARGET: Final = 0.5
WAYS: Final = ("uvicorn", "hypercorn_trio", "pywatt_server", "module_direct", "gateway")

# The child that runs the orchestrator: prints one JSON line with the gateway and the
# module's address once the module announced, then serves until its stdin closes.
_SERVE: Final = """
import json, logging, sys, trio
from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

logging.disable(logging.INFO)

async def main(path, secret):
    spec = ModuleSpec.from_command("web", path)
    manifest = Manifest(modules=[spec], secrets={"JWT_SECRET": secret}, grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
        with trio.fail_after(30):
            announce = await orch.module("web").wait_announced()
        print(json.dumps({"gateway": orch.orchestrator_api, "direct": announce.listen}),
              flush=True)
        stdin = trio.lowlevel.FdStream(0)
        while await stdin.receive_some(1024):
            pass

trio.run(main, sys.argv[1], sys.argv[2])
"""

# The bare app on pywatt's server, in a process of its own.
_BARE: Final = """
import socket, sys, trio
from examples.web import app
from pywatt.http import Http1Settings, serve_http1

sock = socket.socket()
sock.bind(("127.0.0.1", int(sys.argv[1])))
sock.listen(1024)
trio.run(lambda: serve_http1(app, sock, Http1Settings(), shutdown=trio.Event()))
"""

_RATE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_COUNT = re.compile(r"^\s+(\d+) requests in", re.M)
_P99 = re.compile(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", re.M)
_ERRORS = re.compile(r"^\s+(Non-2xx or 3xx responses|Socket errors):.*$", re.M)
_TO_MS: Final = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(f"the server for {url} exited ({process.returncode})")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise BenchmarkError(f"{url} did not answer 200 within {timeout:g} s")


class _Servers:
    """The four servers, each in its own process, started on first use and kept."""

    def __init__(self) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.urls: dict[str, str] = {}
        self.pids: dict[str, list[int]] = {}
        self.env = {**os.environ, "PYTHONPATH": str(ROOT)}

    def url(self, way: str) -> str:
        if way not in self.urls:
            self._start(way)
        return self.urls[way]

    def _spawn(self, argv: list[str], **kwargs: object) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(argv, env=self.env, cwd=ROOT, **kwargs)  # type: ignore[call-overload]
        self.processes.append(process)
        return process  # type: ignore[no-any-return]

    def _start(self, way: str) -> None:
        if way in ("module_direct", "gateway"):
            process = self._spawn(
                [sys.executable, "-c", _SERVE, str(WEB_MODULE), "bench-secret-0123456789abcdef01"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            )  # fmt: skip
            assert process.stdout is not None
            line = process.stdout.readline()
            if not line:
                raise BenchmarkError("the orchestrator child exited before the module announced")
            addresses = json.loads(line)
            self.urls["gateway"] = addresses["gateway"].rstrip("/") + PATH
            port = addresses["direct"].rsplit(":", 1)[-1]
            self.urls["module_direct"] = f"http://127.0.0.1:{port}{PATH}"
            _wait_ready(self.urls["gateway"], process)
            _wait_ready(self.urls["module_direct"], process)
            module = _children(process.pid)
            self.pids["gateway"] = [process.pid, *module]
            self.pids["module_direct"] = module
            return
        port = _free_port()
        if way == "uvicorn":
            argv = [sys.executable, "-m", "uvicorn", APP, "--host", "127.0.0.1", "--port",
                    str(port), "--http", "httptools", "--loop", "uvloop", "--no-access-log",
                    "--log-level", "warning"]  # fmt: skip
        elif way == "pywatt_server":
            argv = [sys.executable, "-c", _BARE, str(port)]
        else:
            argv = [sys.executable, "-m", "hypercorn", "-k", "trio", "-b", f"127.0.0.1:{port}",
                    "--log-level", "warning", APP]  # fmt: skip
        process = self._spawn(argv, stdin=subprocess.DEVNULL)
        self.urls[way] = f"http://127.0.0.1:{port}{PATH}"
        _wait_ready(self.urls[way], process)
        # hypercorn's worker is a child (its parent only watches it); uvicorn is one process.
        self.pids[way] = _children(process.pid) if way == "hypercorn_trio" else [process.pid]

    def stop(self) -> None:
        for process in self.processes:
            if process.stdin is not None:
                process.stdin.close()
            else:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry))
    return found


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of ``pids`` so far."""
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def wrk(url: str, seconds: float) -> tuple[float, float, int]:
    """Run ``wrk -t1 -c16`` against ``url``: (requests per second, p99 in ms, requests)."""
    duration = max(1, round(seconds))
    completed = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{duration}s", "--latency", url],
        capture_output=True, text=True, timeout=duration + 60, check=False,
    )  # fmt: skip
    out = completed.stdout
    rate, p99 = _RATE.search(out), _P99.search(out)
    if completed.returncode != 0 or rate is None or p99 is None:
        raise BenchmarkError(f"wrk {url} failed ({completed.returncode}): {out}{completed.stderr}")
    if errors := _ERRORS.search(out):
        raise BenchmarkError(f"wrk {url}: {errors.group(0).strip()}")
    count = _COUNT.search(out)
    assert count is not None
    return float(rate.group(1)), float(p99.group(1)) * _TO_MS[p99.group(2)], int(count.group(1))


def define(bench: Bench) -> None:
    if shutil.which("wrk") is None:
        raise BenchmarkError(
            "wrk is not installed (Debian: apt-get install wrk; `just bench` does)"
        )
    servers = _Servers()
    atexit.register(servers.stop)
    settings = (
        Settings(repetitions=3, seconds=1.0, warmup_seconds=1.0)
        if bench.quick
        else Settings(repetitions=5, seconds=3.0, warmup_seconds=1.0)
    )
    case = bench.case("http_hello", unit="req/s", settings=settings)
    p99s: dict[str, list[float]] = {way: [] for way in WAYS}
    cpus: dict[str, list[float]] = {way: [] for way in WAYS}

    def way_of(way: str) -> Callable[[float], float]:
        def run(seconds: float) -> float:
            url = servers.url(way)
            before = cpu_seconds(servers.pids[way])
            rate, p99, count = wrk(url, seconds)
            cpus[way].append((cpu_seconds(servers.pids[way]) - before) / count * 1e6)
            p99s[way].append(p99)
            return rate

        return run

    for way in WAYS:
        case.add(way, way_of(way))
    for way in WAYS[1:]:
        bench.ratio("http_hello", way, "uvicorn", name=f"{way}_vs_uvicorn")
    bench.target("module_direct_vs_uvicorn", ">=", MODULE_TARGET)
    bench.target("gateway_vs_uvicorn", ">=", GATEWAY_TARGET)
    for way in WAYS:
        bench.metric(f"p99_{way}_ms", lambda way=way: statistics.median(p99s[way]))
        bench.metric(f"cpu_{way}_us", lambda way=way: statistics.median(cpus[way]))
    bench.meta["http_load"] = {
        "app": f"{APP} GET {PATH} (FastAPI)",
        "load": f"wrk -t1 -c{CONNECTIONS} --latency, keep-alive",
        "uvicorn": "uvicorn --http httptools --loop uvloop --no-access-log, one worker",
        "hypercorn_trio": "hypercorn -k trio, the bare app",
        "pywatt_server": "pywatt.http.serve_http1, the bare app",
        "module_direct": "the module's own listen address (pywatt.http)",
        "gateway": "the orchestrator's gateway, pooled HTTP/1.1 to the module (transport auto)",
        "p99": "median over the repetitions of wrk's p99 latency",
        "cpu": "CPU time (user + system) of the serving processes per request answered "
        "(the gateway: orchestrator + module; hypercorn: its worker)",
    }


if __name__ == "__main__":
    raise SystemExit(main("http_load", define))

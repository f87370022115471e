"""Channels and routed requests against bare trio sockets.

* ``one_way_tcp`` / ``one_way_unix``: small frames (a ``heartbeat_ack`` envelope, 92 bytes of
  payload) written by a channel connection actor (``SendFrame`` told to it; its writer
  joins what is queued into one write) into a sink that counts the bytes, against a bare
  trio loop doing ``send_all`` of the same frame per message (``bare``). Rate: frames/s,
  until the sink has every byte.
* ``routed_request``: request/response between two module processes under the embedded
  orchestrator (module ``ping`` asks ``pong:echo`` with 16 requests in flight; JSON payload
  ``{"n":1,"text":"ping"}``), as a user gets it: on the direct line the orchestrator granted
  them (``pywatt``, two processes), and with ``PYWATT_DIRECT_LINES=0``, through the
  orchestrator (``through_orchestrator``, three processes, as every request to or from a
  Rust module goes). Against a bare trio TCP ping-pong of the same route frame with 16 in
  flight over one connection to an echo process (``bare``), and the same through a bare
  relay process (``bare_relay``: three trio processes on Unix sockets moving bytes without
  parsing them, the floor of the path through the orchestrator; its ratios have no target).
  ``metrics.routed_p50_ms`` / ``routed_p99_ms`` are the request latencies seen by ``ping``;
  ``routed_p50_1_ms`` / ``routed_p99_1_ms`` the same with one request in flight (latency
  without queueing: target p50 <= 0.25 ms), from runs of their own after the case's;
  ``orchestrator_p50_1_ms`` the same through the orchestrator, and ``relay_p50_1_ms`` the
  bare relay's, the latency no request through a third process can go under.

    python -m benchmarks.channels [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import collections
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import trio

from actors import open_actor_system
from benchmarks._harness import Bench, Settings, main
from pywatt.channels import (
    ChannelConfig,
    ChannelDirectory,
    NoReconnect,
    SendFrame,
    channels_supervisor_spec,
    connection_name,
    encode_module_frame,
    heartbeat_ack_frame,
)
from pywatt.orchestrator import DashboardSettings, Manifest, ModuleSpec, open_orchestrator
from pywatt.wire import (
    NEED_DATA,
    ChannelType,
    FrameDecoder,
    RouteToModule,
    encode_payload,
)

HERE: Final = Path(__file__).resolve().parent
PEER: Final = str(HERE / "_channels_peer.py")
ECHO: Final = str(HERE / "_channels_echo.py")
RELAY: Final = str(HERE / "_relay_peer.py")
FRAME: Final = heartbeat_ack_frame()
BATCH: Final = 256
IN_FLIGHT: Final = 16
ONE_WAY_TARGET: Final = 0.5
ROUTED_TARGET: Final = 0.6
ROUTED_P50_1_TARGET_MS: Final = 0.25


# -- one way -----------------------------------------------------------------------------------


async def _sink(
    listener: trio.abc.Listener[Any], got: list[int], changed: list[trio.Event]
) -> None:
    stream = await listener.accept()
    async with stream:
        while data := await stream.receive_some(1 << 18):
            got[0] += len(data)
            changed[0].set()


async def _wait_bytes(total: int, got: list[int], changed: list[trio.Event]) -> None:
    while got[0] < total:
        changed[0] = trio.Event()
        await changed[0].wait()


async def _listener(kind: ChannelType, tmp: str) -> tuple[trio.abc.Listener[Any], str]:
    if kind is ChannelType.TCP:
        (tcp,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        return tcp, f"127.0.0.1:{tcp.socket.getsockname()[1]}"
    path = os.path.join(tmp, "sink.sock")
    sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
    await sock.bind(path)
    sock.listen(16)
    return trio.SocketListener(sock), path


def one_way_ours(kind: ChannelType) -> Any:
    async def run(seconds: float) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            listener, address = await _listener(kind, tmp)
            got, changed = [0], [trio.Event()]
            config = ChannelConfig(kind=kind, address=address, policy=NoReconnect())
            directory = ChannelDirectory()
            async with trio.open_nursery() as nursery, open_actor_system() as system:
                nursery.start_soon(_sink, listener, got, changed)
                await system.start_supervisor(
                    channels_supervisor_spec([config], directory, services=frozenset())
                )
                await directory.wait_connected()
                ref = system.ref(connection_name(config, 0))
                message = SendFrame(FRAME)
                sent = 0
                start = time.perf_counter()
                deadline = start + seconds
                while time.perf_counter() < deadline:
                    for _ in range(BATCH):
                        await ref.tell(message)
                    sent += BATCH
                await _wait_bytes(sent * len(FRAME), got, changed)
                elapsed = time.perf_counter() - start
                nursery.cancel_scope.cancel()
            await listener.aclose()
        return sent / elapsed

    return run


def one_way_bare(kind: ChannelType) -> Any:
    async def run(seconds: float) -> float:
        with tempfile.TemporaryDirectory() as tmp:
            listener, address = await _listener(kind, tmp)
            got, changed = [0], [trio.Event()]
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_sink, listener, got, changed)
                if kind is ChannelType.TCP:
                    host, port = address.rsplit(":", 1)
                    stream: trio.abc.Stream = await trio.open_tcp_stream(host, int(port))
                else:
                    stream = await trio.open_unix_socket(address)
                sent = 0
                start = time.perf_counter()
                deadline = start + seconds
                while time.perf_counter() < deadline:
                    for _ in range(BATCH):
                        await stream.send_all(FRAME)
                    sent += BATCH
                await _wait_bytes(sent * len(FRAME), got, changed)
                elapsed = time.perf_counter() - start
                await stream.aclose()
                nursery.cancel_scope.cancel()
            await listener.aclose()
        return sent / elapsed

    return run


# -- routed ------------------------------------------------------------------------------------


class RoutedFixture:
    """The orchestrator and its two modules, kept running across repetitions in a thread.

    ``idle`` adds modules that take no part (benchmarks/scale.py runs the same routed
    requests beside more and more idle modules); every one has announced and opened its
    channels before the first run. ``env`` is added to the environment of ``ping`` and
    ``pong`` (benchmarks/observability.py configures their tracing so); ``dashboard=False``
    runs the orchestrator without its dashboard (which asks modules for their spans).
    """

    def __init__(
        self,
        idle: Sequence[ModuleSpec] = (),
        *,
        env: Mapping[str, str] | None = None,
        dashboard: bool = True,
        lines: bool = True,
    ) -> None:
        self.idle = tuple(idle)
        self.env = dict(env or {})
        self.lines = lines
        if not lines:  # every request through the orchestrator, as before direct lines
            self.env["PYWATT_DIRECT_LINES"] = "0"
        self.dashboard = dashboard
        self.token: trio.lowlevel.TrioToken | None = None
        self.orch: Any = None
        self.ready = threading.Event()
        self.stop: trio.Event | None = None
        self.error: BaseException | None = None
        self.p50: list[float] = []
        self.p99: list[float] = []
        self.thread = threading.Thread(target=self._thread, daemon=True)

    def _thread(self) -> None:
        try:
            trio.run(self._main)
        except BaseException as exc:  # reported to the benchmark's thread
            self.error = exc
            self.ready.set()

    async def _main(self) -> None:
        specs = [
            ModuleSpec.from_command("pong", PEER, env=self.env),
            ModuleSpec.from_command("ping", PEER, env=self.env),
            *self.idle,
        ]
        board = None if self.dashboard else DashboardSettings(enabled=False)
        async with open_orchestrator(
            Manifest(modules=specs), on_output=lambda line: None, dashboard=board
        ) as orch:
            for module in (spec.id for spec in specs):
                with trio.fail_after(30):
                    await orch.module(module).wait_announced()
                    await orch.wait_channels(module, 2)
            if self.lines:  # measured on the direct line, not while it is being opened
                with trio.fail_after(30):
                    while (await orch.routing_statistics()).lines_granted < 1:
                        probe = {"target": "pong", "seconds": 0.01, "in_flight": 1}
                        await orch.request("ping", "run", probe)
                    probe = {"target": "pong", "seconds": 0.05, "in_flight": 1}
                    await orch.request("ping", "run", probe)
            self.orch = orch
            self.stop = trio.Event()
            self.token = trio.lowlevel.current_trio_token()
            self.ready.set()
            await self.stop.wait()

    def start(self) -> None:
        self.thread.start()
        self.ready.wait(60 + 2 * len(self.idle))  # 50 processes start slowly on 2 cores
        if self.error is not None or self.token is None:
            raise RuntimeError(f"the routed benchmark's modules did not start: {self.error!r}")

    def close(self) -> None:
        if self.token is not None and self.stop is not None:
            trio.from_thread.run_sync(self.stop.set, trio_token=self.token)
            self.thread.join(60)

    def run(self, seconds: float) -> float:
        result = self.measure(seconds, IN_FLIGHT)
        self.p50.append(result["p50_ms"])
        self.p99.append(result["p99_ms"])
        return float(result["count"]) / float(result["elapsed"])

    def measure(self, seconds: float, in_flight: int) -> dict[str, float]:
        """One run of ``ping`` asking ``pong`` for ``seconds`` with ``in_flight`` requests
        outstanding: its count, elapsed time and latency percentiles."""
        if self.token is None:
            self.start()

        async def ask() -> Any:
            request = {"target": "pong", "seconds": seconds, "in_flight": in_flight}
            with trio.fail_after(seconds + 30):
                return await self.orch.request("ping", "run", request)

        result: dict[str, float] = trio.from_thread.run(ask, trio_token=self.token)
        return result

    def request(self, module: str, endpoint: str, payload: Any) -> Any:
        """Ask ``module``'s ``endpoint`` through the orchestrator (outside the timed runs)."""
        if self.token is None:
            self.start()

        async def ask() -> Any:
            with trio.fail_after(30):
                return await self.orch.request(module, endpoint, payload)

        return trio.from_thread.run(ask, trio_token=self.token)


def _route_frame() -> bytes:
    payload = encode_payload({"n": 1, "text": "ping"})
    return encode_module_frame(
        RouteToModule(
            target_module_id="pong",
            target_endpoint="echo",
            request_id=uuid.uuid4(),
            payload=payload,
        )
    )


class BarePingPong:
    """Requests in flight over one connection to an echo process, replies back in order,
    each waking the oldest waiter: over TCP straight to the echo (``relay=False``), or
    through a bare relay process over Unix sockets (``relay=True``: the shape of the routed
    request, three processes, with nothing parsed on the way)."""

    def __init__(self, *, relay: bool = False) -> None:
        self.relay = relay
        self.processes: list[subprocess.Popen[str]] = []
        self.port = 0
        self.path = ""
        self.frame = _route_frame()
        self.directory = ""

    def _spawn(self, script: str, *args: str) -> str:
        process = subprocess.Popen(
            [sys.executable, script, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self.processes.append(process)
        assert process.stdout is not None
        return process.stdout.readline().strip()

    def _start(self) -> None:
        if not self.relay:
            self.port = int(self._spawn(ECHO))
            return
        self.directory = tempfile.mkdtemp(prefix="pywatt-bench-relay-")
        echo = os.path.join(self.directory, "echo.sock")
        self.path = os.path.join(self.directory, "relay.sock")
        self._spawn(RELAY, "echo", echo)
        self._spawn(RELAY, "relay", self.path, echo)

    def close(self) -> None:
        for process in self.processes:
            assert process.stdin is not None
            process.stdin.close()  # the TCP echo ends then; the Unix-socket peers are stopped
            if self.relay:
                process.terminate()
            process.wait(10)
        self.processes = []
        if self.directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def run(self, seconds: float) -> float:
        result = self.measure(seconds, IN_FLIGHT)
        return result["count"] / result["elapsed"]

    def measure(self, seconds: float, in_flight: int) -> dict[str, float]:
        """One run with ``in_flight`` requests outstanding: count, elapsed, p50 and p99."""
        if not self.processes:
            self._start()
        return trio.run(self._run, seconds, in_flight)

    async def _run(self, seconds: float, in_flight: int) -> dict[str, float]:
        stream: trio.abc.Stream
        if self.relay:
            stream = await trio.open_unix_socket(self.path)
        else:
            stream = await trio.open_tcp_stream("127.0.0.1", self.port)
        waiters: collections.deque[trio.Event] = collections.deque()
        lock = trio.StrictFIFOLock()
        frame = self.frame
        latencies: list[float] = []
        clock = time.perf_counter

        async def reader() -> None:
            decoder = FrameDecoder()
            while True:
                data = await stream.receive_some(65536)
                if not data:
                    return
                decoder.feed(data)
                while decoder.next_frame() is not NEED_DATA:
                    waiters.popleft().set()

        async def worker(deadline: float) -> None:
            while (sent := clock()) < deadline:
                event = trio.Event()
                async with lock:
                    waiters.append(event)
                    await stream.send_all(frame)
                await event.wait()
                latencies.append(clock() - sent)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(reader)
            start = clock()
            async with trio.open_nursery() as workers:
                for _ in range(in_flight):
                    workers.start_soon(worker, start + seconds)
            elapsed = clock() - start
            nursery.cancel_scope.cancel()
        await stream.aclose()
        latencies.sort()
        return {
            "count": len(latencies),
            "elapsed": elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000.0,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000.0,
        }


def define(bench: Bench) -> None:
    for kind, name in ((ChannelType.TCP, "one_way_tcp"), (ChannelType.IPC, "one_way_unix")):
        case = bench.case(name, unit="frames/s")
        case.add("pywatt", one_way_ours(kind))
        case.add("bare", one_way_bare(kind))
        bench.target(bench.ratio(name, "pywatt", "bare"), ">=", ONE_WAY_TARGET)
    routed = RoutedFixture()
    hop = RoutedFixture(lines=False)
    bare = BarePingPong()
    relay = BarePingPong(relay=True)
    settings = (
        Settings(repetitions=3, seconds=0.4, warmup_seconds=0.2)
        if bench.quick
        else Settings(repetitions=5, seconds=2.0, warmup_seconds=0.5)
    )
    case = bench.case("routed_request", unit="req/s", settings=settings)
    case.add("pywatt", routed.run)
    case.add("through_orchestrator", hop.run)
    case.add("bare", bare.run)
    case.add("bare_relay", relay.run)
    bench.target(
        bench.ratio("routed_request", "pywatt", "bare", name="routed_request_vs_ping_pong"),
        ">=",
        ROUTED_TARGET,
    )
    bench.ratio("routed_request", "pywatt", "bare_relay")
    # Through the orchestrator (PYWATT_DIRECT_LINES=0, and every request to or from a Rust
    # module): three processes, whose floor is the bare relay.
    bench.ratio(
        "routed_request", "through_orchestrator", "bare_relay",
        name="orchestrator_request_vs_bare_relay",
    )  # fmt: skip
    # The latencies measured by the case's runs (the warm-up's left out).
    bench.metric("routed_p50_ms", lambda: statistics.median(routed.p50[1:] or routed.p50))
    bench.metric("routed_p99_ms", lambda: statistics.median(routed.p99[1:] or routed.p99))
    # One request in flight: each repetition of p50 is a run, whose p99 the p99 metric's
    # repetitions take in turn (the harness runs every p50 repetition first).
    p99_one: list[float] = []

    def p50_one_in_flight() -> float:
        result = routed.measure(settings.seconds, 1)
        p99_one.append(result["p99_ms"])
        return result["p50_ms"]

    bench.metric("routed_p50_1_ms", p50_one_in_flight)
    bench.metric("routed_p99_1_ms", lambda: p99_one.pop(0))
    bench.target("routed_p50_1_ms", "<=", ROUTED_P50_1_TARGET_MS)
    # The same through the bare relay: the latency of three trio processes on Unix
    # sockets that parse nothing, under which no routed request can go.
    bench.metric("relay_p50_1_ms", lambda: relay.measure(settings.seconds, 1)["p50_ms"])
    bench.metric("orchestrator_p50_1_ms", lambda: hop.measure(settings.seconds, 1)["p50_ms"])
    bench.meta["routed_request"] = {
        "pywatt": f"module ping asks pong:echo, {IN_FLIGHT} in flight, under the embedded "
        "orchestrator, on the direct line it granted them (two processes, a Unix socket)",
        "through_orchestrator": f"the same with PYWATT_DIRECT_LINES=0: through the "
        f"orchestrator, {IN_FLIGHT} in flight (three processes, Unix sockets)",
        "bare": f"the same route frame, {IN_FLIGHT} in flight, over one TCP connection "
        "straight to a trio echo process (two processes)",
        "bare_relay": f"the same frame, {IN_FLIGHT} in flight, through a trio process that "
        "pumps bytes between two Unix sockets to the echo process (three processes, nothing "
        "parsed)",
    }
    bench.meta["cleanup"] = [routed.close, hop.close, bare.close, relay.close]


if __name__ == "__main__":
    cleanups: list[Any] = []

    def _define(bench: Bench) -> None:
        define(bench)
        cleanups.extend(bench.meta.pop("cleanup"))

    try:
        status = main("channels", _define)
    finally:
        for cleanup in cleanups:
            cleanup()
    raise SystemExit(status)

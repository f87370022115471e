"""One long stream between two modules through the embedded orchestrator, against the bare floor.

* ``stream_256mib``: module ``a`` streams 256 MiB (``--quick``: 32 MiB) to module ``b``'s
  streamed endpoint through the embedded orchestrator (three processes; Unix sockets; 64 KiB
  chunks, window 10, and window 32 as ``pywatt_window_32``; from ``state.open_stream`` to
  the consumer's answer), against the same
  bytes pushed by a bare trio producer through one bare trio relay process to a bare trio
  consumer over Unix sockets (``bare_relay``: the physical floor here). Rate: MB/s (10^6).
* ``orchestrator_request``, in the same case: the orchestrator's own request (``orch.request``)
  with the same bytes as its payload to module ``b``, which takes it whole (the value goes
  in a stream the orchestrator produces; from the call to the answer, so the module's
  joining and decoding of the value count too); ``orchestrator_request_vs_stream`` is its
  rate over ``pywatt``'s (no target).
* ``metrics``: ``stream_peak_rss_<process>_mib``, the growth of each process's peak resident
  set over its resident set before the stream (reset with ``/proc/<pid>/clear_refs``), the
  largest over the repetitions (``orchestrator_request_peak_rss_mib``: the orchestrator's
  during its own request); ``stream_first_chunk_ms``, from the producer's
  ``open_stream`` to the consumer's first chunk (median).

    python -m benchmarks.streams [--quick] [--out DIR] [--strict]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Final

from benchmarks._harness import Bench, Settings, main
from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

HERE: Final = Path(__file__).resolve().parent
MODULE: Final = str(HERE / "_streams_module.py")
PEER: Final = str(HERE / "_relay_peer.py")
MIB: Final = 1 << 20

_peaks: dict[str, list[float]] = {"producer": [], "orchestrator": [], "consumer": []}
_first: list[float] = []
_request_peaks: list[float] = []


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(key)


def _reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def ours(size: int, window: int = 10) -> Any:
    async def run(seconds: float) -> float:
        manifest = Manifest(
            modules=(ModuleSpec.from_command("a", MODULE), ModuleSpec.from_command("b", MODULE)),
            heartbeat_interval=5.0,
        )
        async with open_orchestrator(manifest) as orch:
            for module_id in ("a", "b"):
                await orch.module(module_id).wait_announced()
                await orch.wait_channels(module_id)
            pids = {
                "producer": orch.module("a").pid,
                "orchestrator": os.getpid(),
                "consumer": orch.module("b").pid,
            }
            base = {}
            for name, pid in pids.items():
                assert pid is not None
                _reset_peak(pid)
                base[name] = _status(pid, "VmRSS")
            push = {"target": "b:sink", "size": size, "window": window}
            result = await orch.request("a", "push", push)
            if window == 10:
                for name, pid in pids.items():
                    assert pid is not None
                    _peaks[name].append((_status(pid, "VmHWM") - base[name]) / MIB)
        assert result["reply"]["bytes"] == size, result
        if window == 10:
            _first.append((result["reply"]["first_chunk_at"] - result["started_at"]) * 1000)
        return size / result["seconds"] / 1e6

    return run


def orchestrator_request(size: int) -> Any:
    payload = (bytes(range(256)) * 4096 * (size // MIB + 1))[:size]

    async def run(seconds: float) -> float:
        manifest = Manifest(modules=(ModuleSpec.from_command("b", MODULE),), heartbeat_interval=5.0)
        async with open_orchestrator(manifest) as orch:
            await orch.module("b").wait_announced()
            await orch.wait_channels("b")
            pid = os.getpid()
            _reset_peak(pid)
            base = _status(pid, "VmRSS")
            t0 = time.perf_counter()
            taken = await orch.request("b", "size", payload)
            elapsed = time.perf_counter() - t0
            _request_peaks.append((_status(pid, "VmHWM") - base) / MIB)
        assert taken == size, taken
        return size / elapsed / 1e6

    return run


def bare(size: int) -> Any:
    def run(seconds: float) -> float:
        with tempfile.TemporaryDirectory(prefix="pywatt-bench-") as tmp:
            consumer_path, relay_path = f"{tmp}/c.sock", f"{tmp}/r.sock"

            def start(*args: str) -> subprocess.Popen[str]:
                process = subprocess.Popen(
                    [sys.executable, PEER, *args], stdout=subprocess.PIPE, text=True
                )
                assert process.stdout is not None
                if args[0] != "producer":
                    assert process.stdout.readline().strip() == "ready"
                return process

            consumer = start("consumer", consumer_path, str(size))
            relay = start("relay", relay_path, consumer_path)
            time.sleep(0.05)
            producer = start("producer", relay_path, str(size))
            out, _ = producer.communicate(timeout=600)
            for process in (consumer, relay):
                process.kill()
                process.wait()
        return size / float(out.strip()) / 1e6

    return run


def define(bench: Bench) -> None:
    bench.meta["loadavg_1m_at_start"] = os.getloadavg()[0]
    size = (32 if bench.quick else 256) * MIB
    bench.meta["stream_bytes"] = size
    settings = Settings(repetitions=3, seconds=0.0, warmup_seconds=0.0)
    case = bench.case("stream_256mib", unit="MB/s", settings=settings)
    case.add("pywatt", ours(size))
    case.add("pywatt_window_32", ours(size, 32))
    case.add("bare_relay", bare(size))
    case.add("orchestrator_request", orchestrator_request(size))
    bench.ratio("stream_256mib", "pywatt", "bare_relay", name="stream_vs_bare_relay")
    bench.ratio(
        "stream_256mib", "pywatt_window_32", "bare_relay", name="stream_window_32_vs_bare_relay"
    )
    bench.target("stream_vs_bare_relay", ">=", 0.5)
    bench.ratio(
        "stream_256mib", "orchestrator_request", "pywatt", name="orchestrator_request_vs_stream"
    )
    for name in _peaks:
        bench.metric(f"stream_peak_rss_{name}_mib", lambda name=name: max(_peaks[name] or [0.0]))
        bench.target(f"stream_peak_rss_{name}_mib", "<=", 64.0)
    bench.metric("orchestrator_request_peak_rss_mib", lambda: max(_request_peaks or [0.0]))
    bench.target("orchestrator_request_peak_rss_mib", "<=", 64.0)
    bench.metric("stream_first_chunk_ms", lambda: statistics.median(_first or [0.0]))


def finish(bench: Bench) -> None:
    bench.meta["loadavg_1m_at_end"] = os.getloadavg()[0]


if __name__ == "__main__":
    raise SystemExit(main("streams", define, finish=finish))

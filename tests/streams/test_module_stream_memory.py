"""Back-pressure bounds memory in all three processes: 1 GiB through the embedded orchestrator
to a consumer that is slow for its first chunks (docs/streams.md).

The peak resident set of the producer, the orchestrator (this test process) and the consumer
is reset before the stream (``/proc/<pid>/clear_refs``) and read after it (``VmHWM``); each
may grow by at most 64 MiB over its resident set before the stream, whatever the stream's
size: the window (10 chunks of 64 KiB) is all a stream holds anywhere."""

from __future__ import annotations

import os
import zlib

import pytest
import trio

from pywatt.orchestrator import ModuleCallFailed

from .test_module_streams import MIB, Lines, body, orchestrated, step

GIB = 1024 * MIB
LIMIT = 64 * MIB
WHOLE_GIB_HEARTBEAT = 30.0
"""Seconds between heartbeats in the tests of a whole 1 GiB value (3 missed: 90 s silent)."""


def _status(pid: int, key: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise LookupError(key)


def _channel_lines(lines: Lines) -> list[str]:
    """What the orchestrator and modules said of channels and heartbeats (why one closed)."""
    words = ("channel", "heartbeat", "closing", "silent", "stopped")
    return [line for line in lines.lines if any(w in line for w in words)][-20:]


def _reset_peak(pid: int) -> None:
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")  # the peak resident set starts again from the current one


@pytest.mark.slow
async def test_a_gib_to_a_slow_consumer_stays_within_64_mib_over_baseline_everywhere() -> None:
    with trio.fail_after(600):
        async with orchestrated("a", "b") as (orch, lines):
            pids = {
                "producer": orch.module("a").pid,
                "orchestrator": os.getpid(),
                "consumer": orch.module("b").pid,
            }
            baseline: dict[str, int] = {}
            for name, pid in pids.items():
                assert pid is not None
                _reset_peak(pid)
                baseline[name] = _status(pid, "VmRSS")
            # Slow for its first 2000 chunks (125 MiB, about 5 s): the producer waits on the
            # window the whole time; then as fast as it can read.
            result = await step(
                orch, "a", upload="b:upload", size=GIB, chunk=MIB,
                metadata={"sleep": "0.0025", "slow_chunks": "2000"},
            )  # fmt: skip
            peaks = {name: _status(pid, "VmHWM") for name, pid in pids.items() if pid}
    grown = {name: (peaks[name] - baseline[name]) / MIB for name in pids}
    print("peak RSS over baseline (MiB):", {k: round(v, 1) for k, v in grown.items()})
    assert "reply" in result, (result, lines.lines[-10:])
    assert result["reply"]["bytes"] == GIB
    assert result["reply"]["crc32"] == result["sent_crc32"] == zlib.crc32(body(GIB))
    assert result["reply"]["max_in_flight"] <= 10
    for name, mib in grown.items():
        assert mib * MIB <= LIMIT, f"{name} grew {mib:.1f} MiB over its baseline"


@pytest.mark.slow
async def test_a_gib_orchestrator_request_keeps_the_orchestrator_within_64_mib() -> None:
    """The orchestrator's own request of 1 GiB of bytes goes as a stream cut from the value
    as it goes: the orchestrator (this process) holds the value and a window of chunks,
    never a copy of the body. (The module holds the value it asked for, whole.)"""
    payload = body(GIB)
    with trio.fail_after(600):
        # A whole 1 GiB value holds the module's loop for seconds while it is joined and
        # decoded (over 2 s idle here, far more beside the fault suite: docs/streams.md):
        # heartbeats that tolerate it, so the test sees the value, not a dropped channel.
        async with orchestrated("b", heartbeat_interval=WHOLE_GIB_HEARTBEAT) as (orch, lines):
            pid = os.getpid()
            _reset_peak(pid)
            baseline = _status(pid, "VmRSS")
            start = trio.current_time()
            try:
                digest = await orch.request("b", "digest", payload)
            except ModuleCallFailed as exc:
                pytest.fail(f"{exc}; {_channel_lines(lines)}")
            seconds = trio.current_time() - start
            grown = (_status(pid, "VmHWM") - baseline) / MIB
            stats = await orch.routing_statistics()
    print(f"1 GiB orchestrator request: {seconds:.1f} s, {GIB / MIB / seconds:.0f} MiB/s; "
          f"orchestrator peak RSS over baseline {grown:.1f} MiB")  # fmt: skip
    assert (digest["size"], digest["type"]) == (GIB, "bytes"), (digest, lines.lines[-10:])
    assert digest["crc32"] == zlib.crc32(payload)
    assert stats.own_streams == 0, stats
    assert grown * MIB <= LIMIT, f"the orchestrator grew {grown:.1f} MiB over its baseline"


@pytest.mark.slow
async def test_a_gib_request_and_a_gib_reply_between_modules() -> None:
    """The top of the size sweep for a plain request and its reply: module a asks b's
    ``echo`` with 1 GiB of bytes and gets the same 1 GiB back, each way as a value in a
    stream (no PayloadTooLarge, bytes kept bytes). The orchestrator, which relays both
    streams, holds only their windows. (Each module holds the whole value it sent or got.)"""
    with trio.fail_after(600):
        # Each module builds, joins, decodes and encodes a whole 1 GiB value, which holds its
        # loop for seconds (see above): heartbeats that tolerate it.
        async with orchestrated("a", "b", heartbeat_interval=WHOLE_GIB_HEARTBEAT) as (
            orch,
            lines,
        ):
            pid = os.getpid()
            _reset_peak(pid)
            baseline = _status(pid, "VmRSS")
            start = trio.current_time()
            result = await step(orch, "a", call="b:echo", size=GIB, timeout=500)
            seconds = trio.current_time() - start
            grown = (_status(pid, "VmHWM") - baseline) / MIB
    print(f"1 GiB request and reply: {seconds:.1f} s; orchestrator peak RSS over baseline "
          f"{grown:.1f} MiB")  # fmt: skip
    assert result == {"same": True, "type": "bytes", "size": GIB}, (result, _channel_lines(lines))
    assert grown * MIB <= LIMIT, f"the orchestrator grew {grown:.1f} MiB over its baseline"

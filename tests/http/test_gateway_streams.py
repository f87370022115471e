"""Streaming HTTP through the orchestrator's gateway (a real module, a real client): Server-
Sent Events arrive event by event, a ``more_body`` download part by part, and a 200 MiB
upload passes through while the orchestrator's memory stays flat."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import trio

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator
from pywatt.testing import open_module

MODULES = Path(__file__).parent / "modules"
STREAM_MOD = MODULES / "stream_mod.py"
MIB = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident set (the embedded orchestrator runs in it)."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


async def _first_event_before_the_last(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """GET /events: its first event reaches the client while the module holds the last."""
    async with client.stream("GET", "/events", headers=headers) as events:
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
        lines = events.aiter_lines()
        with trio.fail_after(20):  # the module holds "last" until /release
            assert await anext(lines) == "data: first"
        assert (await client.post("/release")).json() == {"released": True}
        with trio.fail_after(20):
            rest = [line async for line in lines if line]
    assert rest == ["data: last"]


async def test_server_sent_events_reach_the_client_before_the_module_sent_the_last() -> None:
    async with open_module(STREAM_MOD) as module:
        api = module.orchestrator.orchestrator_api
        async with httpx.AsyncClient(base_url=api, timeout=30) as client:
            await _first_event_before_the_last(client, {"accept": "text/event-stream"})


async def test_a_more_body_download_passes_through_in_parts_over_http() -> None:
    spec = ModuleSpec.from_command("streams", str(STREAM_MOD))
    manifest = Manifest(modules=[spec], grace=2, term_grace=2)
    async with open_orchestrator(manifest, on_output=lambda line: None,
                                 gateway_transport="http") as orch:  # fmt: skip
        with trio.fail_after(20):
            await orch.module("streams").wait_announced()
        async with httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client:
            async with client.stream("GET", "/download?parts=32") as download:
                assert download.headers["transfer-encoding"] == "chunked"  # not gathered
                body = b"".join([part async for part in download.aiter_raw()])
            assert body == b"".join(bytes([i]) * 64 * 1024 for i in range(32))


async def test_a_200_mib_upload_streams_through_with_the_orchestrators_memory_bounded() -> None:
    total = 200 * MIB
    part = b"u" * MIB  # one object sent again and again: the client holds 1 MiB

    async def upload() -> AsyncIterator[bytes]:
        for _ in range(total // MIB):
            yield part

    async with open_module(STREAM_MOD) as module:
        api = module.orchestrator.orchestrator_api
        async with httpx.AsyncClient(base_url=api, timeout=60) as client:
            assert (await client.post("/upload", content=b"warm")).json()["bytes"] == 4
            baseline = rss_bytes()
            peak = baseline
            done = trio.Event()

            async def sample() -> None:
                nonlocal peak
                while not done.is_set():
                    peak = max(peak, rss_bytes())
                    await trio.sleep(0.01)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(sample)
                reply = await client.post("/upload", content=upload())
                done.set()
        assert reply.status_code == 200, reply.text
        assert reply.json()["bytes"] == total
        assert reply.json()["largest_part"] <= 1 * MIB  # it arrived in parts, not whole
        assert peak - baseline < 48 * MIB, f"RSS grew {(peak - baseline) / MIB:.1f} MiB"


async def test_on_the_default_pooled_path_a_streamed_answer_arrives_before_it_ends() -> None:
    # No `accept: text/event-stream`: the request takes the pooled path, whose answers used
    # to be read whole; a chunked answer now goes on part by part once its head arrived.
    async with open_module(STREAM_MOD) as module:
        api = module.orchestrator.orchestrator_api
        async with httpx.AsyncClient(base_url=api, timeout=30) as client:
            await _first_event_before_the_last(client, {})
            # the pooled connection came back in order: the next answers are right
            for parts in (1, 3):
                reply = await client.get(f"/download?parts={parts}")
                assert reply.content == b"".join(bytes([i]) * 64 * 1024 for i in range(parts))


async def test_a_256_mib_download_on_the_pooled_path_keeps_the_orchestrators_memory_flat() -> None:
    parts = 4096  # of 64 KiB
    async with open_module(STREAM_MOD) as module:
        api = module.orchestrator.orchestrator_api
        async with httpx.AsyncClient(base_url=api, timeout=60) as client:
            assert len((await client.get("/download?parts=1")).content) == 64 * 1024
            baseline = rss_bytes()
            peak = baseline
            size = 0
            async with client.stream("GET", f"/download?parts={parts}") as download:
                assert download.headers["transfer-encoding"] == "chunked"  # not gathered
                async for chunk in download.aiter_raw():
                    size += len(chunk)
                    peak = max(peak, rss_bytes()) if size % (8 * MIB) < len(chunk) else peak
        assert size == parts * 64 * 1024
        assert peak - baseline < 48 * MIB, f"RSS grew {(peak - baseline) / MIB:.1f} MiB"

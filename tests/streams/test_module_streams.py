"""Streams between real modules through the embedded orchestrator (docs/streams.md)."""

from __future__ import annotations

import sys
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import trio

from pywatt.orchestrator import ConsoleLine, Manifest, ModuleSpec, Orchestrator, open_orchestrator

STREAMER = str(Path(__file__).parent / "modules" / "streamer.py")
sys.path.insert(0, str(Path(__file__).parent / "modules"))
from streamer import body  # noqa: E402


def streamer(module_id: str) -> ModuleSpec:
    return ModuleSpec.from_command(module_id, STREAMER)


@asynccontextmanager
async def orchestrated(*ids: str) -> AsyncIterator[tuple[Orchestrator, list[str]]]:
    lines: list[str] = []

    def keep(line: ConsoleLine) -> None:
        lines.append(f"[{line.module}] {line.text}")

    manifest = Manifest(
        modules=tuple(streamer(i) for i in ids), heartbeat_interval=0.5, grace=2.0,
        term_grace=1.0,
    )  # fmt: skip
    async with open_orchestrator(manifest, on_output=keep) as orch:
        for module_id in ids:
            await orch.module(module_id).wait_announced()
            await orch.wait_channels(module_id)
        yield orch, lines


async def step(orch: Orchestrator, module_id: str, **step: Any) -> Any:
    return await orch.request(module_id, "run", step)


async def test_a_stream_goes_to_the_endpoint_and_its_answer_comes_back() -> None:
    with trio.fail_after(60):
        async with orchestrated("a", "b") as (orch, lines):
            result = await step(
                orch, "a", upload="b:upload", size=5 * 2**20 + 3, chunk=100_000,
                metadata={"name": "x.bin"},
            )  # fmt: skip
    reply = result["reply"]
    assert reply["bytes"] == 5 * 2**20 + 3, (result, lines[-20:])
    assert reply["crc32"] == result["sent_crc32"] == zlib.crc32(body(5 * 2**20 + 3))
    assert reply["source"] == "a"
    assert reply["metadata"] == {"name": "x.bin"}
    assert reply["max_in_flight"] <= reply["window"] == 10
    assert result["max_in_flight"] <= 10

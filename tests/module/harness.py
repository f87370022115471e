"""Runs ``serve_module`` in-process against a test that plays the orchestrator byte by byte.

The test writes real protocol lines into the module's stdin stream and reads real lines from
its stdout stream (trio memory streams): no mocked actors, the full tree runs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import trio
import trio.testing

from pywatt.module import ModuleConfig, serve_module
from pywatt.module._run import Main
from pywatt.wire import (
    NEED_DATA,
    InitBlob,
    LineDecoder,
    ModuleToOrchestrator,
    OrchestratorToModule,
    decode_json,
    encode_json,
    encode_line,
)

INIT = InitBlob(
    orchestrator_api="http://127.0.0.1:9900",
    module_id="mod-under-test",
    env={"PYWATT_ORCHESTRATOR": "0.1.0", "INIT_TOKEN": "init-env-secret-value"},
    listen="127.0.0.1:4102",
)


class Peer:
    """The orchestrator's end of a module's stdio."""

    def __init__(
        self,
        to_module: trio.testing.MemorySendStream,
        from_module: trio.testing.MemoryReceiveStream,
    ) -> None:
        self.to_module = to_module
        self.from_module = from_module
        self.decoder = LineDecoder(first_line_max=None)
        self.exit_code: int | None = None
        self.done = trio.Event()

    async def send(self, message: OrchestratorToModule) -> None:
        await self.to_module.send_all(encode_line(encode_json(message)))

    async def send_raw(self, data: bytes) -> None:
        await self.to_module.send_all(data)

    async def close_stdin(self) -> None:
        await self.to_module.aclose()

    async def read_raw(self) -> bytes:
        while True:
            line = self.decoder.next_line()
            if line is not NEED_DATA:
                return line
            data = await self.from_module.receive_some()
            if not data:
                raise EOFError("the module closed stdout")
            self.decoder.feed(data)

    async def read(self) -> ModuleToOrchestrator:
        return decode_json(await self.read_raw(), ModuleToOrchestrator)


@asynccontextmanager
async def running_module(
    main: Main | None = None, *, init: InitBlob = INIT, **options: Any
) -> AsyncIterator[Peer]:
    """Run a module with ``options`` in a background task; yields its orchestrator peer."""
    stdin_send, stdin_receive = trio.testing.memory_stream_one_way_pair()
    stdout_send, stdout_receive = trio.testing.memory_stream_one_way_pair()
    peer = Peer(stdin_send, stdout_receive)
    config = ModuleConfig.from_kwargs(**{"shutdown_grace": 1.0, **options})

    async def run() -> None:
        peer.exit_code = await serve_module(
            config, main, init=init, stdin=stdin_receive, stdout=stdout_send
        )
        peer.done.set()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(run)
        yield peer
        with trio.fail_after(30):
            if not peer.done.is_set():
                await peer.send_raw(b"")
                await peer.close_stdin()
            await peer.done.wait()

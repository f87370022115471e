"""A fake orchestrator for channel tests: a trio listener whose connections the test drives
byte by byte (real sockets, real frames)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import trio

from actors import Actor, ActorSystem, open_actor_system
from pywatt.channels import (
    ChannelConfig,
    ChannelDirectory,
    ChannelFailed,
    channels_supervisor_spec,
)
from pywatt.wire import (
    NEED_DATA,
    ChannelType,
    FrameDecoder,
    FrameFormat,
    Message,
    ModuleToOrchestrator,
    OrchestratorToModule,
    decode_json,
    encode_frame,
    encode_json,
)


class Peer:
    """One accepted connection, as the orchestrator sees it."""

    def __init__(self, stream: trio.abc.Stream) -> None:
        self.stream = stream
        self.decoder = FrameDecoder()

    async def send(self, message: OrchestratorToModule) -> None:
        await self.stream.send_all(encode_frame(FrameFormat.JSON, encode_json(message)))

    async def send_raw(self, data: bytes) -> None:
        await self.stream.send_all(data)

    async def read(self) -> Message[Any]:
        while True:
            frame = self.decoder.next_frame()
            if frame is not NEED_DATA:
                return decode_json(frame.payload, Message[ModuleToOrchestrator])
            data = await self.stream.receive_some(65536)
            if not data:
                raise EOFError("the module closed the channel")
            self.decoder.feed(data)

    async def read_until_eof(self) -> None:
        while await self.stream.receive_some(65536):
            pass


class FakeOrchestrator:
    """Accepts connections on TCP or a Unix socket; each lands in ``accepted``."""

    def __init__(self, kind: ChannelType, listener: trio.SocketListener, address: str) -> None:
        self.kind = kind
        self.listener = listener
        self.address = address
        self.accepted_send, self.accepted = trio.open_memory_channel[Peer](16)

    async def serve(self, nursery: trio.Nursery) -> None:
        async def loop() -> None:
            while True:
                stream = await self.listener.accept()
                await self.accepted_send.send(Peer(stream))

        nursery.start_soon(loop)

    async def next_peer(self) -> Peer:
        return await self.accepted.receive()


@asynccontextmanager
async def fake_orchestrator(
    kind: ChannelType = ChannelType.TCP, tmp: str | None = None
) -> AsyncIterator[FakeOrchestrator]:
    if kind is ChannelType.TCP:
        (listener,) = await trio.open_tcp_listeners(0, host="127.0.0.1")
        address = f"127.0.0.1:{listener.socket.getsockname()[1]}"
    else:
        assert tmp is not None
        address = os.path.join(tmp, "orch.sock")
        sock = trio.socket.socket(trio.socket.AF_UNIX, trio.socket.SOCK_STREAM)
        await sock.bind(address)
        sock.listen(8)
        listener = trio.SocketListener(sock)
    fake = FakeOrchestrator(kind, listener, address)
    async with trio.open_nursery() as nursery:
        await fake.serve(nursery)
        yield fake
        nursery.cancel_scope.cancel()
    await listener.aclose()


class FatalChannels(Actor[ChannelFailed]):
    """Subscribed to ``ChannelFailed``, as a module's lifecycle actor is: hands each
    required channel that gave up to ``on_fatal``, then wakes the tests waiting on the
    directory (the failure arrives a message after the directory changed)."""

    def __init__(
        self, on_fatal: Callable[[BaseException], None], directory: ChannelDirectory
    ) -> None:
        self.on_fatal = on_fatal
        self.directory = directory

    async def receive(self, message: ChannelFailed) -> None:
        if message.required:
            self.on_fatal(message.error)
            self.directory.notify()


@asynccontextmanager
async def running_channels(
    configs: list[ChannelConfig],
    on_fatal: Callable[[BaseException], None] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[ActorSystem, ChannelDirectory]]:
    """The channels tree alone; ``on_fatal(error)``: a required channel gave up."""
    directory = ChannelDirectory()
    subscriptions: dict[type[Any], str] = {}
    async with open_actor_system() as system:
        if on_fatal is not None:
            await system.spawn(lambda: FatalChannels(on_fatal, directory), name="test.fatal")
            subscriptions[ChannelFailed] = "test.fatal"
        await system.start_supervisor(
            channels_supervisor_spec(
                configs, directory, services=frozenset(), subscriptions=subscriptions, **options
            )
        )
        yield system, directory

"""The examples of docs/streams.md, run: an upload read in the handler, and one read from a
task with a deferred reply; the metadata reaches the consumer."""

from __future__ import annotations

from pathlib import Path

import attrs
import trio

import actors


@attrs.frozen
class Upload(actors.Request[int]):
    name: str
    stream: actors.InboundStream


class Store(actors.Actor[Upload]):
    reply_errors = (actors.StreamAborted,)

    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    async def receive(self, message: Upload) -> int:
        self.metadata.append(message.stream.metadata)
        size = 0
        async for chunk in message.stream:
            size += len(chunk)
        return size


class TaskStore(actors.Actor[Upload]):
    async def receive(self, message: Upload) -> None:
        reply = self.ctx.defer_reply()

        async def read() -> None:
            reply.reply(len(await message.stream.read_all()))

        self.ctx.start_task(read)


async def upload(store: actors.ActorRef[Upload], path: str) -> int:
    async with (
        await trio.open_file(path, "rb") as f,
        actors.open_stream(store, lambda s: Upload(path, s), metadata={"name": "a"}) as stream,
    ):
        while block := await f.read(1 << 20):
            await stream.send(block)
    return stream.reply


async def test_the_upload_examples_work(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"\x42" * (2 * 1024 * 1024 + 5))
    store = Store()
    with trio.fail_after(20):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(lambda: store, name="store")
            assert await upload(ref, str(path)) == 2 * 1024 * 1024 + 5
            ref2 = await system.spawn(TaskStore, name="task-store")
            assert await upload(ref2, str(path)) == 2 * 1024 * 1024 + 5
    assert store.metadata == [{"name": "a"}]

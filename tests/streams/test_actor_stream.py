"""Streams between two actors in one process: order, sizes, back-pressure, aborts, crashes.

Every test runs under ``trio.fail_after``: an abort must reach the other side, never hang it.
"""

from __future__ import annotations

import inspect
from typing import Any

import attrs
import pytest
import trio

import actors
import actors.testing
from pywatt import wire

KiB = 1024
MiB = 1024 * KiB
WINDOW = 10  # the default


@attrs.frozen
class Upload(actors.Request[int]):
    """Offer a stream; the reply is the number of bytes read."""

    stream: actors.InboundStream
    crash_after: int | None = None
    stop_after: int | None = None
    slow: int = 0


class Rejected(Exception):
    pass


@attrs.define
class Seen:
    chunks: list[bytes] = attrs.field(factory=list)
    in_flight: list[int] = attrs.field(factory=list)
    errors: list[BaseException] = attrs.field(factory=list)
    aborted: trio.Event = attrs.field(factory=trio.Event)


class Sink(actors.Actor[Upload]):
    """Reads the stream in its handler, optionally slowly, crashing or returning early."""

    def __init__(self, seen: Seen) -> None:
        self.seen = seen

    async def receive(self, message: Upload) -> int:
        total = 0
        try:
            async for chunk in message.stream:
                self.seen.chunks.append(chunk)
                self.seen.in_flight.append(message.stream.statistics().in_flight)
                total += len(chunk)
                for _ in range(message.slow):
                    await trio.lowlevel.checkpoint()
                if message.crash_after is not None and len(self.seen.chunks) >= message.crash_after:
                    raise RuntimeError("sink broke")
                if message.stop_after is not None and len(self.seen.chunks) >= message.stop_after:
                    return total
        except actors.StreamAborted as exc:
            self.seen.errors.append(exc)
            self.seen.aborted.set()
            raise Rejected(str(exc)) from exc
        return total

    reply_errors = (Rejected,)


async def _sink(system: actors.ActorSystem, seen: Seen) -> actors.ActorRef[Any]:
    return await system.spawn(lambda: Sink(seen), name="sink")


def _body(size: int) -> bytes:
    block = bytes(range(256)) * 16
    return (block * (size // len(block) + 1))[:size]


@pytest.mark.parametrize(
    "size",
    [0, 1, 64 * KiB - 1, 64 * KiB, 64 * KiB + 1, 3 * MiB + 3],
    ids=["0B", "1B", "64KiB-1", "64KiB", "64KiB+1", "3MiB+3"],
)
async def test_a_body_of_any_size_arrives_whole_in_chunks_of_at_most_64_kib(size: int) -> None:
    seen = Seen()
    body = _body(size)
    with trio.fail_after(20):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            async with actors.open_stream(sink, lambda s: Upload(s)) as stream:
                await stream.send(body)
            assert stream.reply == size
    assert b"".join(seen.chunks) == body
    assert len(seen.chunks) == -(-size // (64 * KiB))
    assert all(0 < len(c) <= 64 * KiB for c in seen.chunks)


async def test_many_sends_arrive_in_order() -> None:
    seen = Seen()
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            async with actors.open_stream(sink, Upload, window=3, chunk_size=4) as stream:
                for i in range(100):
                    await stream.send(b"%03d" % i)
            assert stream.reply == 300
            stats = stream.statistics()
    assert seen.chunks == [b"%03d" % i for i in range(100)]
    assert stats.complete
    assert stats.max_in_flight <= 3


async def test_a_slow_consumer_holds_100_mib_to_the_window() -> None:
    """Back-pressure, proven by the counters: never more than the window in flight."""
    seen = Seen()
    chunk = b"\xa5" * (64 * KiB)
    count = 100 * MiB // len(chunk)
    with trio.fail_after(60):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            async with actors.open_stream(sink, lambda s: Upload(s, slow=3)) as stream:
                for _ in range(count):
                    await stream.send(chunk)
                    assert stream.statistics().in_flight <= WINDOW
            stats = stream.statistics()
    assert stream.reply == 100 * MiB
    assert stats.sent == stats.consumed == count == 1600
    assert stats.max_in_flight == WINDOW  # the producer was held back
    assert max(seen.in_flight) < WINDOW
    assert len(seen.chunks) == count


async def test_cancelling_the_producer_aborts_the_consumer() -> None:
    seen = Seen()
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            with trio.CancelScope() as scope:
                async with actors.open_stream(sink, Upload, window=2) as stream:
                    await stream.send(b"one")
                    scope.cancel()
                    await stream.send(b"two")
            assert scope.cancelled_caught
            await seen.aborted.wait()
    (error,) = seen.errors
    assert isinstance(error, actors.StreamAborted)
    assert error.reason is actors.StreamAbortReason.CANCELLED
    assert error.by == "producer"
    assert str(error) == "stream aborted by the producer (cancelled): the producer was cancelled"


async def test_an_error_in_the_producer_aborts_the_consumer_as_crashed() -> None:
    seen = Seen()
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            with pytest.raises(ValueError, match="bad input"):
                async with actors.open_stream(sink, Upload) as stream:
                    await stream.send(b"x")
                    raise ValueError("bad input")
            await seen.aborted.wait()
    (error,) = seen.errors
    assert isinstance(error, actors.StreamAborted)
    assert error.reason is actors.StreamAbortReason.CRASHED
    assert error.by == "producer"
    assert "ValueError: bad input" in error.detail


async def test_a_crash_of_the_consumer_aborts_the_waiting_producer() -> None:
    seen = Seen()
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            with pytest.raises(actors.StreamAborted) as info:
                async with actors.open_stream(
                    sink, lambda s: Upload(s, crash_after=3), window=2
                ) as stream:
                    for _ in range(1000):  # the window fills: the producer waits for credit
                        await stream.send(b"data")
            async with actors.open_stream(sink, Upload) as empty:  # restarted, serving
                pass
            assert empty.reply == 0
    error = info.value
    assert error.reason is actors.StreamAbortReason.CRASHED
    assert error.by == "consumer"
    assert isinstance(error.__cause__, actors.ActorCrashed)
    assert "'sink' crashed while handling Upload" in str(error)
    assert stream.statistics().max_in_flight <= 2


async def test_cancelling_the_consumer_aborts_the_producer() -> None:
    @attrs.frozen
    class Take(actors.Request[None]):
        stream: actors.InboundStream

    class Canceller(actors.Actor[Take]):
        async def receive(self, message: Take) -> None:
            with trio.CancelScope() as scope:
                async for _ in message.stream:
                    scope.cancel()

    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(Canceller, name="canceller")
            with pytest.raises(actors.StreamAborted) as info:
                async with actors.open_stream(ref, Take, window=1) as stream:
                    for _ in range(100):
                        await stream.send(b"x")
    assert info.value.reason is actors.StreamAbortReason.CANCELLED
    assert info.value.by == "consumer"
    assert info.value.detail == "the consumer was cancelled"


async def test_a_consumer_that_returns_before_the_end_aborts_the_producer() -> None:
    seen = Seen()
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, seen)
            with pytest.raises(actors.StreamAborted, match="returned before the end") as info:
                async with actors.open_stream(sink, lambda s: Upload(s, stop_after=1)) as stream:
                    await stream.send(b"a")
                    await stream.send(b"b")
    assert info.value.reason is actors.StreamAbortReason.CANCELLED
    assert info.value.by == "consumer"


async def test_a_stream_offered_to_a_stopped_actor_aborts_at_once() -> None:
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, Seen())
            await system.stop("sink")
            with pytest.raises(actors.StreamAborted) as info:
                async with actors.open_stream(sink, Upload) as stream:
                    await stream.send(b"x" * 10)
                    await stream.send(b"x" * 10)
    assert info.value.reason is actors.StreamAbortReason.STOPPED
    assert isinstance(info.value.__cause__, actors.ActorStopped)


@attrs.frozen
class Later(actors.Request[int]):
    stream: actors.InboundStream


class TaskReader(actors.Actor[Later]):
    """Reads the stream from a background task and answers with a deferred reply."""

    async def receive(self, message: Later) -> None:
        reply = self.ctx.defer_reply()

        async def read() -> None:
            body = await message.stream.read_all()
            reply.reply(len(body))

        self.ctx.start_task(read)


async def test_a_consumer_may_read_from_a_task_with_a_deferred_reply() -> None:
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(TaskReader, name="reader")
            async with actors.open_stream(ref, Later, window=2) as stream:
                for _ in range(50):
                    await stream.send(b"0123456789")
            assert stream.reply == 500


async def test_crashing_a_consumer_that_reads_from_a_task_aborts_the_producer() -> None:
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(TaskReader, name="reader")
            with pytest.raises(actors.StreamAborted) as info:
                async with actors.open_stream(ref, Later, window=2) as stream:
                    await stream.send(b"a")
                    await stream.send(b"b")
                    await stream.send(b"c")  # waits: the reader cannot finish yet
                    await actors.testing.crash(system, "reader")
                    for _ in range(10):
                        await stream.send(b"d")
    assert info.value.reason is actors.StreamAbortReason.CRASHED
    assert info.value.by == "consumer"


async def test_a_size_limit_on_the_consumer_aborts_as_too_large() -> None:
    @attrs.frozen
    class Small(actors.Request[int]):
        stream: actors.InboundStream

    class Limited(actors.Actor[Small]):
        reply_errors = (actors.StreamAborted,)

        async def receive(self, message: Small) -> int:
            return len(await message.stream.read_all(max_size=10))

    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(Limited, name="limited")
            with pytest.raises(
                actors.StreamAborted, match="over the consumer's limit of 10"
            ) as info:
                async with actors.open_stream(ref, Small, window=1, chunk_size=4) as stream:
                    await stream.send(b"x" * 100)
    assert info.value.reason is actors.StreamAbortReason.TOO_LARGE


async def test_an_error_answer_after_the_end_comes_out_of_the_block() -> None:
    @attrs.frozen
    class Check(actors.Request[None]):
        stream: actors.InboundStream

    class Checker(actors.Actor[Check]):
        reply_errors = (Rejected,)

        async def receive(self, message: Check) -> None:
            await message.stream.read_all()
            raise Rejected("not a PNG")

    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            ref = await system.spawn(Checker, name="checker")
            with pytest.raises(Rejected, match="not a PNG"):
                async with actors.open_stream(ref, Check) as stream:
                    await stream.send(b"GIF89a")
            assert stream.statistics().complete


async def test_sending_after_the_end_is_refused() -> None:
    with trio.fail_after(10):
        async with actors.open_actor_system() as system:
            sink = await _sink(system, Seen())
            async with actors.open_stream(sink, Upload) as stream:
                await stream.send(b"x")
            with pytest.raises(trio.ClosedResourceError):
                await stream.send(b"y")


def test_the_abort_reasons_are_the_wire_codes() -> None:
    assert [r.value for r in actors.StreamAbortReason] == [c.value for c in wire.AbortCode]
    defaults = inspect.signature(actors.open_stream).parameters
    assert defaults["window"].default == WINDOW == wire.DEFAULT_WINDOW
    assert defaults["chunk_size"].default == 64 * KiB == wire.DEFAULT_CHUNK_SIZE

"""The actor stream under random sizes, windows, consumer speeds and failure points.

Whatever happens, nothing hangs: the consumer gets the body whole and in order, or a prefix
of it and a ``StreamAborted``; the producer's block ends with the reply or an error; the
window is never exceeded.
"""

from __future__ import annotations

from typing import Any

import attrs
import trio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import actors

FAILURES = [
    "producer_cancel",
    "producer_raise",
    "consumer_crash",
    "consumer_cancel",
    "consumer_return",
]


@attrs.frozen
class Take(actors.Request[int]):
    stream: actors.InboundStream
    delays: tuple[int, ...]
    fail: str | None
    at: int


class Boom(Exception):
    pass


class Cancelled(Exception):
    """Stands for the producer's block having been cancelled."""


class Consumer(actors.Actor[Take]):
    reply_errors = (actors.StreamAborted,)

    def __init__(self, got: list[bytes], in_flight: list[int]) -> None:
        self.got = got
        self.in_flight = in_flight

    async def receive(self, message: Take) -> int:
        n = 0
        with trio.CancelScope() as scope:
            async for chunk in message.stream:
                self.got.append(chunk)
                self.in_flight.append(message.stream.statistics().in_flight)
                n += 1
                for _ in range(message.delays[n % len(message.delays)]):
                    await trio.lowlevel.checkpoint()
                if n == message.at:
                    if message.fail == "consumer_crash":
                        raise Boom("consumer crashed")
                    if message.fail == "consumer_cancel":
                        scope.cancel()
                    if message.fail == "consumer_return":
                        return -1
        return sum(len(c) for c in self.got)


async def _scenario(
    sends: list[bytes],
    window: int,
    chunk_size: int,
    delays: tuple[int, ...],
    fail: str | None,
    at: int,
) -> tuple[list[bytes], BaseException | None, Any, actors.StreamStatistics]:
    got: list[bytes] = []
    in_flight: list[int] = []
    error: BaseException | None = None
    reply: Any = None
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Consumer(got, in_flight), name="consumer")
        try:
            with trio.CancelScope() as scope:
                async with actors.open_stream(
                    ref,
                    lambda s: Take(s, delays, fail, at),
                    window=window,
                    chunk_size=chunk_size,
                ) as stream:
                    for i, blob in enumerate(sends):
                        if i == at and fail == "producer_cancel":
                            scope.cancel()
                        if i == at and fail == "producer_raise":
                            raise Boom("producer failed")
                        await stream.send(blob)
                reply = stream.reply
            if scope.cancelled_caught:
                error = Cancelled()
        except (actors.StreamAborted, Boom, actors.ActorCrashed) as exc:
            error = exc
        stats = stream.statistics()
    assert all(n < window for n in in_flight)  # what the consumer saw after taking a chunk
    return got, error, reply, stats


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sends=st.lists(st.binary(max_size=50), max_size=20),
    window=st.integers(1, 5),
    chunk_size=st.integers(1, 16),
    delays=st.lists(st.integers(0, 3), min_size=1, max_size=5).map(tuple),
    fail=st.none() | st.sampled_from(FAILURES),
    at=st.integers(0, 30),
)
def test_every_run_ends_whole_or_aborted_and_never_hangs(
    sends: list[bytes],
    window: int,
    chunk_size: int,
    delays: tuple[int, ...],
    fail: str | None,
    at: int,
) -> None:
    async def main() -> tuple[list[bytes], BaseException | None, Any, actors.StreamStatistics]:
        with trio.fail_after(10):
            return await _scenario(sends, window, chunk_size, delays, fail, at)

    got, error, reply, stats = trio.run(main)
    body = b"".join(sends)
    assert stats.max_in_flight <= window
    assert all(0 < len(c) <= chunk_size for c in got)
    assert body.startswith(b"".join(got))
    if error is None:
        assert b"".join(got) == body
        assert stats.complete
        # a consumer that returns right after the last chunk has still read the whole body
        assert reply == len(body) or (fail == "consumer_return" and reply == -1)
    else:
        assert not stats.complete or isinstance(error, actors.ActorCrashed)
    if fail is None:
        assert error is None

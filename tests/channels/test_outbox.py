"""The connection outbox: direct appends up to the high-water mark, then back-pressure;
closing refuses frames and wakes everyone waiting."""

from __future__ import annotations

import trio
import trio.testing

from pywatt.channels import Outbox, write_now


async def test_offers_are_refused_above_the_high_water_mark_until_the_writer_takes() -> None:
    box = Outbox(high_water=10)
    assert box.offer(b"12345")
    assert box.offer(b"67890")
    assert not box.has_room
    assert not box.offer(b"x")  # refused, not queued
    box.put(b"ack")  # the connection's own frames always go
    assert box.frames == [b"12345", b"67890", b"ack"]
    woke: list[bool] = []
    async with trio.open_nursery() as nursery:

        async def sender() -> None:
            await box.wait_room()
            woke.append(box.offer(b"x"))

        nursery.start_soon(sender)
        await trio.testing.wait_all_tasks_blocked()
        assert woke == []
        assert box.take() == [b"12345", b"67890", b"ack"]
    assert woke == [True]
    assert box.frames == [b"x"]
    assert box.size == 1


async def test_closing_refuses_frames_and_wakes_senders_and_the_writer() -> None:
    full, empty = Outbox(high_water=1), Outbox()
    full.put(b"full")
    done: list[str] = []
    async with trio.open_nursery() as nursery:

        async def sender() -> None:
            await full.wait_room()
            done.append("sender")

        async def writer() -> None:
            await empty.wait_frames()
            done.append("writer")

        nursery.start_soon(sender)
        nursery.start_soon(writer)
        await trio.testing.wait_all_tasks_blocked()
        assert done == []
        full.close()
        empty.close()
    assert sorted(done) == ["sender", "writer"]
    assert not full.offer(b"late")
    assert not empty.offer(b"late")
    assert full.frames == [b"full"]  # left for the writer's final drain


async def test_the_first_frame_goes_ahead_of_what_is_queued() -> None:
    box = Outbox()
    box.put(b"b")
    box.push_front(b"a")
    assert box.take() == [b"a", b"b"]
    assert box.size == 0


async def _socket_pair() -> tuple[trio.SocketStream, trio.SocketStream]:
    a, b = trio.socket.socketpair()
    return trio.SocketStream(a), trio.SocketStream(b)


async def _next_pass() -> None:
    """Let the run loop finish its pass (and run what waits for its end)."""
    await trio.lowlevel.checkpoint()
    await trio.lowlevel.checkpoint()


async def test_frames_queued_in_one_pass_go_out_in_one_write_at_its_end() -> None:
    left, right = await _socket_pair()
    box = Outbox()
    writes: list[list[bytes]] = []

    def direct(frames: list[bytes]) -> int:
        writes.append(list(frames))
        return write_now(left, frames)

    box.direct = direct
    box.put(b"one")  # idle: queued, written at the end of this pass, no writer woken
    box.put(b"two")
    assert box.frames == [b"one", b"two"]
    assert writes == []
    await _next_pass()
    assert writes == [[b"one", b"two"]]
    assert box.frames == []
    assert box.size == 0
    assert await right.receive_some(100) == b"onetwo"
    box.writing = True  # a write in progress: the frames wait for the writer, in order
    box.put(b"three")
    await _next_pass()
    assert box.frames == [b"three"]
    assert len(writes) == 1
    box.writing = False
    await left.aclose()
    assert write_now(left, [b"gone"]) == 0  # closed: nothing is written to a reused number
    box.close()
    assert box.direct is None
    await right.aclose()


async def test_what_a_full_socket_does_not_take_is_left_for_the_writer() -> None:
    left, right = await _socket_pair()
    box = Outbox(high_water=1 << 30)
    box.direct = lambda frames: write_now(left, frames)
    big = bytes(range(256)) * (1 << 14)  # 4 MiB: more than the kernel buffers take
    received = bytearray()
    writer_woken: list[bool] = []

    async def writer() -> None:
        await box.wait_frames()
        writer_woken.append(True)
        await left.send_all(b"".join(box.take()))

    async def read() -> None:
        while len(received) < len(big) + 4:
            received.extend(await right.receive_some(1 << 16))

    with trio.fail_after(30):
        async with trio.open_nursery() as nursery:
            nursery.start_soon(writer)
            await trio.testing.wait_all_tasks_blocked()  # the writer waits for frames
            box.put(b"head")
            box.put(big)
            await _next_pass()  # the end-of-pass write took part of it and woke the writer
            nursery.start_soon(read)
    assert writer_woken == [True]
    assert bytes(received) == b"head" + big
    await left.aclose()
    await right.aclose()

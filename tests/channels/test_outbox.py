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


async def test_an_idle_outbox_writes_at_once_and_queues_behind_a_write_in_progress() -> None:
    left, right = await _socket_pair()
    box = Outbox()
    box.direct = lambda frame: write_now(left, [frame])
    box.put(b"one")  # idle: written in this step, nothing queued, no writer woken
    assert box.frames == []
    assert await right.receive_some(100) == b"one"
    box.writing = True  # a write in progress: the next frames wait their turn
    box.put(b"two")
    box.writing = False
    box.put(b"three")  # something is queued: it goes behind it, never ahead
    assert box.frames == [b"two", b"three"]
    await left.aclose()
    assert write_now(left, [b"gone"]) == 0  # closed: nothing is written to a reused number
    box.close()
    assert box.direct is None
    await right.aclose()


async def test_what_a_full_socket_does_not_take_is_queued_for_the_writer() -> None:
    left, right = await _socket_pair()
    box = Outbox(high_water=1 << 30)
    box.direct = lambda frame: write_now(left, [frame])
    big = bytes(range(256)) * (1 << 14)  # 4 MiB: more than the kernel buffers take
    box.put(big)
    assert len(box.frames) == 1
    assert 0 < len(box.frames[0]) < len(big)
    received = bytearray()

    async def read() -> None:
        while len(received) < len(big):
            received.extend(await right.receive_some(1 << 16))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(read)
        await left.send_all(box.take()[0])
    assert bytes(received) == big
    await left.aclose()
    await right.aclose()

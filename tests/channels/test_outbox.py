"""The connection outbox: direct appends up to the high-water mark, then back-pressure;
closing refuses frames and wakes everyone waiting."""

from __future__ import annotations

import trio
import trio.testing

from pywatt.channels import Outbox


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

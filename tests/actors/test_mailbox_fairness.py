"""A WAIT mailbox serves its waiting senders first come, first served.

A sender that found the mailbox full and parked owns the next free slot: senders that come
later, even ones that never wait (``tell_nowait``), must not slip in ahead of it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import trio
import trio.testing

import actors
from actors import OverflowPolicy
from actors._mailbox import Mailbox

from .messages import Record, Sleep


class Recorder(actors.Actor[Record | Sleep]):
    """Logs each Record's tag, then calls ``on_handled`` with it (the hook the test floods from)."""

    def __init__(self, log: list[str], on_handled: Callable[[str], None]) -> None:
        self.log = log
        self.on_handled = on_handled

    async def receive(self, message: Any) -> Any:
        match message:
            case Record(tag):
                self.log.append(tag)
                self.on_handled(tag)
            case Sleep(seconds):
                await trio.sleep(seconds)
        return None


async def test_woken_waiters_are_not_overtaken_by_a_flood_of_tell_nowait(
    autojump_clock: trio.testing.MockClock,
) -> None:
    log: list[str] = []
    refused: list[str] = []
    ref: actors.ActorRef[Any]

    def flood(tag: str) -> None:
        # Runs inside the actor right after it took "queued" off the mailbox, which woke the
        # first waiter: that waiter has not run yet, so this is the moment to jump the queue.
        if tag != "queued":
            return
        for i in range(10):
            try:
                ref.tell_nowait(Record(f"flood-{i}"))
            except actors.MailboxFull:
                refused.append(f"flood-{i}")

    async with actors.open_actor_system() as system:
        ref = await system.spawn(
            lambda: Recorder(log, flood),
            name="r",
            mailbox_size=1,
            overflow=OverflowPolicy.WAIT,
            shutdown=0,
        )
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ref.ask, Sleep(10))  # busy, so what follows stays queued
            await trio.testing.wait_all_tasks_blocked()
            ref.tell_nowait(Record("queued"))  # the mailbox is now full
            for name in ("first", "second"):
                nursery.start_soon(ref.tell, Record(name))
                await trio.testing.wait_all_tasks_blocked()  # parked in this order
            assert ref.statistics().waiting_senders == 2
        # Leaving the nursery waited for both senders, hence for the Sleep to end.
        await ref.ask(Sleep(0))
    assert log == ["queued", "first", "second"]
    assert refused == [f"flood-{i}" for i in range(10)]


async def test_a_free_slot_goes_to_the_oldest_waiter() -> None:
    mailbox = Mailbox("m", 2, OverflowPolicy.WAIT, actors.DeadLetters())
    mailbox.put_nowait("old-0")
    mailbox.put_nowait("old-1")
    drained: list[object] = []
    async with trio.open_nursery() as nursery:
        for name in ("first", "second"):
            nursery.start_soon(mailbox.put, name)
            await trio.testing.wait_all_tasks_blocked()  # parked in this order
        drained.append(mailbox.get_nowait())  # frees one slot, and it belongs to "first"
        with pytest.raises(actors.MailboxFull):
            mailbox.put_nowait("late")
        assert not mailbox.offer("late")
        nursery.start_soon(mailbox.put, "late")  # a later sender that waits queues behind
        await trio.testing.wait_all_tasks_blocked()
        for _ in range(4):
            drained.append(mailbox.get_nowait())
            await trio.testing.wait_all_tasks_blocked()
    assert drained == ["old-0", "old-1", "first", "second", "late"]

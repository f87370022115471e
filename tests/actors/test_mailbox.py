"""Mailboxes: bounded, with an explicit overflow policy, statistics, fairness and cancellation."""

from __future__ import annotations

from typing import Any

import pytest
import trio
import trio.testing

import actors
from actors import DeadLetterReason, OverflowPolicy
from actors._mailbox import FAIRNESS_BUDGET

from .messages import Add, Counter, Sleep, Total


async def _busy(ref: actors.ActorRef[Any], nursery: trio.Nursery) -> None:
    """Occupy the actor with a long request so that later messages stay queued."""
    nursery.start_soon(ref.ask, Sleep(1000))
    await trio.testing.wait_all_tasks_blocked()


async def test_wait_policy_applies_back_pressure(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="c", mailbox_size=2, shutdown=0)
        sent: list[int] = []

        async def producer() -> None:
            for i in range(4):
                await ref.tell(Add(1))
                sent.append(i)

        async with trio.open_nursery() as nursery:
            await _busy(ref, nursery)
            nursery.start_soon(producer)
            await trio.testing.wait_all_tasks_blocked()
            assert sent == [0, 1]  # the third tell waits for room
            assert ref.statistics().waiting_senders == 1
            with pytest.raises(actors.MailboxFull, match="'c' is full \\(2 messages\\)"):
                ref.tell_nowait(Add(1))
            nursery.cancel_scope.cancel()
    assert system.dead_letters.count(DeadLetterReason.MAILBOX_FULL) == 1


async def test_drop_newest_policy_dead_letters_the_new_message(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(
            Counter, name="c", mailbox_size=2, overflow=OverflowPolicy.DROP_NEWEST, shutdown=0
        )
        async with trio.open_nursery() as nursery:
            await _busy(ref, nursery)
            for n in (1, 2, 4, 8):
                await ref.tell(Add(n))
            letters = system.dead_letters.recent()
            assert [(d.message, d.reason) for d in letters] == [
                (Add(4), DeadLetterReason.MAILBOX_FULL),
                (Add(8), DeadLetterReason.MAILBOX_FULL),
            ]
            with pytest.raises(actors.MailboxFull):
                await ref.ask(Total())  # an ask never hangs on a full drop mailbox
            nursery.cancel_scope.cancel()


async def test_fail_policy_raises_mailbox_full(autojump_clock: trio.testing.MockClock) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(
            Counter, name="c", mailbox_size=1, overflow=OverflowPolicy.FAIL, shutdown=0
        )
        async with trio.open_nursery() as nursery:
            await _busy(ref, nursery)
            await ref.tell(Add(1))
            with pytest.raises(actors.MailboxFull) as info:
                await ref.tell(Add(2))
            assert info.value.capacity == 1
            nursery.cancel_scope.cancel()
    assert system.dead_letters.count(DeadLetterReason.MAILBOX_FULL) == 1


async def test_statistics_report_depth_processed_and_failed(
    autojump_clock: trio.testing.MockClock,
) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="c", shutdown=0)
        for _ in range(3):
            await ref.tell(Add(1))
        await ref.ask(Total())
        stats = ref.statistics()
        assert (stats.depth, stats.processed, stats.failed) == (0, 4, 0)
        assert stats.capacity == 1024
        async with trio.open_nursery() as nursery:
            await _busy(ref, nursery)
            ref.tell_nowait(Add(1))
            ref.tell_nowait(Add(1))
            assert ref.statistics().depth == 2
            nursery.cancel_scope.cancel()


async def test_a_busy_producer_does_not_starve_other_tasks() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="c", mailbox_size=100_000)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            await trio.lowlevel.checkpoint()
            before = ticks
            for _ in range(10 * FAIRNESS_BUDGET):
                await ref.tell(Add(1))
            assert ticks - before >= 10  # the ticker ran while we were telling
            nursery.cancel_scope.cancel()


async def test_a_busy_actor_does_not_starve_other_tasks() -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await trio.lowlevel.checkpoint()

    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="c", mailbox_size=10_000)
        for _ in range(5_000):
            ref.tell_nowait(Add(1))  # the actor has a long queue and nothing else to wait for
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ticker)
            assert await ref.ask(Total()) == 5_000
            assert ticks >= 5_000 // 128 - 1  # it yielded between batches
            nursery.cancel_scope.cancel()


async def test_tell_honours_cancellation_within_the_fairness_budget() -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="c", mailbox_size=1_000_000)
        await ref.tell(Add(1))  # the first message allocates the queue (a slow path)
        sent = 0
        with trio.CancelScope() as scope:
            scope.cancel()
            while True:
                await ref.tell(Add(1))
                sent += 1
        assert 0 < sent <= FAIRNESS_BUDGET


async def test_mailbox_capacity_must_be_positive() -> None:
    async with actors.open_actor_system() as system:
        with pytest.raises(ValueError, match="capacity must be at least 1"):
            await system.spawn(Counter, name="c", mailbox_size=0)

"""Lasting tasks (``ctx.start_lasting_task``): they outlive a crash of the incarnation that
started them, end with their handle or the supervisor, and crash nobody when they raise; and
``ctx.failure`` in ``on_stop`` tells a crash from a stop."""

from __future__ import annotations

import logging
from typing import Any

import attrs
import pytest
import trio

import actors
import actors.testing


@attrs.frozen
class Begin:
    """Start a lasting task and a plain one, both waiting for ``go``."""

    go: trio.Event


@attrs.frozen
class Boom:
    pass


@attrs.frozen
class Raise:
    """Start a lasting task that raises at once."""


class Log(list[Any]):
    """A list whose appends can be waited for."""

    def __init__(self) -> None:
        super().__init__()
        self.changed = trio.Event()

    def append(self, entry: Any) -> None:
        super().append(entry)
        self.changed.set()
        self.changed = trio.Event()

    async def wait_for(self, entry: Any) -> None:
        while entry not in self:
            await self.changed.wait()


@attrs.define
class Shared:
    """What the actor's spec hands to every incarnation."""

    log: Log = attrs.Factory(Log)
    handles: list[actors.TaskHandle] = attrs.Factory(list)


class Worker(actors.Actor[Begin | Boom | Raise]):
    def __init__(self, shared: Shared) -> None:
        self.shared = shared

    async def receive(self, message: Begin | Boom | Raise) -> None:
        log = self.shared.log
        incarnation = self.ctx.incarnation
        if isinstance(message, Begin):

            async def wait(kind: str) -> None:
                try:
                    await message.go.wait()
                    log.append((kind, "done", incarnation))
                except trio.Cancelled:
                    log.append((kind, "cancelled", incarnation))
                    raise

            self.shared.handles.append(self.ctx.start_lasting_task(wait, "lasting"))
            self.ctx.start_task(wait, "plain")
            log.append(("begun", incarnation))
        elif isinstance(message, Boom):
            raise RuntimeError("boom on purpose")
        else:

            async def fail() -> None:
                raise ValueError("a lasting task failed on purpose")

            self.ctx.start_lasting_task(fail)

    async def on_stop(self) -> None:
        failure = self.ctx.failure
        self.shared.log.append(("stop", type(failure).__name__ if failure else None))
        if failure is None:  # stopped for good: end the lasting tasks
            for handle in self.shared.handles:
                handle.cancel()


async def test_a_lasting_task_outlives_a_crash_and_a_plain_one_does_not() -> None:
    shared = Shared()
    go = trio.Event()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(shared), name="worker")
        await ref.tell(Begin(go))
        await shared.log.wait_for(("begun", 1))
        await actors.testing.crash(system, "worker")
        await shared.log.wait_for(("plain", "cancelled", 1))
        await system.wait_for("worker")
        go.set()
        await shared.log.wait_for(("lasting", "done", 1))
        assert system.statistics("worker").incarnation == 2
    assert ("stop", "CrashCommand") in shared.log


async def test_a_crash_in_a_handler_is_the_failure_on_stop_sees() -> None:
    shared = Shared()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(shared), name="worker")
        await ref.tell(Boom())
        await shared.log.wait_for(("stop", "RuntimeError"))


async def test_a_stop_for_good_cancels_what_the_actor_cancels_in_on_stop() -> None:
    shared = Shared()
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Worker(shared), name="worker")
        await ref.tell(Begin(trio.Event()))
        await shared.log.wait_for(("begun", 1))  # handled: a stop no longer drops it
        await system.stop("worker")
        await shared.log.wait_for(("lasting", "cancelled", 1))
    assert ("stop", None) in shared.log


async def test_a_lasting_task_that_raises_is_logged_and_crashes_nobody(
    caplog: pytest.LogCaptureFixture,
) -> None:
    shared = Shared()
    logged = trio.Event()

    class Watch(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "a lasting task raised" in record.getMessage():
                logged.set()

    watch = Watch()
    logging.getLogger("actors").addHandler(watch)
    try:
        with caplog.at_level(logging.ERROR, logger="actors"):
            async with actors.open_actor_system() as system:
                ref = await system.spawn(lambda: Worker(shared), name="worker")
                await ref.tell(Raise())
                await logged.wait()
                assert system.statistics("worker").incarnation == 1
    finally:
        logging.getLogger("actors").removeHandler(watch)
    failed = [r for r in caplog.records if r.exc_info is not None]
    assert "failed on purpose" in str(failed[0].exc_info[1])  # type: ignore[index]

"""``DeferredReply.on_cancel``: an actor that answers later learns when its asker gives up."""

from __future__ import annotations

import attrs
import trio

import actors


@attrs.frozen
class Later(actors.Request[str]):
    pass


@attrs.frozen
class Answer(actors.Request[None]):
    pass


@attrs.frozen
class WatchLate(actors.Request[None]):
    """Register on_cancel on the held reply now (after its asker may have gone)."""


class Deferring(actors.Actor[Later | Answer | WatchLate]):
    def __init__(self, got: trio.Event, calls: list[str]) -> None:
        self.got, self.calls = got, calls
        self.held: list[actors.DeferredReply] = []

    async def receive(self, message: Later | Answer | WatchLate) -> None:
        if isinstance(message, Later):
            reply = self.ctx.defer_reply()
            reply.on_cancel(lambda: self.calls.append("gave up"))
            self.held.append(reply)
            self.got.set()
        elif isinstance(message, Answer):
            for reply in self.held:
                reply.reply("answer")
        else:
            for reply in self.held:
                reply.on_cancel(lambda: self.calls.append("already gone"))


async def test_the_callback_runs_once_when_the_asker_gives_up() -> None:
    got, calls = trio.Event(), []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Deferring(got, calls), name="deferring")
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(ref.ask, Later())
                await got.wait()
                scope.cancel()
        assert calls == ["gave up"]
        await ref.ask(Answer())  # a reply after that is ignored, and calls nothing
        await ref.ask(WatchLate())  # registered late: called at once
        assert calls == ["gave up", "already gone"]


async def test_the_callback_never_runs_for_an_answered_ask() -> None:
    got, calls = trio.Event(), []
    async with actors.open_actor_system() as system:
        ref = await system.spawn(lambda: Deferring(got, calls), name="deferring")
        async with trio.open_nursery() as nursery:

            async def ask() -> None:
                assert await ref.ask(Later()) == "answer"

            nursery.start_soon(ask)
            await got.wait()
            await ref.ask(Answer())
        await ref.ask(WatchLate())
        await ref.ask(Answer())
    assert calls == []

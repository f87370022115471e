"""Message and actor types shared by the actor tests."""

from __future__ import annotations

from typing import Any

import attrs
import trio

import actors


@attrs.frozen
class Add:
    n: int = 1


@attrs.frozen
class Total(actors.Request[int]):
    pass


@attrs.frozen
class Fail(actors.Request[int]):
    """Answered with a declared reply error."""


@attrs.frozen
class Explode(actors.Request[int]):
    """Crashes the actor."""


@attrs.frozen
class ExplodeTell:
    """Crashes the actor, one-way."""


@attrs.frozen
class Sleep(actors.Request[str]):
    seconds: float


@attrs.frozen
class Record:
    tag: str


class Refused(actors.ActorError):
    """A declared reply error."""


class Counter(actors.Actor[Add | Total | Fail | Explode | ExplodeTell | Sleep | Record]):
    """Counts Adds; answers Total; fails, crashes or sleeps on command. Keeps a shared log."""

    reply_errors = (Refused,)

    def __init__(self, log: list[Any] | None = None) -> None:
        self.total = 0
        self.log = log if log is not None else []

    async def on_start(self) -> None:
        self.log.append(("start", self.ctx.name, self.ctx.incarnation))

    async def on_stop(self) -> None:
        self.log.append(("stop", self.ctx.name, self.ctx.incarnation))

    async def receive(self, message: Any) -> Any:
        match message:
            case Add(n):
                self.total += n
            case Total():
                return self.total
            case Fail():
                raise Refused("refused on purpose")
            case Explode() | ExplodeTell():
                raise RuntimeError("exploded on purpose")
            case Sleep(seconds):
                await trio.sleep(seconds)
                return "slept"
            case Record(tag):
                self.log.append(("handled", self.ctx.name, self.ctx.incarnation, tag))
        return None


def counter(log: list[Any]) -> Any:
    """A factory of Counters sharing ``log``."""
    return lambda: Counter(log)

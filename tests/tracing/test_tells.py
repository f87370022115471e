"""Tells and ``ask_nowait`` sent inside a trace carry its context across the mailbox: the
work they trigger is in the same trace. A tell is never a span; an ``ask_nowait`` is one
only with ``PYWATT_TRACE_ASKS=1``, as an ask is."""

from __future__ import annotations

from typing import Any

import attrs
import outcome
import pytest
import trio
from opentelemetry.trace import SpanKind, StatusCode

import actors
import pywatt.tracing
from actors import DeadLetterReason
from pywatt.router import ROUTER, RegisterHandler, SendMessage, router_spec

from .conftest import Spans, parent_of


@attrs.frozen
class Work:
    """A one-way message: its handler makes a span (poison: it crashes instead)."""

    label: str
    poison: bool = False


class Worker(actors.Actor[Work]):
    """Makes a span per message it handles and reports the label when done."""

    def __init__(self, done: trio.MemorySendChannel[str]) -> None:
        self.done = done

    async def receive(self, message: Work) -> None:
        if message.poison:
            raise RuntimeError("poisoned on purpose")
        with pywatt.tracing.span(f"work {message.label}", {}):
            pass
        self.done.send_nowait(message.label)


@attrs.frozen
class Kick(actors.Request[None]):
    label: str


class Kicker(actors.Actor[Kick]):
    """Handles an ask by telling the worker: the tell must carry the ask's context."""

    async def receive(self, message: Kick) -> None:
        await self.ctx.system.tell("worker", Work(message.label))
        self.ctx.system.tell_nowait("worker", Work(message.label + "-nowait"))


@attrs.frozen
class Measure(actors.Request[int]):
    value: int


class Measurer(actors.Actor[Measure]):
    async def receive(self, message: Measure) -> int:
        if message.value < 0:
            raise ValueError("negative")
        with pywatt.tracing.span("measure", {}):
            return message.value


def _worker() -> tuple[Any, trio.MemoryReceiveChannel[str]]:
    send, receive = trio.open_memory_channel[str](100)
    return (lambda: Worker(send)), receive


async def test_a_tell_made_while_handling_a_traced_ask_continues_the_trace(spans: Spans) -> None:
    async with actors.open_actor_system() as system:
        factory, done = _worker()
        await system.spawn(factory, name="worker")
        await system.spawn(Kicker, name="kicker")
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("root") as root:
            await system.ask("kicker", Kick("a"))
        with trio.fail_after(10):
            assert {await done.receive(), await done.receive()} == {"a", "a-nowait"}
        # outside any trace: a tell carries nothing, its work is a trace of its own
        await system.tell("worker", Work("untraced"))
        with trio.fail_after(10):
            assert await done.receive() == "untraced"
    root_id = root.get_span_context()
    for name in ("work a", "work a-nowait"):
        work = spans.named(name)
        # the tell is no span: its work is the child of the span current where it was sent
        assert work.context.trace_id == root_id.trace_id
        assert parent_of(work) == root_id.span_id
    untraced = spans.named("work untraced")
    assert untraced.parent is None
    assert untraced.context.trace_id != root_id.trace_id
    assert not [s for s in spans.finished() if s.name.startswith("ask ")]


async def test_a_traced_tell_is_never_a_span_even_with_pywatt_trace_asks(
    ask_spans: Spans,
) -> None:
    spans = ask_spans
    async with actors.open_actor_system() as system:
        factory, done = _worker()
        await system.spawn(factory, name="worker")
        with spans.provider.get_tracer("test").start_as_current_span("root") as root:
            system.tell_nowait("worker", Work("t"))
        # the root span has ended before the work runs: the work is in its trace all the same
        assert not root.is_recording()
        with trio.fail_after(10):
            assert await done.receive() == "t"
    assert sorted(s.name for s in spans.finished()) == ["root", "work t"]
    assert parent_of(spans.named("work t")) == root.get_span_context().span_id


async def test_ask_nowait_carries_the_trace(spans: Spans) -> None:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Measurer, name="measurer")
        send, receive = trio.open_memory_channel[outcome.Outcome[int]](1)
        with spans.provider.get_tracer("test").start_as_current_span("root") as root:
            ref.ask_nowait(Measure(3), send.send_nowait)
        with trio.fail_after(10):
            assert (await receive.receive()).unwrap() == 3
    measure = spans.named("measure")
    assert parent_of(measure) == root.get_span_context().span_id


async def test_ask_nowait_is_a_span_with_pywatt_trace_asks_ended_before_its_outcome(
    ask_spans: Spans,
) -> None:
    spans = ask_spans
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Measurer, name="measurer")
        send, receive = trio.open_memory_channel[tuple[outcome.Outcome[int], list[str]]](2)

        def on_result(result: outcome.Outcome[int]) -> None:
            # the ask's span is over (and exported) when its outcome is handed on
            send.send_nowait((result, [s.name for s in spans.finished()]))

        with spans.provider.get_tracer("test").start_as_current_span("root") as root:
            ref.ask_nowait(Measure(5), on_result)
            ref.ask_nowait(Measure(-1), on_result)  # the actor crashes on it
        with trio.fail_after(10):
            first, seen_first = await receive.receive()
            second, seen_second = await receive.receive()
    assert first.unwrap() == 5
    assert "ask measurer Measure" in seen_first
    with pytest.raises(actors.ActorCrashed):
        second.unwrap()
    asks = [s for s in spans.finished() if s.name == "ask measurer Measure"]
    assert [s.status.status_code for s in asks] == [StatusCode.UNSET, StatusCode.ERROR]
    assert seen_second.count("ask measurer Measure") == 2  # the failed one ended before too
    assert {parent_of(s) for s in asks} == {root.get_span_context().span_id}
    assert parent_of(spans.named("measure")) == asks[0].context.span_id


async def test_traced_tells_go_on_across_a_crash_and_dead_letters_name_the_message(
    spans: Spans,
) -> None:
    """Let it crash: the worker crashes on a poisoned tell in the middle of traced traffic;
    the tells behind it are handled by the next incarnation, still in their trace, and the
    dead letters show the messages, never the envelope that carried their context."""
    async with actors.open_actor_system() as system:
        factory, done = _worker()
        worker = await system.spawn(factory, name="worker")
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("root") as root:
            worker.tell_nowait(Work("before"))
            worker.tell_nowait(Work("poison", poison=True))
            for n in range(5):
                worker.tell_nowait(Work(f"after-{n}"))
        with trio.fail_after(10):
            got = [await done.receive() for _ in range(6)]
        assert got == ["before", *[f"after-{n}" for n in range(5)]]
        assert system.dead_letters.count(DeadLetterReason.CRASHED) == 1
        (letter,) = system.dead_letters.recent()
        assert letter.message == Work("poison", poison=True)
        # a tell to a stopped actor is dead-lettered as the message too
        await system.stop("worker")
        with tracer.start_as_current_span("late"):
            worker.tell_nowait(Work("late"))
        letters = system.dead_letters.recent()
        assert letters[-1].message == Work("late")
        assert letters[-1].reason is DeadLetterReason.STOPPED
    trace_id = root.get_span_context().trace_id
    after = [s for s in spans.finished() if s.name.startswith("work after-")]
    assert len(after) == 5
    assert {s.context.trace_id for s in after} == {trace_id}
    assert {parent_of(s) for s in after} == {root.get_span_context().span_id}


@attrs.frozen
class Audit:
    """A notification served by an actor: the router tells it."""

    what: str


class Auditor(actors.Actor[Audit]):
    def __init__(self, done: trio.MemorySendChannel[str]) -> None:
        self.done = done

    async def receive(self, message: Audit) -> None:
        with pywatt.tracing.span("audit", {}):
            pass
        self.done.send_nowait(message.what)


async def test_a_notification_an_actor_serves_is_handled_in_its_consumer_span(
    spans: Spans,
) -> None:
    async with actors.open_actor_system() as system:
        await system.root.start_child(router_spec("me"))
        send, receive = trio.open_memory_channel[str](1)
        await system.spawn(lambda: Auditor(send), name="auditor")
        await system.ask(ROUTER, RegisterHandler("audit", "auditor", Audit))
        tracer = spans.provider.get_tracer("test")
        with (
            tracer.start_as_current_span("root"),
            pywatt.tracing.client_span("me", "audit", notify=True) as carrier,
        ):
            await system.ask(ROUTER, SendMessage("me", "audit", {"what": "x"}, carrier))
        with trio.fail_after(10):
            assert await receive.receive() == "x"
    producer = next(s for s in spans.finished() if s.kind is SpanKind.PRODUCER)
    consumer = next(s for s in spans.finished() if s.kind is SpanKind.CONSUMER)
    assert parent_of(consumer) == producer.context.span_id
    # the router told the actor inside the consumer span: its work is a child of it
    assert parent_of(spans.named("audit")) == consumer.context.span_id

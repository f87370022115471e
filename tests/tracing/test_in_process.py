"""Tracing inside one process: asks across mailboxes, a request a module serves itself."""

from __future__ import annotations

from typing import Any

import attrs
import pytest
import trio
from opentelemetry.trace import SpanKind, StatusCode

import actors
import pywatt.tracing
from pywatt.router import ROUTER, RegisterHandler, SendRequest, router_spec

from .conftest import Spans, parent_of


@attrs.frozen
class Double(actors.Request[int]):
    value: int


@attrs.frozen
class Quadruple(actors.Request[int]):
    value: int


class Doubler(actors.Actor[Double]):
    async def receive(self, message: Double) -> int:
        if message.value < 0:
            raise ValueError("negative")
        return message.value * 2


class Quadrupler(actors.Actor[Quadruple]):
    reply_errors = (actors.ActorCrashed,)

    async def receive(self, message: Quadruple) -> int:
        once = await self.ctx.system.ask("doubler", Double(message.value))
        return await self.ctx.system.ask("doubler", Double(once))


async def test_an_ask_made_while_handling_a_traced_ask_is_its_child(spans: Spans) -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(Doubler, name="doubler")
        await system.spawn(Quadrupler, name="quadrupler")
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("root") as root:
            assert await system.ask("quadrupler", Quadruple(3)) == 12
        outer = spans.named("ask quadrupler Quadruple")
        inner = [s for s in spans.finished() if s.name == "ask doubler Double"]
        assert len(inner) == 2
        trace_id = root.get_span_context().trace_id
        assert {s.context.trace_id for s in [outer, *inner]} == {trace_id}
        assert parent_of(outer) == root.get_span_context().span_id
        assert {parent_of(s) for s in inner} == {outer.context.span_id}
        assert outer.attributes is not None
        assert outer.attributes["pywatt.actor.name"] == "quadrupler"
        assert outer.attributes["pywatt.module.id"] == "me"


async def test_asks_outside_a_trace_make_no_spans_and_a_failed_ask_is_an_error(
    spans: Spans,
) -> None:
    async with actors.open_actor_system() as system:
        await system.spawn(Doubler, name="doubler")
        assert await system.ask("doubler", Double(1)) == 2
        assert spans.finished() == []
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("root"):
            with pytest.raises(actors.ActorCrashed):
                await system.ask("doubler", Double(-1))
            # the actor was restarted: traced asks go on, each its own span, the next one ok
            assert await system.ask("doubler", Double(2)) == 4
        asks = [s for s in spans.finished() if s.name == "ask doubler Double"]
        assert [s.status.status_code for s in asks] == [StatusCode.ERROR, StatusCode.UNSET]


async def test_with_tracing_off_nothing_is_carried() -> None:
    assert not pywatt.tracing.enabled()
    assert actors.ask_tracer() is None
    with pywatt.tracing.client_span("a", "b") as carrier:
        assert carrier is None


async def test_a_request_to_itself_is_a_client_span_and_a_server_span_with_the_asks_below(
    spans: Spans,
) -> None:
    async with actors.open_actor_system() as system:
        # No channel at all (no channels actor): a request to itself never needs one.
        await system.root.start_child(router_spec("me"))
        await system.spawn(Doubler, name="doubler")

        async def handler(request: Any) -> int:
            return await system.ask("doubler", Double(request["value"]))

        await system.ask(ROUTER, RegisterHandler("double", handler))
        await system.ask(ROUTER, RegisterHandler("by-actor", "doubler", Double))
        tracer = spans.provider.get_tracer("test")
        with tracer.start_as_current_span("root") as root:
            with pywatt.tracing.client_span("me", "double") as carrier:
                assert carrier is not None
                assert "traceparent" in carrier
                with trio.fail_after(10):
                    got = await system.ask(
                        ROUTER, SendRequest("me", "double", {"value": 4}, int, None, carrier)
                    )
            assert got == 8
        (client,) = [s for s in spans.finished() if s.kind is SpanKind.CLIENT]
        assert client.name == "me/double"
        servers = [s for s in spans.finished() if s.kind is SpanKind.SERVER]
        assert [s.name for s in servers] == ["me/double"]
        server = servers[0]
        assert parent_of(client) == root.get_span_context().span_id
        assert parent_of(server) == client.context.span_id
        ask = spans.named("ask doubler Double")
        assert parent_of(ask) == server.context.span_id
        assert server.attributes is not None
        assert server.attributes["rpc.method"] == "double"
        assert server.attributes["rpc.system"] == "pywatt"


async def test_inside_a_trace_not_sampled_no_spans_are_made_and_the_context_goes_on(
    spans: Spans,
) -> None:
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    unsampled = NonRecordingSpan(
        SpanContext(0x4BF92F3577B34DA6A3CE929D0E0E4736, 0x00F067AA0BA902B7, False, TraceFlags(0))
    )
    async with actors.open_actor_system() as system:
        await system.spawn(Doubler, name="doubler")
        await system.spawn(Quadrupler, name="quadrupler")
        with trace.use_span(unsampled):
            assert await system.ask("quadrupler", Quadruple(1)) == 4
            with pywatt.tracing.client_span("b", "e") as carrier:
                assert carrier == {
                    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"
                }
            with pywatt.tracing.db_span("pywatt.db", "SELECT 1") as span:
                assert span is None
    assert spans.finished() == []

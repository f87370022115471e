"""Finished spans handed over for the dashboard, in this process: the tap on a real SDK
provider, the bounded buffer, the JSON both ways, nothing at all while tracing is off, and
the module's forwarder crashing mid-traffic while spans keep reaching the link."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import trio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Status, StatusCode

import actors
import actors.testing
import pywatt.tracing
from pywatt.link import Send
from pywatt.logs import Redactor
from pywatt.module._spans import SPANS, SpanForwarder, TapSpans
from pywatt.tracing import SpanBuffer, SpanEncoder, span_from_json, span_to_json
from pywatt.tracing._tap import TAP
from pywatt.wire import ModuleSpans, ModuleToOrchestrator, decode_json, encode_json


@pytest.fixture
def provider() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    assert pywatt.tracing.refresh(provider)
    try:
        yield provider
    finally:
        assert not pywatt.tracing.refresh()


def plain(text: str) -> str:
    return text


def test_off_nothing_is_attached_and_no_processor_is_added() -> None:
    assert not pywatt.tracing.enabled()
    buffer = SpanBuffer()
    assert not buffer.attach()
    assert buffer.detach is None
    assert TAP.sinks == ()


def test_spans_reach_the_buffer_and_read_back_from_their_json(provider: TracerProvider) -> None:
    buffer = SpanBuffer()
    assert buffer.attach()
    assert buffer.attach()  # once
    try:
        tracer = provider.get_tracer("test")
        with (
            tracer.start_as_current_span("outer", attributes={"n": 1, "xs": ("a", "b")}),
            tracer.start_as_current_span("inner") as inner,
        ):
            inner.set_status(Status(StatusCode.ERROR, "ValueError: bad"))
    finally:
        assert buffer.detach is not None
        buffer.detach()
    assert TAP.sinks == ()
    spans, dropped = buffer.drain(10)
    assert dropped == 0
    assert [s.name for s in spans] == ["inner", "outer"]
    inner_json, outer_json = (span_to_json(s, plain) for s in spans)
    assert inner_json["parent_id"] == outer_json["span_id"]
    assert inner_json["trace_id"] == outer_json["trace_id"]
    assert (inner_json["status"], inner_json["status_message"]) == ("error", "ValueError: bad")
    assert outer_json["attributes"] == {"n": 1, "xs": ["a", "b"]}
    assert outer_json["kind"] == "internal"
    assert outer_json["end_ns"] >= outer_json["start_ns"] > 0
    for data in (inner_json, outer_json):
        assert span_from_json(data, plain) == data


def test_the_example_line_of_the_protocol_page_reads_back() -> None:
    page = Path(__file__).parents[2] / "docs" / "protocol-extensions.md"
    [text] = [x for x in page.read_text().splitlines() if x.startswith('{"op":"spans"')]
    line = decode_json(text.encode(), ModuleToOrchestrator)
    assert isinstance(line, ModuleSpans)
    assert encode_json(line).decode() == text
    [data] = line.spans
    assert span_from_json(data, plain) == data


def test_the_buffer_is_bounded_and_counts_what_it_dropped(provider: TracerProvider) -> None:
    buffer = SpanBuffer(capacity=3)
    assert buffer.attach()
    try:
        tracer = provider.get_tracer("test")
        for n in range(5):
            tracer.start_span(f"s{n}").end()
    finally:
        assert buffer.detach is not None
        buffer.detach()
    spans, dropped = buffer.drain(2)
    assert ([s.name for s in spans], dropped) == (["s2", "s3"], 2)  # the oldest went
    spans, dropped = buffer.drain(2)
    assert ([s.name for s in spans], dropped) == (["s4"], 0)


async def test_the_forwarder_crashes_mid_traffic_and_spans_keep_coming(
    provider: TracerProvider,
) -> None:
    buffer = SpanBuffer()
    tracer = provider.get_tracer("test")
    made: list[str] = []
    try:
        with trio.fail_after(60):
            async with actors.open_actor_system() as system, trio.open_nursery() as nursery:
                _, link = await actors.testing.spawn_probe(system, "pywatt.link")
                await system.spawn(lambda: SpanForwarder(buffer), name=SPANS)
                await system.tell(SPANS, TapSpans())

                def sent() -> list[str]:
                    lines = [m.message for m in link.of_type(Send)]
                    return [s["name"] for line in lines if isinstance(line, ModuleSpans)
                            for s in line.spans]  # type: ignore[index]  # fmt: skip

                async def traffic() -> None:
                    for n in range(10_000):
                        tracer.start_span(f"s{n}").end()
                        made.append(f"s{n}")
                        await trio.sleep(0.005)

                nursery.start_soon(traffic)
                await link.expect(lambda m: isinstance(m, Send) and len(sent()) >= 10)
                await actors.testing.crash(system, SPANS)
                after = len(made)
                await link.expect(lambda m: isinstance(m, Send) and f"s{after + 20}" in sent())
                nursery.cancel_scope.cancel()
    finally:
        if buffer.detach is not None:
            buffer.detach()
    names = sent()
    # Every span made since the crash arrived once, in order; before it at most the batch
    # in hand when it crashed can be missing.
    since = names[names.index(f"s{after}") :]
    assert since == made[after : after + len(since)]
    assert len(set(names)) == len(names)


def test_the_encoder_writes_what_span_to_json_writes_and_redacts_new_secrets(
    provider: TracerProvider,
) -> None:
    redactor = Redactor()
    encode = SpanEncoder(redactor, shapes=4)
    buffer = SpanBuffer()
    assert buffer.attach()
    tracer = provider.get_tracer("test")
    try:
        with tracer.start_as_current_span("GET /orders/{id}"):
            for _n in range(3):  # one shape, three spans
                tracer.start_span("back/lookup", attributes={"rpc.method": "lookup"}).end()
            for value in (1, True, 1.0, "1", ("a", "b")):  # equal as keys, not as JSON
                tracer.start_span("typed", attributes={"v": value}).end()
            with tracer.start_as_current_span("failed") as failed:
                failed.set_status(Status(StatusCode.ERROR, "token hunter2-secret refused"))
            tracer.start_span("url", attributes={"url.full": "https://u:pw@host/x"}).end()
    finally:
        assert buffer.detach is not None
        buffer.detach()
    spans, _ = buffer.drain(100)
    assert len(spans) == 11
    for _ in range(2):  # the second time from what the encoder remembers
        for span in spans:
            assert encode(span) == span_to_json(span, redactor.redact)
    typed = [encode(span)["attributes"]["v"] for span in spans if span.name == "typed"]
    assert [type(value) for value in typed] == [int, bool, float, str, list]
    assert "u:pw" not in str(encode(spans[-2]))  # a credential shape, redacted
    failed_span = next(span for span in spans if span.name == "failed")
    assert "hunter2-secret" in str(encode(failed_span))
    redactor.register("hunter2-secret")  # registered since: not remembered unredacted
    assert "hunter2-secret" not in str(encode(failed_span))
    assert encode(failed_span) == span_to_json(failed_span, redactor.redact)
    first = encode(spans[0])
    first["attributes"]["rpc.method"] = "changed"  # each span's JSON is its own
    assert encode(spans[1])["attributes"] == {"rpc.method": "lookup"}

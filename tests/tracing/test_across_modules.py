"""One trace across real processes: a request through the gateway (the embedded
orchestrator, in this process, its spans in memory) to module ``front``, which asks module
``back``, which queries PostgreSQL. Both modules are processes configured only by the
standard ``OTEL_*`` variables, exporting OTLP over HTTP to a receiver this test runs."""

from __future__ import annotations

import os

import httpx
import pytest
import trio
from opentelemetry import propagate

from pywatt.orchestrator import Manifest, ModuleSpec, open_orchestrator

from .conftest import Spans, parent_of
from .otlp_receiver import ReceivedSpan, Receiver, otlp_receiver

MODULES = os.path.join(os.path.dirname(__file__), "modules")
SERVER, CLIENT = 2, 3  # the OTLP proto's SpanKind values


async def _wait_for(receiver: Receiver, names: set[tuple[str, str]]) -> list[ReceivedSpan]:
    """The spans received once every (service, name) of ``names`` is among them."""
    while True:
        spans = receiver.received()
        if names <= {(s.service, s.name) for s in spans}:
            return spans
        await trio.sleep(0.05)


def _one(spans: list[ReceivedSpan], service: str, name: str) -> ReceivedSpan:
    found = [s for s in spans if (s.service, s.name) == (service, name)]
    assert len(found) == 1, (service, name, spans)
    return found[0]


async def test_one_trace_from_the_gateway_through_two_modules_to_postgresql(
    spans: Spans,
) -> None:
    database_url = os.environ.get("DATABASE_URL")
    if not database_url:
        pytest.fail("DATABASE_URL is not set: run with .ci/with-services.sh (or `just test`)")
    with otlp_receiver() as receiver:
        env = {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "DATABASE_URL": database_url,
        }
        manifest = Manifest(
            modules=(
                ModuleSpec.from_command("back", os.path.join(MODULES, "back.py"), env=env),
                ModuleSpec.from_command("front", os.path.join(MODULES, "front.py"), env=env),
            ),
            grace=2.0,
            term_grace=1.0,
        )
        tracer = spans.provider.get_tracer("test")
        with trio.fail_after(90):
            async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
                for module in ("back", "front"):
                    await orch.module(module).wait_announced()
                await orch.wait_channels("front")
                await orch.wait_channels("back")
                with tracer.start_as_current_span("test client") as root:
                    headers: dict[str, str] = {}
                    propagate.inject(headers)
                    async with httpx.AsyncClient(timeout=30) as client:
                        reply = await client.get(
                            f"{orch.orchestrator_api}/order/4242", headers=headers
                        )
                assert reply.status_code == 200, reply.text
                assert reply.json() == {"number": 4242, "doubled": 8484}
                received = await _wait_for(
                    receiver,
                    {("front", "GET /order/{number}"), ("front", "back/lookup"),
                     ("back", "back/lookup"), ("back", "SELECT")},
                )  # fmt: skip
    trace_id = root.get_span_context().trace_id
    gateway = spans.named("GET front")
    front_http = _one(received, "front", "GET /order/{number}")
    client = _one(received, "front", "back/lookup")
    server = _one(received, "back", "back/lookup")
    query = _one(received, "back", "SELECT")
    chain = [front_http, client, server, query]
    assert {s.trace_id for s in chain} == {trace_id}
    assert gateway.context.trace_id == trace_id
    assert parent_of(gateway) == root.get_span_context().span_id
    assert front_http.parent_id == gateway.context.span_id
    assert client.parent_id == front_http.span_id
    assert server.parent_id == client.span_id
    assert query.parent_id == server.span_id
    assert (front_http.kind, client.kind, server.kind, query.kind) == (
        SERVER, CLIENT, SERVER, CLIENT,
    )  # fmt: skip
    assert front_http.attributes["http.route"] == "/order/{number}"
    assert front_http.attributes["http.response.status_code"] == 200
    assert front_http.attributes["pywatt.module.id"] == "front"
    assert (client.attributes["rpc.service"], client.attributes["rpc.method"]) == (
        "back", "lookup",
    )  # fmt: skip
    assert server.attributes["pywatt.module.id"] == "back"
    assert server.attributes["pywatt.source.module.id"] == "front"
    assert query.attributes["db.query.text"] == "SELECT CAST(? AS integer) * 2 AS doubled"
    # the statement's values are never recorded, in any span of the trace
    for span in received:
        assert all("4242" not in str(v) for k, v in span.attributes.items() if k != "url.path")


async def test_a_stream_between_modules_is_one_request_in_the_trace(spans: Spans) -> None:
    with otlp_receiver() as receiver:
        env = {
            "OTEL_TRACES_EXPORTER": "otlp",
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": receiver.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
            "DATABASE_URL": os.environ.get("DATABASE_URL", ""),
        }
        manifest = Manifest(
            modules=(
                ModuleSpec.from_command("back", os.path.join(MODULES, "back.py"), env=env),
                ModuleSpec.from_command("front", os.path.join(MODULES, "front.py"), env=env),
            ),
            grace=2.0,
            term_grace=1.0,
        )
        with trio.fail_after(90):
            async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
                for module in ("back", "front"):
                    await orch.module(module).wait_announced()
                await orch.wait_channels("front")
                await orch.wait_channels("back")
                async with httpx.AsyncClient(timeout=30) as client:
                    body = b"x" * 200_000  # several chunks
                    reply = await client.post(f"{orch.orchestrator_api}/upload", content=body)
                assert reply.status_code == 200, reply.text
                assert reply.json() == {"stored": 200_000}
                received = await _wait_for(
                    receiver,
                    {("front", "POST /upload"), ("front", "back/store"), ("back", "back/store")},
                )
    front_http = _one(received, "front", "POST /upload")
    client = _one(received, "front", "back/store")
    server = _one(received, "back", "back/store")
    assert {s.trace_id for s in (front_http, client, server)} == {front_http.trace_id}
    assert client.parent_id == front_http.span_id
    assert server.parent_id == client.span_id
    assert (client.kind, server.kind) == (CLIENT, SERVER)


async def test_the_gateway_hop_spans_a_streamed_answer_to_its_end(spans: Spans) -> None:
    # Over either path (pooled; HTTP for an event stream) the gateway's span ends once the
    # module's answer is written whole, not when its head arrived: 0.2 s after the head here.
    manifest = Manifest(
        modules=(ModuleSpec.from_command("front", os.path.join(MODULES, "front.py")),),
        grace=2.0,
        term_grace=1.0,
    )
    with trio.fail_after(60):
        async with open_orchestrator(manifest, on_output=lambda line: None) as orch:
            await orch.module("front").wait_announced()
            async with httpx.AsyncClient(base_url=orch.orchestrator_api, timeout=30) as client:
                for accept in ("*/*", "text/event-stream"):
                    async with client.stream("GET", "/ticks", headers={"accept": accept}) as got:
                        body = b"".join([part async for part in got.aiter_raw()])
                    assert body.count(b"data: tick") == 3
    hops = [s for s in spans.finished() if s.name == "GET front"]
    assert len(hops) == 2
    for hop in hops:
        assert hop.start_time is not None
        assert hop.end_time is not None
        assert hop.end_time - hop.start_time >= 200_000_000, hop.attributes

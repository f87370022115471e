"""An OTLP/HTTP trace receiver for the tests: a real HTTP server on a free loopback port that
decodes each ``POST /v1/traces`` (protobuf) with OpenTelemetry's own proto classes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


class ReceivedSpan:
    """One span as received: ids as ints, attributes as plain values, its service name."""

    def __init__(self, service: str, span: Any) -> None:
        self.service = service
        self.name: str = span.name
        self.trace_id = int.from_bytes(span.trace_id, "big")
        self.span_id = int.from_bytes(span.span_id, "big")
        self.parent_id = int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None
        self.kind: int = span.kind
        self.attributes = {kv.key: _value(kv.value) for kv in span.attributes}

    def __repr__(self) -> str:
        return f"<{self.service}: {self.name}>"


def _value(value: Any) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


class Receiver:
    def __init__(self) -> None:
        self.spans: list[ReceivedSpan] = []
        self.lock = threading.Lock()
        self.url = ""

    def received(self) -> list[ReceivedSpan]:
        with self.lock:
            return list(self.spans)

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest()
        request.ParseFromString(body)
        with self.lock:
            for resource_spans in request.resource_spans:
                service = next(
                    (kv.value.string_value for kv in resource_spans.resource.attributes
                     if kv.key == "service.name"),
                    "",
                )  # fmt: skip
                for scope_spans in resource_spans.scope_spans:
                    self.spans.extend(ReceivedSpan(service, s) for s in scope_spans.spans)


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            if self.path != "/v1/traces":
                self.send_error(404)
                return
            receiver.add(body)
            answer = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("content-type", "application/x-protobuf")
            self.send_header("content-length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()

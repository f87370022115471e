"""The two modules of the routed benchmark (one file, two roles).

Every module serves ``echo``. ``run`` (asked by the orchestrator) sends ``echo`` requests
to ``target`` for ``seconds`` with ``in_flight`` outstanding and answers with the count, the
elapsed time and the latency percentiles. ``spans_seen`` flushes the tracer provider's
batched spans and answers with what benchmarks/_drop_exporter.py was handed in this
process (nothing when it is not configured).
"""

from __future__ import annotations

import os
import sys

# Run as a script, this file's directory comes first on sys.path, and benchmarks/actors.py
# would shadow the actors package.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]

import time  # noqa: E402
from typing import Any  # noqa: E402

import trio  # noqa: E402
from opentelemetry import trace  # noqa: E402

from pywatt import AppState, run_module  # noqa: E402


async def main(state: AppState[Any]) -> None:
    def echo(request: Any) -> Any:
        return request

    async def run(request: dict[str, Any]) -> dict[str, float]:
        target = f"{request['target']}:echo"
        seconds = float(request["seconds"])
        latencies: list[float] = []
        clock = time.perf_counter
        start = clock()
        deadline = start + seconds

        async def worker() -> None:
            payload = {"n": 1, "text": "ping"}
            while clock() < deadline:
                sent = clock()
                await state.send_request(target, payload)
                latencies.append(clock() - sent)

        async with trio.open_nursery() as nursery:
            for _ in range(int(request["in_flight"])):
                nursery.start_soon(worker)
        elapsed = clock() - start
        latencies.sort()
        return {
            "count": len(latencies),
            "elapsed": elapsed,
            "p50_ms": latencies[len(latencies) // 2] * 1000.0,
            "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1000.0,
        }

    def spans_seen(request: Any) -> dict[str, Any]:
        flush = getattr(trace.get_tracer_provider(), "force_flush", None)
        if callable(flush):
            flush()
        exporter = sys.modules.get("benchmarks._drop_exporter")
        seen: dict[str, Any] = exporter.seen() if exporter else {"kinds": {}, "traces": []}
        return seen

    await state.serve("echo", echo)
    await state.serve("run", run)
    await state.serve("spans_seen", spans_seen)


if __name__ == "__main__":
    raise SystemExit(run_module(main, log_level="WARNING"))

"""The Pykka side of ``benchmarks.actors``, run in its own process.

``python benchmarks/_pykka_worker.py [--cpu N]`` pins itself to CPU ``N`` (before any thread
exists, so every actor thread inherits the pin), then answers one JSON command per stdin line
with one JSON line on stdout, until stdin closes::

    {"case": "tell", "seconds": 1.0}   ->  {"rate": 812345.6}
    {"case": "info"}                   ->  {"pykka": "4.5.0", "affinity": [1]}
    (anything wrong)                   ->  {"error": "..."}

Each case is the pattern ``benchmarks.actors`` measures for our runtime and raw trio, written
with ``pykka.ThreadingActor`` the way its documentation shows (``tell``, blocking ``ask``). Each
call times itself: starting and stopping actors is not counted, the final ``ask`` that proves
every message was handled is. The process is separate so that pinning it leaves the benchmark's
own process (ours and raw trio) unpinned, and so that Pykka's threads never share a GIL with
the trio loop being measured.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Final

import attrs

CHUNK: Final = 500
"""Messages sent between two reads of the clock."""
FAN_OUT_ACTORS: Final = 100
FAN_IN_PRODUCERS: Final = 16


# The same message classes as benchmarks.actors (frozen attrs), defined here so the worker does
# not import trio or the actors runtime.
@attrs.frozen
class Incr:
    n: int = 1


@attrs.frozen
class Get:
    pass


INCR: Final = Incr()
GET: Final = Get()


def _counter_class() -> type[Any]:
    import pykka

    class Counter(pykka.ThreadingActor):
        """Adds up Incr messages; answers Get with the total (the handler of every case)."""

        use_daemon_thread = True

        def __init__(self) -> None:
            super().__init__()
            self.total = 0

        def on_receive(self, message: Any) -> Any:
            if isinstance(message, Incr):
                self.total += message.n
                return None
            return self.total

    return Counter


def _spawn(count: int) -> list[Any]:
    counter = _counter_class()
    return [counter.start() for _ in range(count)]


def _stop(refs: list[Any]) -> None:
    for ref in refs:
        ref.stop(block=False)
    for ref in refs:
        ref.actor_stopped.wait()


def tell(seconds: float) -> float:
    """One producer tells one actor as fast as it can; a final ask waits until all are handled."""
    refs = _spawn(1)
    ref = refs[0]
    send = ref.tell
    clock = time.perf_counter
    sent = 0
    try:
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK):
                send(INCR)
            sent += CHUNK
        handled = ref.ask(GET)
        elapsed = clock() - start
    finally:
        _stop(refs)
    _expect(handled, sent)
    return sent / elapsed


def ask(seconds: float) -> float:
    """One caller, blocking ``ask`` after ``ask``: round trips per second."""
    refs = _spawn(1)
    request = refs[0].ask
    clock = time.perf_counter
    done = 0
    try:
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // 10):
                request(GET)
            done += CHUNK // 10
        elapsed = clock() - start
    finally:
        _stop(refs)
    return done / elapsed


def fan_out(seconds: float) -> float:
    """One producer tells 100 actors round-robin; a final ask to each waits for all."""
    refs = _spawn(FAN_OUT_ACTORS)
    sends = [ref.tell for ref in refs]
    clock = time.perf_counter
    rounds = 0
    try:
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // FAN_OUT_ACTORS):
                for send in sends:
                    send(INCR)
            rounds += CHUNK // FAN_OUT_ACTORS
        handled = sum(ref.ask(GET) for ref in refs)
        elapsed = clock() - start
    finally:
        _stop(refs)
    _expect(handled, rounds * FAN_OUT_ACTORS)
    return rounds * FAN_OUT_ACTORS / elapsed


def fan_in(seconds: float) -> float:
    """16 producer threads tell one actor until the deadline; a final ask waits for all."""
    refs = _spawn(1)
    ref = refs[0]
    clock = time.perf_counter
    counts = [0] * FAN_IN_PRODUCERS
    go = threading.Barrier(FAN_IN_PRODUCERS + 1)
    deadline = 0.0

    def produce(index: int) -> None:
        send = ref.tell
        go.wait()
        sent = 0
        while clock() < deadline:
            for _ in range(CHUNK):
                send(INCR)
            sent += CHUNK
        counts[index] = sent

    threads = [
        threading.Thread(target=produce, args=(i,), daemon=True) for i in range(FAN_IN_PRODUCERS)
    ]
    try:
        for thread in threads:
            thread.start()
        start = clock()
        deadline = start + seconds
        go.wait()
        for thread in threads:
            thread.join()
        handled = ref.ask(GET)
        elapsed = clock() - start
    finally:
        _stop(refs)
    _expect(handled, sum(counts))
    return sum(counts) / elapsed


def _expect(handled: int, sent: int) -> None:
    if handled != sent:
        raise RuntimeError(f"pykka actors handled {handled} messages of {sent} sent")


CASES: Final[dict[str, Callable[[float], float]]] = {
    "tell": tell,
    "ask": ask,
    "fan_out": fan_out,
    "fan_in": fan_in,
}


def answer(command: dict[str, Any]) -> dict[str, Any]:
    """Run one command and return the reply document (never raises for a bad command)."""
    case = command.get("case")
    if case == "info":
        return {
            "pykka": importlib.metadata.version("pykka"),
            "affinity": sorted(os.sched_getaffinity(0)),
            "switch_interval_s": sys.getswitchinterval(),
        }
    run = CASES.get(case) if isinstance(case, str) else None
    seconds = command.get("seconds")
    if run is None:
        return {"error": f"unknown case {case!r}; known: {sorted(CASES)} and 'info'"}
    if not isinstance(seconds, int | float) or not 0 <= seconds <= 600:
        return {"error": f"seconds must be a number in [0, 600], not {seconds!r}"}
    try:
        return {"rate": run(float(seconds))}
    except Exception as exc:  # reported to the parent, which raises it there
        return {"error": f"{case}: {type(exc).__name__}: {exc}"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--cpu", type=int, default=None, help="pin this process to one CPU")
    args = parser.parse_args(argv)
    if args.cpu is not None:
        os.sched_setaffinity(0, {args.cpu})  # before any thread: actor threads inherit it
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
        except json.JSONDecodeError as exc:
            reply: dict[str, Any] = {"error": f"bad command line {line!r}: {exc}"}
        else:
            if isinstance(command, dict):
                reply = answer(command)
            else:
                reply = {"error": f"command must be a JSON object, not {line!r}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The actor runtime beside raw trio and Pykka: ``python -m benchmarks.actors [--quick]``.

Cases (rates; every implementation times itself, set-up and tear-down are not counted):

* ``tell``: one producer sends one-way messages to one actor with a mailbox of 1024, as fast
  as it can; the clock stops when the actor has handled every message (a final ask, or for raw
  trio a final sync message). Ours: ``await ref.tell(m)``. Raw trio: ``await send.send(m)`` on a
  memory channel of buffer 1024 to a task doing ``async for m in receive``. Pykka:
  ``ref.tell(m)`` then a blocking ``ref.ask``.
* ``ask``: one caller, request after request. Ours: ``await ref.ask(m)``. Raw trio: ping-pong
  over two unbuffered (buffer 0) memory channels. Pykka: blocking ``ref.ask(m)``.
* ``fan_out``: one producer tells 100 actors round-robin; a final ask to each stops the clock.
* ``fan_in``: 16 producers tell one actor until a deadline; a final ask stops the clock.
* ``ask_with_deadline``: the ``ask`` case with ``timeout=5`` on every call (``ours``: an
  entry in the system's timer heap, the deadline travels to the actor), beside the same ask
  without a deadline (``ask``) and inside a fresh ``trio.fail_after(5)`` per call
  (``fail_after``). ``ask_with_deadline_vs_ask`` is the price of a deadline; target >= 0.8.

Every message is one pre-built frozen attrs instance, the same for all implementations, and
every handler does the same work (``total += message.n``), so the figures compare messaging,
not message construction.

Baselines in their best configuration: raw trio is written the way the trio docs write it
(``async for`` over a receive channel, ``await send(...)``), and runs in this process, unpinned
like ours. Pykka (``ThreadingActor``) runs in two persistent worker processes
(``benchmarks/_pykka_worker.py``): ``pykka`` is pinned to one CPU with
``os.sched_setaffinity``, which on these 2-core machines is its fastest setting (its threads
stop fighting over the GIL across cores); ``pykka_unpinned`` may use every CPU. The ratios and
targets use the pinned figure. The worker processes are idle while this one measures.

Metrics (lower is better, medians of the repetitions):

* ``spawn_10k_s``: spawning 10,000 actors one after another under one supervisor (the root).
* ``idle_actor_bytes``: in a fresh interpreter with ``tracemalloc`` started before the actor
  system is opened, traced memory growth after spawning N idle actors (all parked waiting for
  mail, garbage collected) divided by N. Everything the runtime keeps per actor counts (task,
  coroutine frames, cancel scope, mailbox, cell, context, actor, supervisor and registry
  entries); only the refs ``spawn`` returns are dropped.
* ``restart_latency_ms``: from the moment the handler raises to the answer of the next ask
  (sent as soon as the crash reaches the asker), median over many crashes. The actor runs
  under a supervisor whose backoff is zero, so this is the runtime's own restart path, not a
  policy delay (a fresh actor takes over every 500 crashes).

The same figures for raw trio (a task with a memory channel pair) go into ``meta``, with the
load average at the start: the figures are only as clean as the machine is quiet.
"""

from __future__ import annotations

import atexit
import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import attrs
import trio
import trio.testing

import actors

from ._harness import Bench, BenchmarkError, main

MAILBOX: Final = 1024
CHUNK: Final = 500  # messages sent between two reads of the clock
FAN_OUT_ACTORS: Final = 100
FAN_IN_PRODUCERS: Final = 16
SPAWN_COUNT: Final = 10_000
CRASHES_PER_ACTOR: Final = 500
ROOT: Final = Path(__file__).resolve().parent.parent


# -- messages and handlers (the same work in every implementation) -----------------------------


@attrs.frozen
class Incr:
    """Add ``n`` to the total."""

    n: int = 1


@attrs.frozen
class Get(actors.Request[int]):
    """Answer the total."""


@attrs.frozen
class Boom(actors.Request[int]):
    """Crash the handler (restart latency)."""


@attrs.frozen
class Sync:
    """Raw trio's final ask: set ``done`` once everything before it is handled."""

    done: trio.Event


INCR: Final = Incr()
GET: Final = Get()
BOOM: Final = Boom()


class Counter(actors.Actor[Incr | Get]):
    """Adds up Incr messages; answers Get with the total."""

    def __init__(self) -> None:
        self.total = 0

    async def receive(self, message: Incr | Get) -> int | None:
        if isinstance(message, Incr):
            self.total += message.n
            return None
        return self.total


class Crashy(actors.Actor[Get | Boom]):
    """Answers Get; raises on Boom, which crashes the incarnation."""

    crashed_at = 0.0

    async def receive(self, message: Get | Boom) -> int:
        if isinstance(message, Boom):
            Crashy.crashed_at = time.perf_counter()
            raise RuntimeError("boom (benchmark)")
        return 0


class Idle(actors.Actor[Incr]):
    """Does nothing; exists to be counted."""

    async def receive(self, message: Incr) -> None:
        return None


async def _trio_counter(receive: trio.MemoryReceiveChannel[Incr | Sync]) -> None:
    """Raw trio's actor: the same handler as Counter, fed by a memory channel."""
    total = 0
    async for message in receive:
        if isinstance(message, Incr):
            total += message.n
        else:
            message.done.set()


def _check(handled: int, sent: int) -> None:
    if handled != sent:
        raise BenchmarkError(f"handled {handled} messages of {sent} sent")


# -- tell: 1 producer -> 1 actor -----------------------------------------------------------------


async def tell_ours(seconds: float) -> float:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", mailbox_size=MAILBOX)
        tell = ref.tell
        clock = time.perf_counter
        sent = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK):
                await tell(INCR)
            sent += CHUNK
        handled = await ref.ask(GET)
        elapsed = clock() - start
    _check(handled, sent)
    return sent / elapsed


async def tell_trio(seconds: float) -> float:
    send, receive = trio.open_memory_channel[Incr | Sync](MAILBOX)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_trio_counter, receive)
        clock = time.perf_counter
        sent = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK):
                await send.send(INCR)
            sent += CHUNK
        done = trio.Event()
        await send.send(Sync(done))
        await done.wait()
        elapsed = clock() - start
        await send.aclose()
    return sent / elapsed


# -- ask: 1 asker, round trips -------------------------------------------------------------------


async def ask_ours(seconds: float) -> float:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", mailbox_size=MAILBOX)
        ask = ref.ask
        clock = time.perf_counter
        done = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // 10):
                await ask(GET)
            done += CHUNK // 10
        elapsed = clock() - start
    return done / elapsed


async def ask_with_timeout_ours(seconds: float) -> float:
    """``ask`` with ``timeout=5`` on every call: an entry in the system's timer heap."""
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", mailbox_size=MAILBOX)
        ask = ref.ask
        clock = time.perf_counter
        done = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // 10):
                await ask(GET, timeout=5.0)
            done += CHUNK // 10
        elapsed = clock() - start
    return done / elapsed


async def ask_in_fail_after_ours(seconds: float) -> float:
    """``ask`` inside ``trio.fail_after(5)`` on every call: a cancel scope per call (what
    the docs told callers to write before ``timeout=``)."""
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", mailbox_size=MAILBOX)
        ask = ref.ask
        clock = time.perf_counter
        done = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // 10):
                with trio.fail_after(5.0):
                    await ask(GET)
            done += CHUNK // 10
        elapsed = clock() - start
    return done / elapsed


async def ask_trio_ping_pong(seconds: float) -> float:
    request_send, request_receive = trio.open_memory_channel[Get](0)
    reply_send, reply_receive = trio.open_memory_channel[int](0)

    async def server() -> None:
        total = 0
        async with reply_send:
            async for _ in request_receive:
                await reply_send.send(total)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(server)
        clock = time.perf_counter
        done = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // 10):
                await request_send.send(GET)
                await reply_receive.receive()
            done += CHUNK // 10
        elapsed = clock() - start
        await request_send.aclose()
    return done / elapsed


# -- fan-out: 1 producer -> 100 actors, round-robin ----------------------------------------------


async def fan_out_ours(seconds: float) -> float:
    async with actors.open_actor_system() as system:
        refs = [
            await system.spawn(Counter, name=f"counter-{i}", mailbox_size=MAILBOX)
            for i in range(FAN_OUT_ACTORS)
        ]
        tells = [ref.tell for ref in refs]
        clock = time.perf_counter
        rounds = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // FAN_OUT_ACTORS):
                for tell in tells:
                    await tell(INCR)
            rounds += CHUNK // FAN_OUT_ACTORS
        handled = 0
        for ref in refs:
            handled += await ref.ask(GET)
        elapsed = clock() - start
    _check(handled, rounds * FAN_OUT_ACTORS)
    return rounds * FAN_OUT_ACTORS / elapsed


async def fan_out_trio(seconds: float) -> float:
    channels = [trio.open_memory_channel[Incr | Sync](MAILBOX) for _ in range(FAN_OUT_ACTORS)]
    sends = [send.send for send, _ in channels]
    async with trio.open_nursery() as nursery:
        for _, receive in channels:
            nursery.start_soon(_trio_counter, receive)
        clock = time.perf_counter
        rounds = 0
        start = clock()
        deadline = start + seconds
        while clock() < deadline:
            for _ in range(CHUNK // FAN_OUT_ACTORS):
                for send in sends:
                    await send(INCR)
            rounds += CHUNK // FAN_OUT_ACTORS
        for send in sends:
            done = trio.Event()
            await send(Sync(done))
            await done.wait()
        elapsed = clock() - start
        for send_channel, _ in channels:
            await send_channel.aclose()
    return rounds * FAN_OUT_ACTORS / elapsed


# -- fan-in: 16 producers -> 1 actor -------------------------------------------------------------


async def fan_in_ours(seconds: float) -> float:
    async with actors.open_actor_system() as system:
        ref = await system.spawn(Counter, name="counter", mailbox_size=MAILBOX)
        clock = time.perf_counter
        counts = [0] * FAN_IN_PRODUCERS

        async def produce(index: int, deadline: float) -> None:
            tell = ref.tell
            sent = 0
            while clock() < deadline:
                for _ in range(CHUNK):
                    await tell(INCR)
                sent += CHUNK
            counts[index] = sent

        start = clock()
        async with trio.open_nursery() as nursery:
            for i in range(FAN_IN_PRODUCERS):
                nursery.start_soon(produce, i, start + seconds)
        handled = await ref.ask(GET)
        elapsed = clock() - start
    _check(handled, sum(counts))
    return sum(counts) / elapsed


async def fan_in_trio(seconds: float) -> float:
    send, receive = trio.open_memory_channel[Incr | Sync](MAILBOX)
    clock = time.perf_counter
    counts = [0] * FAN_IN_PRODUCERS

    async def produce(index: int, deadline: float) -> None:
        sent = 0
        while clock() < deadline:
            for _ in range(CHUNK):
                await send.send(INCR)
            sent += CHUNK
        counts[index] = sent

    async with trio.open_nursery() as consumer:
        consumer.start_soon(_trio_counter, receive)
        start = clock()
        async with trio.open_nursery() as producers:
            for i in range(FAN_IN_PRODUCERS):
                producers.start_soon(produce, i, start + seconds)
        done = trio.Event()
        await send.send(Sync(done))
        await done.wait()
        elapsed = clock() - start
        await send.aclose()
    return sum(counts) / elapsed


# -- Pykka, in worker processes ------------------------------------------------------------------


@attrs.define
class PykkaWorker:
    """A persistent ``_pykka_worker`` process, started on first use; ``cpu`` pins it."""

    cpu: int | None
    _process: subprocess.Popen[str] | None = None

    def _start(self) -> subprocess.Popen[str]:
        command = [sys.executable, str(Path(__file__).with_name("_pykka_worker.py"))]
        if self.cpu is not None:
            command += ["--cpu", str(self.cpu)]
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        atexit.register(self.close)  # close() is idempotent
        return process

    def call(self, command: dict[str, Any]) -> dict[str, Any]:
        """Send one command and wait for its reply. Raises BenchmarkError if the worker fails."""
        if self._process is None or self._process.poll() is not None:
            self._process = self._start()
        stdin, stdout = self._process.stdin, self._process.stdout
        assert stdin is not None
        assert stdout is not None
        stdin.write(json.dumps(command) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise BenchmarkError(f"pykka worker (cpu={self.cpu}) exited: {self._process.wait()}")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise BenchmarkError(f"pykka worker (cpu={self.cpu}): {reply['error']}")
        return reply

    def run(self, case: str, seconds: float) -> float:
        return float(self.call({"case": case, "seconds": seconds})["rate"])

    def implementation(self, case: str) -> Callable[[float], float]:
        return functools.partial(self.run, case)

    def close(self) -> None:
        process = self._process
        self._process = None
        if process is not None and process.poll() is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- spawning, idle memory, restart latency ------------------------------------------------------


async def _spawn_ours(count: int) -> float:
    async with actors.open_actor_system() as system:
        spawn = system.spawn
        start = time.perf_counter()
        for i in range(count):
            await spawn(Idle, name=f"idle-{i}", mailbox_size=MAILBOX)
        elapsed = time.perf_counter() - start
    return elapsed


def _start_trio_tasks(nursery: trio.Nursery, count: int, sends: list[Any]) -> None:
    """Raw trio's 'spawn': a task with its own memory channel pair, started in a nursery."""
    for _ in range(count):
        send, receive = trio.open_memory_channel[Incr | Sync](MAILBOX)
        nursery.start_soon(_trio_counter, receive)
        sends.append(send)


async def _spawn_trio(count: int) -> float:
    sends: list[Any] = []
    async with trio.open_nursery() as nursery:
        start = time.perf_counter()
        _start_trio_tasks(nursery, count, sends)
        await trio.testing.wait_all_tasks_blocked()
        elapsed = time.perf_counter() - start
        for send in sends:
            await send.aclose()
    return elapsed


@attrs.define
class Baseline:
    """Samples of a baseline figure taken beside a metric; its median goes into ``meta``."""

    into: dict[str, float]
    name: str
    limit: int  # samples wanted (quick runs take fewer)
    samples: list[float] = attrs.field(factory=list)

    def sample(self, measure: Callable[[], float]) -> None:
        if len(self.samples) < self.limit:
            gc.collect()
            self.samples.append(measure())
            self.into[self.name] = statistics.median(self.samples)


def spawn_10k_s(trio_baseline: Baseline) -> float:
    """Seconds to spawn 10,000 idle actors one by one under the root supervisor (and raw
    trio's figure right after, into ``trio_baseline``)."""
    gc.collect()
    ours = trio.run(_spawn_ours, SPAWN_COUNT)
    trio_baseline.sample(lambda: trio.run(_spawn_trio, SPAWN_COUNT))
    return ours


async def _traced_growth(count: int, ours: bool) -> float:
    """Traced bytes per idle actor (or raw-trio task) after spawning ``count`` of them."""

    async def settle() -> int:
        await trio.testing.wait_all_tasks_blocked()
        gc.collect()
        return tracemalloc.get_traced_memory()[0]

    if ours:  # 50 first, to warm caches (types, interned names) before the baseline
        async with actors.open_actor_system() as system:
            for i in range(-50, count):
                if i == 0:
                    before = await settle()
                await system.spawn(Idle, name=f"idle-{i}", mailbox_size=MAILBOX)
            after = await settle()
        return (after - before) / count
    sends: list[Any] = []
    async with trio.open_nursery() as nursery:
        _start_trio_tasks(nursery, 50, sends)
        before = await settle()
        _start_trio_tasks(nursery, count, sends)
        after = await settle()
        for send in sends:
            await send.aclose()
    return (after - before) / count


def idle_actor_bytes(count: int, trio_baseline: Baseline) -> float:
    """Traced bytes per idle actor, each measurement in a fresh interpreter."""
    ours = traced_bytes_in_fresh_process(count, ours=True)
    trio_baseline.sample(lambda: traced_bytes_in_fresh_process(count, ours=False))
    return ours


def traced_bytes_in_fresh_process(count: int, *, ours: bool) -> float:
    """Run :func:`_traced_growth` in a new interpreter with tracemalloc started first."""
    code = (
        "import tracemalloc, trio; tracemalloc.start(); "
        "from benchmarks.actors import _traced_growth; "
        f"print(trio.run(_traced_growth, {count}, {ours}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        raise BenchmarkError(f"idle-memory child failed:\n{out.stderr}")
    return float(out.stdout.strip().splitlines()[-1])


async def _restart_latencies(crashes: int) -> list[float]:
    no_backoff = actors.Backoff(first=0.0, base=0.0, jitter=0.0)
    spec = actors.SupervisorSpec("restarts", max_restarts=None, backoff=no_backoff)
    latencies = []
    async with actors.open_actor_system() as system:
        await system.start_supervisor(spec)
        # A fresh actor every CRASHES_PER_ACTOR crashes: Backoff.delay overflows (OverflowError
        # from multiplier ** attempt) past 1024 consecutive restarts of one child.
        for first in range(0, crashes, CRASHES_PER_ACTOR):
            ref = await system.spawn(Crashy, name=f"crashy-{first}", supervisor="restarts")
            await ref.ask(GET)
            for _ in range(min(CRASHES_PER_ACTOR, crashes - first)):
                try:
                    await ref.ask(BOOM)
                except actors.ActorCrashed:
                    pass
                else:
                    raise BenchmarkError("Boom did not crash the actor")
                await ref.ask(GET)
                latencies.append(time.perf_counter() - Crashy.crashed_at)
    return latencies


def restart_latency_ms(crashes: int) -> float:
    """Median milliseconds from a handler raising to the next ask being answered."""
    gc.collect()
    return statistics.median(trio.run(_restart_latencies, crashes)) * 1000


# -- the benchmark -------------------------------------------------------------------------------


def define(bench: Bench) -> None:
    """Declare every case, ratio, metric and target of this benchmark."""
    bench.meta["loadavg_1m_at_start"] = os.getloadavg()[0]  # other work on the machine skews it
    pinned = PykkaWorker(cpu=max(os.sched_getaffinity(0)))  # the last CPU we may use
    unpinned = PykkaWorker(cpu=None)
    bench.meta["pykka"] = {
        "pinned": pinned.call({"case": "info"}),
        "unpinned": unpinned.call({"case": "info"}),
        "runs_in": "persistent worker subprocesses (benchmarks/_pykka_worker.py)",
    }

    cases = {
        "tell": ("msg/s", tell_ours, "trio", tell_trio),
        "ask": ("req/s", ask_ours, "trio_ping_pong", ask_trio_ping_pong),
        "fan_out": ("msg/s", fan_out_ours, "trio", fan_out_trio),
        "fan_in": ("msg/s", fan_in_ours, "trio", fan_in_trio),
    }
    for name, (unit, ours, trio_name, trio_impl) in cases.items():
        case = bench.case(name, unit=unit)
        case.add("ours", ours)
        case.add(trio_name, trio_impl)
        case.add("pykka", pinned.implementation(name))
        case.add("pykka_unpinned", unpinned.implementation(name))
        bench.ratio(name, "ours", trio_name)
        bench.ratio(name, "ours", "pykka")
        bench.ratio(name, "ours", "pykka_unpinned")

    # The price of a deadline: the same ask with ``timeout=5`` on every call, against the
    # ask without one and against the ask inside a fresh ``trio.fail_after(5)`` per call.
    case = bench.case("ask_with_deadline", unit="req/s")
    case.add("ours", ask_with_timeout_ours)
    case.add("ask", ask_ours)
    case.add("fail_after", ask_in_fail_after_ours)
    bench.ratio("ask_with_deadline", "ours", "ask")
    bench.ratio("ask_with_deadline", "ours", "fail_after")
    bench.target("ask_with_deadline_vs_ask", ">=", 0.8)

    bench.target("tell_vs_pykka", ">=", 1.5)
    bench.target("ask_vs_trio_ping_pong", ">=", 1.0)
    bench.target("ask_vs_pykka", ">=", 0.7)

    idle_count = 2_000 if bench.quick else SPAWN_COUNT
    crashes = 500 if bench.quick else 2_000
    trio_figures: dict[str, float] = {}
    samples = 1 if bench.quick else bench.settings.repetitions
    trio_spawn = Baseline(trio_figures, "spawn_10k_s", samples)
    trio_idle = Baseline(trio_figures, "idle_task_bytes", samples)
    bench.metric("spawn_10k_s", lambda: spawn_10k_s(trio_spawn))
    bench.metric("idle_actor_bytes", lambda: idle_actor_bytes(idle_count, trio_idle))
    bench.metric("restart_latency_ms", lambda: restart_latency_ms(crashes))
    bench.target("spawn_10k_s", "<=", 1.0)
    bench.target("idle_actor_bytes", "<=", 4096)
    bench.meta["idle_actors_counted"] = idle_count
    bench.meta["crashes_timed"] = crashes
    bench.meta["trio_baseline"] = trio_figures
    bench.meta["trio_baseline_note"] = (
        "measured beside ours (once if quick); a 'spawn' is start_soon of a task with its "
        "own memory channel pair, timed until all are blocked"
    )


if __name__ == "__main__":
    raise SystemExit(main("actors", define))

"""What every runtime scenario shares: real modules under a real embedded orchestrator, the
traffic between them, and the honest count of what became of each request.

:func:`open_run` starts copies of ``modules/fault_module.py`` (a known secret handed to each
through the orchestrator) and yields a :class:`Run`. Traffic comes from two places:

* module to module: the ``driver`` module sends requests to another module's endpoint
  (``Run.start_traffic`` / ``Run.finish_traffic``), each with the router's deadline and a
  margin after it past which the driver counts it as hung;
* orchestrator to module: the suite itself asks a module (``Run.direct_traffic``), each
  request bounded by the same deadline plus margin.

An outcome is ``succeeded``, ``failed_typed`` when its error's name is one the scenario
allows (the typed errors documented for that fault), ``hung``, or an unexpected exception
(anything else). Every console line (the orchestrator's own and each module's stderr, as it
arrives, so that a long run misses none) is scanned for the secret, its escaped forms and
the modules' auth tokens, for tracebacks and for crashes nobody injected; so are, at the end,
the raw stderr lines the orchestrator kept and the output of helpers (a hostile peer).
"""

from __future__ import annotations

import collections
import json
import logging
import re
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Final

import trio

from actors import ActorError, Backoff
from pywatt.orchestrator import (
    ConsoleLine,
    Manifest,
    ModuleCallFailed,
    ModuleSpec,
    Orchestrator,
    RestartPolicy,
    open_orchestrator,
)
from pywatt.orchestrator.control import serve_control  # what `pywatt run` serves

from ._counts import Counts

FAULT_MODULE: Final = Path(__file__).parent / "modules" / "fault_module.py"
SECRET_NAME: Final = "FAULT_SECRET"
DRIVER: Final = "driver"
TARGET: Final = "target"

TIMEOUT: Final = 1.0
"""The router's deadline of each request the driver sends."""
MARGIN: Final = 4.0
"""How long after its deadline a request without an outcome is counted as hung."""
HEARTBEAT: Final = 0.5
"""Channel heartbeat interval: a connection silent for three is closed."""
RESUME_WITHIN: Final = 15.0
"""How long traffic may take to resume after a fault before that counts as a failure."""

ALWAYS_RESTART: Final = RestartPolicy(
    max_restarts=None, backoff=Backoff(first=0.0, base=0.05, cap=0.5, jitter=0.0)
)
"""Restart a killed module at once, however often (a drill kills it on purpose)."""

RECONNECTS: Final = frozenset({"ChannelBroken", "PeerSilent"})
"""How a module's channel connection actor ends when its connection breaks or falls silent:
its supervisor restarts it, which is the reconnect (logged as a crash, with a traceback)."""

_CRASH_LOG: Final = re.compile(r"actor (\S+) \(incarnation \d+\) crashed: (\w+)")
_INTERNAL: Final = re.compile(r"internal error in actor (\S+): (\w+)")

log = logging.getLogger(__name__)


class Run:
    """One scenario's orchestrator, modules and bookkeeping (see the module docstring)."""

    def __init__(self, orch: Orchestrator, counts: Counts, secret: str, nonce: str) -> None:
        self.orch = orch
        self.counts = counts
        self.secret = secret
        self.nonce = nonce
        self.leaks = _leak_forms(secret, nonce, [orch.endpoints(h.id).token for h in orch.modules])
        """The texts that must appear in no output: the secret, its forms, the tokens."""
        self.own_warnings = 0
        """Warnings and errors of the orchestrator itself on the console."""
        self.extra_output: list[str] = []
        """Output of helpers the scenario ran (a hostile peer's), scanned like the rest."""
        self.injected_crashes: set[str] = set()
        """Error names of the crashes the scenario causes (a crash log of any other fails)."""
        self.expected_restarts: dict[str, int] = collections.Counter()
        """Module restarts the scenario causes, per module."""
        self.typed: collections.Counter[str] = collections.Counter()
        self.unexpected: collections.Counter[str] = collections.Counter()

    # -- outcomes ----------------------------------------------------------------------------

    def failure(self, note: str) -> None:
        """Something went wrong that is not one request's outcome: count it and say what."""
        self.counts.unexpected_exceptions += 1
        self.counts.notes.append(note)

    def _outcome_error(self, name: str, allowed: Collection[str], where: str) -> None:
        if name in allowed:
            self.counts.failed_typed += 1
            self.typed[name] += 1
        else:
            self.counts.unexpected_exceptions += 1
            self.unexpected[f"{where}: {name}"] += 1

    # -- control calls (not traffic: retried until they get through) -------------------------

    async def control(
        self, module_id: str, endpoint: str, payload: Any = None, *, within: float = 15.0
    ) -> Any:
        """Ask ``module_id``'s ``endpoint`` as the orchestrator, retrying while a fault keeps
        it unreachable; raises ``trio.TooSlowError`` after ``within`` seconds."""
        last: Exception | None = None
        with trio.move_on_after(within):
            while True:
                try:
                    with trio.move_on_after(TIMEOUT + MARGIN):
                        return await self.orch.request(module_id, endpoint, payload)
                except (ModuleCallFailed, ActorError) as exc:
                    last = exc
                await trio.sleep(0.05)
        raise trio.TooSlowError(f"{module_id}/{endpoint} unreachable for {within:g} s ({last})")

    # -- module-to-module traffic ------------------------------------------------------------

    async def start_traffic(
        self, target: str, endpoint: str = "echo", *, driver: str = DRIVER, concurrency: int = 3
    ) -> None:
        """Make ``driver`` send requests to ``target``'s ``endpoint`` until
        :meth:`finish_traffic`; returns once the first one succeeded."""
        plan = {
            "target": target, "endpoint": endpoint, "concurrency": concurrency,
            "timeout": TIMEOUT, "margin": MARGIN,
        }  # fmt: skip
        await self.control(driver, "start", plan)
        await self.wait_resumed(driver, what="the first requests")

    async def ok_count(self, driver: str = DRIVER) -> int:
        tally = await self.control(driver, "progress")
        return int(tally["ok"])

    async def wait_resumed(
        self, driver: str = DRIVER, *, more: int = 5, what: str = "traffic after a fault"
    ) -> bool:
        """Wait until ``driver`` has ``more`` further successes; a failure is counted when
        that takes over :data:`RESUME_WITHIN` seconds."""
        started = trio.current_time()
        try:
            with trio.fail_after(RESUME_WITHIN):
                first = await self.ok_count(driver)
                # A count in another process: asked again and again, there is no event to wait on.
                while True:
                    if await self.ok_count(driver) >= first + more:
                        break
                    await trio.sleep(0.02)
        except trio.TooSlowError:
            self.failure(f"{what}: {driver} did not succeed {more} more times within "
                         f"{RESUME_WITHIN:g} s")  # fmt: skip
            return False
        log.debug("%s resumed in %.2f s", what, trio.current_time() - started)
        return True

    async def finish_traffic(self, allowed: Collection[str], *, driver: str = DRIVER) -> None:
        """Stop ``driver``'s traffic, wait for every outcome and count them."""
        try:
            tally = await self.control(driver, "finish", within=30.0)
        except trio.TooSlowError as exc:
            self.failure(f"the driver's tally could not be read: {exc}")
            return
        c = self.counts
        c.requests_sent += tally["sent"]
        c.succeeded += tally["ok"]
        c.hung += tally["hung"]
        if tally["in_flight"]:
            c.hung += tally["in_flight"]
            c.notes.append(f"{tally['in_flight']} requests still in flight after the margin")
        if tally["wrong"]:
            c.unexpected_exceptions += tally["wrong"]
            self.unexpected["driver: a wrong answer"] += tally["wrong"]
        for name, n in tally["errors"].items():
            for _ in range(n):
                self._outcome_error(name, allowed, "driver")

    # -- orchestrator-to-module traffic ------------------------------------------------------

    async def direct_traffic(
        self,
        target: str,
        allowed: Collection[str],
        stop: trio.Event,
        *,
        endpoint: str = "echo",
        concurrency: int = 1,
    ) -> None:
        """Ask ``target``'s ``endpoint`` as the orchestrator until ``stop`` is set, counting
        each outcome; a request unanswered after :data:`TIMEOUT` + :data:`MARGIN` is hung."""

        async def loop() -> None:
            i = 0
            while not stop.is_set():
                i += 1
                await self._direct_one(target, endpoint, i, allowed)
                await trio.sleep(0.005)

        async with trio.open_nursery() as nursery:
            for _ in range(concurrency):
                nursery.start_soon(loop)

    async def _direct_one(
        self, target: str, endpoint: str, i: int, allowed: Collection[str]
    ) -> None:
        c = self.counts
        c.requests_sent += 1
        try:
            with trio.move_on_after(TIMEOUT + MARGIN) as waited:
                reply = await self.orch.request(target, endpoint, {"i": i})
        except ModuleCallFailed as exc:
            self._outcome_error(exc.error_type, allowed, "orchestrator")
            return
        except Exception as exc:  # every outcome is counted, whatever it is
            self._outcome_error(type(exc).__name__, allowed, "orchestrator")
            return
        if waited.cancelled_caught:
            c.hung += 1
            c.notes.append(f"the orchestrator's request {i} to {target}/{endpoint} hung")
        elif answers(reply, i):
            c.succeeded += 1
        else:
            self._outcome_error("a wrong answer", (), "orchestrator")

    # -- output ------------------------------------------------------------------------------

    def see(self, line: ConsoleLine) -> None:
        """Scan one console line as it is shown (the console's sink)."""
        self._leak_check(line.text)
        self._crash_check(line.text)
        if line.from_module:
            if "sabotage crashing" in line.text:
                self.counts.faults_injected += 1
        elif line.level >= logging.WARNING:
            self.own_warnings += 1

    def _leak_check(self, text: str) -> None:
        for line in text.splitlines():
            if any(form in line for form in self.leaks):
                self.counts.secret_bytes_found += 1
                if self.counts.secret_bytes_found <= 3:  # say where, never what
                    self.counts.notes.append(f"a secret in: {_masked(line, self.leaks)}")

    def _crash_check(self, text: str) -> None:
        """A crash log or a traceback of anything the scenario did not crash on purpose (a
        module's crash log is one record: its message and its traceback, checked whole)."""
        injected = self.injected_crashes
        match = _CRASH_LOG.search(text) or _INTERNAL.search(text)
        if match is not None and match.group(2) not in injected:
            self.failure(f"{match.group(1)} crashed with {match.group(2)}: {text[:300]}")
        elif match is None and "Traceback (most recent call last)" in text:
            self.failure(f"a traceback: {text[:300]}")

    def finish(self) -> None:
        """After the modules stopped: the raw stderr lines kept and the helpers' output
        scanned for the secret, module restarts nobody caused, and the notes written."""
        for handle in self.orch.modules:
            for text in handle.stderr:
                self._leak_check(text)
        for text in self.extra_output:
            self._leak_check(text)
        for handle in self.orch.modules:
            allowed = self.expected_restarts.get(handle.id, 0)
            if handle.restarts > allowed:
                self.failure(f"{handle.id} restarted {handle.restarts} times, "
                             f"{allowed} caused by the scenario")  # fmt: skip
        for what, n in sorted(self.unexpected.items()):
            self.counts.notes.append(f"unexpected: {what} x{n}")
        if self.typed:
            typed = ", ".join(f"{name} x{n}" for name, n in self.typed.most_common())
            self.counts.notes.append(f"typed failures: {typed}")


def _leak_forms(value: str, nonce: str, tokens: list[str]) -> set[str]:
    """The secret as it may appear in text (whole, escaped, JSON in JSON), its random core
    (any part of any form would hold it) and the modules' channel tokens."""
    forms = {
        value,
        nonce,
        repr(value)[1:-1],
        ascii(value)[1:-1],
        repr(value.encode())[2:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
    }
    forms |= {json.dumps(f)[1:-1] for f in list(forms)}
    return forms | set(tokens)


def answers(reply: Any, i: int) -> bool:
    """Whether ``reply`` is the fault module's answer to request ``i`` (``echo`` or ``work``)."""
    if not isinstance(reply, dict):
        return False
    if "echo" in reply:
        return bool(reply["echo"] == {"i": i})
    return bool(reply.get("i") == i)


def _masked(line: str, forms: set[str]) -> str:
    for form in sorted(forms, key=len, reverse=True):
        line = line.replace(form, "<SECRET>")
    return line[:200]


@asynccontextmanager
async def serving_control(run: Run) -> AsyncIterator[str]:
    """Serve the orchestrator's control socket (as ``pywatt run`` does) in a private run
    directory of its own while the block runs; yields the run directory."""
    run_dir = tempfile.mkdtemp(prefix="pywatt-faults-")
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(serve_control, run.orch, run_dir)
            yield run_dir
            nursery.cancel_scope.cancel()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


@asynccontextmanager
async def open_run(
    counts: Counts,
    modules: Sequence[str] = (TARGET, DRIVER),
    *,
    restart: RestartPolicy | None = None,
    lines: bool = True,
) -> AsyncIterator[Run]:
    """Run copies of the fault module called ``modules`` (all announced before this
    yields); scan the output when the block ends and the modules have stopped. ``lines``:
    the modules talk over direct lines once granted (``False``: every request goes
    through the orchestrator, for faults on its path)."""
    nonce = secrets.token_hex(8)
    secret = f"fault-{nonce}-\"q'\\é"  # quotes, a backslash, not ASCII: escaped forms differ
    specs = [
        ModuleSpec.from_command(
            module_id, str(FAULT_MODULE), secrets=[SECRET_NAME],
            restart=restart, env={} if lines else {"PYWATT_DIRECT_LINES": "0"},
        )
        for module_id in modules
    ]  # fmt: skip
    manifest = Manifest(
        modules=specs,
        secrets={SECRET_NAME: secret},
        environment={},
        heartbeat_interval=HEARTBEAT,
        grace=2.0,
        term_grace=2.0,
    )
    early: list[ConsoleLine] = []  # what is shown before the run exists
    run: Run | None = None

    def see(line: ConsoleLine) -> None:
        if run is None:
            early.append(line)
        else:
            run.see(line)

    async with open_orchestrator(manifest, on_output=see) as orch:
        run = Run(orch, counts, secret, nonce)
        for line in early:
            run.see(line)
        with trio.fail_after(30):
            for module_id in modules:
                await orch.module(module_id).wait_announced()
        yield run
    run.finish()

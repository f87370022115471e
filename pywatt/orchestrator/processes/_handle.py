"""A module as the orchestrator's users see it: state, pid, announce, restarts, stderr.

A :class:`ModuleHandle` is a read-only view kept current by the module's actors (the process
actor and its supervision watch); it lives as long as the orchestrator, across restarts of
the process. Waits (``wait_announced``, ``wait_until``, ``wait_stderr``) never hang on a
module that is gone: they raise :class:`ModuleNotRunning` once it reaches a final state.
"""

from __future__ import annotations

import collections
import enum
from collections.abc import Callable
from typing import Final

import attrs
import trio

from pywatt.wire import AnnounceBlob, InitBlob

from .._errors import ModuleNotRunning
from ..config import ModuleSpec

__all__ = ["ModuleHandle", "ModuleState", "ModuleStatus", "TrafficRecord"]

STDERR_KEEP: Final = 10_000
TRAFFIC_KEEP: Final = 1_000


class ModuleState(enum.Enum):
    """Where a module is in its life. The last four are final."""

    WAITING = "waiting"
    """Not started yet: it waits for the modules it ``depends_on`` to announce."""
    STARTING = "starting"
    """Its process is running; it has not announced yet."""
    RUNNING = "running"
    """It announced its listen address and endpoints."""
    CRASHED = "crashed"
    """Its process ended unexpectedly; the supervisor is deciding (restart or give up)."""
    RESTARTING = "restarting"
    """A restart is scheduled after a backoff delay."""
    STOPPING = "stopping"
    """It was asked to stop: shutdown line, then SIGTERM, then SIGKILL."""
    STOPPED = "stopped"
    """It was stopped on request."""
    EXITED = "exited"
    """It ended by itself and its restart policy does not restart it."""
    GAVE_UP = "gave up"
    """It crashed more often than its restart policy allows."""
    FAILED = "failed"
    """It could not be started at all."""

    @property
    def final(self) -> bool:
        return self in _FINAL


_FINAL: Final = frozenset(
    {ModuleState.STOPPED, ModuleState.EXITED, ModuleState.GAVE_UP, ModuleState.FAILED}
)


@attrs.frozen
class TrafficRecord:
    """One protocol message on the module's stdio: ``direction`` is ``"in"`` (from the module)
    or ``"out"``; ``op`` the wire op; ``detail`` a value-free summary (a secret's *name*)."""

    direction: str
    op: str
    detail: str = ""


@attrs.frozen
class ModuleStatus:
    """A snapshot of one module (what ``pywatt status`` shows)."""

    id: str
    kind: str
    state: str
    pid: int | None
    restarts: int
    listen: str | None
    endpoints: tuple[str, ...]
    last_exit: int | None


class ModuleHandle:
    """The live view of one module. Obtain it with ``orchestrator.module(id)``."""

    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec
        self.state = ModuleState.STARTING
        self.pid: int | None = None
        """The current process id (None when no process runs)."""
        self.incarnation = 0
        """How many processes have been started for this module."""
        self.restarts = 0
        """How many restarts the supervisor has scheduled."""
        self.announce: AnnounceBlob | None = None
        """The current process's announce, once it has sent one."""
        self.last_announce: AnnounceBlob | None = None
        """The last announce any of its processes sent (kept while it is down: the gateway
        tells a client the path's module is restarting rather than that nobody serves it)."""
        self.init_blob: InitBlob | None = None
        """The InitBlob sent to the current process."""
        self.last_exit: int | None = None
        """Exit status of the last process that ended (negative: killed by that signal)."""
        self.stop_requested = False
        self.failure: BaseException | None = None
        """Why it gave up or failed to start."""
        self.stderr: collections.deque[str] = collections.deque(maxlen=STDERR_KEEP)
        """Its stderr lines (redacted, as they came), across restarts; the last 10,000."""
        self.traffic: collections.deque[TrafficRecord] = collections.deque(maxlen=TRAFFIC_KEEP)
        """The last 1,000 protocol messages on its stdio (no secret values)."""
        self._changed = trio.Event()
        self._on_change: Callable[[], None] | None = None
        self._on_state: Callable[[ModuleHandle, ModuleState], None] | None = None
        """Called with the handle and its previous state when its state changed."""

    @property
    def id(self) -> str:
        return self.spec.id

    def __repr__(self) -> str:
        return f"<ModuleHandle {self.id!r} {self.state.value} pid={self.pid}>"

    # -- waiting ---------------------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[ModuleHandle], bool]) -> None:
        """Block until ``predicate(handle)`` holds (checked after every change).

        Raises :class:`ModuleNotRunning` if the module reaches a final state first and the
        predicate still does not hold. Deadlines are the caller's (``trio.fail_after``).
        """
        while not predicate(self):
            if self.state.final:
                raise ModuleNotRunning(self.id, self.state.value)
            await self._changed.wait()

    async def wait_announced(self) -> AnnounceBlob:
        """Block until the current (or a later) process has announced; return its announce.

        Raises :class:`ModuleNotRunning` if the module stops, gives up or fails first.
        """
        await self.wait_until(lambda h: h.announce is not None)
        assert self.announce is not None
        return self.announce

    async def wait_stderr(self, text: str) -> str:
        """Block until a stderr line containing ``text`` has arrived; return that line.

        Lines are redacted, so a secret value never matches. Raises :class:`ModuleNotRunning`
        if the module reaches a final state without such a line.
        """
        found: list[str] = []

        def has_line(handle: ModuleHandle) -> bool:
            for line in handle.stderr:
                if text in line:
                    found.append(line)
                    return True
            return False

        await self.wait_until(has_line)
        return found[0]

    def status(self) -> ModuleStatus:
        """A frozen snapshot. Does not block."""
        announce = self.announce
        endpoints: tuple[str, ...] = ()
        if announce is not None:
            endpoints = tuple(
                f"{','.join(e.methods)} {e.path}" + (f" (auth: {e.auth})" if e.auth else "")
                for e in announce.endpoints
            )
        return ModuleStatus(
            id=self.id,
            kind=self.spec.kind.value,
            state=self.state.value,
            pid=self.pid,
            restarts=self.restarts,
            listen=announce.listen if announce is not None else None,
            endpoints=endpoints,
            last_exit=self.last_exit,
        )

    # -- updates from the module's actors --------------------------------------------------

    def _changed_now(self) -> None:
        self._changed.set()
        self._changed = trio.Event()
        if self._on_change is not None:
            self._on_change()

    def _set(self, **changes: object) -> None:
        previous = self.state
        for name, value in changes.items():
            setattr(self, name, value)
        if self.announce is not None:
            self.last_announce = self.announce
        if self.state is not previous and self._on_state is not None:
            self._on_state(self, previous)
        self._changed_now()

    def _record_stderr(self, line: str) -> None:
        self.stderr.append(line)
        self._changed_now()

    def _record_traffic(self, direction: str, op: str, detail: str = "") -> None:
        self.traffic.append(TrafficRecord(direction, op, detail))
        self._changed_now()

"""One supervisor per module, whose intensity and backoff are the module's restart policy.

Each module runs under its own supervisor (one_for_one) over the module-process actor. The
process actor crashes when its process dies unexpectedly; the supervisor restarts it after
the policy's backoff. Past ``max_restarts`` within ``within`` seconds the supervisor gives
up: it stops its children and fails to its parent, which drops it (it is ``temporary``), so
the other modules keep running.

Who notices: the :class:`SupervisionWatcher` (``pywatt.modules.watcher``) monitors every
module's supervisor (``ctx.monitor``; the orchestrator tells it :class:`WatchModule` once the
supervisor has started). The supervisor's ``Down`` says how it ended: stopped because we
asked (``handle.stop_requested``), or gave up, which it reports once, clearly. The modules
it watches belong to its name, so a restarted watcher monitors them again, and a supervisor
that ended meanwhile is reported then (its ``Down`` carries ``NoSuchActor``).
"""

from __future__ import annotations

import attrs

from actors import Actor, ChildSpec, Down, Restart, Strategy, SupervisorSpec

from .._errors import describe_exit
from ..config import process_name, supervisor_name
from ..console import Console
from ._handle import ModuleHandle, ModuleState
from ._ports import PORTS_NAME, ReleasePorts
from ._process import ModuleProcess, ProcessSettings

__all__ = [
    "WATCHER_NAME",
    "SupervisionWatcher",
    "WatchModule",
    "module_supervisor_spec",
    "process_name",
    "supervisor_name",
]

_KILL_WAIT = 5.0  # after SIGKILL, plus draining the pipes

WATCHER_NAME = "pywatt.modules.watcher"


@attrs.frozen
class WatchModule:
    """The supervisor of module ``module_id`` has started: watch it."""

    module_id: str


class SupervisionWatcher(Actor[WatchModule | Down]):
    """Reports how each module's supervision ended (see the module docstring).

    ``watched`` (supervisor name -> module id) is kept with the name: the factory hands the
    same dict to every incarnation.
    """

    def __init__(
        self, handles: dict[str, ModuleHandle], console: Console, watched: dict[str, str]
    ) -> None:
        self.handles = handles
        self.console = console
        self.watched = watched

    async def on_start(self) -> None:
        for supervisor in self.watched:
            self.ctx.monitor(supervisor)

    async def receive(self, message: WatchModule | Down) -> None:
        if isinstance(message, WatchModule):
            supervisor = supervisor_name(message.module_id)
            self.watched[supervisor] = message.module_id
            self.ctx.monitor(supervisor)
            return
        module_id = self.watched.pop(message.name, None)
        if module_id is not None:
            await self._ended(self.handles[module_id])

    async def _ended(self, handle: ModuleHandle) -> None:
        await self.ctx.system.tell(PORTS_NAME, ReleasePorts(handle.id))
        if handle.stop_requested:
            if not handle.state.final:
                handle._set(state=ModuleState.STOPPED, pid=None)
            return
        if handle.incarnation == 0:  # its first process never started; the actor said why
            handle._set(state=ModuleState.FAILED, pid=None)
            return
        policy = handle.spec.restart
        handle._set(state=ModuleState.GAVE_UP, pid=None)
        last = describe_exit(handle.last_exit) if handle.last_exit is not None else "did not start"
        self.console.error(
            f"gave up on {handle.id}: more than {policy.max_restarts} restarts within "
            f"{policy.within:g} s (last: {last}); the other modules keep running",
            handle.id,
        )


def module_supervisor_spec(handle: ModuleHandle, settings: ProcessSettings) -> SupervisorSpec:
    """The supervision tree of one module, built from its restart policy."""
    spec = handle.spec
    policy = spec.restart
    stop_budget = 2 * settings.grace + settings.term_grace + _KILL_WAIT
    return SupervisorSpec(
        supervisor_name(spec.id),
        [
            ChildSpec(
                process_name(spec.id),
                lambda: ModuleProcess(handle, settings),
                restart=policy.restart,
                shutdown=stop_budget,
            ),
        ],
        strategy=Strategy.ONE_FOR_ONE,
        max_restarts=policy.max_restarts,
        within=policy.within,
        backoff=policy.backoff,
        restart=Restart.TEMPORARY,
        shutdown=stop_budget + 2.0,
    )

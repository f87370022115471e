"""One supervisor per module, whose intensity and backoff are the module's restart policy.

Each module runs under its own supervisor (one_for_one) with two children: a *watch* and the
module-process actor. The process actor crashes when its process dies unexpectedly; the
supervisor restarts it after the policy's backoff. Past ``max_restarts`` within ``within``
seconds the supervisor gives up: it stops its children and fails to its parent, which drops
it (it is ``temporary``), so the other modules keep running.

Why the watch: the runtime publishes no event when a supervisor gives up, and a temporary
child is removed silently. The watch is an actor that does nothing but live exactly as long
as the module's supervision; it stops either because we asked (``handle.stop_requested``)
or because its supervisor gave up — and then it reports the give-up, once, clearly.
"""

from __future__ import annotations

import attrs

from actors import Actor, ChildSpec, Restart, Strategy, SupervisorSpec

from .._errors import describe_exit
from ..config import process_name, supervisor_name
from ..console import Console
from ._handle import ModuleHandle, ModuleState
from ._ports import PORTS_NAME, ReleasePorts
from ._process import ModuleProcess, ProcessSettings

__all__ = ["module_supervisor_spec", "process_name", "supervisor_name"]

_KILL_WAIT = 5.0  # after SIGKILL, plus draining the pipes


@attrs.frozen
class _Never:
    """The watch accepts no messages; this type is never sent."""


class SupervisionWatch(Actor[_Never]):
    """Reports a module's supervisor giving up (see the module docstring)."""

    def __init__(self, handle: ModuleHandle, console: Console) -> None:
        self.handle = handle
        self.console = console

    async def receive(self, message: _Never) -> None:
        return None

    async def on_stop(self) -> None:
        handle = self.handle
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
                f"{supervisor_name(spec.id)}.watch",
                lambda: SupervisionWatch(handle, settings.console),
                shutdown=1.0,
            ),
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

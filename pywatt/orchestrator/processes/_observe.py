"""What the orchestrator shows of the system: module trees, one event stream, the control
commands ``tree`` and ``events`` (``pywatt status --tree``, ``pywatt events``, ``pywatt top``).

* Trees: the process actor of a pywatt module sends ``tree_request`` on its stdin and answers
  :class:`GetModuleTree` with the tree the module sends back (``tree``), within
  :data:`TREE_DEADLINE`. A foreign module is not asked: :class:`TreeUnavailable` says
  ``not supported by this module``.
* Events: the orchestrator's own bus (``system.events``) carries its actors' lifecycle
  events, :class:`~pywatt.observe.ModuleStateChanged`, rotations and channel changes, and each
  event a module forwards (``events`` lines) as a :class:`~pywatt.observe.ModuleEvent`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Any, Final, Protocol

import attrs
import trio

import actors
from pywatt.observe import (
    EventsDropped,
    ModuleEvent,
    ModuleStateChanged,
    UnknownEvent,
    event_from_json,
    event_to_json,
    tree_to_json,
)
from pywatt.wire import ModuleEvents

from .._errors import OrchestratorError, describe_exit
from ._handle import ModuleHandle, ModuleState, ModuleStatus

__all__ = [
    "EVENTS_BUFFER",
    "ORCHESTRATOR_SOURCE",
    "TREE_DEADLINE",
    "GetModuleTree",
    "Observed",
    "TreeUnavailable",
    "event_line",
    "publish_module_events",
    "state_reporter",
    "tree_reply",
]

log = logging.getLogger(__name__)

TREE_DEADLINE: Final = 5.0
"""Seconds a module has to answer a ``tree_request``."""
ORCHESTRATOR_SOURCE: Final = "orchestrator"
"""The ``source`` of the orchestrator's own events on ``pywatt events``."""
EVENTS_BUFFER: Final = 1024
"""Events a ``pywatt events`` client may fall behind by before the oldest are dropped."""


class TreeUnavailable(OrchestratorError):
    """A module's supervision tree cannot be had: it is foreign (it does not know the
    request), not running, or did not answer in time."""

    def __init__(self, module_id: str, reason: str) -> None:
        super().__init__(f"tree of module {module_id!r}: {reason}")
        self.module_id = module_id
        self.reason = reason


@attrs.frozen
class GetModuleTree(actors.Request[actors.TreeNode]):
    """Ask a module-process actor for its module's tree (raises :class:`TreeUnavailable`)."""

    timeout: float = TREE_DEADLINE


def publish_module_events(events: actors.Events, module_id: str, line: ModuleEvents) -> None:
    """Publish what one ``events`` line of ``module_id`` carries on the orchestrator's bus."""
    if line.dropped:
        events.emit(ModuleEvent(module_id, EventsDropped(line.dropped)))
    for data in line.events:
        try:
            event = event_from_json(data)
        except UnknownEvent as exc:  # a newer module's kind, say: skip that one
            log.debug("module %s sent an event this orchestrator cannot read: %s", module_id, exc)
            continue
        events.emit(ModuleEvent(module_id, event))


def state_reporter(events: actors.Events) -> Callable[[ModuleHandle, ModuleState], None]:
    """The ``ModuleHandle._on_state`` hook: a :class:`ModuleStateChanged` per change."""

    def report(handle: ModuleHandle, previous: ModuleState) -> None:
        state = handle.state
        reason: str | None = None
        last = describe_exit(handle.last_exit) if handle.last_exit is not None else None
        if state in (ModuleState.CRASHED, ModuleState.EXITED):
            reason = last
        elif state is ModuleState.GAVE_UP:
            policy = handle.spec.restart
            reason = (
                f"more than {policy.max_restarts} restarts within {policy.within:g} s"
                f" (last: {last or 'did not start'})"
            )
        elif state is ModuleState.FAILED and handle.failure is not None:
            reason = str(handle.failure)
        events.emit(
            ModuleStateChanged(handle.id, state.value, previous.value, handle.incarnation, reason)
        )

    return report


def event_line(event: actors.Event) -> dict[str, Any] | None:
    """``event`` as one ``pywatt events --json`` object (``source`` first: the module id, or
    ``orchestrator``), or None for an event with no JSON form (an application's own)."""
    source = ORCHESTRATOR_SOURCE
    if isinstance(event, ModuleEvent):
        source, event = event.module, event.event
    try:
        return {"source": source, **event_to_json(event)}
    except UnknownEvent:
        return None


class Observed(Protocol):
    """What :func:`tree_reply` and the dashboard read of a running orchestrator."""

    orchestrator_api: str

    @property
    def modules(self) -> list[ModuleHandle]: ...

    def status(self) -> list[ModuleStatus]: ...

    async def tree(self, module_id: str) -> actors.TreeNode: ...

    def own_tree(self) -> actors.TreeNode: ...

    def events(self, *, buffer: int = 256) -> actors.EventSubscription: ...


async def tree_reply(orch: Observed) -> dict[str, Any]:
    """The control reply of ``tree``: the orchestrator's own tree, and each module's (or why
    there is none), asked of all modules at once."""
    modules: dict[str, dict[str, Any]] = {}

    async def one(module_id: str) -> None:
        try:
            modules[module_id] = {"tree": tree_to_json(await orch.tree(module_id))}
        except TreeUnavailable as exc:
            modules[module_id] = {"error": exc.reason}

    async with trio.open_nursery() as nursery:
        for handle in orch.modules:
            nursery.start_soon(one, handle.id)
    return {
        "ok": True,
        "pid": os.getpid(),
        "orchestrator_api": orch.orchestrator_api,
        "orchestrator": tree_to_json(orch.own_tree()),
        "modules": [{**attrs.asdict(status), **modules[status.id]} for status in orch.status()],
    }

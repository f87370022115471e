"""What the dashboard remembers of the event stream: recent crashes and rotations."""

from __future__ import annotations

import collections
from typing import Any, Final

import actors
from pywatt.observe import ModuleEvent, ModuleStateChanged, SecretsRotated

from .._errors import ModuleExited

__all__ = ["History"]

KEEP: Final = 50
"""Crashes and rotations kept (the latest)."""
_FAILED_STATES: Final = frozenset({"crashed", "gave_up", "failed"})


class History:
    """The latest crashes (a module's process, an actor in a module, an actor of the
    orchestrator) with their reasons, and the latest rotations with each holder's outcome.

    Subscribed to the orchestrator's events from its start (:meth:`on_event`), so a browser
    opened later still sees what happened before; lives outside every actor.
    """

    def __init__(self, keep: int = KEEP) -> None:
        self.crashes: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.rotations: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)

    def on_event(self, event: actors.Event) -> None:
        """The ``system.events`` callback: runs inside event emission, never raises."""
        match event:
            case ModuleStateChanged(module, state, _, incarnation, reason) if (
                state in _FAILED_STATES
            ):
                self._crash(event.at, module, "process", state, incarnation, reason)
            case ModuleEvent(module, actors.Crashed(name, incarnation, error)):
                self._crash(event.at, module, name, "crashed", incarnation, str(error))
            case ModuleEvent(module, actors.GaveUp(name, error)):
                self._crash(event.at, module, name, "gave_up", None, str(error))
            case actors.Crashed(name, incarnation, error) if not isinstance(error, ModuleExited):
                self._crash(event.at, None, name, "crashed", incarnation, _text(error))
            case actors.GaveUp(name, error) if not isinstance(error, ModuleExited):
                self._crash(event.at, None, name, "gave_up", None, _text(error))
            case SecretsRotated(keys, rotation_id, outcome):
                self.rotations.appendleft(
                    {"at": event.at, "keys": list(keys), "rotation_id": rotation_id,
                     "outcome": dict(outcome)}
                )  # fmt: skip

    def _crash(
        self,
        at: float,
        module: str | None,
        what: str,
        state: str,
        incarnation: int | None,
        reason: str | None,
    ) -> None:
        self.crashes.appendleft(
            {"at": at, "module": module, "what": what, "state": state,
             "incarnation": incarnation, "reason": reason or ""}
        )  # fmt: skip


def _text(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__

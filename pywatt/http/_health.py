"""What ``/health`` reports: whether the module's supervision tree is up, and whether its
backends reach their servers.

The tree is walked from the system's root supervisor through public API only
(``Supervisor.children``, ``ActorSystem.supervisor``, the registry). Each child is an actor
(serving when its name has a live incarnation) or a supervisor (up while it runs). A child
that is neither is between incarnations: restarting. The backends (database, cache) are read
from the system's :class:`~pywatt.backends.BackendBoard`. The module is

* ``healthy`` when everything serves and every backend is up,
* ``degraded`` when something is restarting (but nothing has been down longer than
  ``stuck_after`` seconds), or a backend is down or still connecting: ``reasons`` says which
  and why (``cache: cannot reach redis at ...: Connection refused``),
* ``unhealthy`` (HTTP 503) when an actor or supervisor has been down longer than that (stuck
  restarting, e.g. waiting out a long backoff), the root supervisor is gone, or a backend
  configured ``required`` is down.

With backends, the body has ``backends``: each one's ``state`` (``up``, ``down``,
``connecting``), ``target`` and, when not up, ``reason``.
"""

from __future__ import annotations

from typing import Any

import trio

import actors
from pywatt.backends import BackendState, backend_board


class HealthTracker:
    """Remembers since when each child has been down; :meth:`report` walks the tree."""

    def __init__(self, system: actors.ActorSystem, *, stuck_after: float = 30.0) -> None:
        self.system = system
        self.stuck_after = stuck_after
        self._down_since: dict[str, float] = {}

    def report(self, module_id: str = "") -> tuple[int, dict[str, Any]]:
        """``(status_code, body)``: 200 for healthy or degraded, 503 for unhealthy."""
        now = trio.current_time()
        down: dict[str, float] = {}
        counts = {"actors": 0, "supervisors": 0}
        seen: set[str] = set()

        def walk(supervisor: actors.Supervisor) -> None:
            counts["supervisors"] += 1
            for name in supervisor.children():
                seen.add(name)
                if self.system.lookup(name) is not None:
                    counts["actors"] += 1
                    if not self.system.statistics(name).running:
                        down[name] = now - self._down_since.setdefault(name, now)
                    continue
                try:
                    child = self.system.supervisor(name)
                except actors.NoSuchActor:
                    down[name] = now - self._down_since.setdefault(name, now)
                    continue
                walk(child)

        walk(self.system.root)
        for name in list(self._down_since):
            if name not in down:
                del self._down_since[name]
        stuck = sorted(name for name, seconds in down.items() if seconds >= self.stuck_after)
        backends = backend_board(self.system).statuses()
        away = [b for b in backends if b.state is not BackendState.UP]
        if stuck or any(b.required and b.state is BackendState.DOWN for b in away):
            status = "unhealthy"
        elif down or away:
            status = "degraded"
        else:
            status = "healthy"
        body: dict[str, Any] = {
            "status": status,
            "module_id": module_id,
            "actors": counts["actors"],
            "supervisors": counts["supervisors"],
            "restarting": sorted(down),
            "stuck": stuck,
        }
        if backends:
            body["backends"] = {b.name: b.as_json() for b in backends}
        if away:
            body["reasons"] = [b.describe() for b in away]
        return (503 if status == "unhealthy" else 200), body

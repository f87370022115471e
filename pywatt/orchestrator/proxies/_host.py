"""What the service proxies share: the host they are given and the error they raise.

``ServiceHost`` is what the orchestrator gives every service handler (the dispatcher in
``_service_proxy`` calls them); :class:`ServiceError` is a failure the module should see.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final

import attrs
import trio

from pywatt._errors import PywattError
from pywatt.wire import ServiceOperation, ServiceRequest

from ..console import Console

__all__ = ["CLEANUP_BOUND", "ServiceError", "ServiceHandler", "ServiceHost"]

CLEANUP_BOUND: Final = 10.0
_AT_STOP: Final = ""  # no module id is empty


Cleanup = Callable[[], Awaitable[None]]


class ServiceError(PywattError):
    """A service request or operation failed; the text goes to the module as ``error``."""


@attrs.define(eq=False)
class ServiceHost:
    """What the embedded orchestrator gives service handlers (see the module docstring).

    ``system`` is the orchestrator's actor system (handlers may spawn their backends under
    it), ``environment`` the orchestrator's environment (e.g. ``DATABASE_URL``),
    ``console`` its console, ``state`` a dict for the handlers' own state.
    """

    system: Any
    environment: Mapping[str, str]
    console: Console
    state: dict[str, Any] = attrs.Factory(dict)
    _cleanups: dict[str, list[Cleanup]] = attrs.Factory(dict)

    def on_module_gone(self, module_id: str, cleanup: Cleanup) -> None:
        """Run ``cleanup()`` once when ``module_id``'s process ends (or the orchestrator
        stops). Does not block."""
        self._cleanups.setdefault(module_id, []).append(cleanup)

    def at_stop(self, cleanup: Cleanup) -> None:
        """Run ``cleanup()`` once when the services actor stops (the orchestrator ends)."""
        self._cleanups.setdefault(_AT_STOP, []).append(cleanup)

    async def module_gone(self, module_id: str) -> None:
        """Run (and forget) ``module_id``'s cleanups, each bounded in time."""
        for cleanup in self._cleanups.pop(module_id, []):
            with trio.move_on_after(CLEANUP_BOUND):
                await cleanup()

    async def all_gone(self) -> None:
        """Run every module's cleanups, then those registered with :meth:`at_stop`."""
        for module_id in sorted(self._cleanups, key=lambda m: m == _AT_STOP):
            await self.module_gone(module_id)


ServiceHandler = Callable[[ServiceHost, str, ServiceRequest | ServiceOperation], Awaitable[Any]]
"""The signature every service handler has (see the module docstring)."""

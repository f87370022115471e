"""A backend's outage that escapes the app: a 503 naming the backend, not a 500.

An app that lets :class:`~pywatt.BackendUnavailable` escape (a
:class:`~pywatt.db.DatabaseConnectionError`, a :class:`~pywatt.cache.CacheUnavailable`:
its database or cache is away) gets, instead of a 500 and a traceback in the log, a 503
``{"error": "...", "backend": "..."}`` and one warning line. Frameworks that answer an
escaping error with a 500 before re-raising it (Starlette, FastAPI) have that 500 held back
until the app is done: it is sent unchanged unless the error was such an outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pywatt._errors import BackendUnavailable

__all__ = ["HeldServerError", "backend_unavailable", "unavailable_body"]


def backend_unavailable(error: BaseException) -> BackendUnavailable | None:
    """The backend outage ``error`` is or holds (an exception group's member), or None."""
    if isinstance(error, BackendUnavailable):
        return error
    if isinstance(error, BaseExceptionGroup):
        for member in error.exceptions:
            found = backend_unavailable(member)
            if found is not None:
                return found
    return None


def unavailable_body(error: BackendUnavailable) -> dict[str, Any]:
    """The 503's JSON body (the error's text carries no credentials)."""
    body: dict[str, Any] = {"error": str(error)}
    backend = getattr(error, "backend", None)
    if backend:
        body["backend"] = backend
    return body


class HeldServerError:
    """The events of a 500 response held back while the app runs (see the module docstring)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] | None = None

    def hold(self, event: dict[str, Any]) -> bool:
        """Keep ``event`` if it starts or continues a 500; True if it was kept."""
        if self.events is not None:
            self.events.append(event)
            return True
        if event["type"] == "http.response.start" and int(event["status"]) == 500:
            self.events = [event]
            return True
        return False

    def replaceable(self, response_started: bool) -> bool:
        """Whether another answer can still be sent: nothing went out but a held 500."""
        return not response_started or self.events is not None

    async def flush(self, send: Callable[[dict[str, Any]], Awaitable[None]]) -> None:
        """Send what was held, as the app meant it."""
        events, self.events = self.events, None
        for event in events or ():
            await send(event)

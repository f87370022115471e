"""Errors of HTTP serving. None of them ever carries a request body or a credential."""

from __future__ import annotations

from .._errors import PywattError


class HttpError(PywattError):
    """Base of the HTTP serving errors."""


class BadHttpRequest(HttpError, ValueError):
    """An HTTP-over-IPC request that cannot be turned into an HTTP request (answered 400).

    ``field`` names the part at fault (``method``, ``uri``, ``header``).
    """

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"bad {field}: {detail}")
        self.field = field
        self.detail = detail


class BodyTooLarge(HttpError):
    """A request body is over the configured limit (answered 413)."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the request body is larger than {limit} bytes")
        self.limit = limit


class AppStartupFailed(HttpError):
    """The app's lifespan startup failed or did not finish in time."""

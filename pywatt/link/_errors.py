"""Errors of the orchestrator link."""

from __future__ import annotations

from .._errors import PywattError


class LinkError(PywattError):
    """Base of the orchestrator-link errors."""


class StdioTimeout(LinkError, TimeoutError):
    """The orchestrator did not answer a stdio request within its protocol deadline."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"the orchestrator did not answer {what} within {seconds:g} s")
        self.what = what
        self.seconds = seconds


class PortNegotiationFailed(LinkError):
    """The orchestrator refused a port request."""


class LinkClosed(LinkError):
    """The orchestrator closed the module's stdin: no more requests can be answered."""


class InitBlobError(LinkError):
    """The first stdin line is missing, too long, or not a valid InitBlob."""


class ServiceFailed(LinkError):
    """The orchestrator answered a service request or operation with ``success: false``.

    ``error`` is its error text as sent (a pywatt orchestrator prefixes a kind, such as
    ``"constraint: ..."``, that the database proxy turns back into a typed error).
    """

    def __init__(self, what: str, error: str) -> None:
        super().__init__(f"{what} failed: {error}")
        self.what = what
        self.error = error

"""Errors of registration with the orchestrator (docs/protocol.md §10)."""

from __future__ import annotations

from pywatt._errors import PywattError


class RegistrationError(PywattError):
    """Base of every registration error."""


class RegistrationFailed(RegistrationError):
    """The orchestrator answered ``success: false`` (its error text is kept)."""

    def __init__(self, what: str, error: str | None) -> None:
        super().__init__(f"{what} refused by the orchestrator: {error or 'Unknown error'}")
        self.what = what
        self.error = error


class RegistrationTimeout(RegistrationError, TimeoutError):
    """No reply within the 30 s deadline of §10."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: no reply from the orchestrator within {seconds:g} s")
        self.what = what
        self.seconds = seconds

"""Errors of service discovery."""

from __future__ import annotations

from pywatt._errors import PywattError


class DiscoveryError(PywattError):
    """Base of every discovery error."""


class DiscoveryFailed(DiscoveryError):
    """The registry answered with ``success: false`` (its error text is kept)."""

    def __init__(self, what: str, error: str | None) -> None:
        super().__init__(f"{what} failed: {error or 'Unknown error'}")
        self.what = what
        self.error = error


class DiscoveryTimeout(DiscoveryError, TimeoutError):
    """No reply from the orchestrator within the 30 s discovery deadline (§11)."""

    def __init__(self, what: str, seconds: float) -> None:
        super().__init__(f"{what}: no reply within {seconds:g} s")
        self.what = what
        self.seconds = seconds


class RegistryUnavailable(DiscoveryError, ConnectionError):
    """The Redis registry cannot be reached or answered with an error."""

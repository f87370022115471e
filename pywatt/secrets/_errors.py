"""Errors of the secrets actors. None of them ever carries a secret value."""

from __future__ import annotations

from .._errors import PywattError


class SecretError(PywattError):
    """Base of the secrets errors."""


class SecretNotFound(SecretError, LookupError):
    """No provider knows this secret (the orchestrator said so, or no provider has it)."""

    def __init__(self, name: str, detail: str = "") -> None:
        text = f"secret {name!r} not found"
        super().__init__(f"{text}: {detail}" if detail else text)
        self.name = name


class SecretTimeout(SecretError, TimeoutError):
    """The orchestrator did not answer a secret request within the protocol deadline."""

    def __init__(self, name: str, seconds: float) -> None:
        super().__init__(f"no answer for secret {name!r} within {seconds:g} s")
        self.name = name
        self.seconds = seconds


class SecretUnavailable(SecretError):
    """The provider that should answer cannot be reached (the orchestrator link is down)."""

    def __init__(self, name: str, detail: str) -> None:
        super().__init__(f"secret {name!r} is unavailable: {detail}")
        self.name = name

"""What one fault scenario counts, and the scenario's shape."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

import attrs

MUST_BE_ZERO: Final = ("hung", "acked_writes_lost", "unexpected_exceptions", "secret_bytes_found")


@attrs.define
class Counts:
    """Outcomes of one scenario. ``failed_typed`` is a request that failed with the typed
    error the API documents for that fault (it is allowed); ``unexpected_exceptions`` is any
    other exception, anywhere (a crash the fault should not cause)."""

    faults_injected: int = 0
    requests_sent: int = 0
    succeeded: int = 0
    failed_typed: int = 0
    hung: int = 0
    acked_writes_lost: int = 0
    unexpected_exceptions: int = 0
    secret_bytes_found: int = 0
    notes: list[str] = attrs.Factory(list)

    def add(self, other: Counts) -> None:
        for field in attrs.fields(Counts):
            if field.name != "notes":
                setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))

    def problems(self) -> list[str]:
        """Why this scenario's run is a failure (empty when it passed)."""
        out = [f"{name} = {getattr(self, name)}" for name in MUST_BE_ZERO if getattr(self, name)]
        if self.faults_injected == 0:
            out.append("no fault was injected")
        unaccounted = self.requests_sent - self.succeeded - self.failed_typed - self.hung
        if unaccounted - self.unexpected_exceptions > 0:
            out.append(f"{unaccounted} requests have no recorded outcome")
        return out


Scenario = Callable[[float, Counts], Awaitable[None]]


@attrs.frozen
class Named:
    """A scenario and the name it is reported under."""

    name: str
    run: Scenario

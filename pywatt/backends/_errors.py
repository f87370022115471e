"""The start-up failure of a required backend."""

from __future__ import annotations

from collections.abc import Sequence

from .._errors import PywattError
from ._status import BackendStatus

__all__ = ["BackendUnreachable"]


class BackendUnreachable(PywattError):
    """A backend configured with ``required=True`` could not be used at start-up, so the
    module does not start. ``statuses`` are the backends at fault; ``heals`` is False when
    one of them was refused (credentials, an unknown database): restarting the module will
    not help then, so it exits with ``EXIT_CANNOT_START``. A server that is down may come
    back, so otherwise the module exits with a failure its orchestrator restarts."""

    def __init__(self, statuses: Sequence[BackendStatus]) -> None:
        self.statuses = tuple(statuses)
        self.heals = all(status.heals for status in self.statuses)
        said = "; ".join(status.describe() for status in self.statuses)
        super().__init__(f"required backend unavailable: {said}")

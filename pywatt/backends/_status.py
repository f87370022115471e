"""What one backend last said about its server: :class:`BackendStatus`."""

from __future__ import annotations

import enum

import attrs

__all__ = ["BackendState", "BackendStatus", "one_line"]


class BackendState(enum.Enum):
    """Where a backend stands with its server."""

    CONNECTING = "connecting"
    """Its first attempt has not ended yet."""
    UP = "up"
    """Connected (or, for a local backend, ready)."""
    DOWN = "down"
    """Its server cannot be reached or refused it; it keeps retrying in the background."""


@attrs.frozen(kw_only=True)
class BackendStatus:
    """One backend's entry on the :class:`~pywatt.backends.BackendBoard`.

    ``name`` is the backend actor's name (``pywatt.db``, ``cache``), ``target`` where it
    connects, without credentials (``postgresql at db:5432/app``). ``reason`` says why it is
    down; ``heals`` is False when retrying alone cannot help (the server refused the
    credentials, the database does not exist). ``required`` is the config's ``required``:
    such a backend that is down at start-up stops the module. ``settle_within`` bounds one
    connection attempt (seconds), ``since`` is when ``state`` last changed (trio clock).
    """

    name: str
    target: str
    state: BackendState
    reason: str | None = None
    heals: bool = True
    required: bool = False
    settle_within: float = 5.0
    since: float = 0.0

    @property
    def settled(self) -> bool:
        """Whether an attempt has ended (up or down)."""
        return self.state is not BackendState.CONNECTING

    def describe(self) -> str:
        """One line: where it stands, naming the backend and the reason."""
        if self.state is BackendState.UP:
            return f"{self.name}: connected to {self.target}"
        if self.state is BackendState.CONNECTING:
            return f"{self.name}: connecting to {self.target} (no answer yet)"
        if not self.heals:
            return f"{self.name}: cannot use {self.target}: {self.reason}"  # it said no
        return f"{self.name}: cannot reach {self.target}: {self.reason}"

    def as_json(self) -> dict[str, object]:
        """The entry ``/health`` shows under ``backends``."""
        entry: dict[str, object] = {"state": self.state.value, "target": self.target}
        if self.state is not BackendState.UP:
            entry["reason"] = self.describe().partition(": ")[2]
        if self.required:
            entry["required"] = True
        return entry


def one_line(text: str) -> str:
    """``text`` on one line (drivers' messages run over several)."""
    return " ".join(text.split()) or "no reason given"

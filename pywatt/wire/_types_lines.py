"""Wire types of direct lines between pywatt modules (docs/protocol-extensions.md §12).

A line is a Unix-socket connection from one pywatt module straight to another, granted by
the orchestrator: requests, notifications, their replies and cancels go on it instead of
through the orchestrator. Only between pywatt peers: a module asks for one only from an
orchestrator that offers them (``PYWATT_LINES`` = ``1`` in ``InitBlob.env``), and only a
module whose declaration names its line socket (``ModuleDeclaration.line``) is granted as a
target. The grant carries a ticket the orchestrator also gives the target
(``line_expect``); the two modules prove to each other that they hold it
(``pywatt.wire.line_proof``) before anything else goes on the line.
"""

from __future__ import annotations

from typing import ClassVar, Final

import attrs

from ._unions import ModuleToOrchestrator, OrchestratorToModule

__all__ = ["ENV_LINES", "LINE_ENDPOINT", "LineExpect", "LineGrant", "LineRefused", "LineRequest"]

#: ``InitBlob.env`` key: ``"1"`` when the orchestrator grants direct lines.
ENV_LINES: Final = "PYWATT_LINES"

#: The endpoint of the fence a caller sends through the orchestrator once its line is up:
#: everything it sent the orchestrator's way before has arrived when the fence does.
LINE_ENDPOINT: Final = "pywatt.line"


@attrs.frozen(kw_only=True)
class LineRequest(ModuleToOrchestrator):
    """``line_request``: the module asks for a direct line to ``target_module_id``.

    ``{"op":"line_request","target_module_id":"billing"}``, ``Message``-wrapped.
    """

    OP: ClassVar[str] = "line_request"

    target_module_id: str


@attrs.frozen(kw_only=True)
class LineGrant(OrchestratorToModule):
    """``line_grant``: connect to ``address`` (the target's line socket) and prove
    ``ticket`` there. ``{"op":"line_grant","target_module_id":"billing",
    "address":"/run/x/billing.line.sock","ticket":"..."}``, bare."""

    OP: ClassVar[str] = "line_grant"

    target_module_id: str
    address: str
    ticket: str


@attrs.frozen(kw_only=True)
class LineRefused(OrchestratorToModule):
    """``line_refused``: no line to ``target_module_id`` (``reason`` says why); requests to it
    keep going through the orchestrator. Bare."""

    OP: ClassVar[str] = "line_refused"

    target_module_id: str
    reason: str


@attrs.frozen(kw_only=True)
class LineExpect(OrchestratorToModule):
    """``line_expect``: ``source_module_id`` was granted a line to this module with
    ``ticket``; accept it once, from a peer that proves the ticket. Bare."""

    OP: ClassVar[str] = "line_expect"

    source_module_id: str
    ticket: str

"""Granting direct lines between pywatt modules (docs/protocol-extensions.md §12).

A module asks for a line to another (``line_request``); the hub grants it when the target is
a pywatt module that runs, is reachable and declared a line socket on its connection: a
fresh ticket goes to the target first (``line_expect``, on the connection frames to it take)
and then, with the target's socket path, to the asker (``line_grant``). Otherwise the asker
is told why not (``line_refused``) and keeps sending through the hub. The hub keeps nothing
of a line: the two modules talk directly from then on, and a line that closes costs nothing
here.
"""

from __future__ import annotations

import math
import secrets
from typing import TYPE_CHECKING, Final

import trio

from pywatt.wire import LineExpect, LineGrant, LineRefused, LineRequest

from ._connection import ServerConnection, encode_bare

if TYPE_CHECKING:
    from ._hub import Hub

__all__ = ["REGRANT_AFTER", "grant_line"]

REGRANT_AFTER: Final = 0.25
"""Seconds before the same module is granted another line to the same target: a module
that keeps asking cannot flood its target with tickets."""


def grant_line(hub: Hub, conn: ServerConnection, request: LineRequest) -> None:
    """Answer ``request`` from ``conn`` (see the module docstring). Does not block."""
    if not conn.pywatt:  # only a pywatt module knows what a line is
        return
    target = request.target_module_id
    reason = _refusal(hub, conn.module_id, target)
    key = (conn.module_id, target)
    now = trio.current_time()
    if reason is None and now - hub.state.line_grants.get(key, -math.inf) < REGRANT_AFTER:
        reason = f"a line to {target!r} was granted less than {REGRANT_AFTER:g} s ago"
    callee = None if reason is not None else hub._conn_for(target)
    address = callee.declaration.line if callee and callee.declaration else None
    if callee is None or address is None:
        hub.counts["lines_refused"] += 1
        why = reason or f"module {target!r} takes no direct lines"
        conn.send_nowait(encode_bare(LineRefused(target_module_id=target, reason=why)))
        return
    hub.state.line_grants[key] = now
    ticket = secrets.token_urlsafe(32)
    callee.send_nowait(encode_bare(LineExpect(source_module_id=conn.module_id, ticket=ticket)))
    conn.send_nowait(
        encode_bare(LineGrant(target_module_id=target, address=address, ticket=ticket))
    )
    hub.counts["lines_granted"] += 1


def _refusal(hub: Hub, source: str, target: str) -> str | None:
    if target == source:
        return "a module needs no line to itself"
    if not hub._known(target):
        return f"no module {target!r} runs here"
    if not hub._ready(target):
        return f"module {target!r} is not reachable now"
    return None
